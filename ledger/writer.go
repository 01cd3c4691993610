package ledger

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"sync"
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
	// The fold takes Data itself rather than decoding what was just
	// encoded (plenty.Event.WithPayload), so the caller must not change it
	// after Append.
	Data any
	// IdempotencyKey, when set, makes the append idempotent per actor:
	// the same key with the same RequestHash returns the first event and
	// writes nothing; with another RequestHash it is a conflict. Keys are
	// kept for IdempotencyWindow.
	IdempotencyKey string
	// RequestHash identifies the request the key was sent with, such as a
	// hash of its method, path and body. Empty means the event's data.
	RequestHash string
	// Credentials are the hashes of the secrets the event grants; they are
	// kept beside the event (journal, private table), never in its body.
	Credentials []plenty.Credential
}

type request struct {
	kind, actor string
	data        json.RawMessage
	payload     any
	idemKey     string
	reqHash     string
	creds       []plenty.Credential
	enqueued    time.Time
	reply       chan result
}

type result struct {
	ev     plenty.Event
	replay bool  // answered from an idempotency key
	seq    int64 // the replayed event, when ev is not at hand
	err    error
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

// dbBatch is one journal batch on its way to DuckDB.
type dbBatch struct {
	evs     []pending
	changes map[plenty.Change]struct{}
	done    chan struct{} // closed once committed (SingleCommit only)
}

// Append records one event and returns it once it is durable. replay is
// true when the event was not written now but returned for an
// idempotency key already used with the same request. It returns
// EINVALID, ECONFLICT, EFORBIDDEN or ENOTFOUND when the event does not
// follow from the ledger's state (nothing is written), ECONFLICT when the
// idempotency key was used with another request, and EUNAVAILABLE when the
// ledger is closed or has failed.
func (l *Ledger) Append(ctx context.Context, r Request) (ev plenty.Event, replay bool, err error) {
	data, err := plenty.CanonicalJSON(r.Data)
	if err != nil {
		return plenty.Event{}, false, fmt.Errorf("encode %s data: %w", r.Kind, err)
	}
	req := &request{
		kind: r.Kind, actor: r.Actor, data: data, payload: r.Data, creds: r.Credentials,
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
		return plenty.Event{}, false, err
	}
	// Once submitted, the request is made durable or refused promptly;
	// wait for the answer even if ctx ends, so that an acknowledged write
	// is never reported as failed.
	res := <-req.reply
	l.stats.observe(time.Since(req.enqueued))
	if res.err == nil && res.replay && res.ev.Body == nil {
		res.ev, res.err = l.eventAt(context.WithoutCancel(ctx), res.seq)
	}
	return res.ev, res.replay, res.err
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

// The write path is a pipeline of two goroutines. The writer owns the
// sequence: it takes a batch of requests, applies them to the state,
// writes and syncs them to the journal, and acknowledges them; they are
// durable. It holds l.mu from the first apply to the journal sync, so that
// readers only ever see durable events. It then hands the batch to the
// committer, which commits to DuckDB whatever batches have queued up in one
// transaction while the writer works on the next.

// writer is the one goroutine that assigns sequence numbers.
func (l *Ledger) writer() {
	defer close(l.done)
	go l.committer()
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
		l.appendBatch(batch)
	}
	close(l.toDB)
	<-l.dbDone
}

// appendBatch applies a batch, makes it durable in the journal, answers it
// and queues it for DuckDB.
func (l *Ledger) appendBatch(batch []*request) {
	l.mu.Lock()
	if l.failed != nil {
		err := l.failed
		l.mu.Unlock()
		for _, r := range batch {
			r.reply <- result{err: err}
		}
		return
	}
	now := l.opts.Now()
	l.idem.expire(now)
	// DuckDB holds the last documents of what left the state before its
	// committed size: readers find those there (closed.go).
	l.state.ForgetClosed(l.committed.Load())
	var (
		evs     []pending
		answers = make([]result, len(batch))
	)
	for i, r := range batch {
		if r.idemKey != "" {
			if e, ok := l.idem.get(r.idemKey); ok {
				if e.requestHash != r.reqHash {
					answers[i].err = plenty.Errorf(plenty.ECONFLICT,
						"the Idempotency-Key was already used with a different request; use a new key for a new request")
				} else {
					answers[i] = result{replay: true, seq: e.seq}
				}
				continue
			}
		}
		p, err := l.prepare(now, r)
		if err != nil {
			answers[i].err = err
			continue
		}
		answers[i].ev = p.ev
		evs = append(evs, p)
	}
	var b dbBatch
	if len(evs) > 0 {
		recs := make([]journalRecord, len(evs))
		for i, p := range evs {
			recs[i] = journalRecord{IdemKey: p.idemKey, RequestHash: p.reqHash, Credentials: p.ev.Credentials, Body: p.ev.Body}
		}
		if err := l.journal.write(recs); err != nil {
			// The state holds events that are not durable: refuse
			// everything until a restart rebuilds it from what is.
			l.failLocked(err)
			l.mu.Unlock()
			for _, r := range batch {
				r.reply <- result{err: l.failed}
			}
			return
		}
		l.durable.Store(evs[len(evs)-1].ev.Seq + 1)
		l.markJournal(evs[len(evs)-1].ev.Seq+1, l.journal.off)
		b = dbBatch{evs: evs, changes: l.changes}
		l.changes = map[plenty.Change]struct{}{}
	}
	l.mu.Unlock()

	if len(evs) > 0 {
		if l.opts.SingleCommit {
			b.done = make(chan struct{})
		}
		l.queue.wait(len(evs))
		l.toDB <- b
		if b.done != nil {
			<-b.done
		}
	}
	for i, r := range batch {
		if answers[i].replay {
			answers[i].ev = eventIn(evs, answers[i].seq)
		}
		r.reply <- answers[i]
	}
}

// eventIn returns event seq from evs, or the zero event.
func eventIn(evs []pending, seq int64) plenty.Event {
	for _, p := range evs {
		if p.ev.Seq == seq {
			return p.ev
		}
	}
	return plenty.Event{}
}

// prepare assigns the next seq and time, builds the body, applies it to
// the state and computes its tree hashes. The caller holds l.mu.
func (l *Ledger) prepare(now time.Time, r *request) (pending, error) {
	seq := l.state.Size()
	t := now.UTC()
	if last := l.state.LastTime(); t.Before(last) {
		t = last
	}
	body := plenty.EncodeEvent(seq, t, r.kind, r.actor, r.data)
	ev := plenty.Event{Seq: seq, Time: t, Kind: r.kind, Actor: r.actor, Data: r.data, Body: body, Credentials: r.creds}
	if r.payload != nil {
		if checkPayloads {
			if err := checkPayload(r.payload, r.data); err != nil {
				return pending{}, plenty.Errorf(plenty.EINTERNAL, "%s event: %v", r.kind, err)
			}
		}
		ev = ev.WithPayload(r.payload)
	}
	p, err := l.applyPrepared(ev, r.idemKey, r.reqHash)
	p.ev = p.ev.WithPayload(nil)
	return p, err
}

// applyPrepared applies a built event to the state and computes its tree
// hashes. The caller holds l.mu.
func (l *Ledger) applyPrepared(ev plenty.Event, idemKey, reqHash string) (pending, error) {
	if err := l.state.Apply(ev); err != nil {
		return pending{}, err
	}
	// The fold keeps the tree: the hashes this event completed.
	hashes := l.state.StoredHashes()
	leaf := hashes[0]
	if idemKey != "" {
		l.idem.add(idemKey, idemEntry{requestHash: reqHash, seq: ev.Seq, time: ev.Time})
	}
	return pending{ev: ev, leaf: leaf, hashes: hashes, idemKey: idemKey, reqHash: reqHash}, nil
}

// committer is the goroutine that commits durable batches to DuckDB,
// folding every batch queued behind the first into one transaction.
func (l *Ledger) committer() {
	defer close(l.dbDone)
	var last time.Time
	for b := range l.toDB {
		// A DuckDB commit costs about the same for one event as for
		// thousands: let batches gather for commitInterval, unless one
		// is waited for.
		if wait := commitInterval - time.Since(last); wait > 0 && b.done == nil {
			select {
			case <-time.After(wait):
			case <-l.dbWanted:
			}
		}
		last = time.Now()
		batches := []dbBatch{b}
		n := len(b.evs)
		if !l.opts.SingleCommit {
		fold:
			for n < maxFold {
				select {
				case b, ok := <-l.toDB:
					if !ok {
						break fold
					}
					batches = append(batches, b)
					n += len(b.evs)
				default:
					break fold
				}
			}
		}
		if commitHook != nil {
			commitHook()
		}
		if l.Failed() == nil {
			evs := batches[0].evs
			changes := batches[0].changes
			for _, b := range batches[1:] {
				evs = append(evs, b.evs...)
				for c := range b.changes {
					changes[c] = struct{}{}
				}
			}
			if err := l.commitDB(evs, changes); err != nil {
				// Every event handed here is in the journal: a restart
				// replays it into DuckDB.
				l.fail(err)
			} else {
				l.maybeSnapshot()
			}
		}
		for _, b := range batches {
			l.queue.done(len(b.evs))
			if b.done != nil {
				close(b.done)
			}
		}
	}
}

// dbQueue bounds the events acknowledged but not yet committed to DuckDB,
// so that a slow commit (DuckDB checkpoints its WAL now and then) does not
// hold up acknowledgements, while memory stays bounded.
type dbQueue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	queued int
}

