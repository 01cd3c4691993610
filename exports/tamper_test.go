package exports

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/plentyhub/plenty"
	"golang.org/x/mod/sumdb/tlog"
)

// offersCSV is the one CSV part of the offers of the demo log's snapshot
// of 10.
var offersCSV = tableFile(offersTable, CSV, 10)

// arrowPart is the one Arrow part of the demo log's snapshot of 10.
var arrowPart = partPath(Arrow, 0, 9)

// readEventRows reads the Arrow part of a snapshot of 10 into memory.
func readEventRows(t *testing.T, dir string) []eventRow {
	t.Helper()
	rows, err := tryReadEventRows(dir)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func tryReadEventRows(dir string) ([]eventRow, error) {
	f, err := os.Open(filepath.Join(dir, arrowPart))
	if err != nil {
		return nil, err
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
	return rows, err
}

// writeEventRows writes rows, whatever they hold, as the Arrow part of a
// snapshot of 10: the tamperer's tool.
func writeEventRows(t *testing.T, dir string, rows []eventRow) {
	t.Helper()
	writeEventsFile(t, filepath.Join(dir, arrowPart), rows)
}

// writeEventsFile writes rows as one Arrow file at path.
func writeEventsFile(t *testing.T, path string, rows []eventRow) {
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
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// relist rewrites datapackage.json to describe the files as they now are,
// as a tamperer would: every size, hash and part's tree hash recomputed,
// and the resources whose files are gone left out.
func relist(t *testing.T, dir string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, DataPackageFile))
	if err != nil {
		t.Fatal(err)
	}
	var p DataPackage
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	sum := func(path string) (int64, string, bool) {
		b, err := os.ReadFile(filepath.Join(dir, path))
		if err != nil {
			return 0, "", false
		}
		h := sha256.Sum256(b)
		return int64(len(b)), "sha256:" + hex.EncodeToString(h[:]), true
	}
	var kept []Resource
	for _, r := range p.Resources {
		if r.Parts == nil {
			n, h, ok := sum(r.Path[0])
			if !ok {
				continue
			}
			r.Bytes, r.Hash = n, h
			kept = append(kept, r)
			continue
		}
		ok := true
		for i := range r.Parts {
			part := &r.Parts[i]
			if part.Bytes, part.Hash, ok = sum(part.Path); !ok {
				break
			}
			if rows, err := tryReadEventRows(dir); err == nil && r.Name == "events-arrow" {
				var tree plenty.Tree
				for _, row := range rows {
					tree.Add(tlog.Hash(row.leaf))
				}
				part.TreeHash = HashText(tree.Root())
			}
		}
		if ok {
			kept = append(kept, r)
		}
	}
	p.Resources = kept
	out, err := p.marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, DataPackageFile), out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// addWhole copies the one part of table tb in format f of a snapshot of
// 10 to the path given and lists it in datapackage.json as a whole
// resource named name, beside the parts.
func addWhole(tb *table, f Format, name, path string) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		part := tableFile(tb, f, 10)
		if tb == eventsTable {
			part = partPath(f, 0, 9)
		}
		b, err := os.ReadFile(filepath.Join(dir, part))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, path), b, 0o644); err != nil {
			t.Fatal(err)
		}
		p := readPackage(t, dir)
		h := sha256.Sum256(b)
		r := newResource(tb, f, int64(len(b)), hex.EncodeToString(h[:]))
		r.Name, r.Path = name, ResourcePath{path}
		p.Resources = append(p.Resources, r)
		out, err := p.marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, DataPackageFile), out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func copyDir(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return to
}

