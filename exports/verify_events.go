package exports

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/plentyhub/plenty"
	"golang.org/x/mod/sumdb/tlog"
)

// eventRow is one row of an events file, whatever its format.
type eventRow struct {
	seq    int64
	timeNS int64
	kind   string
	actor  string
	body   []byte
	leaf   []byte
}

// eventChecker checks the rows of one events file in order: contiguous
// seq, each leaf hash, each body's agreement with its columns, the replay
// (for the primary file), the root at the --since size, and the root at the
// end.
type eventChecker struct {
	cp    Checkpoint
	since *Checkpoint
	st    *plenty.State // nil for a file checked only for its hashes
	ids   *entityIDs    // the entities of st
	drain *closedDrain  // takes the entities that leave st; with st only
	tree  plenty.Tree
	part  *plenty.Tree // the tree of the current part's leaves, if in parts
	n     int64
	// gap is the first row whose seq is not its position; what it means
	// (a missing, swapped or repeated event) shows at the next row.
	gap      *eventRow
	envelope []byte // reused by envelopeIs
}

func (c *eventChecker) row(r eventRow) error {
	i := c.n
	if c.gap != nil {
		g := c.gap
		switch {
		case r.seq == i-1 && g.seq == i:
			return fmt.Errorf("events %d and %d are swapped: row %d holds event %d and row %d holds event %d",
				i-1, i, i-1, g.seq, i, r.seq)
		case g.seq > i-1:
			return fmt.Errorf("event %d is missing: the row where it belongs holds event %d", i-1, g.seq)
		default:
			return fmt.Errorf("event %d appears again at row %d, out of order", g.seq, i-1)
		}
	}
	if r.seq != i {
		c.gap = &r
		c.n++
		return nil
	}
	leaf := tlog.RecordHash(r.body)
	if !bytes.Equal(leaf[:], r.leaf) {
		return fmt.Errorf("event %d: leaf_hash %x does not match its body, which hashes to %x: the body or its hash was altered",
			i, r.leaf, leaf[:])
	}
	if c.st == nil && c.envelopeIs(r) {
		// The columns are the body's envelope, byte for byte.
		return c.add(leaf)
	}
	var ev plenty.Event
	var err error
	if c.st == nil {
		// A file checked after the primary one: its bodies must hash to the
		// same root, so they are the primary's, which were decoded and
		// found canonical. Reading the envelope's fields is enough.
		ev, err = readEnvelope(r.body)
	} else {
		ev, err = plenty.DecodeEvent(r.body)
	}
	if err != nil {
		return fmt.Errorf("event %d: the body is not a canonical event: %v", i, err)
	}
	switch {
	case ev.Seq != i:
		return fmt.Errorf("event %d: the body says seq %d", i, ev.Seq)
	case ev.Kind != r.kind:
		return fmt.Errorf("event %d: kind column %q differs from the body's %q", i, r.kind, ev.Kind)
	case ev.Actor != r.actor:
		return fmt.Errorf("event %d: actor column %q differs from the body's %q", i, r.actor, ev.Actor)
	case ev.Time.UnixNano() != r.timeNS:
		return fmt.Errorf("event %d: time column %s differs from the body's %s", i,
			formatTime(r.timeNS), ev.Time.Format(plenty.TimeFormat))
	}
	if c.st != nil {
		if err := c.st.Apply(ev); err != nil {
			return fmt.Errorf("event %d does not follow from the events before it (the rulebook refuses it): %v", i, plenty.ErrorMessageWithFields(err))
		}
		if err := c.drain.afterEvent(); err != nil {
			return err
		}
	}
	return c.add(leaf)
}

// add adds the leaf of the row just checked to the tree.
func (c *eventChecker) add(leaf tlog.Hash) error {
	c.tree.Add(leaf)
	if c.part != nil {
		c.part.Add(leaf)
	}
	c.n++
	if c.since != nil && c.n == c.since.Size {
		return c.checkSince()
	}
	return nil
}

