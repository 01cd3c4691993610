package exports

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
)

// A projection table is checked against the fold as a multiset of rows:
// the count, and the sum (mod 2^256) of the SHA-256 of each row's text.
// The files may hold the rows in any partition and order (the writer
// chooses: parts by first stamp from the projections, one part from a
// replay), and the check holds one row at a time of each side, not the
// table. A table that does not agree is read a second time to name the
// first row at fault, holding the rows the events give by primary key
// (the events are replayed again when entities that left the state gave
// rows to it: the first replay kept only their digest).

// multiset is an order-independent digest of rows: a count and the sum of
// each row's hash. The hash is keyed with a salt drawn afresh for each
// process (rowSalt), so a publisher cannot search for forged rows whose
// hashes add up to those they replace, as it could with a plain sum.
type multiset struct {
	n   int64
	sum [4]uint64
	buf []byte
}

func (m *multiset) add(row []string) {
	m.buf = append(m.buf[:0], rowSalt[:]...)
	for _, c := range row {
		m.buf = binary.AppendUvarint(m.buf, uint64(len(c)))
		m.buf = append(m.buf, c...)
	}
	h := sha256.Sum256(m.buf)
	var carry uint64
	for i := range m.sum {
		m.sum[i], carry = bits.Add64(m.sum[i], binary.LittleEndian.Uint64(h[8*i:]), carry)
	}
	m.n++
}

// rowSalt keys the multiset's row hashes.
var rowSalt = func() (b [32]byte) {
	rand.Read(b[:])
	return b
}()

// tableFiles returns the files of table t in format f: its parts, or the
// one file T.F; none when the source has neither.
func (v *verifier) tableFiles(t *table, f Format) []string {
	if parts, ok := v.tableParts[t.name][f]; ok {
		names := make([]string, len(parts))
		for i, p := range parts {
			names[i] = p.Path
		}
		return names
	}
	return []string{fileName(t, f)}
}

// eachFileRow calls fn with the text of every row of the file name, in
// format f, numbered from 1.
func (v *verifier) eachFileRow(t *table, f Format, file readAtSeeker, fn func(n int, row []string) error) error {
	n := 0
	if f == CSV {
		return readCSV(v.ctx, file, t, func(row []string) error { n++; return fn(n, row) })
	}
	row := make([]string, len(t.cols))
	return readBatches(v.ctx, f, file, t, v.mem, func(rec arrow.RecordBatch) error {
		for i := 0; i < int(rec.NumRows()); i++ {
			n++
			for j, c := range rec.Columns() {
				s, err := cellText(c, i)
				if err != nil {
					return fmt.Errorf("row %d column %s: %v", n, t.cols[j].name, err)
				}
				row[j] = s
			}
			if err := fn(n, row); err != nil {
				return err
			}
		}
		return nil
	})
}

// checkProjection checks every file of table t present, in every format.
func (v *verifier) checkProjection(t *table) error {
	var want *multiset // the fold's, computed once
	for _, f := range Formats {
		names := v.tableFiles(t, f)
		_, inParts := v.tableParts[t.name][f]
		if inParts && len(names) == 0 {
			// No parts: checkTablePartList allows that only for a
			// snapshot of no events, whose tables have no rows.
			continue
		}
		if _, listed := v.listed[names[0]]; !inParts && !listed {
			// Not listed: checked when present.
			file, err := v.src.open(v.ctx, names[0])
			if err == errNotFound {
				continue
			}
			if err != nil {
				return err
			}
			file.Close()
		}
		if v.back != nil {
			if err := v.checkWrittenParts(t, f, names); err != nil {
				return err
			}
			continue
		}
		if want == nil {
			var err error
			if want, err = v.wantRows(t); err != nil {
				return err
			}
		}
		got := &multiset{}
		for _, name := range names {
			file, err := v.openChecked(name)
			if err != nil {
				return err
			}
			err = v.eachFileRow(t, f, file, func(_ int, row []string) error { got.add(row); return nil })
			file.Close()
			if err != nil {
				return v.fileFault(name, err)
			}
		}
		if got.n != want.n || got.sum != want.sum {
			return v.diagnoseTable(t, f, names, got.n, want.n)
		}
	}
	return nil
}

// wantRows returns the multiset of the rows of table t that the events
// give: those of the entities that left the state during the replay, then
// those of the entities still in it.
func (v *verifier) wantRows(t *table) (*multiset, error) {
	var closed *closedRows
	if s, ok := v.ents.(stateEntities); ok {
		closed = s.closed
	}
	want := closed.sum(t)
	rows := streamRows(v.ctx, t, v.ents, v.mem)
	for {
		row, err := rows.next()
		if err != nil {
			rows.close()
			return nil, err
		}
		if row == nil {
			break
		}
		want.add(row)
	}
	if err := rows.close(); err != nil {
		return nil, err
	}
	return want, nil
}

