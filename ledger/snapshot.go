package ledger

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/plentyhub/plenty"
)

// State snapshots let the ledger start without folding its whole history:
// Open reads the newest good snapshot and folds only the events after it.
// A snapshot is written every Options.SnapshotEvery events by a background
// goroutine that folds the previous snapshot and the events DuckDB holds
// after it into a state of its own (so appends never wait for it), and on
// Close from the live state. It is taken at a size DuckDB holds, and
// records the tree's root at that size, so that a snapshot of another
// history is recognised and ignored.
//
// File: state-<size, 20 digits>.snapshot in the data folder, written
// atomically:
//
//	"plenty-ledger-snapshot/1\n"
//	u64 size, 32-byte root hash, u64 journal offset of record size (so
//	that a start reads only the journal's tail), u64 length of the state,
//	the state (plenty.State.MarshalSnapshot), SHA-256 of all that precedes
//	it.
//
// The two newest are kept. A damaged, stale (another build's state) or
// foreign snapshot is ignored with a warning, and an older one or a full
// replay is used. `plenty check` compares each snapshot with the state its
// replay reaches at that size.

const (
	snapshotHeader = "plenty-ledger-snapshot/1\n"
	snapshotPrefix = "state-"
	snapshotSuffix = ".snapshot"
	snapshotsKept  = 2
)

// DefaultSnapshotEvery is how many events the ledger writes between state
// snapshots when Options.SnapshotEvery is 0.
const DefaultSnapshotEvery = 100_000

type snapshotFile struct {
	path    string
	size    int64
	root    tlog.Hash
	journal int64 // offset of journal record size
	state   []byte
}

func snapshotPath(dir string, size int64) string {
	return filepath.Join(dir, fmt.Sprintf("%s%020d%s", snapshotPrefix, size, snapshotSuffix))
}

func encodeSnapshotFile(size int64, root tlog.Hash, journal int64, state []byte) []byte {
	b := make([]byte, 0, len(snapshotHeader)+8+tlog.HashSize+8+8+len(state)+sha256.Size)
	b = append(b, snapshotHeader...)
	b = binary.BigEndian.AppendUint64(b, uint64(size))
	b = append(b, root[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(journal))
	b = binary.BigEndian.AppendUint64(b, uint64(len(state)))
	b = append(b, state...)
	sum := sha256.Sum256(b)
	return append(b, sum[:]...)
}

func parseSnapshotFile(b []byte) (f snapshotFile, err error) {
	fixed := len(snapshotHeader) + 8 + tlog.HashSize + 8 + 8
	if len(b) < fixed+sha256.Size || !bytes.HasPrefix(b, []byte(snapshotHeader)) {
		return f, errors.New("not a ledger snapshot")
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if want := sha256.Sum256(body); !bytes.Equal(sum, want[:]) {
		return f, errors.New("checksum mismatch: the file is damaged")
	}
	p := body[len(snapshotHeader):]
	f.size = int64(binary.BigEndian.Uint64(p))
	p = p[8:]
	copy(f.root[:], p)
	p = p[tlog.HashSize:]
	f.journal = int64(binary.BigEndian.Uint64(p))
	n := binary.BigEndian.Uint64(p[8:])
	f.state = p[16:]
	if f.size < 0 || f.journal < 0 || n != uint64(len(f.state)) {
		return snapshotFile{}, errors.New("damaged lengths")
	}
	return f, nil
}

// listSnapshots returns the snapshot files in dir, newest first, with the
// size their name gives.
func listSnapshots(dir string) ([]snapshotFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []snapshotFile
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, snapshotPrefix) || !strings.HasSuffix(name, snapshotSuffix) {
			continue
		}
		size, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(name, snapshotPrefix), snapshotSuffix), 10, 64)
		if err != nil {
			continue
		}
		out = append(out, snapshotFile{path: filepath.Join(dir, name), size: size})
	}
	slices.SortFunc(out, func(a, b snapshotFile) int { return int(b.size - a.size) })
	return out, nil
}

// readSnapshot reads and checks one snapshot file.
func readSnapshot(f snapshotFile) (snapshotFile, error) {
	b, err := os.ReadFile(f.path)
	if err != nil {
		return f, err
	}
	got, err := parseSnapshotFile(b)
	if err != nil {
		return f, err
	}
	if got.size != f.size {
		return f, fmt.Errorf("holds size %d, its name says %d", got.size, f.size)
	}
	got.path = f.path
	return got, nil
}

