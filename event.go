package plenty

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"time"
	"unicode/utf8"
)

// Event kinds. A kind names a verified fact; coordination chatter is never
// an event.
const (
	KindCouncilRegistered = "council.registered"
	KindDelegateIssued    = "delegate.issued"
	KindDelegateRecalled  = "delegate.recalled"
	KindItemDefined       = "item.defined"
	KindOfferPosted       = "offer.posted"
	KindOfferWithdrawn    = "offer.withdrawn"
	KindOfferExpired      = "offer.expired"
	KindNeedPosted        = "need.posted"
	KindNeedWithdrawn     = "need.withdrawn"
	KindNeedExpired       = "need.expired"
)

// Actor names who caused an event: "hub", "public", "delegate:ID" or
// "volunteer:ID". A delegate's id names its mandate.
type Actor = string

// ActorHub is the hub itself: expiries, catalog, draws.
const ActorHub Actor = "hub"

// ActorPublic is anyone without a credential, such as a council
// registering.
const ActorPublic Actor = "public"

// DelegateActor returns the actor string of a delegate.
func DelegateActor(id string) Actor { return "delegate:" + id }

// Event is one fact in the ledger. Body is the exact canonical bytes that
// are hashed into the Merkle tree and stored verbatim; the other fields are
// read from it.
type Event struct {
	Seq   int64
	Time  time.Time
	Kind  string
	Actor Actor
	Data  json.RawMessage
	Body  []byte

	// payload, when set, is the value Data was encoded from (see
	// WithPayload): the fold takes it instead of decoding Data again.
	payload any
}

// WithPayload returns ev carrying v, the value its Data was encoded from
// with CanonicalJSON, so that folding it does not decode what was just
// encoded. The fold uses v only when it wants a value of v's type (or of
// the type v points to); it keeps v, so the caller must not change v
// afterwards. v must decode from Data to itself: types whose JSON drops or
// reshapes fields (`json:"-"`, custom marshalers that normalize) would make
// the live state differ from a replay. Payload tells whether that holds.
func (ev Event) WithPayload(v any) Event {
	ev.payload = v
	return ev
}

// Payload returns the value set by WithPayload, or nil.
func (ev Event) Payload() any { return ev.payload }

// takePayload stores ev's payload in *v when it has v's element type, and
// reports whether it did. decodeData calls it before decoding.
func (ev Event) takePayload(v any) bool {
	if ev.payload == nil {
		return false
	}
	dst := reflect.ValueOf(v)
	if dst.Kind() != reflect.Pointer || dst.IsNil() {
		return false
	}
	src := reflect.ValueOf(ev.payload)
	if src.Kind() == reflect.Pointer {
		if src.IsNil() {
			return false
		}
		src = src.Elem()
	}
	if src.Type() != dst.Elem().Type() {
		return false
	}
	dst.Elem().Set(src)
	return true
}

// envelope is the canonical JSON shape of an event body. Field order is
// fixed by the struct, so encoding is deterministic.
type envelope struct {
	Seq   int64           `json:"seq"`
	Time  string          `json:"time"`
	Kind  string          `json:"kind"`
	Actor string          `json:"actor"`
	Data  json.RawMessage `json:"data"`
}

// TimeFormat is how event times are written: RFC 3339 in UTC with
// nanoseconds, so that they sort as text.
const TimeFormat = "2006-01-02T15:04:05.000000000Z"

// EncodeEvent produces the canonical body of an event. data must already be
// canonical JSON (as produced by CanonicalJSON).
func EncodeEvent(seq int64, t time.Time, kind string, actor Actor, data json.RawMessage) []byte {
	b, err := CanonicalJSON(envelope{
		Seq: seq, Time: t.UTC().Format(TimeFormat), Kind: kind, Actor: actor, Data: data,
	})
	if err != nil {
		// Only an invalid data RawMessage can fail, and CanonicalJSON
		// never produces one.
		panic(fmt.Sprintf("plenty: encode event %d: %v", seq, err))
	}
	return b
}

// CanonicalJSON encodes v as compact JSON without HTML escaping. For the
// struct types of event data this is deterministic.
func CanonicalJSON(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// DecodeEvent reads a stored body. It fails when the bytes are not valid
// UTF-8, not one JSON object of the envelope's shape, carry unknown or
// missing fields, or are not exactly what EncodeEvent would produce for the
// values they hold: a body is canonical or it is refused.
func DecodeEvent(body []byte) (Event, error) {
	if !utf8.Valid(body) {
		return Event{}, fmt.Errorf("event body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var env envelope
	if err := dec.Decode(&env); err != nil {
		return Event{}, fmt.Errorf("event body: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Event{}, fmt.Errorf("event body: data after the object")
	}
	if env.Seq < 0 {
		return Event{}, fmt.Errorf("event body: negative seq %d", env.Seq)
	}
	t, err := time.Parse(TimeFormat, env.Time)
	if err != nil {
		return Event{}, fmt.Errorf("event body: time %q: %w", env.Time, err)
	}
	if env.Kind == "" || env.Actor == "" || len(env.Data) == 0 {
		return Event{}, fmt.Errorf("event body: kind, actor and data are required")
	}
	data, err := CanonicalJSON(env.Data)
	if err != nil {
		return Event{}, fmt.Errorf("event body: data: %w", err)
	}
	if !bytes.Equal(EncodeEvent(env.Seq, t, env.Kind, env.Actor, data), body) {
		return Event{}, fmt.Errorf("event body %d is not in canonical form", env.Seq)
	}
	return Event{Seq: env.Seq, Time: t, Kind: env.Kind, Actor: env.Actor, Data: data, Body: body}, nil
}
