// Package ledger owns Plenty's system of record: the append-only log of
// events in DuckDB, the RFC 6962 Merkle tree over their bodies, the hub's
// signed checkpoints, and the projections derived from the events.
//
// The package exposes append and read, nothing else: no code path updates
// or deletes an event or a tree hash. One writer goroutine owns the
// sequence; it group-commits concurrent appends to the journal (see
// journal.go), the write-ahead log, and acknowledges them once it is
// synced. A second goroutine commits the journal's batches to DuckDB, the
// queryable store, several at a time (see writer.go). Readers see durable
// events only; checkpoints cover only what DuckDB holds.
//
// This is the only package that imports DuckDB.
package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // registers the "duckdb" driver

	"github.com/plentyhub/plenty"
)

// Files in the data folder.
const (
	DatabaseFile   = "ledger.duckdb"
	JournalFile    = "journal"
	SignerKeyFile  = "hub.key"
	VerifierFile   = "hub.pub"
	CheckpointFile = "checkpoint"
	FormatFile     = "FORMAT"
)

// EventFormat names the event format this version writes and replays. A
// data folder whose FORMAT file names another (or, holding events, has
// none: the first format) is refused with a message, never mixed.
const EventFormat = "plenty-events 2"

// checkFormat refuses a data folder written in another event format, and
// marks a new one.
func checkFormat(dir string) error {
	path := filepath.Join(dir, FormatFile)
	b, err := os.ReadFile(path)
	if err == nil {
		if got := strings.TrimSpace(string(b)); got != EventFormat {
			return fmt.Errorf("the data folder %s holds events in the format %q, but this version of Plenty reads only %q; start afresh with a new --data folder (keep the old one: the version that wrote it can still verify and export it)", dir, got, EventFormat)
		}
		return nil
	}
	if !os.IsNotExist(err) {
		return err
	}
	for _, name := range []string{DatabaseFile, JournalFile} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && fi.Size() > 0 {
			return fmt.Errorf("the data folder %s was written by an earlier version of Plenty (event format 1, before the log became the rulebook), which this version cannot replay; start afresh with a new --data folder (keep the old one: the version that wrote it can still verify and export it)", dir)
		}
	}
	return writeFileAtomic(path, []byte(EventFormat+"\n"), 0o644)
}

const schema = `
CREATE TABLE IF NOT EXISTS events (
	seq          BIGINT    NOT NULL,
	time         TIMESTAMP NOT NULL,
	kind         VARCHAR   NOT NULL,
	actor        VARCHAR   NOT NULL,
	idem_key     VARCHAR,
	request_hash VARCHAR,
	body         BLOB      NOT NULL,
	leaf_hash    BLOB      NOT NULL
);
CREATE TABLE IF NOT EXISTS tree (
	idx  BIGINT NOT NULL,
	hash BLOB   NOT NULL
);
CREATE TABLE IF NOT EXISTS credentials (
	seq    BIGINT  NOT NULL,
	holder VARCHAR NOT NULL,
	hash   VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
	size      BIGINT    NOT NULL,
	root      BLOB      NOT NULL,
	note      VARCHAR   NOT NULL,
	signed_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS projection_log (
	kind VARCHAR NOT NULL,
	id   VARCHAR NOT NULL,
	seq  BIGINT  NOT NULL,
	doc  VARCHAR NOT NULL
);
CREATE VIEW IF NOT EXISTS projections AS
	SELECT kind, id, max(seq) AS seq, arg_max(doc, seq) AS doc
	FROM projection_log GROUP BY kind, id;
`

// The projections are kept append-only too: each commit appends the new
// document of every entity it changed to projection_log (one row per entity
// per commit, stamped with the commit's last seq), and the projections view
// reads the newest document of each. Appending is far cheaper in DuckDB
// than updating in place.

