package exports

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// A snapshot of a ledger with no events, and one of a ledger whose
// tables but the councils are still empty, read back and verify: a table
// of no rows, or of no parts, is a table all the same.
func TestSnapshotOfEmptyTablesVerifies(t *testing.T) {
	l := demoLog(t, "stone-milled")
	tests := []struct {
		name  string
		size  int64
		files int // datapackage.json and every table file checked
	}{
		// datapackage.json and the accounts in 3 formats: the events and
		// the partitioned tables have no parts.
		{"NoEvents", 0, 1 + 3},
		// One council registered: every table but the accounts in one
		// part, most of them empty.
		{"OneCouncil", 1, 1 + 9*3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := mustWrite(t, l, tt.size)
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			rep, err := Verify(context.Background(), dir, &VerifyOptions{Key: l.verifier, Allocator: mem})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if rep.Checkpoint.Size != tt.size || len(rep.Files) != tt.files {
				t.Errorf("checked size %d in %d files %v; want size %d in %d", rep.Checkpoint.Size, len(rep.Files), rep.Files, tt.size, tt.files)
			}
		})
	}
}