// checkWrittenParts compares the files of a table just written, but for
// those linked from the earlier snapshot, with the digest of the rows
// written to them, in order.
func (v *verifier) checkWrittenParts(t *table, f Format, names []string) error {
	written := v.back.written[t.name]
	if written == nil || (f == CSV && written.text == nil) {
		return faultf(v.src.where(names[0]), "was not written by this export")
	}
	want := written.values
	if f == CSV {
		want = written.text
	}
	got := newRowDigest()
	for _, name := range names {
		if v.back.linked[name] {
			if err := v.statChecked(name); err != nil {
				return err
			}
			continue
		}
		file, err := v.openChecked(name)
		if err != nil {
			return err
		}
		if f == CSV {
			err = readCSV(v.ctx, file, t, func(row []string) error { got.addRow(row); return nil })
		} else {
			err = readBatches(v.ctx, f, file, t, v.mem, got.addBatch)
		}
		file.Close()
		if err != nil {
			return v.fileFault(name, err)
		}
	}
	got.finish()
	if err := want.compare(got); err != nil {
		return v.fileFault(names[len(names)-1], fmt.Errorf("%s %s files: %v", t.name, f, err))
	}
	return nil
}

// diagnoseTable names the first row of table t's files in format f that
// the events do not give, or a row they give that the files lack. It holds
// the table the events give, by primary key: it runs only once the table
// was found not to agree. When entities that left the state during the
// replay gave rows to t, the events are replayed again to find them.
func (v *verifier) diagnoseTable(t *table, f Format, names []string, got, want int64) error {
	expected := map[string][]string{}
	var order []string
	keep := func(row []string) {
		k := rowKey(t, row)
		expected[k] = append([]string(nil), row...)
		order = append(order, k)
	}
	ents := v.ents
	replayed := false
	if s, ok := v.ents.(stateEntities); ok && s.closed.has(t) {
		var err error
		if ents, err = v.replayAgain(t, keep); err != nil {
			return err
		}
		replayed = true
	}
	rows := streamRows(v.ctx, t, ents, v.mem)
	for {
		row, err := rows.next()
		if err != nil {
			rows.close()
			return err
		}
		if row == nil {
			break
		}
		keep(row)
	}
	if err := rows.close(); err != nil {
		return err
	}
	if replayed {
		// In id order, as the table computed whole gives its rows: an
		// entity table's key is its id, and its rows are named "id …".
		slices.Sort(order)
	}
	for _, name := range names {
		file, err := v.openChecked(name)
		if err != nil {
			return err
		}
		err = v.eachFileRow(t, f, file, func(n int, row []string) error {
			k := rowKey(t, row)
			w, ok := expected[k]
			if !ok {
				return fmt.Errorf("row %d (%s) is not a row the events give (or appears twice)", n, k)
			}
			for j, col := range t.cols {
				if row[j] != w[j] {
					return fmt.Errorf("row %d (%s): column %s is %q, but the events give %q", n, k, col.name, row[j], w[j])
				}
			}
			delete(expected, k)
			return nil
		})
		file.Close()
		if err != nil {
			return v.fileFault(name, err)
		}
	}
	for _, k := range order {
		if _, missing := expected[k]; missing {
			return faultf(v.src.where(names[len(names)-1]), "has %d rows, but the events give %d: the %s %s files lack the row (%s)",
				got, want, t.name, f, k)
		}
	}
	return faultf(v.src.where(names[len(names)-1]), "the %s %s files (%d rows) do not agree with the events", t.name, f, got)
}

// checkTablePartList checks that the parts of a projection table are in
// increasing, disjoint ranges before size, under the names the writer
// gives them. Only a snapshot of no events has a table of no parts.
func checkTablePartList(t *table, f Format, r Resource, size int64) error {
	if len(r.Parts) == 0 && size > 0 {
		return fmt.Errorf("lists no parts, but the checkpoint covers %d events", size)
	}
	if len(r.Path) != len(r.Parts) {
		return fmt.Errorf("lists %d paths but %d parts", len(r.Path), len(r.Parts))
	}
	next := int64(0)
	for i, p := range r.Parts {
		want := tablePartPath(t, f, p.First, p.Last)
		switch {
		case p.First < next || p.Last < p.First || p.Last >= size:
			return fmt.Errorf("part %d covers %d to %d, which is not after the parts before it and within the %d events", i, p.First, p.Last, size)
		case p.Path != want || r.Path[i] != want:
			return fmt.Errorf("part %d is named %q; its range is in %q", i, r.Path[i], want)
		case p.Bytes <= 0:
			return fmt.Errorf("part %s has %d bytes", p.Path, p.Bytes)
		}
		next = p.Last + 1
	}
	return nil
}