// Options tune a ledger. The zero value is ready to use.
type Options struct {
	// Now is the clock; time.Now when nil. Event times never go backwards,
	// whatever the clock says.
	Now func() time.Time
	// Logger receives operational messages; slog.Default when nil.
	Logger *slog.Logger
	// MaxBatch bounds how many appends one transaction commits; 4096 when 0.
	MaxBatch int
	// SingleCommit commits each append in its own transaction, and
	// acknowledges it after that commit. It exists only to measure group
	// commit against it.
	SingleCommit bool
	// SnapshotEvery is how many events are written between state
	// snapshots (see snapshot.go); DefaultSnapshotEvery when 0, none when
	// negative.
	SnapshotEvery int64
	// Origin names a new hub's log: the origin line of its checkpoints and
	// the name of its key (such as "manchester.example/plenty"). It is used
	// only when the key is made, on first start; a random
	// "plenty-hub-<hex>" name when empty.
	Origin string
}

// Ledger is an open ledger. Its methods are safe for concurrent use.
type Ledger struct {
	dir  string
	opts Options
	log  *slog.Logger
	db   *sql.DB

	startHashes *hashMemo // while Open loads (hashReader)

	reqs    chan *request
	done    chan struct{}
	toDB    chan dbBatch  // durable batches, writer → committer
	dbDone  chan struct{} // closed when the committer has stopped
	closing sync.Once
	closed  atomic.Bool

	// mu guards state, idem, changes and failed. The writer holds it from
	// applying a batch to syncing it in the journal; readers hold it
	// shared, so they see durable events only.
	mu      sync.RWMutex
	state   *plenty.State
	idem    *idemWindow
	changes map[plenty.Change]struct{} // entities changed since the last batch
	failed  error

	durable   atomic.Int64 // events synced in the journal: the ledger's size
	committed atomic.Int64 // events committed to DuckDB, a prefix of those
	dbMu      sync.Mutex
	dbChanged chan struct{} // closed and replaced whenever committed grows
	exact     exactSizes    // under dbMu
	dbWanted  chan struct{} // a reader waits for the committer
	queue     dbQueue
	signer    *signer
	stats     stats

	openedAt time.Time

	marks    []journalMark  // recent batch ends in the journal, under mu
	snapMu   sync.Mutex     // one snapshot at a time
	snapSize atomic.Int64   // size of the newest snapshot written or read
	snapping atomic.Bool    // a background snapshot is under way
	snapWG   sync.WaitGroup // background snapshots, which Close waits for

	// Owned by the writer goroutine.
	conn      *sql.Conn
	appenders appenders
	journal   *journal
}

// Open opens the ledger in dir, creating the folder, the database and the
// hub's signing key on first use. It replays into DuckDB any events the
// journal holds beyond it, and rebuilds the projections in memory.
//
// When the database cannot be opened, the error says what happened and how
// to recover with Recover (`plenty recover`).
func Open(dir string, opts Options) (*Ledger, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 4096
	}
	if opts.SingleCommit {
		opts.MaxBatch = 1
	}
	if opts.SnapshotEvery == 0 {
		opts.SnapshotEvery = DefaultSnapshotEvery
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	l := &Ledger{
		openedAt:  time.Now(),
		dir:       dir,
		opts:      opts,
		log:       opts.Logger,
		reqs:      make(chan *request, 4*opts.MaxBatch),
		done:      make(chan struct{}),
		toDB:      make(chan dbBatch, maxQueued),
		dbDone:    make(chan struct{}),
		dbChanged: make(chan struct{}),
		dbWanted:  make(chan struct{}, 1),
		state:     plenty.NewState(),
		idem:      newIdemWindow(),
		changes:   map[plenty.Change]struct{}{},
	}
	l.state.OnChange(func(c plenty.Change) { l.changes[c] = struct{}{} })

	if err := checkFormat(dir); err != nil {
		return nil, err
	}
	var err error
	if l.signer, err = loadOrCreateSigner(dir, opts.Origin); err != nil {
		return nil, err
	}
	if err := l.openDB(); err != nil {
		return nil, err
	}
	// The start reads the tree through a memo (hashMemo), dropped
	// before anything else reads it.
	l.startHashes = newHashMemo()
	err = l.load()
	l.startHashes = nil
	if err != nil {
		// Let go of everything load opened: DuckDB keeps a database
		// open while a connection or an appender holds it, and a second
		// Open of the folder in this process would wait for it.
		l.closeAppenders()
		if l.conn != nil {
			l.conn.Close()
		}
		if l.journal != nil {
			l.journal.close()
		}
		l.db.Close()
		return nil, err
	}
	go l.writer()
	return l, nil
}

