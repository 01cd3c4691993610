package ledger

import (
	"context"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/plentyhub/plenty"
)

// Request asks the ledger to record one event.
type Request struct {
	Kind  string
	Actor plenty.Actor
	// Data is the event's data; it is encoded with plenty.CanonicalJSON.
	Data any
	// IdempotencyKey, when set, makes the append idempotent per actor:
	// the same key with the same RequestHash returns the first event and
	// writes nothing; with another RequestHash it is a conflict.
	IdempotencyKey string
	// RequestHash identifies the request the key was sent with, such as a
	// hash of its method, path and body. Empty means the event's data.
	RequestHash string
}

type request struct {
	kind, actor string
	data        json.RawMessage
	idemKey     string
	reqHash     string
	enqueued    time.Time
	reply       chan result
}

type result struct {
	ev  plenty.Event
	err error
}

// pending is an event that has been applied to the state and awaits
// commit.
type pending struct {
	ev      plenty.Event
	leaf    tlog.Hash
	hashes  []tlog.Hash // stored tree hashes, from StoredHashIndex(0, seq) on
	idemKey string
	reqHash string
}

// Append records one event and returns it once it is durable. It returns
// EINVALID, ECONFLICT, EFORBIDDEN or ENOTFOUND when the event does not
// follow from the ledger's state (nothing is written), ECONFLICT when the
// idempotency key was used with another request, and EUNAVAILABLE when the
// ledger is closed or has failed.
func (l *Ledger) Append(ctx context.Context, r Request) (plenty.Event, error) {
	data, err := plenty.CanonicalJSON(r.Data)
	if err != nil {
		return plenty.Event{}, fmt.Errorf("encode %s data: %w", r.Kind, err)
	}
	if r.Kind == plenty.KindTaskAssigned {
		if err := l.checkSeed(ctx, data); err != nil {
			return plenty.Event{}, err
		}
	}
	req := &request{
		kind: r.Kind, actor: r.Actor, data: data,
		reqHash: r.RequestHash, enqueued: time.Now(),
		reply: make(chan result, 1),
	}
	if r.IdempotencyKey != "" {
		req.idemKey = r.Actor + " " + r.IdempotencyKey
		if req.reqHash == "" {
			req.reqHash = fmt.Sprintf("%x", tlog.RecordHash(data))
		}
	}
	if err := l.submit(ctx, req); err != nil {
		return plenty.Event{}, err
	}
	// Once submitted, the request is committed or refused promptly; wait
	// for the answer even if ctx ends, so that an acknowledged write is
	// never reported as failed.
	res := <-req.reply
	l.stats.observe(time.Since(req.enqueued))
	return res.ev, res.err
}

// checkSeed checks that a lottery draw's seed is the root of the tree it
// names, which the state fold cannot see: the fold then checks that the
// tree is every event before the draw. The tree must be committed.
func (l *Ledger) checkSeed(ctx context.Context, data []byte) error {
	var d plenty.TaskAssignment
	if err := json.Unmarshal(data, &d); err != nil {
		return plenty.Errorf(plenty.EINVALID, "task.assigned: %v", err)
	}
	if d.TreeSize <= 0 || d.TreeSize > l.Size() {
		return plenty.Errorf(plenty.ECONFLICT, "the draw's tree of size %d is not committed (the ledger has %d events)", d.TreeSize, l.Size())
	}
	root, err := l.TreeHash(ctx, d.TreeSize)
	if err != nil {
		return err
	}
	if d.Seed != hex.EncodeToString(root[:]) {
		return plenty.Errorf(plenty.EINVALID, "the draw's seed %s is not the root %x of the tree of size %d", d.Seed, root, d.TreeSize)
	}
	return nil
}

