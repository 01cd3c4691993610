package ledger

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

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

// Documents calls fn with the id, the first stamp and the document of
// every entity of kind as it stood after the first size events (its
// newest row of projection_log stamped before size; the first stamp is
// that of its oldest row), ordered by first stamp / part and then by id,
// and only for the parts listed when parts is not nil. It streams from
// DuckDB. It is the source of an open-data snapshot's tables
// (exports.Projections). It returns EINVALID when the documents are not
// exact at size (ProjectionsExact), and fn's or the database's error
// otherwise.
func (l *Ledger) Documents(ctx context.Context, kind string, size, part int64, parts []int64, fn func(id string, first int64, doc []byte) error) error {
	if !l.ProjectionsExact(size) {
		return plenty.Errorf(plenty.EINVALID, "the projection documents are not exact at size %d (a later event overtook that commit)", size)
	}
	if part < 1 {
		return plenty.Errorf(plenty.EINVALID, "part size %d is not positive", part)
	}
	if err := l.waitCommitted(ctx, size); err != nil {
		return err
	}
	having := ""
	if parts != nil {
		if len(parts) == 0 {
			return nil
		}
		list := make([]string, len(parts))
		for i, k := range parts {
			list[i] = strconv.FormatInt(k, 10)
		}
		having = " HAVING min(seq) // ? IN (" + strings.Join(list, ", ") + ")"
	}
	q := "SELECT id, min(seq) AS first, arg_max(doc, seq) FROM projection_log WHERE kind = ? AND seq < ? GROUP BY id" +
		having + " ORDER BY first // ?, id"
	args := []any{kind, size}
	if parts != nil {
		args = append(args, part)
	}
	args = append(args, part)
	rows, err := l.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("read projections: %w", err)
	}
	defer rows.Close()
	var id string
	var first int64
	var doc []byte
	for rows.Next() {
		if err := rows.Scan(&id, &first, &doc); err != nil {
			return fmt.Errorf("read projections: %w", err)
		}
		if err := fn(id, first, doc); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Changed calls fn with the first stamp of every entity of kind whose
// newest document before size is stamped at since or later.
func (l *Ledger) Changed(ctx context.Context, kind string, since, size int64, fn func(first int64) error) error {
	if err := l.waitCommitted(ctx, size); err != nil {
		return err
	}
	rows, err := l.db.QueryContext(ctx, `SELECT min(seq) FROM projection_log WHERE kind = ? AND seq < ?
		GROUP BY id HAVING max(seq) >= ?`, kind, size, since)
	if err != nil {
		return fmt.Errorf("read projections: %w", err)
	}
	defer rows.Close()
	var first int64
	for rows.Next() {
		if err := rows.Scan(&first); err != nil {
			return fmt.Errorf("read projections: %w", err)
		}
		if err := fn(first); err != nil {
			return err
		}
	}
	return rows.Err()
}
