package exports

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/plentyhub/plenty"
	"golang.org/x/mod/sumdb/tlog"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// mustWrite exports l at size n into a fresh folder and returns the
// snapshot's folder; the checked allocator proves every buffer released.
func mustWrite(t *testing.T, l *testLog, n int64) string {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	snap, err := Write(context.Background(), dir, l.source(), l.checkpoint(n), l.verifier, &Options{Allocator: mem, BatchRows: 4})
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return snap.Dir
}

// tableFile is the file of table t in format f in a snapshot of size
// events small enough for one part: T/F/0…-SIZE-1.F, or T.F for the
// accounts.
func tableFile(t *table, f Format, size int64) string {
	if isPartitioned(t) {
		return tablePartPath(t, f, 0, size-1)
	}
	return fileName(t, f)
}

func TestWriteAndVerify(t *testing.T) {
	l := demoLog(t, "stone-milled")
	dir := mustWrite(t, l, 10)

	latest, size, err := Latest(filepath.Dir(dir))
	if err != nil || size != 10 || latest != dir {
		t.Fatalf("Latest = %q, %d, %v; want %q, 10", latest, size, err, dir)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rep, err := Verify(context.Background(), dir, &VerifyOptions{Key: l.verifier, Allocator: mem})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if rep.Checkpoint.Size != 10 || rep.KeyFromSource || rep.KeyName != testOrigin {
		t.Errorf("report = %+v", rep)
	}
	// datapackage.json, 9 tables × 3 formats.
	if len(rep.Files) != 1+9*3 {
		t.Errorf("checked %d files, want 28: %v", len(rep.Files), rep.Files)
	}
	for _, name := range []string{"checkpoint", "key", partPath(Arrow, 0, 9), partPath(Parquet, 0, 9), partPath(CSV, 0, 9), tableFile(offersTable, Parquet, 10), "accounts.csv"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("snapshot lacks %s: %v", name, err)
		}
	}
	// No token hash and no delegate label may leave the hub in a table.
	for _, t2 := range projections {
		for _, f := range Formats {
			b, err := os.ReadFile(filepath.Join(dir, tableFile(t2, f, 10)))
			if err != nil || len(b) == 0 {
				t.Fatalf("%s: %v", tableFile(t2, f, 10), err)
			}
			for _, secret := range []string{"hash-of-", "Jo Bloggs"} {
				if bytes.Contains(b, []byte(secret)) {
					t.Errorf("%s contains %q", tableFile(t2, f, 10), secret)
				}
			}
		}
	}
	goldenAs(t, dir, partPath(CSV, 0, 9), "events.csv")
	golden(t, dir, "datapackage.json")
	for _, tb := range []*table{councilsTable, delegatesTable, itemsTable, offersTable, needsTable, accountsTable} {
		goldenAs(t, dir, tableFile(tb, CSV, 10), fileName(tb, CSV))
	}
}

// golden compares a file of the snapshot with testdata/NAME.golden.
func golden(t *testing.T, dir, name string) {
	t.Helper()
	goldenAs(t, dir, name, name)
}

// goldenAs compares the file dir/path with testdata/NAME.golden.
func goldenAs(t *testing.T, dir, path, name string) {
	t.Helper()
	got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(path)))
	if err != nil {
		t.Fatal(err)
	}
	// The verifier key and the signature differ on every run.
	path = filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (run go test -update after checking the change):\n%s", name, path, got)
	}
}

