// Package usecase holds what people do through the hub, as plain functions
// of typed input: register a council, post and withdraw offers and needs,
// define an item, issue, renew and recall delegates, replace an assembly
// key, decide a proposal, confirm a receipt, correct or cancel, register,
// vouch for and act as a volunteer.
//
// The JSON API and the web forms (package hub) are thin adapters over it:
// they parse what was sent, authenticate, name the request's idempotency
// key, call a use case and map its error to HTTP. A use case reads what
// the input means against the state (the item's unit, the defaults, the
// issuer's limits on a new mandate) and appends one event; whether the
// event may be recorded is the fold's to decide (package plenty), so no
// rule is written here that the fold does not hold. The package knows
// nothing of HTTP, Fiber or DuckDB, and writes only through its Ledger.
package usecase

import (
	"context"
	"encoding/json"
	"time"

	"github.com/plentyhub/plenty"
)

// Ledger is what the use cases need of the ledger.
type Ledger interface {
	// Append records one event once it is durable. With a key (Key.Name
	// not empty), a repeat of the same request returns the first event
	// with replay true and writes nothing; the same key with another
	// request is ECONFLICT. The fold's refusals (EINVALID, EFORBIDDEN,
	// ECONFLICT, ENOTFOUND) are returned as they are, with nothing written.
	Append(ctx context.Context, key Key, kind string, actor plenty.Actor, data any, creds ...plenty.Credential) (ev plenty.Event, replay bool, err error)
	// Read calls fn with the state of the durable events; it returns
	// EUNAVAILABLE when the ledger failed.
	Read(fn func(*plenty.State) error) error
	// Offer and Need return a posting, open or closed: the state lets a
	// closed one go, and the ledger then reads it from its store. They
	// return ENOTFOUND when none has the id.
	Offer(ctx context.Context, id string) (plenty.Offer, error)
	Need(ctx context.Context, id string) (plenty.Need, error)
	// Delegate returns a delegate, its mandate in force or ended (an
	// ended one leaves the state), as Offer does.
	Delegate(ctx context.Context, id string) (plenty.Delegate, error)
	// Agreement, Task, Transfer and Acceptance return one, under way or
	// finished, as Offer does.
	Agreement(ctx context.Context, id string) (plenty.Agreement, error)
	Task(ctx context.Context, id string) (plenty.Task, error)
	Transfer(ctx context.Context, id string) (plenty.Transfer, error)
	Acceptance(ctx context.Context, proposal string) (plenty.Acceptance, error)
}

// Key is a request's idempotency key. Name identifies the request among
// its sender's (empty: the request has none); Request identifies what was
// sent with it, such as a hash of the method, path and body (empty: the
// event's data).
type Key struct{ Name, Request string }

// Private keeps what a use case is given that never enters the ledger:
// the private pickup and drop-off details of a posting and a volunteer's
// contact. Each is kept only after its event was recorded, and not on an
// idempotent replay.
type Private interface {
	KeepDetails(posting string, d Details) error
	KeepContact(volunteer, contact string, at time.Time) error
}

// Env is what the use cases run against.
type Env struct {
	Ledger Ledger
	// Now is the hub's clock; time.Now when nil.
	Now func() time.Time
	// Private keeps details and contacts; nil keeps none.
	Private Private
}

func (e Env) now() time.Time {
	if e.Now == nil {
		return time.Now().UTC()
	}
	return e.Now()
}

// read calls fn with the state. Its error is returned: after a failed
// write the ledger answers EUNAVAILABLE, never a made-up "not found".
func (e Env) read(fn func(st *plenty.State)) error {
	return e.Ledger.Read(func(st *plenty.State) error { fn(st); return nil })
}

// append records one event for a use case; on a replay data is the first
// event's, decoded from the ledger's copy (the use case answers with what
// was recorded then, not with what this request would have recorded).
func (e Env) append(ctx context.Context, key Key, kind string, actor plenty.Actor, data any, creds ...plenty.Credential) (replay bool, err error) {
	ev, replay, err := e.Ledger.Append(ctx, key, kind, actor, data, creds...)
	if err != nil || !replay {
		return replay, err
	}
	return true, json.Unmarshal(ev.Data, data)
}
