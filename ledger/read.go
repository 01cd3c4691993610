package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/plentyhub/plenty"
)

// Events calls fn for each durable event with from <= seq < to, in order,
// streaming from the database (after waiting, at most one commit, for
// DuckDB to hold them). A to beyond the ledger's size reads to the
// end. It returns fn's first error, or a decoding error naming the seq of a
// stored body that is not canonical.
func (l *Ledger) Events(ctx context.Context, from, to int64, fn func(plenty.Event) error) error {
	if size := l.Size(); to > size || to < 0 {
		to = size
	}
	if from < 0 {
		from = 0
	}
	if err := l.waitCommitted(ctx, to); err != nil {
		return err
	}
	return readEvents(ctx, l.db, from, to, fn)
}

func readEvents(ctx context.Context, db *sql.DB, from, to int64, fn func(plenty.Event) error) error {
	rows, err := db.QueryContext(ctx, "SELECT seq, body FROM events WHERE seq >= ? AND seq < ? ORDER BY seq", from, to)
	if err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	want := from
	for rows.Next() {
		var seq int64
		var body []byte
		if err := rows.Scan(&seq, &body); err != nil {
			return fmt.Errorf("read events: %w", err)
		}
		if seq != want {
			return fmt.Errorf("events table: expected seq %d, found %d", want, seq)
		}
		ev, err := plenty.DecodeEvent(body)
		if err != nil {
			return fmt.Errorf("events table, seq %d: %w", seq, err)
		}
		if ev.Seq != seq {
			return fmt.Errorf("events table: row %d holds the body of event %d", seq, ev.Seq)
		}
		if err := fn(ev); err != nil {
			return err
		}
		want++
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	if want != to {
		return fmt.Errorf("events table: expected events up to seq %d, found up to %d", to-1, want-1)
	}
	return nil
}

// hashReader reads stored tree hashes from the database.
func (l *Ledger) hashReader(ctx context.Context) tlog.HashReader {
	if m := l.startHashes; m != nil {
		return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) { return m.read(ctx, l.db, idx) })
	}
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		return readHashes(ctx, l.db, idx)
	})
}

// hashMemo keeps the tree hashes read while the ledger opens. The start
// checks the stored root at several sizes (the snapshot's, the ledger's,
// the last checkpoint's and the checkpoint file's), which share most of
// their hashes, and a stored hash never changes: each is read from DuckDB
// once.
type hashMemo struct {
	mu sync.Mutex
	at map[int64]tlog.Hash
}

func newHashMemo() *hashMemo { return &hashMemo{at: map[int64]tlog.Hash{}} }

func (m *hashMemo) read(ctx context.Context, db *sql.DB, idx []int64) ([]tlog.Hash, error) {
	m.mu.Lock()
	var missing []int64
	for _, x := range idx {
		if _, ok := m.at[x]; !ok {
			missing = append(missing, x)
		}
	}
	m.mu.Unlock()
	got, err := readHashes(ctx, db, missing)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, x := range missing {
		m.at[x] = got[i]
	}
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = m.at[x]
	}
	return out, nil
}

func readHashes(ctx context.Context, db *sql.DB, idx []int64) ([]tlog.Hash, error) {
	if len(idx) == 0 {
		return nil, nil
	}
	list := make([]string, len(idx))
	for i, x := range idx {
		list[i] = strconv.FormatInt(x, 10)
	}
	rows, err := db.QueryContext(ctx, "SELECT idx, hash FROM tree WHERE idx IN ("+strings.Join(list, ",")+")")
	if err != nil {
		return nil, fmt.Errorf("read tree hashes: %w", err)
	}
	defer rows.Close()
	found := map[int64]tlog.Hash{}
	for rows.Next() {
		var x int64
		var b []byte
		if err := rows.Scan(&x, &b); err != nil {
			return nil, err
		}
		if len(b) != tlog.HashSize {
			return nil, fmt.Errorf("tree hash %d has %d bytes", x, len(b))
		}
		found[x] = tlog.Hash(b)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		h, ok := found[x]
		if !ok {
			return nil, fmt.Errorf("tree hash %d is missing", x)
		}
		out[i] = h
	}
	return out, nil
}

// TreeHash returns the root hash of the tree of the first size events.
func (l *Ledger) TreeHash(ctx context.Context, size int64) (tlog.Hash, error) {
	if size < 0 || size > l.Size() {
		return tlog.Hash{}, plenty.Errorf(plenty.ENOTFOUND, "tree size %d is beyond the ledger's %d events", size, l.Size())
	}
	if err := l.waitCommitted(ctx, size); err != nil {
		return tlog.Hash{}, err
	}
	return tlog.TreeHash(size, l.hashReader(ctx))
}

// InclusionProof proves that event seq is in the tree of the given size.
// It returns ENOTFOUND when seq >= size or size exceeds the ledger.
func (l *Ledger) InclusionProof(ctx context.Context, seq, size int64) (tlog.RecordProof, error) {
	if seq < 0 || seq >= size || size > l.Size() {
		return nil, plenty.Errorf(plenty.ENOTFOUND, "no event %d in a tree of size %d (the ledger has %d events)", seq, size, l.Size())
	}
	if err := l.waitCommitted(ctx, size); err != nil {
		return nil, err
	}
	return tlog.ProveRecord(size, seq, l.hashReader(ctx))
}

// ConsistencyProof proves that the tree of size old is a prefix of the tree
// of size size. It returns ENOTFOUND when old > size or size exceeds the
// ledger.
func (l *Ledger) ConsistencyProof(ctx context.Context, old, size int64) (tlog.TreeProof, error) {
	if old < 0 || old > size || size > l.Size() {
		return nil, plenty.Errorf(plenty.ENOTFOUND, "no consistency proof from size %d to %d (the ledger has %d events)", old, size, l.Size())
	}
	if err := l.waitCommitted(ctx, size); err != nil {
		return nil, err
	}
	return tlog.ProveTree(size, old, l.hashReader(ctx))
}
