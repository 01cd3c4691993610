package ledger

import (
	"context"
	"fmt"
	"slices"

	"github.com/plentyhub/plenty"
)

// exactSizes remembers the recent sizes at which the projection documents
// are exact: those at which a commit read every document it wrote from a
// state of exactly the events it committed. A commit reads the documents
// from the state as it is then, which may already hold later durable
// events (see commitDB); at such a size a document stamped before it may
// show a later event, so the tables of an open-data snapshot cannot be
// read from the documents there. Once exact, a size stays exact: later
// commits stamp their documents with later seqs.
type exactSizes struct {
	sizes []int64 // ascending, at most maxExactSizes
}

const maxExactSizes = 64

func (e *exactSizes) add(n int64) {
	if len(e.sizes) == maxExactSizes {
		e.sizes = append(e.sizes[:0], e.sizes[1:]...)
	}
	e.sizes = append(e.sizes, n)
}

func (e *exactSizes) has(n int64) bool {
	_, found := slices.BinarySearch(e.sizes, n)
	return found
}

// ProjectionsExact reports whether the projection documents are exact at
// tree size n, so that Documents can give the entities as they stood
// after the first n events. It holds for recent commits that no later
// durable event overtook, which is every commit of a ledger that is not
// written to faster than it commits.
func (l *Ledger) ProjectionsExact(n int64) bool {
	l.dbMu.Lock()
	defer l.dbMu.Unlock()
	return l.exact.has(n)
}

// Documents calls fn with the id and the document of every entity of kind
// as it stood after the first size events, in id order (the newest row of
// projection_log stamped before size), streaming from DuckDB. It is the
// source of an open-data snapshot's tables (exports.Projections). It
// returns EINVALID when the documents are not exact at size
// (ProjectionsExact), and fn's or the database's error otherwise.
func (l *Ledger) Documents(ctx context.Context, kind string, size int64, fn func(id string, doc []byte) error) error {
	if !l.ProjectionsExact(size) {
		return plenty.Errorf(plenty.EINVALID, "the projection documents are not exact at size %d (a later event overtook that commit)", size)
	}
	if err := l.waitCommitted(ctx, size); err != nil {
		return err
	}
	rows, err := l.db.QueryContext(ctx, `SELECT id, arg_max(doc, seq) FROM projection_log
		WHERE kind = ? AND seq < ? GROUP BY id ORDER BY id`, kind, size)
	if err != nil {
		return fmt.Errorf("read projections: %w", err)
	}
	defer rows.Close()
	var id string
	var doc []byte
	for rows.Next() {
		if err := rows.Scan(&id, &doc); err != nil {
			return fmt.Errorf("read projections: %w", err)
		}
		if err := fn(id, doc); err != nil {
			return err
		}
	}
	return rows.Err()
}
