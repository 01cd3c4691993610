package plenty

import (
	"crypto/sha256"

	"golang.org/x/mod/sumdb/tlog"
)

// Tree is the right edge of the RFC 6962 Merkle tree over the event bodies:
// the roots of its complete subtrees, so memory grows with the logarithm of
// the size. It is the one tree the fold, the ledger, `plenty check` and the
// verifier compute; the ledger stores what Add returns.
type Tree struct {
	n     int64
	stack []tlog.Hash // roots of complete subtrees, largest first
}

// Size is the number of leaves added.
func (t *Tree) Size() int64 { return t.n }

// Add appends the record hash of a leaf and returns the hashes it completes,
// in the order of tlog.StoredHashIndex(0, n) on: the leaf hash, then each
// subtree it completes, level by level (as tlog.StoredHashesForRecordHash).
func (t *Tree) Add(leaf tlog.Hash) []tlog.Hash {
	stored := []tlog.Hash{leaf}
	t.stack = append(t.stack, leaf)
	// Each trailing 1 bit of the old size is a complete subtree of the same
	// height as the one just completed: merge them.
	for n := t.n; n&1 == 1; n >>= 1 {
		k := len(t.stack)
		t.stack[k-2] = tlog.NodeHash(t.stack[k-2], t.stack[k-1])
		t.stack = t.stack[:k-1]
		stored = append(stored, t.stack[k-2])
	}
	t.n++
	return stored
}

// Root returns the tree hash of the leaves added so far.
func (t *Tree) Root() tlog.Hash {
	if len(t.stack) == 0 {
		return emptyTreeHash
	}
	h := t.stack[len(t.stack)-1]
	for i := len(t.stack) - 2; i >= 0; i-- {
		h = tlog.NodeHash(t.stack[i], h)
	}
	return h
}

// Edge returns the roots of the complete subtrees, largest first, so a tree
// can be carried into a snapshot; SetEdge restores it.
func (t *Tree) Edge() []tlog.Hash { return append([]tlog.Hash(nil), t.stack...) }

// SetEdge restores a tree of n leaves from its Edge. It returns EINVALID
// when the edge does not have one hash per set bit of n.
func (t *Tree) SetEdge(n int64, edge []tlog.Hash) error {
	bits := 0
	for m := n; m > 0; m >>= 1 {
		bits += int(m & 1)
	}
	if n < 0 || len(edge) != bits {
		return Errorf(EINVALID, "a tree of %d leaves has %d complete subtrees, not %d", n, bits, len(edge))
	}
	t.n, t.stack = n, append([]tlog.Hash(nil), edge...)
	return nil
}

// emptyTreeHash is the RFC 6962 hash of the empty tree, SHA-256 of nothing.
var emptyTreeHash = tlog.Hash{
	0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
	0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
}

func sha256Of(b []byte) [32]byte { return sha256.Sum256(b) }
