package exports

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"

	"github.com/apache/arrow-go/v18/arrow"
)

// digestRows is the number of rows each hash of a rowDigest covers.
const digestRows = 1 << 14

// rowDigest hashes the rows of a table as text, cell by cell in the form
// the verifier compares (cellText), in chunks of digestRows rows. The same
// rows give the same digest whatever the file format that holds them, so
// a snapshot's files can be read back and compared with the rows written
// without keeping those rows or computing them again.
type rowDigest struct {
	h      hash.Hash
	rows   int
	chunks [][sha256.Size]byte
	buf    []byte
}

func newRowDigest() *rowDigest { return &rowDigest{h: sha256.New()} }

// addRow adds one row's cells.
func (d *rowDigest) addRow(cells []string) {
	d.buf = d.buf[:0]
	for _, c := range cells {
		d.buf = binary.AppendUvarint(d.buf, uint64(len(c)))
		d.buf = append(d.buf, c...)
	}
	d.h.Write(d.buf)
	d.rows++
	if d.rows%digestRows == 0 {
		d.chunks = append(d.chunks, [sha256.Size]byte(d.h.Sum(nil)))
		d.h.Reset()
	}
}

// addBatch adds every row of rec.
func (d *rowDigest) addBatch(rec arrow.RecordBatch) error {
	row := make([]string, rec.NumCols())
	for i := 0; i < int(rec.NumRows()); i++ {
		for j, col := range rec.Columns() {
			s, err := cellText(col, i)
			if err != nil {
				return fmt.Errorf("row %d column %s: %v", d.rows+1, rec.ColumnName(j), err)
			}
			row[j] = s
		}
		d.addRow(row)
	}
	return nil
}

// finish closes the last, partial chunk. No row may be added after it.
func (d *rowDigest) finish() {
	if d.rows%digestRows != 0 || d.rows == 0 {
		d.chunks = append(d.chunks, [sha256.Size]byte(d.h.Sum(nil)))
	}
}

// compare reports how got (read back from a file) differs from d (the
// rows written): the number of rows, or the first chunk of rows whose
// text differs. Both must be finished.
func (d *rowDigest) compare(got *rowDigest) error {
	if got.rows != d.rows {
		return fmt.Errorf("holds %d rows, but %d were written", got.rows, d.rows)
	}
	for i := range d.chunks {
		if got.chunks[i] != d.chunks[i] {
			last := min((i+1)*digestRows, d.rows)
			return fmt.Errorf("rows %d to %d read back differently from how they were written", i*digestRows+1, last)
		}
	}
	return nil
}