func TestWriteIsIdempotentAndLatestMovesForward(t *testing.T) {
	l := demoLog(t, "stone-milled")
	dir := t.TempDir()
	ctx := context.Background()
	for _, n := range []int64{6, 10, 6} {
		if _, err := Write(ctx, dir, l.source(), l.checkpoint(n), l.verifier, nil); err != nil {
			t.Fatalf("Write(%d): %v", n, err)
		}
	}
	_, size, err := Latest(dir)
	if err != nil || size != 10 {
		t.Fatalf("latest size = %d, %v; want 10 (an older snapshot never moves latest back)", size, err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != "10 6 latest" {
		t.Errorf("folder holds %q, want \"10 6 latest\" (no temporary folders left)", got)
	}
	if _, err := Verify(ctx, filepath.Join(dir, "6"), &VerifyOptions{Key: l.verifier}); err != nil {
		t.Errorf("snapshot 6: %v", err)
	}
}

func TestWriteRefuses(t *testing.T) {
	l := demoLog(t, "stone-milled")
	other := demoLog(t, "stone-milled")
	rewritten := demoLog(t, "rewritten")
	rewritten.signer, rewritten.verifier = l.signer, l.verifier
	tests := []struct {
		name       string
		checkpoint []byte
		key        string
		want       string
	}{
		{"ErrWrongKey", l.checkpoint(10), other.verifier, "is not signed by key"},
		{"ErrEventsDoNotMatchCheckpoint", rewritten.checkpoint(10), l.verifier, "hash to root"},
		{"ErrMalformedKey", l.checkpoint(10), "nonsense", "verifier key is malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := Write(context.Background(), dir, l.source(), tt.checkpoint, tt.key, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Write error = %v, want one containing %q", err, tt.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("a failed export left %d entries behind", len(entries))
			}
		})
	}
}

func TestWriteEventsIncremental(t *testing.T) {
	l := demoLog(t, "stone-milled")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var buf bytes.Buffer
	if err := WriteEvents(context.Background(), &buf, CSV, l.source(), 7, 10, &Options{Allocator: mem}); err != nil {
		t.Fatal(err)
	}
	var seqs []string
	err := readCSV(context.Background(), &buf, eventsTable, func(row []string) error {
		seqs = append(seqs, row[0])
		leaf := tlog.RecordHash([]byte(row[4]))
		if row[5] != strings.ToLower(leafHex(leaf)) {
			t.Errorf("event %s: leaf_hash %s, want %s", row[0], row[5], leafHex(leaf))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(seqs, ","); got != "7,8,9" {
		t.Errorf("seqs = %s, want 7,8,9", got)
	}
	for _, f := range []Format{Arrow, Parquet} {
		var b bytes.Buffer
		if err := WriteEvents(context.Background(), &b, f, l.source(), 3, 10, &Options{Allocator: mem}); err != nil {
			t.Fatal(err)
		}
		n := 0
		err := readBatches(context.Background(), f, bytes.NewReader(b.Bytes()), eventsTable, mem, func(rec arrowRecord) error {
			n += int(rec.NumRows())
			return nil
		})
		if err != nil || n != 7 {
			t.Errorf("%s: read %d rows, %v; want 7", f, n, err)
		}
	}
	if err := WriteEvents(context.Background(), &buf, CSV, l.source(), 5, 4, nil); plenty.ErrorCode(err) != plenty.EINVALID {
		t.Errorf("WriteEvents(5, 4) = %v, want EINVALID", err)
	}
}

func TestReadEnvelopeMatchesDecodeEvent(t *testing.T) {
	l := demoLog(t, "stone-milled")
	l.add(plenty.KindItemDefined, `odd "actor" \ name`, map[string]string{"x": "y"})
	for _, ev := range l.events {
		got, err := readEnvelope(ev.Body)
		if err != nil {
			t.Fatal(err)
		}
		if got.Seq != ev.Seq || !got.Time.Equal(ev.Time) || got.Kind != ev.Kind || got.Actor != ev.Actor {
			t.Errorf("readEnvelope(%s) = %d %s %s %s", ev.Body, got.Seq, got.Time, got.Kind, got.Actor)
		}
	}
	if _, err := readEnvelope([]byte(`{"seq":1,"time":"x"`)); err == nil {
		t.Error("readEnvelope accepted a broken body")
	}
}
