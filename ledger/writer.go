package ledger

import (
	"context"
	"database/sql/driver"
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
	// Credentials are the hashes of the secrets the event grants; they are
	// kept beside the event (journal, private table), never in its body.
	Credentials []plenty.Credential
}

type request struct {
	kind, actor string
	data        json.RawMessage
	idemKey     string
	reqHash     string
	creds       []plenty.Credential
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
	req := &request{
		kind: r.Kind, actor: r.Actor, data: data, creds: r.Credentials,
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
		p, err := l.prepare(r)
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
func (l *Ledger) prepare(r *request) (pending, error) {
	seq := l.state.Size()
	t := l.opts.Now().UTC()
	if last := l.state.LastTime(); t.Before(last) {
		t = last
	}
	body := plenty.EncodeEvent(seq, t, r.kind, r.actor, r.data)
	ev := plenty.Event{Seq: seq, Time: t, Kind: r.kind, Actor: r.actor, Data: r.data, Body: body, Credentials: r.creds}
	return l.applyPrepared(ev, r.idemKey, r.reqHash)
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
		l.idem[idemKey] = idemEntry{requestHash: reqHash, seq: ev.Seq}
	}
	return pending{ev: ev, leaf: leaf, hashes: hashes, idemKey: idemKey, reqHash: reqHash}, nil
}

// persist writes applied events to the journal (unless they come from it)
// and commits them, their tree hashes and the new documents of the
// projections they changed in one DuckDB transaction.
func (l *Ledger) persist(evs []pending, toJournal bool) error {
	start := time.Now()
	if toJournal {
		recs := make([]journalRecord, len(evs))
		for i, p := range evs {
			recs[i] = journalRecord{IdemKey: p.idemKey, RequestHash: p.reqHash, Credentials: p.ev.Credentials, Body: p.ev.Body}
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
	l.committed.Store(last + 1)
	l.stats.batch(len(evs), time.Since(start))
	return nil
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
