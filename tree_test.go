package plenty

import (
	"fmt"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// The fold's tree agrees with tlog's, leaf by leaf: the stored hashes each
// leaf completes and the root at every size.
func TestTreeMatchesTlog(t *testing.T) {
	var tree Tree
	if tree.Root() != tlog.Hash(emptyTreeHash) || tree.Root() != tlog.Hash(sha256Of(nil)) {
		t.Fatal("the empty tree's root is not SHA-256 of nothing")
	}
	stored := map[int64]tlog.Hash{}
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			h, ok := stored[x]
			if !ok {
				return nil, fmt.Errorf("no hash %d", x)
			}
			out[i] = h
		}
		return out, nil
	})
	for n := int64(0); n < 130; n++ {
		leaf := tlog.RecordHash([]byte(fmt.Sprintf("event %d", n)))
		want, err := tlog.StoredHashesForRecordHash(n, leaf, reader)
		if err != nil {
			t.Fatal(err)
		}
		got := tree.Add(leaf)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("leaf %d: stored hashes %x, tlog says %x", n, got, want)
		}
		for i, h := range want {
			stored[tlog.StoredHashIndex(0, n)+int64(i)] = h
		}
		root, err := tlog.TreeHash(n+1, reader)
		if err != nil {
			t.Fatal(err)
		}
		if tree.Root() != root {
			t.Fatalf("root at size %d differs from tlog's", n+1)
		}
		var again Tree
		if err := again.SetEdge(tree.Size(), tree.Edge()); err != nil || again.Root() != root {
			t.Fatalf("a tree restored from its edge at size %d: %v", n+1, err)
		}
	}
	var bad Tree
	if err := bad.SetEdge(3, nil); ErrorCode(err) != EINVALID {
		t.Fatalf("an edge of the wrong length: %v", err)
	}
}