// loadSnapshot replaces the state with the newest good snapshot of at
// most n events whose root is the tree's, and returns it (a zero size when
// none is usable: then the caller folds everything).
func (l *Ledger) loadSnapshot(ctx context.Context, n int64) snapshotFile {
	files, err := listSnapshots(l.dir)
	if err != nil {
		l.log.Warn("cannot list state snapshots; folding every event", "err", err)
		return snapshotFile{}
	}
	for _, f := range files {
		ignore := func(why string, err error) {
			l.log.Warn("ignoring a state snapshot: "+why, "file", f.path, "err", err)
		}
		if f.size > n {
			ignore("it is beyond the database's events", fmt.Errorf("snapshot at %d, database %d", f.size, n))
			continue
		}
		// The checksum comes first: a damaged length would have the
		// decoder allocate for entries that are not there.
		f, err := readSnapshot(f)
		if err != nil {
			ignore("it is damaged", err)
			continue
		}
		// The stored tree's root at its size is read while it decodes
		// (the state is emptied again when it differs): the first read of
		// a cold DuckDB file takes about as long as decoding a large
		// state.
		type treeRoot struct {
			root tlog.Hash
			err  error
		}
		stored := make(chan treeRoot, 1)
		go func() {
			root, err := tlog.TreeHash(f.size, l.hashReader(ctx))
			stored <- treeRoot{root, err}
		}()
		// What the decoding allocates stays live: collecting during it
		// is wasted work.
		gc := debug.SetGCPercent(400)
		err = l.state.UnmarshalSnapshot(f.state)
		debug.SetGCPercent(gc)
		// The file's bytes and the decoding's garbage are dead now: give
		// their pages back, beside the rest of the start, rather than
		// keep them resident until the scavenger gets to them.
		f.state = nil
		go debug.FreeOSMemory()
		if tr := <-stored; tr.err != nil || tr.root != f.root {
			if err == nil {
				l.emptyState()
			}
			ignore("it is of another history", tr.err)
			continue
		}
		if err != nil {
			if errors.Is(err, plenty.ErrSnapshotStale) {
				ignore("another version of plenty wrote it", err)
			} else {
				ignore("it is damaged", err)
			}
			continue
		}
		return f
	}
	return snapshotFile{}
}

// emptyState gives the ledger back the state of an empty ledger, its
// OnChange callback kept: after a snapshot that decoded but is of another
// history.
func (l *Ledger) emptyState() {
	empty, err := plenty.NewState().MarshalSnapshot()
	if err == nil {
		err = l.state.UnmarshalSnapshot(empty)
	}
	if err != nil {
		panic("the empty state does not round-trip: " + err.Error())
	}
}

// Snapshot writes a state snapshot at the ledger's current size, if it has
// none there yet, and returns that size. It encodes the live state under
// the read lock, so appends wait for the encoding: Close uses it, and the
// ledger's own snapshots while it runs do not.
func (l *Ledger) Snapshot(ctx context.Context) (int64, error) {
	l.snapMu.Lock()
	defer l.snapMu.Unlock()
	l.mu.RLock()
	if l.failed != nil {
		l.mu.RUnlock()
		return 0, l.failed
	}
	size := l.state.Size()
	if size == 0 || size == l.snapSize.Load() {
		l.mu.RUnlock()
		return size, nil
	}
	start := time.Now()
	state, err := l.state.MarshalSnapshot()
	journalAt := l.journal.off
	l.mu.RUnlock()
	if err != nil {
		return 0, err
	}
	return size, l.writeSnapshot(ctx, size, journalAt, state, start)
}

// writeSnapshot writes the encoded state at size and removes all but the
// newest snapshots.
func (l *Ledger) writeSnapshot(ctx context.Context, size, journalAt int64, state []byte, start time.Time) error {
	root, err := l.TreeHash(ctx, size) // waits for DuckDB to hold size
	if err != nil {
		return err
	}
	if err := writeFileAtomic(snapshotPath(l.dir, size), encodeSnapshotFile(size, root, journalAt, state), 0o600); err != nil {
		return fmt.Errorf("write state snapshot: %w", err)
	}
	l.snapSize.Store(size)
	l.log.Info("wrote a state snapshot", "size", size, "bytes", len(state), "took", time.Since(start).Round(time.Millisecond))
	files, err := listSnapshots(l.dir)
	if err != nil {
		return err
	}
	for _, f := range files[min(snapshotsKept, len(files)):] {
		if err := os.Remove(f.path); err != nil {
			return err
		}
	}
	return nil
}