// openDB opens DuckDB and creates the schema, explaining a failure.
func (l *Ledger) openDB() error {
	path := filepath.Join(l.dir, DatabaseFile)
	db, err := sql.Open("duckdb", path)
	if err == nil {
		_, err = db.Exec(schema)
	}

	if err != nil {
		if db != nil {
			db.Close()
		}
		return &OpenError{Dir: l.dir, Err: err}
	}
	l.db = db
	return nil
}

// OpenError reports a database that DuckDB cannot open, and how to recover.
type OpenError struct {
	Dir string
	Err error
}

func (e *OpenError) Error() string {
	if holder, ok := lockHolder(e.Err); ok {
		return lockedMessage(e.Dir, holder)
	}
	db := filepath.Join(e.Dir, DatabaseFile)
	return fmt.Sprintf(`cannot open the ledger database %s: %v

The database or its write-ahead log (%s.wal) is damaged, most likely by a
crash during a write. Nothing is lost: every acknowledged event is also kept
in %s. To recover, stop every process using this folder and run:

    plenty recover --data %s

It moves the damaged files into %s, rebuilds the
database from the journal, and checks it against the last signed checkpoint.`,
		db, e.Err, db, filepath.Join(e.Dir, JournalFile), e.Dir,
		filepath.Join(e.Dir, "damaged-TIME"))
}

func (e *OpenError) Unwrap() error { return e.Err }

// Dir returns the data folder.
func (l *Ledger) Dir() string { return l.dir }

// Size returns the number of durable events: the tree size of the ledger.
// Every method that reads events or tree hashes accepts sizes up to it.
func (l *Ledger) Size() int64 { return l.durable.Load() }

// Committed returns the number of events committed to DuckDB, at most
// Size: the size a new checkpoint covers.
func (l *Ledger) Committed() int64 { return l.committed.Load() }

// Read calls fn with the current state, shared with other readers: the
// state of every durable event and no other. fn must not keep the state,
// nor call the ledger's writing methods or those that wait for DuckDB
// (Events, TreeHash, the proofs, Checkpoint, Snapshot): the commit they
// wait for may need the lock fn holds.
func (l *Ledger) Read(fn func(*plenty.State) error) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.failed != nil {
		return l.failed
	}
	return fn(l.state)
}

// Close stops accepting appends, commits what was submitted, signs a final
// checkpoint and closes the database.
func (l *Ledger) Close() error {
	var err error
	l.closing.Do(func() {
		l.closed.Store(true)
		close(l.reqs)
		<-l.done // the writer stops after the committer
		l.snapWG.Wait()
		if l.opts.SnapshotEvery > 0 && l.Size()-l.snapSize.Load() >= min(closeSnapshotAfter, l.opts.SnapshotEvery) && l.Failed() == nil {
			if _, serr := l.Snapshot(context.Background()); serr != nil {
				l.log.Warn("state snapshot at close failed; the next start folds more events", "err", serr)
			}
		}
		if l.Size() > 0 && l.Failed() == nil {
			if _, cerr := l.Checkpoint(context.Background()); cerr != nil {
				err = cerr
			}
		}
		l.closeAppenders()
		if l.conn != nil {
			l.conn.Close()
		}
		if jerr := l.journal.close(); jerr != nil && err == nil {
			err = jerr
		}
		if cerr := l.db.Close(); cerr != nil && err == nil {
			err = cerr
		}
	})
	return err
}

// Failed returns the error that stopped the ledger, if any. After a failed
// commit the ledger refuses further appends until the hub restarts.
func (l *Ledger) Failed() error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.failed
}

// closeSnapshotAfter is how many events since the last snapshot make
// Close write one: a restart then folds few events.
const closeSnapshotAfter = 1000

var errClosed = plenty.Errorf(plenty.EUNAVAILABLE, "the ledger is closed; the hub is shutting down")
