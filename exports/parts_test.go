package exports

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/plentyhub/plenty"
)

func readPackage(t *testing.T, dir string) DataPackage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, DataPackageFile))
	if err != nil {
		t.Fatal(err)
	}
	var p DataPackage
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func partsOf(p DataPackage, f Format) []Part {
	if r := p.resource(eventsTable, f); r != nil {
		return r.Parts
	}
	return nil
}

// TestSnapshotsReuseFullParts writes snapshots of 6 and then 10 events in
// parts of 4: the second links the first's full part (the same file, the
// same bytes and hash), writes the rest, and both verify; pruning the
// first leaves the second whole.
func TestSnapshotsReuseFullParts(t *testing.T) {
	l := demoLog(t, "stone-milled")
	dir := t.TempDir()
	ctx := context.Background()
	opts := &Options{PartEvents: 4, Keep: 1}
	first, err := Write(ctx, dir, l.source(), l.checkpoint(6), l.verifier, opts)
	if err != nil {
		t.Fatal(err)
	}
	firstPkg := readPackage(t, first.Dir)
	firstParts := partsOf(firstPkg, Arrow)
	if len(firstParts) != 2 || firstParts[0].Path != "events/arrow/000000000000-000000000003.arrow" ||
		firstParts[1].Path != "events/arrow/000000000004-000000000005.arrow" {
		t.Fatalf("parts of 6 = %+v", firstParts)
	}
	before, err := os.Stat(filepath.Join(first.Dir, firstParts[0].Path))
	if err != nil {
		t.Fatal(err)
	}
	second, err := Write(ctx, dir, l.source(), l.checkpoint(10), l.verifier, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range Formats {
		got := partsOf(readPackage(t, second.Dir), f)
		var ranges [][2]int64
		for _, p := range got {
			ranges = append(ranges, [2]int64{p.First, p.Last})
		}
		if len(got) != 3 || ranges[0] != [2]int64{0, 3} || ranges[1] != [2]int64{4, 7} || ranges[2] != [2]int64{8, 9} {
			t.Fatalf("%s parts of 10 = %v, want 0-3, 4-7, 8-9", f, ranges)
		}
		if was := partsOf(firstPkg, f)[0]; got[0] != was {
			t.Errorf("%s: the full part is listed as %+v, was %+v", f, got[0], was)
		}
	}
	after, err := os.Stat(filepath.Join(second.Dir, firstParts[0].Path))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("the full part was written again, not linked")
	}
	// Keep 1: the snapshot of 6 is gone, its part lives on in the other.
	if _, err := os.Stat(first.Dir); !os.IsNotExist(err) {
		t.Fatalf("snapshot 6 not pruned: %v", err)
	}
	if _, err := Verify(ctx, second.Dir, &VerifyOptions{Key: l.verifier}); err != nil {
		t.Fatalf("Verify after pruning: %v", err)
	}
}

// TestSnapshotOfAnotherHistoryWritesEveryPart: when the earlier snapshot
// in the folder is of another history under the same origin, its parts do
// not make the new root, and the new snapshot is written whole.
func TestSnapshotOfAnotherHistoryWritesEveryPart(t *testing.T) {
	l := demoLog(t, "stone-milled")
	other := demoLog(t, "rewritten")
	other.signer, other.verifier = l.signer, l.verifier
	dir := t.TempDir()
	ctx := context.Background()
	opts := &Options{PartEvents: 4, Keep: 5}
	old, err := Write(ctx, dir, other.source(), other.checkpoint(8), other.verifier, opts)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := Write(ctx, dir, l.source(), l.checkpoint(10), l.verifier, opts)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.Stat(filepath.Join(old.Dir, partPath(Arrow, 4, 7)))
	b, _ := os.Stat(filepath.Join(snap.Dir, partPath(Arrow, 4, 7)))
	if a == nil || b == nil || os.SameFile(a, b) {
		t.Fatal("a part of the other history was reused")
	}
	if _, err := Verify(ctx, snap.Dir, &VerifyOptions{Key: l.verifier}); err != nil {
		t.Fatal(err)
	}
}

// fakeProjections is an in-memory projection log of a test log: after each
// event, the document of every entity it changed, stamped with its seq.
type fakeProjections struct {
	rows map[string][]fakeDoc // by kind, in stamp order
}

type fakeDoc struct {
	id  string
	seq int64
	doc []byte
}

func newFakeProjections(t *testing.T, l *testLog) *fakeProjections {
	st := plenty.NewState()
	var changed []plenty.Change
	st.OnChange(func(c plenty.Change) { changed = append(changed, c) })
	p := &fakeProjections{rows: map[string][]fakeDoc{}}
	for _, ev := range l.events {
		changed = changed[:0]
		if err := st.Apply(ev); err != nil {
			t.Fatal(err)
		}
		for _, c := range changed {
			if doc, ok := st.Doc(c); ok {
				p.rows[c.Kind] = append(p.rows[c.Kind], fakeDoc{c.ID, ev.Seq, doc})
			}
		}
	}
	return p
}

// current returns, for each id, its first stamp, newest stamp and newest
// document before size.
func (p *fakeProjections) current(kind string, size int64) map[string]*[3]any {
	out := map[string]*[3]any{}
	for _, r := range p.rows[kind] {
		if r.seq >= size {
			break
		}
		if out[r.id] == nil {
			out[r.id] = &[3]any{r.seq, r.seq, r.doc}
		}
		out[r.id][1], out[r.id][2] = r.seq, r.doc
	}
	return out
}

