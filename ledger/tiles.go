package ledger

import (
	"context"

	"golang.org/x/mod/sumdb/tlog"
)

// HashReader reads the stored hashes of the ledger's Merkle tree, in
// tlog.StoredHashIndex order, for serving the log as tiles. Reading a hash
// the tree does not hold yet fails.
func (l *Ledger) HashReader(ctx context.Context) tlog.HashReader { return l.hashReader(ctx) }