// journalMark is the journal's end after a batch: offset is where record
// size begins.
type journalMark struct{ size, offset int64 }

// markJournal records the journal's end after a batch. The caller holds
// l.mu.
func (l *Ledger) markJournal(size, offset int64) {
	if len(l.marks) >= 4096 {
		l.marks = append(l.marks[:0], l.marks[2048:]...)
	}
	l.marks = append(l.marks, journalMark{size, offset})
}

// snapshotFromLog writes a snapshot without holding up appends: it folds,
// into a state of its own, the newest snapshot on disk and the events
// DuckDB holds after it, up to the newest batch boundary DuckDB holds.
// It costs a second copy of the state while it runs.
func (l *Ledger) snapshotFromLog(ctx context.Context) error {
	l.snapMu.Lock()
	defer l.snapMu.Unlock()
	start := time.Now()
	committed := l.committed.Load()
	var target journalMark
	l.mu.RLock()
	for _, m := range l.marks {
		if m.size <= committed && m.size > target.size {
			target = m
		}
	}
	l.mu.RUnlock()
	if target.size <= l.snapSize.Load() {
		return nil
	}
	st := plenty.NewState()
	var from int64
	if files, err := listSnapshots(l.dir); err == nil {
		for _, f := range files {
			if f.size > target.size {
				continue
			}
			if f, err := readSnapshot(f); err == nil && st.UnmarshalSnapshot(f.state) == nil {
				from = f.size
				break
			}
			st = plenty.NewState()
		}
	}
	// The credentials travel beside the events: the state knows them too.
	creds, err := readCredentials(ctx, l.db, from)
	if err != nil {
		return err
	}
	if err := readEvents(ctx, l.db, from, target.size, func(ev plenty.Event) error {
		ev.Credentials = creds[ev.Seq]
		return st.Apply(ev)
	}); err != nil {
		return err
	}
	state, err := st.MarshalSnapshot()
	if err != nil {
		return err
	}
	return l.writeSnapshot(ctx, target.size, target.offset, state, start)
}

// maybeSnapshot starts a snapshot in the background when SnapshotEvery
// events have been written since the last one and none is under way.
func (l *Ledger) maybeSnapshot() {
	if l.opts.SnapshotEvery < 0 || l.committed.Load()-l.snapSize.Load() < l.opts.SnapshotEvery {
		return
	}
	if !l.snapping.CompareAndSwap(false, true) {
		return
	}
	l.snapWG.Add(1)
	go func() {
		defer l.snapWG.Done()
		defer l.snapping.Store(false)
		if err := l.snapshotFromLog(context.Background()); err != nil {
			l.log.Warn("state snapshot failed; the next start folds more events", "err", err)
		}
	}()
}

// checkSnapshots returns the good snapshots in dir by size, for Check;
// stale ones (another build's state) are left out, damaged ones are an
// error.
func checkSnapshots(dir string) (map[int64]snapshotFile, error) {
	files, err := listSnapshots(dir)
	if err != nil {
		return nil, err
	}
	out := map[int64]snapshotFile{}
	for _, f := range files {
		f, err := readSnapshot(f)
		if err != nil {
			return nil, fmt.Errorf("state snapshot %s: %v (the hub ignores it; delete it)", f.path, err)
		}
		if err := plenty.NewState().UnmarshalSnapshot(f.state); errors.Is(err, plenty.ErrSnapshotStale) {
			continue
		}
		out[f.size] = f
	}
	return out, nil
}

// compareSnapshot checks a snapshot against the state a replay reached at
// its size and the tree's root there.
func compareSnapshot(f snapshotFile, st *plenty.State, root tlog.Hash) error {
	if root != f.root {
		return fmt.Errorf("state snapshot %s: its root differs from the tree's at size %d", f.path, f.size)
	}
	got, err := st.MarshalSnapshot()
	if err != nil {
		return err
	}
	if !bytes.Equal(got, f.state) {
		return fmt.Errorf("state snapshot %s differs from the state replayed to size %d: the hub would start from a wrong state; delete it", f.path, f.size)
	}
	return nil
}