func (l *Ledger) submit(ctx context.Context, req *request) (err error) {
	if l.closed.Load() {
		return errClosed
	}
	defer func() {
		// Close may close reqs between the check above and the send.
		if recover() != nil {
			err = errClosed
		}
	}()
	select {
	case l.reqs <- req:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writer is the one goroutine that assigns sequence numbers and commits.
func (l *Ledger) writer() {
	defer close(l.done)
	batch := make([]*request, 0, l.opts.MaxBatch)
	for req := range l.reqs {
		batch = append(batch[:0], req)
	fill:
		for len(batch) < l.opts.MaxBatch {
			select {
			case r, ok := <-l.reqs:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		l.commitBatch(batch)
	}
}

// commitBatch applies, persists and answers one batch.
func (l *Ledger) commitBatch(batch []*request) {
	l.mu.Lock()
	if l.failed != nil {
		err := l.failed
		l.mu.Unlock()
		for _, r := range batch {
			r.reply <- result{err: err}
		}
		return
	}
	var (
		evs     []pending
		answers = make([]result, len(batch))
		replays = map[int]int64{} // batch index → seq of the first event
	)
	for i, r := range batch {
		if r.idemKey != "" {
			if e, ok := l.idem[r.idemKey]; ok {
				if e.requestHash != r.reqHash {
					answers[i].err = plenty.Errorf(plenty.ECONFLICT,
						"the Idempotency-Key was already used with a different request; use a new key for a new request")
				} else {
					replays[i] = e.seq
				}
				continue
			}
		}
		p, err := l.prepare(r.kind, r.actor, r.data, r.idemKey, r.reqHash)
		if err != nil {
			answers[i].err = err
			continue
		}
		answers[i].ev = p.ev
		evs = append(evs, p)
	}
	l.mu.Unlock()

	if len(evs) > 0 {
		if err := l.persist(evs, true); err != nil {
			l.fail(err)
			for _, r := range batch {
				r.reply <- result{err: plenty.Errorf(plenty.EUNAVAILABLE, "the ledger could not commit (%v); the hub must be restarted", err)}
			}
			return
		}
	}
	for i, seq := range replays {
		answers[i].ev, answers[i].err = l.eventAt(seq, evs)
	}
	for i, r := range batch {
		r.reply <- answers[i]
	}
}

// prepare assigns the next seq and time, builds the body, applies it to
// the state and computes its tree hashes. The caller holds l.mu.
func (l *Ledger) prepare(kind, actor string, data json.RawMessage, idemKey, reqHash string) (pending, error) {
	seq := l.state.Size()
	t := l.opts.Now().UTC()
	if last := l.state.LastTime(); t.Before(last) {
		t = last
	}
	body := plenty.EncodeEvent(seq, t, kind, actor, data)
	ev := plenty.Event{Seq: seq, Time: t, Kind: kind, Actor: actor, Data: data, Body: body}
	return l.applyPrepared(ev, idemKey, reqHash)
}

// applyPrepared applies a built event to the state and computes its tree
// hashes. The caller holds l.mu.
func (l *Ledger) applyPrepared(ev plenty.Event, idemKey, reqHash string) (pending, error) {
	if err := l.state.Apply(ev); err != nil {
		return pending{}, err
	}
	leaf := tlog.RecordHash(ev.Body)
	hashes, err := tlog.StoredHashesForRecordHash(ev.Seq, leaf, l.frontierReader())
	if err != nil {
		// The state already moved on; only a restart can reconcile.
		l.failed = fmt.Errorf("tree hashes for event %d: %w", ev.Seq, err)
		return pending{}, l.failed
	}
	l.advanceFrontier(ev.Seq, hashes)
	if idemKey != "" {
		l.idem[idemKey] = idemEntry{requestHash: reqHash, seq: ev.Seq}
	}
	return pending{ev: ev, leaf: leaf, hashes: hashes, idemKey: idemKey, reqHash: reqHash}, nil
}

// frontierReader reads the stored hashes of the complete subtrees at the
// right edge of the tree, which are all that appending needs.
func (l *Ledger) frontierReader() tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			h, ok := l.frontier[x]
			if !ok {
				return nil, fmt.Errorf("tree hash %d is not on the frontier", x)
			}
			out[i] = h
		}
		return out, nil
	})
}

// frontierIndexes returns the stored-hash indexes of the complete subtrees
// that make up a tree of size n.
func frontierIndexes(n int64) []int64 {
	var out []int64
	for level := 0; n>>level > 0; level++ {
		if (n>>level)&1 == 1 {
			out = append(out, tlog.StoredHashIndex(level, n>>level-1))
		}
	}
	return out
}

// advanceFrontier records the hashes stored for record seq and forgets
// those no longer on the right edge of the tree of size seq+1.
func (l *Ledger) advanceFrontier(seq int64, hashes []tlog.Hash) {
	base := tlog.StoredHashIndex(0, seq)
	for i, h := range hashes {
		l.frontier[base+int64(i)] = h
	}
	keep := map[int64]bool{}
	for _, x := range frontierIndexes(seq + 1) {
		keep[x] = true
	}
	for x := range l.frontier {
		if !keep[x] {
			delete(l.frontier, x)
		}
	}
}

