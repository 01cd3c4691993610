package exports

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
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
	for _, r := range p.Resources {
		if r.Name == "events-"+string(f) {
			return r.Parts
		}
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