func (p *fakeProjections) Documents(ctx context.Context, kind string, size, part int64, parts []int64, fn func(id string, first int64, doc []byte) error) error {
	cur := p.current(kind, size)
	ids := make([]string, 0, len(cur))
	for id := range cur {
		k := cur[id][0].(int64) / part
		if parts == nil || slices.Contains(parts, k) {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b string) int {
		ka, kb := cur[a][0].(int64)/part, cur[b][0].(int64)/part
		if ka != kb {
			return cmp.Compare(ka, kb)
		}
		return strings.Compare(a, b)
	})
	for _, id := range ids {
		if err := fn(id, cur[id][0].(int64), cur[id][2].([]byte)); err != nil {
			return err
		}
	}
	return nil
}

func (p *fakeProjections) Changed(ctx context.Context, kind string, since, size int64, fn func(first int64) error) error {
	for _, c := range p.current(kind, size) {
		if c[1].(int64) >= since {
			if err := fn(c[0].(int64)); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestTablePartsFollowWhatChanged: with parts of 2, the snapshot of 10
// links the table parts of the snapshot of 6 whose range was closed and
// none of whose entities changed, and writes the others again (offer o2,
// first recorded at 4, was withdrawn at 6); both verify against a replay.
func TestTablePartsFollowWhatChanged(t *testing.T) {
	l := demoLog(t, "stone-milled")
	p := newFakeProjections(t, l)
	dir := t.TempDir()
	ctx := context.Background()
	opts := &Options{PartEvents: 2, Keep: 5, Projections: p}
	first, err := Write(ctx, dir, l.source(), l.checkpoint(6), l.verifier, opts)
	if err != nil {
		t.Fatal(err)
	}
	second, err := Write(ctx, dir, l.source(), l.checkpoint(10), l.verifier, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Snapshot{first, second} {
		if _, err := Verify(ctx, s.Dir, &VerifyOptions{Key: l.verifier}); err != nil {
			t.Fatalf("Verify %s: %v", s.Dir, err)
		}
	}
	shared := func(path string) bool {
		a, err1 := os.Stat(filepath.Join(first.Dir, path))
		b, err2 := os.Stat(filepath.Join(second.Dir, path))
		return err1 == nil && err2 == nil && os.SameFile(a, b)
	}
	for path, want := range map[string]bool{
		tablePartPath(councilsTable, Parquet, 0, 1): true,  // c1, c2: unchanged
		tablePartPath(offersTable, Parquet, 2, 3):   true,  // o1: unchanged
		tablePartPath(offersTable, CSV, 2, 3):       true,  // o1: unchanged
		tablePartPath(offersTable, Parquet, 4, 5):   false, // o2: withdrawn at 6
		tablePartPath(needsTable, Arrow, 4, 5):      false, // n1: expired at 9
		partPath(Arrow, 0, 1):                       true,  // full events parts
		partPath(Arrow, 4, 5):                       true,
	} {
		if got := shared(path); got != want {
			t.Errorf("%s shared by the snapshots of 6 and 10: %v, want %v", path, got, want)
		}
	}
	// The rewritten part holds o2 as withdrawn.
	b, err := os.ReadFile(filepath.Join(second.Dir, tablePartPath(offersTable, CSV, 4, 5)))
	if err != nil || !strings.Contains(string(b), "o2,") || !strings.Contains(string(b), ",withdrawn,") {
		t.Fatalf("offers part 4-5 of the snapshot of 10: %v\n%s", err, b)
	}
}

// TestJoinEvents: the parts of a snapshot joined into one file hold every
// event in order, in each format, with one CSV header.
func TestJoinEvents(t *testing.T) {
	l := demoLog(t, "stone-milled")
	snap, err := Write(context.Background(), t.TempDir(), l.source(), l.checkpoint(10), l.verifier, &Options{PartEvents: 4})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []Format{Arrow, Parquet} {
		var buf bytes.Buffer
		if err := JoinEvents(context.Background(), &buf, f, snap.Dir, nil); err != nil {
			t.Fatal(err)
		}
		var seqs []int64
		err := readBatches(context.Background(), f, bytes.NewReader(buf.Bytes()), eventsTable, memory.DefaultAllocator, func(rec arrow.RecordBatch) error {
			for i := 0; i < int(rec.NumRows()); i++ {
				seqs = append(seqs, rec.Column(0).(*array.Int64).Value(i))
			}
			return nil
		})
		if err != nil || fmt.Sprint(seqs) != "[0 1 2 3 4 5 6 7 8 9]" {
			t.Fatalf("%s joined: seqs %v, %v", f, seqs, err)
		}
	}
	var buf bytes.Buffer
	if err := JoinEvents(context.Background(), &buf, CSV, snap.Dir, nil); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 11 || !strings.HasPrefix(lines[0], "seq,") || strings.Count(buf.String(), "seq,time") != 1 {
		t.Fatalf("joined CSV has %d lines:\n%s", len(lines), buf.String())
	}
	if err := JoinTable(context.Background(), &buf, "accounts", CSV, snap.Dir, nil); plenty.ErrorCode(err) != plenty.ENOTFOUND {
		t.Fatalf("joining the accounts = %v, want ENOTFOUND (one file, not parts)", err)
	}
}