// persist writes applied events to the journal (unless they come from it)
// and commits them, their tree hashes and the new documents of the
// projections they changed in one DuckDB transaction.
func (l *Ledger) persist(evs []pending, toJournal bool) error {
	start := time.Now()
	if toJournal {
		recs := make([]journalRecord, len(evs))
		for i, p := range evs {
			recs[i] = journalRecord{IdemKey: p.idemKey, RequestHash: p.reqHash, Body: p.ev.Body}
		}
		if err := l.journal.write(recs); err != nil {
			return err
		}
	}
	ctx := context.Background()
	l.mu.RLock()
	docs := make([][3]string, 0, len(l.changes))
	for c := range l.changes {
		if doc, ok := l.state.Doc(c); ok {
			docs = append(docs, [3]string{c.Kind, c.ID, string(doc)})
		}
	}
	l.mu.RUnlock()
	clear(l.changes)
	last := evs[len(evs)-1].ev.Seq

	if _, err := l.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	err := l.appendRows(l.appenders.events, len(evs), func(a *duckdb.Appender, i int) error {
		p := evs[i]
		return a.AppendRow(p.ev.Seq, p.ev.Time, p.ev.Kind, p.ev.Actor,
			nullable(p.idemKey), nullable(p.reqHash), p.ev.Body, p.leaf[:])
	})
	if err == nil {
		err = l.appendRows(l.appenders.tree, len(evs), func(a *duckdb.Appender, i int) error {
			base := tlog.StoredHashIndex(0, evs[i].ev.Seq)
			for j, h := range evs[i].hashes {
				if err := a.AppendRow(base+int64(j), h[:]); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err == nil {
		err = l.appendRows(l.appenders.projections, len(docs), func(a *duckdb.Appender, i int) error {
			return a.AppendRow(docs[i][0], docs[i][1], last, docs[i][2])
		})
	}
	if err != nil {
		l.conn.ExecContext(ctx, "ROLLBACK")
		return err
	}
	if _, err := l.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	l.committed.Store(last + 1)
	l.stats.batch(len(evs), time.Since(start))
	return nil
}

// appenders are the writer's DuckDB appenders, made once on the writer's
// connection. A flush inside an open transaction belongs to it, so each
// batch is appended and then committed or rolled back as one.
type appenders struct {
	events, tree, projections *duckdb.Appender
}

func (l *Ledger) openAppenders() error {
	return l.conn.Raw(func(dc any) error {
		conn := dc.(driver.Conn)
		var err error
		for _, t := range []struct {
			table string
			a     **duckdb.Appender
		}{{"events", &l.appenders.events}, {"tree", &l.appenders.tree}, {"projection_log", &l.appenders.projections}} {
			if *t.a, err = duckdb.NewAppenderFromConn(conn, "", t.table); err != nil {
				return fmt.Errorf("appender for %s: %w", t.table, err)
			}
		}
		return nil
	})
}

func (l *Ledger) closeAppenders() {
	for _, a := range []*duckdb.Appender{l.appenders.events, l.appenders.tree, l.appenders.projections} {
		if a != nil {
			a.Close()
		}
	}
}

// appendRows appends n rows with a and flushes them into the open
// transaction.
func (l *Ledger) appendRows(a *duckdb.Appender, n int, row func(*duckdb.Appender, int) error) error {
	if n == 0 {
		return nil
	}
	for i := 0; i < n; i++ {
		if err := row(a, i); err != nil {
			return fmt.Errorf("append: %w", err)
		}
	}
	if err := a.Flush(); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	return nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (l *Ledger) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failed == nil {
		l.failed = plenty.Errorf(plenty.EUNAVAILABLE, "the ledger stopped after a failed commit (%v); restart the hub: it recovers every acknowledged event", err)
		l.log.Error("ledger commit failed; refusing further writes", "err", err)
	}
}

// eventAt returns event seq, from the batch just committed or the database.
func (l *Ledger) eventAt(seq int64, batch []pending) (plenty.Event, error) {
	for _, p := range batch {
		if p.ev.Seq == seq {
			return p.ev, nil
		}
	}
	var ev plenty.Event
	err := l.Events(context.Background(), seq, seq+1, func(e plenty.Event) error {
		ev = e
		return nil
	})
	return ev, err
}
