package exports

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// fuzzSnapshot is a good export of the demo log, shared by the fuzz
// targets as seeds and as the checkpoint to check against.
func fuzzSnapshot(t testing.TB) (string, Checkpoint) {
	l := demoLog(t, "stone-milled")
	dir := t.TempDir()
	snap, err := Write(context.Background(), dir, l.source(), l.checkpoint(10), l.verifier, nil)
	if err != nil {
		t.Fatal(err)
	}
	return snap.Dir, snap.Checkpoint
}

// FuzzReadEvents feeds arbitrary bytes to the events readers of every
// format: they must report a fault, never panic or leak, and accept only
// the events the checkpoint signs.
func FuzzReadEvents(f *testing.F) {
	dir, cp := fuzzSnapshot(f)
	for i, format := range Formats {
		b, err := os.ReadFile(filepath.Join(dir, partPath(format, 0, cp.Size-1)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), b)
		f.Add(uint8(i), b[:len(b)/2])
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		format := Formats[int(which)%len(Formats)]
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		v := &verifier{ctx: context.Background(), mem: mem, cp: cp}
		err := v.checkEvents(format, bytes.NewReader(data), true)
		if err == nil {
			if n := v.ents.(stateEntities).st.Size(); n != cp.Size {
				t.Fatalf("accepted %d events for a checkpoint of %d", n, cp.Size)
			}
		}
		// arrow-go's IPC reader does not release a batch's body when it
		// recovers from a panic on a corrupt block (ipc.loadRecordBatch),
		// so buffers are only known to be released when the file was
		// read. With Go's allocator the garbage collector reclaims them.
		if err == nil || !strings.Contains(err.Error(), "not a readable") {
			mem.AssertSize(t, 0)
		}
	})
}

// FuzzReadTable feeds arbitrary bytes to the table readers as plenty
// verify reads a table file: never a panic, a leak or a row of the wrong
// width.
func FuzzReadTable(f *testing.F) {
	dir, cp := fuzzSnapshot(f)
	v0 := &verifier{ctx: context.Background(), mem: memory.DefaultAllocator, cp: cp}
	events, _ := os.Open(filepath.Join(dir, partPath(Arrow, 0, cp.Size-1)))
	if err := v0.checkEvents(Arrow, events, true); err != nil {
		f.Fatal(err)
	}
	events.Close()
	good := map[Format][]byte{}
	for i, format := range Formats {
		b, err := os.ReadFile(filepath.Join(dir, tableFile(offersTable, format, cp.Size)))
		if err != nil {
			f.Fatal(err)
		}
		good[format] = b
		f.Add(uint8(i), b)
	}
	// The offers as the events give them, as a multiset of rows.
	want, err := v0.wantRows(offersTable)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		format := Formats[int(which)%len(Formats)]
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		v := &verifier{ctx: context.Background(), mem: mem, cp: cp}
		got := &multiset{}
		err := v.eachFileRow(offersTable, format, bytes.NewReader(data), func(_ int, row []string) error {
			if len(row) != len(offersTable.cols) {
				t.Fatalf("a row of %d cells", len(row))
			}
			got.add(row)
			return nil
		})
		if bytes.Equal(data, good[format]) && (err != nil || got.n != want.n || got.sum != want.sum) {
			t.Fatalf("the snapshot's own %s offers read as %d rows (%v), not the %d the events give", format, got.n, err, want.n)
		}
		if err == nil || !strings.Contains(err.Error(), "not a readable") {
			mem.AssertSize(t, 0) // see FuzzReadEvents
		}
	})
}

// FuzzPartPath: a name IsPartPath accepts stays inside the snapshot's
// events folder and is the name partPath gives its range.
func FuzzPartPath(f *testing.F) {
	f.Add("events/arrow/000000000000-000000065535.arrow")
	f.Add("events/csv/000000000000-000000000000.csv")
	f.Add("events/arrow/../../key")
	f.Add("events/parquet/-00000000001-000000000001.parquet")
	f.Fuzz(func(t *testing.T, p string) {
		if !IsPartPath(p) {
			return
		}
		if strings.Contains(p, "..") || strings.Contains(p, `\`) || filepath.Clean(p) != p || strings.Count(p, "/") != 2 {
			t.Fatalf("IsPartPath accepted %q", p)
		}
	})
}

// FuzzDataPackageParts feeds arbitrary datapackage.json files to the
// verifier's reading of the listing: it must never panic, and every path
// it accepts is a file of the folder or a part named as partPath names it.
func FuzzDataPackageParts(f *testing.F) {
	dir, cp := fuzzSnapshot(f)
	good, err := os.ReadFile(filepath.Join(dir, DataPackageFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(bytes.Replace(good, []byte(`"lastSeq": 9`), []byte(`"lastSeq": 8`), 1))
	f.Add(bytes.Replace(good, []byte(`"path": "events/arrow/`), []byte(`"path": ["events/arrow/`), 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		tmp := t.TempDir()
		if err := os.WriteFile(filepath.Join(tmp, DataPackageFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
		v := &verifier{ctx: context.Background(), src: dirSource(tmp), mem: memory.DefaultAllocator, cp: cp, rep: &Report{}}
		if err := v.readPackage(); err != nil {
			return
		}
		for _, parts := range v.parts {
			for _, p := range parts {
				if !IsPartPath(p.Path) {
					t.Fatalf("accepted a part at %q", p.Path)
				}
			}
		}
		for format, parts := range v.parts {
			next := int64(0)
			for _, p := range parts {
				if p.Path != partPath(format, p.First, p.Last) || p.First != next {
					t.Fatalf("accepted part %+v", p)
				}
				next = p.Last + 1
			}
			if next != cp.Size {
				t.Fatalf("accepted parts holding %d events for a checkpoint of %d", next, cp.Size)
			}
		}
	})
}