// envelopeIs reports whether r's body starts with the canonical envelope
// its seq, time, kind and actor columns give. A body that does not (an
// escaped character, or a fault) is read field by field instead. So is a
// row whose kind or actor holds a quote or a backslash: the body escapes
// them, and a column holding the escaped text would match byte for byte.
func (c *eventChecker) envelopeIs(r eventRow) bool {
	if strings.ContainsAny(r.kind, `"\`) || strings.ContainsAny(r.actor, `"\`) {
		return false
	}
	b := append(c.envelope[:0], `{"seq":`...)
	b = strconv.AppendInt(b, r.seq, 10)
	b = append(b, `,"time":"`...)
	b = appendTime(b, r.timeNS)
	b = append(b, `","kind":"`...)
	b = append(b, r.kind...)
	b = append(b, `","actor":"`...)
	b = append(b, r.actor...)
	b = append(b, `","data":`...)
	c.envelope = b
	return bytes.HasPrefix(r.body, b)
}

func (c *eventChecker) checkSince() error {
	if root := c.tree.Root(); root != c.since.Root {
		return fmt.Errorf("not consistent with the earlier checkpoint (--since): its first %d events hash to %s, "+
			"but the earlier checkpoint signed %s: the history was rewritten", c.since.Size, HashText(root), HashText(c.since.Root))
	}
	return nil
}

func (c *eventChecker) end() error {
	if g := c.gap; g != nil {
		if g.seq > c.n-1 {
			return fmt.Errorf("event %d is missing: the row where it belongs holds event %d", c.n-1, g.seq)
		}
		return fmt.Errorf("event %d appears again at row %d, out of order", g.seq, c.n-1)
	}
	if c.n != c.cp.Size {
		return fmt.Errorf("holds %d events, but the checkpoint covers %d (events dropped or the file cut short)", c.n, c.cp.Size)
	}
	if c.since != nil && c.since.Size == 0 && c.since.Root != tlog.Hash(sha256Empty) {
		return fmt.Errorf("not consistent with the earlier checkpoint (--since): it signs an empty tree with root %s, not the empty tree's",
			HashText(c.since.Root))
	}
	if root := c.tree.Root(); root != c.cp.Root {
		return fmt.Errorf("the %d events hash to root %s, but the checkpoint signs %s: the events were rewritten",
			c.n, HashText(root), HashText(c.cp.Root))
	}
	return nil
}

// newEventChecker starts checking the events from seq 0. With replay
// (the primary events, the first of Arrow and Parquet present) each event
// is also applied to a fold whose entities the tables are checked against;
// what the entities that leave it add to the tables is kept in closed.
func (v *verifier) newEventChecker(replay bool) (c *eventChecker, closed *closedRows) {
	c = &eventChecker{cp: v.cp, since: v.since}
	if replay {
		c.st = plenty.NewState()
		c.ids = watch(c.st)
		c.drain, closed = sumClosed(v.ctx, v.mem, c.st, c.ids)
	}
	return c, closed
}

