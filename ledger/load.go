package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/plentyhub/plenty"
)

// load rebuilds the state from the newest good state snapshot and the
// events table's events after it, then brings the database
// and the journal level: events the journal holds beyond the database
// (committed to the journal but lost or never committed by DuckDB) are
// replayed into it, and events the journal lacks are written to it.
func (l *Ledger) load() error {
	ctx := context.Background()
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return &OpenError{Dir: l.dir, Err: err}
	}
	l.conn = conn
	if err := l.openAppenders(); err != nil {
		return err
	}

	var n, maxSeq int64
	if err := l.db.QueryRowContext(ctx, "SELECT count(*), coalesce(max(seq), -1) FROM events").Scan(&n, &maxSeq); err != nil {
		return &OpenError{Dir: l.dir, Err: err}
	}
	if maxSeq != n-1 {
		return fmt.Errorf("the events table holds %d events but its last seq is %d: seq is not contiguous; run `plenty check --data %s`", n, maxSeq, l.dir)
	}
	opened := time.Now()
	snap := l.loadSnapshot(ctx, n)
	from := snap.size
	l.snapSize.Store(from)
	creds, err := readCredentials(ctx, l.db, from)
	if err != nil {
		return &OpenError{Dir: l.dir, Err: err}
	}
	if err := readEvents(ctx, l.db, from, n, func(ev plenty.Event) error {
		ev.Credentials = creds[ev.Seq]
		if err := l.state.Apply(ev); err != nil {
			return fmt.Errorf("event %d in the database does not follow from the events before it: %w", ev.Seq, err)
		}
		if ev.Seq%4096 == 4095 {
			// DuckDB holds these events' documents: keep neither what
			// they changed nor what they closed.
			clear(l.changes)
			l.state.ForgetClosed(ev.Seq + 1)
		}
		return nil
	}); err != nil {
		return err
	}
	clear(l.changes)
	l.state.ForgetClosed(n) // their documents are in DuckDB
	if err := l.loadIdempotencyKeys(ctx); err != nil {
		return err
	}
	l.committed.Store(n)
	l.durable.Store(n)
	if n > 0 {
		// loadSnapshot compared a snapshot at n with the stored tree
		// already: reading the tree again would find the same root.
		stored := snap.root
		if snap.size != n {
			stored, err = tlog.TreeHash(n, l.hashReader(ctx))
			if err != nil {
				return fmt.Errorf("tree: %w; run `plenty check --data %s`", err, l.dir)
			}
		}
		if stored != l.state.Root() {
			return fmt.Errorf("the stored tree of %d events differs from the tree of their bodies; run `plenty check --data %s`", n, l.dir)
		}
	}
	if err := l.loadLastCheckpoint(ctx); err != nil {
		return err
	}
	folded := time.Now()
	if err := l.levelJournal(ctx, n, snap); err != nil {
		return err
	}
	if l.Size() == n && l.committed.Load() == n {
		// The journal held no event beyond the database, so no durable
		// event was missing from the state any stored document was read
		// from: the documents are exact at n (see exactSizes).
		l.dbMu.Lock()
		l.exact.add(n)
		l.dbMu.Unlock()
	}
	if err := l.checkCheckpointFile(ctx); err != nil {
		return err
	}
	l.log.Info("opened the ledger", "events", l.Size(), "from_snapshot", from, "folded", n-from,
		"took_db", opened.Sub(l.openedAt).Round(time.Millisecond),
		"took_state", folded.Sub(opened).Round(time.Millisecond),
		"took_journal", time.Since(folded).Round(time.Millisecond))
	return nil
}

// checkCheckpointFile checks the last checkpoint written to the data
// folder against the tree: a database that lost events a signed checkpoint
// covers must not be served as if nothing happened.
func (l *Ledger) checkCheckpointFile(ctx context.Context) error {
	b, err := os.ReadFile(filepath.Join(l.dir, CheckpointFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	v, err := note.NewVerifier(l.signer.vkey)
	if err != nil {
		return err
	}
	_, size, root, err := parseSigned(v, b)
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(l.dir, CheckpointFile), err)
	}
	if size > l.Size() {
		return fmt.Errorf("the last signed checkpoint covers %d events but the ledger and its journal hold only %d: acknowledged events are missing; restore the data folder from a backup or a mirror", size, l.Size())
	}
	got, err := tlog.TreeHash(size, l.hashReader(ctx))
	if err != nil {
		return err
	}
	if got != root {
		return fmt.Errorf("the ledger's tree at size %d does not match the last signed checkpoint: history was rewritten", size)
	}
	if size > l.signer.lastSize {
		l.signer.lastSize, l.signer.lastRoot, l.signer.lastNote = size, root, b
	}
	return nil
}