func remove(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := os.RemoveAll(filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
}

// editEvents rewrites the Arrow part and hides what would catch the
// change before the check under test: the other events parts, and the
// sizes, hashes and tree hash in datapackage.json.
func editEvents(edit func(rows []eventRow) []eventRow) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		rows := edit(readEventRows(t, dir))
		writeEventRows(t, dir, rows)
		remove(t, dir, "events/parquet", "events/csv")
		relist(t, dir)
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
	name = filepath.FromSlash(name)
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
			relist(t, dir)
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
		{name: "FlippedByteInBody", dir: good, want: arrowPart + ": event 3: leaf_hash",
			tamper: editEvents(func(r []eventRow) []eventRow { r[3].body[60] ^= 0x01; return r })},
		{name: "BodyRewrittenAndRehashed", dir: good, want: arrowPart + ": the 10 events hash to root",
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
		{name: "DroppedLastEvent", dir: good, want: arrowPart + ": holds the events up to 8, but datapackage.json says 0 to 9",
			tamper: editEvents(func(r []eventRow) []eventRow { return r[:9] })},
		{name: "SwappedEvents", dir: good, want: "events 3 and 4 are swapped",
			tamper: editEvents(func(r []eventRow) []eventRow { r[3], r[4] = r[4], r[3]; return r })},
		{name: "RepeatedEvent", dir: good, want: "event 4 appears again at row 5",
			tamper: editEvents(func(r []eventRow) []eventRow { return append(r[:5:5], append([]eventRow{r[4]}, r[5:]...)...) })},
		{name: "TruncatedArrow", dir: good, want: arrowPart + ": not a readable Arrow IPC file",
			tamper: truncate(arrowPart, false)},
		{name: "TruncatedParquet", dir: good, want: partPath(Parquet, 0, 9) + ": not a readable Parquet file",
			tamper: truncate(partPath(Parquet, 0, 9), false)},
		{name: "TruncatedCSV", dir: good, want: partPath(CSV, 0, 9) + ":",
			tamper: truncate(partPath(CSV, 0, 9), false)},
		{name: "TruncatedWithDataPackage", dir: good, want: "bytes, but datapackage.json says",
			tamper: truncate(arrowPart, true)},
		{name: "AlteredTableWithDataPackage", dir: good, want: offersCSV + ": has hash sha256:",
			tamper: func(t *testing.T, dir string) { replaceIn(t, dir, offersCSV, ",250,250,", ",250,200,") }},
		{name: "AlteredTable", dir: good, want: offersCSV + `: row 1 (id o1): column availableQuantity is "200", but the events give "250"`,
			tamper: func(t *testing.T, dir string) {
				replaceIn(t, dir, offersCSV, ",250,250,", ",250,200,")
				relist(t, dir)
			}},
		{name: "TableRowDropped", dir: good, want: tableFile(councilsTable, CSV, 10) + ": has 1 rows, but the events give 2: the councils csv files lack the row (id c2)",
			tamper: func(t *testing.T, dir string) {
				replaceIn(t, dir, tableFile(councilsTable, CSV, 10), "c2,\"Hill Mill, \"\"North\"\"\",food,Riverside,51.5,-0.2,2026-11-21T10:01:00.000000000Z\n", "")
				relist(t, dir)
			}},
		{name: "ListedFileMissing", dir: good, want: "accounts.parquet: is listed in datapackage.json, but the source does not have it",
			tamper: func(t *testing.T, dir string) { remove(t, dir, "accounts.parquet") }},
		{name: "TablePartMissing", dir: good, want: tableFile(needsTable, Parquet, 10) + ": is listed in datapackage.json, but the source does not have it",
			tamper: func(t *testing.T, dir string) { remove(t, dir, tableFile(needsTable, Parquet, 10)) }},
		{name: "TableRowRepeated", dir: good, want: offersCSV + ": row 2 (id o1) is not a row the events give (or appears twice)",
			tamper: func(t *testing.T, dir string) {
				b, _ := os.ReadFile(filepath.Join(dir, offersCSV))
				lines := strings.SplitAfter(string(b), "\n")
				os.WriteFile(filepath.Join(dir, offersCSV), []byte(strings.Join(append(lines[:2], append([]string{lines[1]}, lines[2:]...)...), "")), 0o644)
				relist(t, dir)
			}},
		{name: "PartMissing", dir: good, want: partPath(Parquet, 0, 9) + ": is listed in datapackage.json, but the source does not have it",
			tamper: func(t *testing.T, dir string) { remove(t, dir, partPath(Parquet, 0, 9)) }},
		{name: "PartAltered", dir: good, want: arrowPart + ": has hash sha256:",
			tamper: func(t *testing.T, dir string) {
				b, err := os.ReadFile(filepath.Join(dir, arrowPart))
				if err != nil {
					t.Fatal(err)
				}
				b[len(b)/2] ^= 1
				os.WriteFile(filepath.Join(dir, arrowPart), b, 0o644)
			}},
		{name: "PartRenamed", dir: good, want: `datapackage.json: resource events-arrow: part 0 is named "events/arrow/../../offers.arrow"`,
			tamper: func(t *testing.T, dir string) {
				replaceIn(t, dir, "datapackage.json", `"path": "`+arrowPart+`"`, `"path": "events/arrow/../../offers.arrow"`)
			}},
		{name: "WholeTableBesideParts", dir: good,
			want:   "datapackage.json: resource offers-csv (offers.csv) is the whole offers table in csv, beside its parts: a table is either whole or in parts, never both",
			tamper: addWhole(offersTable, CSV, "offers-csv", "offers.csv")},
		{name: "WholeEventsBesideParts", dir: good,
			want:   "datapackage.json: resource events-all (events.arrow) is the whole events table in arrow, beside its parts",
			tamper: addWhole(eventsTable, Arrow, "events-all", "events.arrow")},
		{name: "WholeTableUnderPartsName", dir: good,
			want:   "datapackage.json: resource needs-parquet (needs-copy.parquet) is the whole needs table in parquet, beside its parts",
			tamper: addWhole(needsTable, Parquet, "needs-parquet", "needs-copy.parquet")},
		{name: "PartsListedTwice", dir: good,
			want: "datapackage.json: resource offers-arrow lists the parts of the offers in arrow a second time",
			tamper: func(t *testing.T, dir string) {
				p := readPackage(t, dir)
				p.Resources = append(p.Resources, *p.resource(offersTable, Arrow))
				out, err := p.marshal()
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, DataPackageFile), out, 0o644); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "DataPackageOfAnotherTree", dir: good, want: "datapackage.json: describes tree size 11",
			tamper: func(t *testing.T, dir string) {
				replaceIn(t, dir, "datapackage.json", `"treeSize": 10`, `"treeSize": 11`)
			}},
		{name: "NoEvents", dir: good, want: "neither events.arrow nor events.parquet",
			tamper: func(t *testing.T, dir string) { remove(t, dir, "events", "datapackage.json") }},
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
		{name: "ParquetOnly", drop: []string{"events/arrow", "events/csv"}},
		{name: "EventsOnly", drop: tableFiles()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyDir(t, good)
			remove(t, dir, tt.drop...)
			relist(t, dir)
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

// tableFiles names every projection file of the snapshot of 10, folders
// of parts included.
func tableFiles() []string {
	var names []string
	for _, t := range projections {
		if isPartitioned(t) {
			names = append(names, t.name)
			continue
		}
		for _, f := range Formats {
			names = append(names, fileName(t, f))
		}
	}
	return names
}
