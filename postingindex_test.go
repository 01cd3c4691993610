package plenty

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestSortedIDs inserts and deletes ids in random order against a plain
// set, across many block splits and removals: the ids, the pages from any
// cursor and the snapshot encoding always agree with the sorted set.
func TestSortedIDs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var s sortedIDs
	ref := map[string]bool{}
	for step := 0; step < 20000; step++ {
		id := fmt.Sprint("of_", rng.IntN(5000))
		if rng.IntN(3) == 0 {
			s.delete(id)
			delete(ref, id)
		} else {
			s.insert(id)
			ref[id] = true
		}
	}
	want := make([]string, 0, len(ref))
	for id := range ref {
		want = append(want, id)
	}
	sort.Strings(want)
	if got := s.all(); !slices.Equal(got, want) || s.len() != len(want) {
		t.Fatalf("ids differ from the set: %d vs %d", s.len(), len(want))
	}
	if len(s.blocks) < 4 {
		t.Fatalf("%d blocks: the test did not split any", len(s.blocks))
	}
	for _, bl := range s.blocks {
		if len(bl) == 0 || len(bl) > maxBlock {
			t.Fatalf("a block of %d ids", len(bl))
		}
	}
	for _, after := range []string{"", "of_", "of_2500", want[len(want)/3], "of_9999", "~"} {
		var got []string
		s.after(after, func(id string) bool { got = append(got, id); return len(got) < 7 })
		i := sort.SearchStrings(want, after)
		if i < len(want) && want[i] == after {
			i++
		}
		w := want[i:min(i+7, len(want))]
		if !slices.Equal(got, w) {
			t.Fatalf("after %q: %v, want %v", after, got, w)
		}
	}
	// The encoding is the sorted list, whatever the blocks.
	var fresh sortedIDs
	for _, id := range want {
		fresh.insert(id)
	}
	enc := s.appendSnapshot(nil)
	if !bytes.Equal(enc, fresh.appendSnapshot(nil)) {
		t.Fatal("equal sets encode differently")
	}
	var back sortedIDs
	if rest, err := back.readSnapshot(enc); err != nil || len(rest) != 0 || !slices.Equal(back.all(), want) {
		t.Fatalf("decoded %d ids, rest %d, %v", back.len(), len(rest), err)
	}
	back.insert("of_x")
	if !strings.Contains(strings.Join(back.all(), ","), "of_x") {
		t.Fatal("a decoded index does not take an insertion")
	}
	var swapped sortedIDs
	swapped.insert("b")
	swapped.insert("a")
	bad := swapped.appendSnapshot(nil)
	bad[2], bad[4] = bad[4], bad[2] // "a","b" → "b","a"
	if _, err := back.readSnapshot(bad); err == nil {
		t.Fatal("ids out of order were accepted")
	}
}

// TestSortedIDsShrinkWithDeletes: once most ids are deleted, as most
// postings close, the blocks' memory follows the ids left, not the ids
// the index ever held.
func TestSortedIDsShrinkWithDeletes(t *testing.T) {
	var s sortedIDs
	const n = 100_000
	for i := 0; i < n; i++ {
		s.insert(fmt.Sprintf("of_%07d", i))
	}
	for i := 0; i < n; i++ {
		if i%10 != 0 {
			s.delete(fmt.Sprintf("of_%07d", i))
		}
	}
	capacity := 0
	for _, bl := range s.blocks {
		capacity += cap(bl)
	}
	if s.len() != n/10 {
		t.Fatalf("%d ids left, want %d", s.len(), n/10)
	}
	if capacity > 4*s.len() || len(s.blocks) > 4*s.len()/(maxBlock/8) {
		t.Errorf("%d ids held in %d blocks of %d slots in all: the blocks kept the deleted ids' memory", s.len(), len(s.blocks), capacity)
	}
	for i := 0; i < n; i += 10 {
		if id := fmt.Sprintf("of_%07d", i); !slices.Contains(s.blocks[s.block(id)], id) {
			t.Fatalf("%s lost", id)
		}
	}
}
