package exports

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"golang.org/x/mod/sumdb/tlog"
)

// readEventRows reads events.arrow of a snapshot into memory.
func readEventRows(t *testing.T, dir string) []eventRow {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "events.arrow"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []eventRow
	err = readBatches(context.Background(), Arrow, f, eventsTable, memory.DefaultAllocator, func(rec arrow.RecordBatch) error {
		for i := 0; i < int(rec.NumRows()); i++ {
			rows = append(rows, eventRow{
				seq:    rec.Column(0).(*array.Int64).Value(i),
				timeNS: int64(rec.Column(1).(*array.Timestamp).Value(i)),
				kind:   rec.Column(2).(*array.String).Value(i),
				actor:  rec.Column(3).(*array.String).Value(i),
				body:   bytes.Clone(rec.Column(4).(*array.Binary).Value(i)),
				leaf:   bytes.Clone(rec.Column(5).(*array.FixedSizeBinary).Value(i)),
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// writeEventRows writes rows, whatever they hold, as dir/events.arrow: the
// tamperer's tool.
func writeEventRows(t *testing.T, dir string, rows []eventRow) {
	t.Helper()
	var buf bytes.Buffer
	s, err := newSink(Arrow, &buf, eventsTable, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	rb := array.NewRecordBuilder(memory.DefaultAllocator, eventsTable.schema())
	defer rb.Release()
	for _, r := range rows {
		rb.Field(0).(*array.Int64Builder).Append(r.seq)
		rb.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(r.timeNS))
		rb.Field(2).(*array.StringBuilder).Append(r.kind)
		rb.Field(3).(*array.StringBuilder).Append(r.actor)
		rb.Field(4).(*array.BinaryBuilder).Append(r.body)
		rb.Field(5).(*array.FixedSizeBinaryBuilder).Append(r.leaf)
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	if err := s.write(rec); err != nil {
		t.Fatal(err)
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "events.arrow"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyDir(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

func remove(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := os.Remove(filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
}

// editEvents rewrites events.arrow and removes what would catch the change
// before the check under test: datapackage.json (sizes and hashes) and the
// other events files.
func editEvents(edit func(rows []eventRow) []eventRow) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		rows := edit(readEventRows(t, dir))
		writeEventRows(t, dir, rows)
		remove(t, dir, "datapackage.json", "events.parquet", "events.csv")
	}
}

func rehash(r *eventRow) {
	h := tlog.RecordHash(r.body)
	r.leaf = h[:]
}

func replaceIn(t *testing.T, dir, name, old, new string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s does not contain %q", name, old)
	}
	if err := os.WriteFile(filepath.Join(dir, name), bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

func truncate(name string, keepPackage bool) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		path := filepath.Join(dir, name)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, fi.Size()*2/3); err != nil {
			t.Fatal(err)
		}
		if !keepPackage {
			remove(t, dir, "datapackage.json")
		}
	}
}

func TestVerifyCatchesTampering(t *testing.T) {
	l := demoLog(t, "stone-milled")
	good := mustWrite(t, l, 10)
	small := mustWrite(t, l, 6)

	// Another history: event 3's note rewritten, signed by the same key
	// and, separately, by another key.
	sameKey := demoLog(t, "rewritten")
	sameKey.signer, sameKey.verifier = l.signer, l.verifier
	rewrittenSameKey := mustWrite(t, sameKey, 10)
	rewrittenOtherKey := mustWrite(t, demoLog(t, "rewritten"), 10)

	tests := []struct {
		name   string
		dir    string
		tamper func(t *testing.T, dir string)
		opts   VerifyOptions
		want   string
	}{
		{name: "FlippedByteInBody", dir: good, want: "events.arrow: event 3: leaf_hash",
			tamper: editEvents(func(r []eventRow) []eventRow { r[3].body[60] ^= 0x01; return r })},
		{name: "BodyRewrittenAndRehashed", dir: good, want: "events.arrow: the 10 events hash to root",
			tamper: editEvents(func(r []eventRow) []eventRow {
				r[3].body = bytes.Replace(r[3].body, []byte("stone-milled"), []byte("stone-milleD"), 1)
				rehash(&r[3])
				return r
			})},
		{name: "BodyBrokenAndRehashed", dir: good, want: "event 3: the body is not a canonical event",
			tamper: editEvents(func(r []eventRow) []eventRow {
				r[3].body = append([]byte(" "), r[3].body...)
				rehash(&r[3])
				return r
			})},
		{name: "KindColumnAltered", dir: good, want: `event 6: kind column "need.withdrawn" differs from the body's "offer.withdrawn"`,
			tamper: editEvents(func(r []eventRow) []eventRow { r[6].kind = "need.withdrawn"; return r })},
		{name: "DroppedEvent", dir: good, want: "event 4 is missing",
			tamper: editEvents(func(r []eventRow) []eventRow { return append(r[:4:4], r[5:]...) })},
		{name: "DroppedLastEvent", dir: good, want: "holds 9 events, but the checkpoint covers 10",
			tamper: editEvents(func(r []eventRow) []eventRow { return r[:9] })},
		{name: "SwappedEvents", dir: good, want: "events 3 and 4 are swapped",
			tamper: editEvents(func(r []eventRow) []eventRow { r[3], r[4] = r[4], r[3]; return r })},
		{name: "RepeatedEvent", dir: good, want: "event 4 appears again at row 5",
			tamper: editEvents(func(r []eventRow) []eventRow { return append(r[:5:5], append([]eventRow{r[4]}, r[5:]...)...) })},
		{name: "TruncatedArrow", dir: good, want: "events.arrow: not a readable Arrow IPC file",
			tamper: truncate("events.arrow", false)},
		{name: "TruncatedParquet", dir: good, want: "events.parquet: not a readable Parquet file",
			tamper: truncate("events.parquet", false)},
		{name: "TruncatedCSV", dir: good, want: "events.csv:",
			tamper: truncate("events.csv", false)},
		{name: "TruncatedWithDataPackage", dir: good, want: "bytes, but datapackage.json says",
			tamper: truncate("events.arrow", true)},
		{name: "AlteredTableWithDataPackage", dir: good, want: "offers.csv: has hash sha256:",
			tamper: func(t *testing.T, dir string) { replaceIn(t, dir, "offers.csv", ",250,250,", ",250,200,") }},
		{name: "AlteredTable", dir: good, want: `offers.csv: row 1 (id o1): column availableQuantity is "200", but the events give "250"`,
			tamper: func(t *testing.T, dir string) {
				replaceIn(t, dir, "offers.csv", ",250,250,", ",250,200,")
				remove(t, dir, "datapackage.json")
			}},
		{name: "TableRowDropped", dir: good, want: "councils.csv: has 1 rows, but the events give 2",
			tamper: func(t *testing.T, dir string) {
				replaceIn(t, dir, "councils.csv", "c2,\"Hill Mill, \"\"North\"\"\",food,Riverside,51.5,-0.2,2026-11-21T10:01:00.000000000Z\n", "")
				remove(t, dir, "datapackage.json")
			}},
		{name: "ListedFileMissing", dir: good, want: "needs.parquet: is listed in datapackage.json, but the source does not have it",
			tamper: func(t *testing.T, dir string) { remove(t, dir, "needs.parquet") }},
		{name: "DataPackageOfAnotherTree", dir: good, want: "datapackage.json: describes tree size 11",
			tamper: func(t *testing.T, dir string) {
				replaceIn(t, dir, "datapackage.json", `"treeSize": 10`, `"treeSize": 11`)
			}},
		{name: "NoEvents", dir: good, want: "neither events.arrow nor events.parquet",
			tamper: func(t *testing.T, dir string) { remove(t, dir, "events.arrow", "events.parquet", "datapackage.json") }},
		{name: "NoKey", dir: good, want: "no key file and no --key",
			tamper: func(t *testing.T, dir string) { remove(t, dir, "key") }},
		{name: "NoCheckpoint", dir: good, want: "no checkpoint file",
			tamper: func(t *testing.T, dir string) { remove(t, dir, "checkpoint") }},
		{name: "ResignedWithOtherKey", dir: rewrittenOtherKey, opts: VerifyOptions{Key: l.verifier},
			want: "is not the key given"},
		{name: "CheckpointResignedWithOtherKey", dir: good, opts: VerifyOptions{Key: l.verifier},
			want: "checkpoint: checkpoint is not signed by key",
			tamper: func(t *testing.T, dir string) {
				other, _ := os.ReadFile(filepath.Join(rewrittenOtherKey, "checkpoint"))
				os.WriteFile(filepath.Join(dir, "checkpoint"), other, 0o644)
			}},
		{name: "ResignedWithOtherKeySince", dir: rewrittenOtherKey, opts: VerifyOptions{Since: l.checkpoint(5)},
			want: "--since: the earlier checkpoint does not verify with the key in use"},
		{name: "ResignedWithSameKeyNotConsistent", dir: rewrittenSameKey, opts: VerifyOptions{Key: l.verifier, Since: l.checkpoint(5)},
			want: "not consistent with the earlier checkpoint (--since): its first 5 events hash to"},
		{name: "LogWentBackwards", dir: small, opts: VerifyOptions{Key: l.verifier, Since: l.checkpoint(10)},
			want: "covers 6 events, fewer than the 10 of the earlier checkpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyDir(t, tt.dir)
			if tt.tamper != nil {
				tt.tamper(t, dir)
			}
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			opts := tt.opts
			opts.Allocator = mem
			_, err := Verify(context.Background(), dir, &opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Verify error = %v\nwant one containing %q", err, tt.want)
			}
			if _, ok := err.(*Fault); !ok {
				t.Errorf("error is a %T, want a *Fault", err)
			}
		})
	}
}

func TestVerifyAccepts(t *testing.T) {
	l := demoLog(t, "stone-milled")
	good := mustWrite(t, l, 10)
	tests := []struct {
		name string
		opts VerifyOptions
		drop []string
	}{
		{name: "KeyFromSource"},
		{name: "SinceEmptyTree", opts: VerifyOptions{Since: l.checkpoint(0)}},
		{name: "SinceEarlier", opts: VerifyOptions{Key: l.verifier, Since: l.checkpoint(5)}},
		{name: "SinceSame", opts: VerifyOptions{Key: l.verifier, Since: l.checkpoint(10)}},
		{name: "ParquetOnly", drop: []string{"datapackage.json", "events.arrow", "events.csv"}},
		{name: "EventsOnly", drop: tableFiles()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyDir(t, good)
			remove(t, dir, tt.drop...)
			rep, err := Verify(context.Background(), dir, &tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Checkpoint.Size != 10 || rep.KeyFromSource != (tt.opts.Key == "") {
				t.Errorf("report = %+v", rep)
			}
			if tt.opts.Since != nil && rep.Since == nil {
				t.Error("report lacks the --since checkpoint")
			}
		})
	}
}

// tableFiles names every projection file and datapackage.json.
func tableFiles() []string {
	names := []string{"datapackage.json"}
	for _, t := range projections {
		for _, f := range Formats {
			names = append(names, fileName(t, f))
		}
	}
	return names
}