// maxQueued is how many events may wait for DuckDB.
const maxQueued = 64 << 10

func (q *dbQueue) wait(n int) {
	q.mu.Lock()
	if q.cond == nil {
		q.cond = sync.NewCond(&q.mu)
	}
	for q.queued > 0 && q.queued+n > maxQueued {
		q.cond.Wait()
	}
	q.queued += n
	q.mu.Unlock()
}

func (q *dbQueue) done(n int) {
	q.mu.Lock()
	q.queued -= n
	if q.cond != nil {
		q.cond.Broadcast()
	}
	q.mu.Unlock()
}

// commitHook, when set (by tests only), runs before each DuckDB commit.
var commitHook func()

// commitInterval is the least time between two DuckDB commits under load.
const commitInterval = 50 * time.Millisecond

// maxFold bounds how many events one DuckDB transaction commits.
const maxFold = 64 << 10

// commitDB commits durable events, their tree hashes and the new documents
// of the projections they changed in one DuckDB transaction. A document is
// read from the state as it is now, which may already include later durable
// events: they are committed next, and the projections view reads the
// newest document of each entity.
func (l *Ledger) commitDB(evs []pending, changes map[plenty.Change]struct{}) error {
	start := time.Now()
	ctx := context.Background()
	l.mu.RLock()
	last := evs[len(evs)-1].ev.Seq
	exact := l.state.Size() == last+1 // no later event shows in the documents
	docs := make([][3]string, 0, len(changes))
	for c := range changes {
		if doc, ok := l.state.Doc(c); ok {
			docs = append(docs, [3]string{c.Kind, c.ID, string(doc)})
		}
	}
	l.mu.RUnlock()

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
		err = l.appendRows(l.appenders.credentials, len(evs), func(a *duckdb.Appender, i int) error {
			for _, c := range evs[i].ev.Credentials {
				if err := a.AppendRow(evs[i].ev.Seq, c.Holder, c.Hash); err != nil {
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
	l.setCommitted(last+1, exact)
	l.stats.batch(len(evs), time.Since(start))
	return nil
}

// setCommitted records that DuckDB holds the first n events, and whether
// the projection documents are exact at n, and wakes whoever waits.
func (l *Ledger) setCommitted(n int64, exact bool) {
	l.dbMu.Lock()
	l.committed.Store(n)
	if exact {
		l.exact.add(n)
	}
	close(l.dbChanged)
	l.dbChanged = make(chan struct{})
	l.dbMu.Unlock()
}

// waitCommitted waits until DuckDB holds the first n events. Durable events
// reach it within one commit, or the ledger fails.
func (l *Ledger) waitCommitted(ctx context.Context, n int64) error {
	for {
		l.dbMu.Lock()
		ch := l.dbChanged
		l.dbMu.Unlock()
		if l.committed.Load() >= n {
			return nil
		}
		select { // cut the committer's wait short
		case l.dbWanted <- struct{}{}:
		default:
		}
		if err := l.Failed(); err != nil {
			return err
		}
		select {
		case <-ch:
		case <-l.dbDone:
			if l.committed.Load() >= n {
				return nil
			}
			return errClosed
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// appenders are the writer's DuckDB appenders, made once on the writer's
// connection. A flush inside an open transaction belongs to it, so each
// batch is appended and then committed or rolled back as one.
type appenders struct {
	events, tree, credentials, projections *duckdb.Appender
}

func (l *Ledger) openAppenders() error {
	return l.conn.Raw(func(dc any) error {
		conn := dc.(driver.Conn)
		var err error
		for _, t := range []struct {
			table string
			a     **duckdb.Appender
		}{{"events", &l.appenders.events}, {"tree", &l.appenders.tree}, {"credentials", &l.appenders.credentials},
			{"projection_log", &l.appenders.projections}} {
			if *t.a, err = duckdb.NewAppenderFromConn(conn, "", t.table); err != nil {
				return fmt.Errorf("appender for %s: %w", t.table, err)
			}
		}
		return nil
	})
}

func (l *Ledger) closeAppenders() {
	for _, a := range []*duckdb.Appender{l.appenders.events, l.appenders.tree, l.appenders.credentials, l.appenders.projections} {
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
	l.failLocked(err)
	// Wake waiters, who then see the failure.
	l.dbMu.Lock()
	close(l.dbChanged)
	l.dbChanged = make(chan struct{})
	l.dbMu.Unlock()
}

// failLocked stops the ledger; the caller holds l.mu.
func (l *Ledger) failLocked(err error) {
	if l.failed == nil {
		l.failed = plenty.Errorf(plenty.EUNAVAILABLE, "the ledger stopped after a failed write (%v); restart the hub: it recovers every acknowledged event", err)
		l.log.Error("ledger write failed; refusing further writes", "err", err)
	}
}

// eventAt returns durable event seq from the database.
func (l *Ledger) eventAt(ctx context.Context, seq int64) (plenty.Event, error) {
	var ev plenty.Event
	err := l.Events(ctx, seq, seq+1, func(e plenty.Event) error {
		ev = e
		return nil
	})
	return ev, err
}
