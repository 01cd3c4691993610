package exports

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// digestRows is the number of rows each hash of a rowDigest covers.
const digestRows = 1 << 14

// rowDigest hashes the rows of a table in chunks of digestRows rows, so
// that a snapshot's files can be read back and compared with the rows
// written without keeping those rows or computing them again, and a
// difference can be named by its rows. A row is hashed either as the
// values of its Arrow arrays (addBatch: Arrow IPC and Parquet files, which
// read back as the same arrays) or as the text of its cells (addRow: CSV).
type rowDigest struct {
	h      hash.Hash
	rows   int
	chunks [][sha256.Size]byte
	buf    []byte
}

func newRowDigest() *rowDigest { return &rowDigest{h: sha256.New()} }

// row adds one encoded row.
func (d *rowDigest) row(enc []byte) {
	d.h.Write(enc)
	d.rows++
	if d.rows%digestRows == 0 {
		d.chunks = append(d.chunks, [sha256.Size]byte(d.h.Sum(nil)))
		d.h.Reset()
	}
}

// addRow adds one row as the text of its cells, each length-prefixed.
func (d *rowDigest) addRow(cells []string) {
	d.buf = d.buf[:0]
	for _, c := range cells {
		d.buf = binary.AppendUvarint(d.buf, uint64(len(c)))
		d.buf = append(d.buf, c...)
	}
	d.row(d.buf)
}

// addBatch adds every row of rec as its values: per cell a null flag,
// then fixed-width values little-endian and variable-width ones
// length-prefixed.
func (d *rowDigest) addBatch(rec arrow.RecordBatch) error {
	cols := rec.Columns()
	enc := make([]func(b []byte, i int) []byte, len(cols))
	for j, col := range cols {
		switch a := col.(type) {
		case *array.String:
			enc[j] = func(b []byte, i int) []byte {
				v := a.Value(i)
				return append(binary.AppendUvarint(b, uint64(len(v))), v...)
			}
		case *array.Binary:
			enc[j] = func(b []byte, i int) []byte {
				v := a.Value(i)
				return append(binary.AppendUvarint(b, uint64(len(v))), v...)
			}
		case *array.FixedSizeBinary:
			enc[j] = func(b []byte, i int) []byte { return append(b, a.Value(i)...) }
		case *array.Int64:
			enc[j] = func(b []byte, i int) []byte { return binary.LittleEndian.AppendUint64(b, uint64(a.Value(i))) }
		case *array.Timestamp:
			enc[j] = func(b []byte, i int) []byte { return binary.LittleEndian.AppendUint64(b, uint64(a.Value(i))) }
		case *array.Float64:
			enc[j] = func(b []byte, i int) []byte {
				return binary.LittleEndian.AppendUint64(b, math.Float64bits(a.Value(i)))
			}
		case *array.Decimal128:
			enc[j] = func(b []byte, i int) []byte {
				v := a.Value(i)
				b = binary.LittleEndian.AppendUint64(b, v.LowBits())
				return binary.LittleEndian.AppendUint64(b, uint64(v.HighBits()))
			}
		default:
			return fmt.Errorf("column %s: unexpected type %s", rec.ColumnName(j), col.DataType())
		}
	}
	for i := 0; i < int(rec.NumRows()); i++ {
		d.buf = d.buf[:0]
		for j, col := range cols {
			if col.IsNull(i) {
				d.buf = append(d.buf, 0)
				continue
			}
			d.buf = enc[j](append(d.buf, 1), i)
		}
		d.row(d.buf)
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
// rows written): the number of rows, or the first chunk of rows that
// differs. Both must be finished.
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

// tableDigest is what a snapshot's read-back compares a table's files
// with: the digest of the rows as values, for the Arrow IPC and Parquet
// files, and as text, for the CSV file (nil when none was written).
type tableDigest struct {
	values *rowDigest
	text   *rowDigest
}

// digestSinks returns the digest of the rows written to sinks: values is
// to be fed each batch (writeTable's onBatch); the CSV sink among sinks,
// if any, feeds text with the cells it writes.
func digestSinks(sinks []sink) *tableDigest {
	d := &tableDigest{values: newRowDigest()}
	for _, s := range sinks {
		if cs, ok := s.(*csvSink); ok {
			d.text = newRowDigest()
			cs.digest = d.text
		}
	}
	return d
}

func (d *tableDigest) finish() {
	d.values.finish()
	if d.text != nil {
		d.text.finish()
	}
}