// file checks the rows of one events file (or part) in format f.
func (c *eventChecker) file(v *verifier, f Format, file readAtSeeker) error {
	if f == CSV {
		return readCSV(v.ctx, file, eventsTable, func(row []string) error {
			r, err := parseEventRow(row, c.n)
			if err != nil {
				return err
			}
			return c.row(r)
		})
	}
	return readBatches(v.ctx, f, file, eventsTable, v.mem, func(rec arrow.RecordBatch) error {
		seq := rec.Column(0).(*array.Int64)
		tm := rec.Column(1).(*array.Timestamp)
		kind := rec.Column(2).(*array.String)
		actor := rec.Column(3).(*array.String)
		body := rec.Column(4).(*array.Binary)
		leaf := rec.Column(5).(*array.FixedSizeBinary)
		for i := 0; i < int(rec.NumRows()); i++ {
			for j, col := range rec.Columns() {
				if col.IsNull(i) {
					return fmt.Errorf("row %d: %s is null", c.n, eventsTable.cols[j].name)
				}
			}
			err := c.row(eventRow{seq: seq.Value(i), timeNS: int64(tm.Value(i)), kind: kind.Value(i),
				actor: actor.Value(i), body: body.Value(i), leaf: leaf.Value(i)})
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// checkEvents checks one events file holding every event.
func (v *verifier) checkEvents(f Format, file readAtSeeker, replay bool) error {
	c, closed := v.newEventChecker(replay)
	if replay {
		v.replayed = &replayedEvents{f: f}
	}
	if err := c.file(v, f, file); err != nil {
		return err
	}
	return v.endEvents(c, closed)
}

// endEvents checks what holds once every event was read: the count and
// the root, and for a replay the invariants over the whole state.
func (v *verifier) endEvents(c *eventChecker, closed *closedRows) error {
	if err := c.end(); err != nil {
		return err
	}
	if c.st != nil {
		// Every reservation balances, and no mandate outranks or
		// outlives its issuer.
		if err := c.st.CheckBalances(); err != nil {
			return err
		}
		if err := c.st.CheckMandates(); err != nil {
			return err
		}
		if err := c.drain.drain(); err != nil {
			return err
		}
		v.ents = stateEntities{st: c.st, ids: c.ids, closed: closed}
	}
	return nil
}

// checkEventParts checks the part files of the events in format f, in
// order, as one file: each part's rows must be its seq range and hash to
// its tree hash. For a read-back, the parts reused from an earlier
// snapshot are checked for their size only, and the tree is carried over
// their tree hashes.
func (v *verifier) checkEventParts(f Format, parts []Part, replay bool) error {
	c, closed := v.newEventChecker(replay)
	if replay {
		v.replayed = &replayedEvents{f: f, parts: parts}
	}
	i := 0
	if v.back != nil && v.back.reused > 0 {
		var reused []tlog.Hash
		for ; i < len(parts) && parts[i].Last < v.back.reused; i++ {
			p := parts[i]
			if err := v.statChecked(p.Path); err != nil {
				return err
			}
			h, _ := ParseHashText(p.TreeHash)
			reused = append(reused, h)
		}
		if i > 0 {
			if err := c.tree.SetEdge(parts[i-1].Last+1, edgeOf(reused)); err != nil {
				return err
			}
			c.n = parts[i-1].Last + 1
		}
	}
	for ; i < len(parts); i++ {
		p := parts[i]
		file, err := v.openChecked(p.Path)
		if err != nil {
			return err
		}
		c.part = &plenty.Tree{}
		err = c.file(v, f, file)
		file.Close()
		if err == nil && c.n != p.Last+1 {
			err = fmt.Errorf("holds the events up to %d, but datapackage.json says %d to %d", c.n-1, p.First, p.Last)
		}
		if err == nil && c.gap == nil && HashText(c.part.Root()) != p.TreeHash {
			err = fmt.Errorf("its events hash to %s, but datapackage.json says %s", HashText(c.part.Root()), p.TreeHash)
		}
		if err != nil {
			return v.fileFault(p.Path, err)
		}
	}
	c.part = nil
	if err := v.endEvents(c, closed); err != nil {
		name := fileName(eventsTable, f)
		if len(parts) > 0 {
			name = parts[len(parts)-1].Path
		}
		return v.fileFault(name, err)
	}
	return nil
}

// checkPartList checks that the parts of an events resource cover the
// events 0..size-1 in order, under the names the writer gives them, so
// that no listed path leaves the snapshot's folder.
func checkPartList(f Format, r Resource, size int64) error {
	if len(r.Path) != len(r.Parts) {
		return fmt.Errorf("lists %d paths but %d parts", len(r.Path), len(r.Parts))
	}
	next := int64(0)
	for i, p := range r.Parts {
		switch {
		case p.First != next || p.Last < p.First:
			return fmt.Errorf("part %d holds the events %d to %d; the next part must start at %d", i, p.First, p.Last, next)
		case p.Path != partPath(f, p.First, p.Last) || r.Path[i] != p.Path:
			name := r.Path[i]
			if name == partPath(f, p.First, p.Last) {
				name = p.Path
			}
			return fmt.Errorf("part %d is named %q; the events %d to %d are in %q", i, name, p.First, p.Last, partPath(f, p.First, p.Last))
		case p.Bytes <= 0:
			return fmt.Errorf("part %s has %d bytes", p.Path, p.Bytes)
		}
		if _, err := ParseHashText(p.TreeHash); err != nil {
			return fmt.Errorf("part %s: treeHash %v", p.Path, err)
		}
		next = p.Last + 1
	}
	if next != size {
		return fmt.Errorf("the parts hold %d events, but the checkpoint covers %d", next, size)
	}
	return nil
}

// parseEventRow reads a row of events.csv.
func parseEventRow(row []string, n int64) (eventRow, error) {
	seq, err := strconv.ParseInt(row[0], 10, 64)
	if err != nil {
		return eventRow{}, fmt.Errorf("row %d: seq %q is not a number", n, row[0])
	}
	ns, ok := parseTime(row[1])
	if !ok {
		return eventRow{}, fmt.Errorf("row %d: time %q is not a time such as 2026-01-02T15:04:05.000000000Z", n, row[1])
	}
	leaf, err := hex.DecodeString(row[5])
	if err != nil || len(leaf) != tlog.HashSize {
		return eventRow{}, fmt.Errorf("row %d: leaf_hash %q is not 64 hex digits", n, row[5])
	}
	return eventRow{seq: seq, timeNS: ns, kind: row[2], actor: row[3], body: []byte(row[4]), leaf: leaf}, nil
}

// parseTime reads a time written as plenty.TimeFormat, as nanoseconds
// since 1970. It reads the digits itself, as time.Parse costs several
// times more, and accepts only the text formatTime writes.
func parseTime(s string) (int64, bool) {
	if len(s) != len(plenty.TimeFormat) {
		return 0, false
	}
	num := func(from, to int) int {
		v := 0
		for i := from; i < to; i++ {
			d := s[i] - '0'
			if d > 9 {
				return -1
			}
			v = v*10 + int(d)
		}
		return v
	}
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, min, sec, nsec := num(11, 13), num(14, 16), num(17, 19), num(20, 29)
	if year < 0 || month < 0 || day < 0 || hour < 0 || min < 0 || sec < 0 || nsec < 0 {
		return 0, false
	}
	ns := time.Date(year, time.Month(month), day, hour, min, sec, nsec, time.UTC).UnixNano()
	// Out-of-range fields (month 13) and times beyond int64 nanoseconds
	// do not print back the same.
	return ns, formatTime(ns) == s
}

// readEnvelope reads seq, time, kind and actor from a canonical body's
// envelope, {"seq":N,"time":"T","kind":"K","actor":"A","data":…}, without
// decoding the data. It falls back to plenty.DecodeEvent for anything
// else, such as escaped characters.
func readEnvelope(body []byte) (plenty.Event, error) {
	rest, ok := bytes.CutPrefix(body, []byte(`{"seq":`))
	if !ok {
		return plenty.DecodeEvent(body)
	}
	end := bytes.IndexByte(rest, ',')
	if end < 1 {
		return plenty.DecodeEvent(body)
	}
	seq, err := strconv.ParseInt(string(rest[:end]), 10, 64)
	if err != nil {
		return plenty.DecodeEvent(body)
	}
	rest = rest[end:]
	var fields [3]string
	for k, key := range []string{`,"time":"`, `","kind":"`, `","actor":"`} {
		if rest, ok = bytes.CutPrefix(rest, []byte(key)); !ok {
			return plenty.DecodeEvent(body)
		}
		end := bytes.IndexByte(rest, '"')
		if end < 0 || bytes.IndexByte(rest[:end], '\\') >= 0 {
			return plenty.DecodeEvent(body)
		}
		fields[k], rest = string(rest[:end]), rest[end:]
	}
	if !bytes.HasPrefix(rest, []byte(`","data":`)) {
		return plenty.DecodeEvent(body)
	}
	t, err := time.Parse(plenty.TimeFormat, fields[0])
	if err != nil {
		return plenty.DecodeEvent(body)
	}
	return plenty.Event{Seq: seq, Time: t, Kind: fields[1], Actor: fields[2], Body: body}, nil
}
