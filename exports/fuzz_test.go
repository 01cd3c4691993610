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

// FuzzReadTable feeds arbitrary bytes to the table readers, compared with
// the offers the demo log gives.
func FuzzReadTable(f *testing.F) {
	dir, cp := fuzzSnapshot(f)
	v0 := &verifier{ctx: context.Background(), mem: memory.DefaultAllocator, cp: cp}
	events, _ := os.Open(filepath.Join(dir, partPath(Arrow, 0, cp.Size-1)))
	if err := v0.checkEvents(Arrow, events, true); err != nil {
		f.Fatal(err)
	}
	events.Close()
	for i, format := range Formats {
		b, err := os.ReadFile(filepath.Join(dir, fileName(offersTable, format)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), b)
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		format := Formats[int(which)%len(Formats)]
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		v := &verifier{ctx: context.Background(), mem: mem, cp: cp}
		want := streamRows(context.Background(), offersTable, v0.ents, mem)
		err := v.checkTable(offersTable, format, bytes.NewReader(data), want)
		if cerr := want.close(); cerr != nil {
			t.Fatalf("computing the offers: %v", cerr)
		}
		if err == nil || !strings.Contains(err.Error(), "not a readable") {
			mem.AssertSize(t, 0) // see FuzzReadEvents
		}
	})
}
