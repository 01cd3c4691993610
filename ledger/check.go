package ledger

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/plentyhub/plenty"
)

// Check reads the ledger in dir without changing it: it decodes every
// event, checks that seq is contiguous and time never goes backwards,
// rebuilds the projections from the events and compares them with the
// stored ones, recomputes the Merkle tree and compares it with the stored
// hashes and every signed checkpoint, compares every state snapshot with
// the state the replay reaches at its size, and compares the journal with
// the events. It returns the first difference, or nil and the number of events
// checked.
func Check(ctx context.Context, dir string) (int64, error) {
	path := filepath.Join(dir, DatabaseFile)
	if _, err := os.Stat(path); err != nil {
		return 0, fmt.Errorf("no ledger in %s: %w", dir, err)
	}
	db, err := sql.Open("duckdb", path+"?access_mode=read_only")
	if err == nil {
		err = db.PingContext(ctx)
	}
	if err != nil {
		return 0, &OpenError{Dir: dir, Err: err}
	}
	defer db.Close()

	var n int64
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM events").Scan(&n); err != nil {
		return 0, err
	}
	snaps, err := checkSnapshots(dir)
	if err != nil {
		return 0, err
	}
	st := plenty.NewState()
	// With a store registered, the state keeps the postings that left it
	// (never forgotten here), so that every stored projection is compared.
	st.OnChange(func(plenty.Change) {})
	frontier := map[int64]tlog.Hash{}
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = frontier[x]
		}
		return out, nil
	})
	tree, err := db.QueryContext(ctx, "SELECT idx, hash FROM tree ORDER BY idx")
	if err != nil {
		return 0, err
	}
	defer tree.Close()
	leaves, err := db.QueryContext(ctx, "SELECT seq, leaf_hash FROM events ORDER BY seq")
	if err != nil {
		return 0, err
	}
	defer leaves.Close()

	creds, err := readCredentials(ctx, db, 0)
	if err != nil {
		return 0, err
	}
	err = readEvents(ctx, db, 0, n, func(ev plenty.Event) error {
		ev.Credentials = creds[ev.Seq]
		if err := st.Apply(ev); err != nil {
			return err
		}
		hashes := st.StoredHashes()
		leaf := hashes[0]
		var seq int64
		var stored []byte
		if !leaves.Next() {
			return fmt.Errorf("event %d: no leaf hash stored", ev.Seq)
		}
		if err := leaves.Scan(&seq, &stored); err != nil {
			return err
		}
		if !bytes.Equal(stored, leaf[:]) {
			return fmt.Errorf("event %d: stored leaf hash %x differs from the hash of its body %x", ev.Seq, stored, leaf[:])
		}
		base := tlog.StoredHashIndex(0, ev.Seq)
		for i, h := range hashes {
			var idx int64
			var b []byte
			if !tree.Next() {
				return fmt.Errorf("tree: hash %d (event %d) is missing", base+int64(i), ev.Seq)
			}
			if err := tree.Scan(&idx, &b); err != nil {
				return err
			}
			if idx != base+int64(i) || !bytes.Equal(b, h[:]) {
				return fmt.Errorf("tree: stored hash %d differs from the hash recomputed from the events (event %d)", base+int64(i), ev.Seq)
			}
			frontier[base+int64(i)] = h
		}
		if f, ok := snaps[st.Size()]; ok {
			root, err := tlog.TreeHash(st.Size(), reader)
			if err != nil {
				return err
			}
			if err := compareSnapshot(f, st, root); err != nil {
				return err
			}
			delete(snaps, st.Size())
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if tree.Next() {
		var idx int64
		var b []byte
		tree.Scan(&idx, &b)
		return 0, fmt.Errorf("tree: stored hash %d is beyond the %d events", idx, n)
	}
	if err := st.CheckBalances(); err != nil {
		return 0, err
	}
	if err := st.CheckMandates(); err != nil {
		return 0, err
	}
	for size, f := range snaps {
		return 0, fmt.Errorf("state snapshot %s is at size %d, beyond the %d events", f.path, size, n)
	}
	if err := checkProjections(ctx, db, st); err != nil {
		return 0, err
	}
	if err := checkCheckpoints(ctx, db, dir, reader, n); err != nil {
		return 0, err
	}
	if err := checkJournal(ctx, db, dir, n); err != nil {
		return 0, err
	}
	return n, nil
}

func checkProjections(ctx context.Context, db *sql.DB, st *plenty.State) error {
	rows, err := db.QueryContext(ctx, "SELECT kind, id, doc FROM projections ORDER BY kind, id")
	if err != nil {
		return err
	}
	defer rows.Close()
	want := st.Entities()
	i := 0
	for rows.Next() {
		var c plenty.Change
		var doc string
		if err := rows.Scan(&c.Kind, &c.ID, &doc); err != nil {
			return err
		}
		if i >= len(want) || want[i] != c {
			return fmt.Errorf("projections: stored %s %s does not follow from the events", c.Kind, c.ID)
		}
		rebuilt, _ := st.Doc(c)
		if string(rebuilt) != doc {
			return fmt.Errorf("projections: stored %s %s differs from the one rebuilt from the events:\n  stored:  %s\n  rebuilt: %s", c.Kind, c.ID, doc, rebuilt)
		}
		i++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if i < len(want) {
		return fmt.Errorf("projections: %s %s is missing", want[i].Kind, want[i].ID)
	}
	return nil
}

func checkCheckpoints(ctx context.Context, db *sql.DB, dir string, final tlog.HashReader, n int64) error {
	vk, err := os.ReadFile(filepath.Join(dir, VerifierFile))
	if err != nil {
		return fmt.Errorf("read verifier key: %w", err)
	}
	v, err := note.NewVerifier(string(bytes.TrimSpace(vk)))
	if err != nil {
		return fmt.Errorf("verifier key: %w", err)
	}
	// Recompute the root of each checkpointed size from the events.
	rows, err := db.QueryContext(ctx, "SELECT size, root, note FROM checkpoints ORDER BY size")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var size int64
		var root []byte
		var text string
		if err := rows.Scan(&size, &root, &text); err != nil {
			return err
		}
		if err := checkNote(ctx, db, v, []byte(text), size, n); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if b, err := os.ReadFile(filepath.Join(dir, CheckpointFile)); err == nil {
		_, size, _, perr := parseSigned(v, b)
		if perr != nil {
			return fmt.Errorf("%s: %w", CheckpointFile, perr)
		}
		return checkNote(ctx, db, v, b, size, n)
	}
	return nil
}

func parseSigned(v note.Verifier, b []byte) (string, int64, tlog.Hash, error) {
	nt, err := note.Open(b, note.VerifierList(v))
	if err != nil {
		return "", 0, tlog.Hash{}, fmt.Errorf("checkpoint signature does not verify with the hub's key: %w", err)
	}
	c, err := plenty.ParseCheckpoint(nt.Text)
	return c.Origin, c.Size, c.Root, err
}

func checkNote(ctx context.Context, db *sql.DB, v note.Verifier, b []byte, size, n int64) error {
	_, sz, root, err := parseSigned(v, b)
	if err != nil {
		return err
	}
	if sz != size {
		return fmt.Errorf("checkpoint for size %d says size %d", size, sz)
	}
	if size > n {
		return fmt.Errorf("a signed checkpoint covers %d events but the ledger holds %d: events were lost", size, n)
	}
	got, err := tlog.TreeHash(size, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		return readHashes(ctx, db, idx)
	}))
	if err != nil {
		return err
	}
	if got != root {
		return fmt.Errorf("the signed checkpoint at size %d has root %s but the events give %s", size, root, got)
	}
	return nil
}

func checkJournal(ctx context.Context, db *sql.DB, dir string, n int64) error {
	f, err := os.Open(filepath.Join(dir, JournalFile))
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	rows, err := db.QueryContext(ctx, "SELECT body FROM events ORDER BY seq")
	if err != nil {
		return err
	}
	defer rows.Close()
	var i int64
	_, err = readJournal(f, func(r journalRecord) error {
		if !rows.Next() {
			return fmt.Errorf("journal holds event %d beyond the database's %d events; start the hub to replay it", i, n)
		}
		var body []byte
		if err := rows.Scan(&body); err != nil {
			return err
		}
		if !bytes.Equal(body, r.Body) {
			return fmt.Errorf("journal record %d differs from event %d in the database", i, i)
		}
		i++
		return nil
	})
	if err != nil {
		return err
	}
	if i < n {
		return fmt.Errorf("journal holds %d events, the database %d", i, n)
	}
	return nil
}

// Recover rebuilds a damaged database from the journal. It moves
// ledger.duckdb and its write-ahead log into dir/damaged-TIME/, opens a
// fresh ledger (which replays every journal record into it), and checks
// the result against the last signed checkpoint. It returns the number of
// events recovered and the folder holding the damaged files.
func Recover(ctx context.Context, dir string, opts Options) (int64, string, error) {
	if _, err := os.Stat(filepath.Join(dir, JournalFile)); err != nil {
		return 0, "", fmt.Errorf("no journal to recover from: %w", err)
	}
	if err := checkNotLocked(dir); err != nil {
		return 0, "", err
	}
	aside := filepath.Join(dir, "damaged-"+time.Now().UTC().Format("20060102T150405Z"))
	if err := os.MkdirAll(aside, 0o700); err != nil {
		return 0, "", err
	}
	for _, name := range []string{DatabaseFile, DatabaseFile + ".wal"} {
		err := os.Rename(filepath.Join(dir, name), filepath.Join(aside, name))
		if err != nil && !os.IsNotExist(err) {
			return 0, aside, fmt.Errorf("move %s aside: %w", name, err)
		}
	}
	l, err := Open(dir, opts)
	if err != nil {
		return 0, aside, fmt.Errorf("rebuild from the journal: %w", err)
	}
	n := l.Size()
	if err := l.Close(); err != nil {
		return n, aside, err
	}
	return n, aside, nil
}