// levelJournal replays journal records beyond the database's n events into
// it, and writes to the journal the database events it lacks. It reads the
// journal from the record at which snap says it was, when that holds, and
// from the start otherwise.
func (l *Ledger) levelJournal(ctx context.Context, n int64, snap snapshotFile) error {
	path := filepath.Join(l.dir, JournalFile)
	var end, count int64
	f, err := os.Open(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("open journal: %w", err)
	default:
		if snap.size > 0 && journalRecordAt(f, snap.journal, snap.size) {
			end, count = snap.journal, snap.size
		}
		if _, err := f.Seek(end, io.SeekStart); err != nil {
			f.Close()
			return err
		}
		var batch []pending
		var read int64
		read, err = readJournal(f, func(rec journalRecord) error {
			defer func() { count++ }()
			if count < n {
				return nil
			}
			ev, err := plenty.DecodeEvent(rec.Body)
			if err != nil {
				return fmt.Errorf("journal record %d: %w", count, err)
			}
			if ev.Seq != count {
				return fmt.Errorf("journal record %d holds event %d", count, ev.Seq)
			}
			ev.Credentials = rec.Credentials
			p, err := l.applyPrepared(ev, rec.IdemKey, rec.RequestHash)
			if err != nil {
				return fmt.Errorf("journal event %d does not follow from the ledger: %w", ev.Seq, err)
			}
			if batch = append(batch, p); len(batch) == l.opts.MaxBatch {
				err = l.commitReplayed(batch)
				batch = batch[:0]
			}
			return err
		})
		f.Close()
		end += read
		if err == nil && len(batch) > 0 {
			err = l.commitReplayed(batch)
		}
		if err != nil {
			return err
		}
		if count > n {
			l.log.Warn("replayed events from the journal that the database had lost", "events", count-n, "from_seq", n)
		}
	}
	j, err := openJournal(path, end)
	if err != nil {
		return err
	}
	l.journal = j
	if count < n {
		l.log.Warn("writing database events missing from the journal", "events", n-count, "from_seq", count)
		return l.rewriteJournal(ctx, count, n)
	}
	return nil
}

// journalRecordAt reports whether the journal's record at offset holds
// event seq, or offset is the journal's end and seq its record count.
func journalRecordAt(f *os.File, offset, seq int64) bool {
	st, err := f.Stat()
	if err != nil || offset > st.Size() {
		return false
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return false
	}
	var at int64 = -1
	readJournal(f, func(rec journalRecord) error {
		if ev, err := plenty.DecodeEvent(rec.Body); err == nil {
			at = ev.Seq
		}
		return errStop
	})
	if at < 0 {
		// Nothing readable there: the journal ends at offset, and then
		// must hold seq records, which the next start-up check (records
		// beyond the database) cannot tell; accept only the exact end.
		return offset == st.Size() && offset > 0
	}
	return at == seq
}

var errStop = errors.New("stop")

// commitReplayed commits events replayed from the journal to DuckDB.
func (l *Ledger) commitReplayed(batch []pending) error {
	l.durable.Store(batch[len(batch)-1].ev.Seq + 1)
	changes := l.changes
	l.changes = map[plenty.Change]struct{}{}
	if err := l.commitDB(batch, changes); err != nil {
		return err
	}
	l.state.ForgetClosed(l.committed.Load())
	return nil
}

// loadIdempotencyKeys reads the keys of the events within the idempotency
// window of the last event's time.
func (l *Ledger) loadIdempotencyKeys(ctx context.Context) error {
	since := l.state.LastTime().Add(-IdempotencyWindow)
	if now := l.opts.Now().Add(-IdempotencyWindow); now.After(since) {
		since = now
	}
	rows, err := l.db.QueryContext(ctx,
		"SELECT seq, time, idem_key, request_hash FROM events WHERE idem_key IS NOT NULL AND time >= ? ORDER BY seq", since.UTC())
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		var t time.Time
		var key, hash string
		if err := rows.Scan(&seq, &t, &key, &hash); err != nil {
			return err
		}
		l.idem.add(key, idemEntry{requestHash: hash, seq: seq, time: t.UTC()})
	}
	return rows.Err()
}

// rewriteJournal appends events [from, to) from the database to the
// journal.
func (l *Ledger) rewriteJournal(ctx context.Context, from, to int64) error {
	rows, err := l.db.QueryContext(ctx,
		"SELECT coalesce(idem_key, ''), coalesce(request_hash, ''), body FROM events WHERE seq >= ? AND seq < ? ORDER BY seq", from, to)
	if err != nil {
		return err
	}
	defer rows.Close()
	creds, err := readCredentials(ctx, l.db, from)
	if err != nil {
		return err
	}
	var recs []journalRecord
	seq := from
	for rows.Next() {
		var r journalRecord
		if err := rows.Scan(&r.IdemKey, &r.RequestHash, &r.Body); err != nil {
			return err
		}
		r.Credentials = creds[seq]
		seq++
		if recs = append(recs, r); len(recs) == 4096 {
			if err := l.journal.write(recs); err != nil {
				return err
			}
			recs = recs[:0]
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(recs) > 0 {
		return l.journal.write(recs)
	}
	return nil
}

// readCredentials reads the private credentials table from seq from on: the
// hashes each event granted, by seq.
func readCredentials(ctx context.Context, db *sql.DB, from int64) (map[int64][]plenty.Credential, error) {
	rows, err := db.QueryContext(ctx, "SELECT seq, holder, hash FROM credentials WHERE seq >= ? ORDER BY seq, holder", from)
	if err != nil {
		return nil, fmt.Errorf("read credentials: %w", err)
	}
	defer rows.Close()
	out := map[int64][]plenty.Credential{}
	for rows.Next() {
		var seq int64
		var c plenty.Credential
		if err := rows.Scan(&seq, &c.Holder, &c.Hash); err != nil {
			return nil, err
		}
		out[seq] = append(out[seq], c)
	}
	return out, rows.Err()
}
