package plenty

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strconv"
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
	KindDelegateRenewed   = "delegate.renewed"
	KindAssemblyReplaced  = "assembly.key_replaced"
	KindVolunteerVouched  = "volunteer.vouched"
)

// Actor names who caused an event: "hub", "public", "delegate:ID",
// "assembly:COUNCIL" or "volunteer:ID". A delegate's id names its mandate.
type Actor = string

// ActorHub is the hub itself: expiries, catalog, draws.
const ActorHub Actor = "hub"

// ActorPublic is anyone without a credential, such as a council
// registering.
const ActorPublic Actor = "public"

// DelegateActor returns the actor string of a delegate.
func DelegateActor(id string) Actor { return "delegate:" + id }

// AssemblyActor returns the actor string of a council's assembly, which
// acts with the council's assembly key.
func AssemblyActor(council string) Actor { return "assembly:" + council }

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
	// Credentials are the hashes of the secrets the event grants (a
	// delegate's or volunteer's token, an assembly key). They travel beside
	// Body, in the journal and a private table, never in it: the open data
	// has none, and the fold accepts an event without them.
	Credentials []Credential

	// payload, when set, is the value Data was encoded from (see
	// WithPayload): the fold takes it instead of decoding Data again.
	payload any
}

// Credential is the hash of a secret (HashToken) and the actor it
// authenticates: "delegate:ID", "volunteer:ID" or "assembly:COUNCIL".
type Credential struct {
	Holder Actor
	Hash   string
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
	if plainString(kind) && plainString(actor) && compactJSON(data) {
		// What encoding the envelope gives, written directly.
		b := make([]byte, 0, 64+len(TimeFormat)+len(kind)+len(actor)+len(data))
		b = append(b, `{"seq":`...)
		b = strconv.AppendInt(b, seq, 10)
		b = append(b, `,"time":"`...)
		b = t.UTC().AppendFormat(b, TimeFormat)
		b = append(b, `","kind":"`...)
		b = append(b, kind...)
		b = append(b, `","actor":"`...)
		b = append(b, actor...)
		b = append(b, `","data":`...)
		b = append(b, data...)
		return append(b, '}')
	}
	return encodeEventJSON(seq, t, kind, actor, data)
}

// plainString reports whether CanonicalJSON writes s between quotes as it
// is.
func plainString(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\' || c < 0x20:
			return false
		case c == 0xE2 && i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xA8 || s[i+2] == 0xA9):
			return false
		}
	}
	return true
}

// encodeEventJSON is EncodeEvent with encoding/json.
func encodeEventJSON(seq int64, t time.Time, kind string, actor Actor, data json.RawMessage) []byte {
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
//
// Replaying a ledger decodes every body, so the common case is read by
// hand (decodeCanonical): the envelope's fields in their fixed order, kind
// and actor without escapes, data compact. Whatever that does not accept
// goes through encoding/json and a re-encoding (decodeEventJSON), which
// gives the same answer more slowly and words the refusals.
func DecodeEvent(body []byte) (Event, error) {
	if ev, ok := decodeCanonical(body); ok {
		return ev, nil
	}
	return decodeEventJSON(body)
}

// decodeCanonical reads body when it is exactly EncodeEvent's output with
// a kind and an actor that need no escaping. It never refuses: ok false
// means "not shown canonical here".
func decodeCanonical(body []byte) (ev Event, ok bool) {
	p := body
	if !cutPrefix(&p, `{"seq":`) {
		return ev, false
	}
	i := 0
	for i < len(p) && p[i] >= '0' && p[i] <= '9' {
		i++
	}
	if i == 0 || i > 18 || (p[0] == '0' && i > 1) {
		return ev, false // 18 digits always fit an int64
	}
	var seq int64
	for _, c := range p[:i] {
		seq = seq*10 + int64(c-'0')
	}
	p = p[i:]
	if !cutPrefix(&p, `,"time":"`) || len(p) < len(TimeFormat)+1 || p[len(TimeFormat)] != '"' {
		return ev, false
	}
	text := p[:len(TimeFormat)]
	t, err := time.Parse(TimeFormat, string(text))
	if err != nil {
		return ev, false
	}
	var buf [len(TimeFormat)]byte
	if string(t.AppendFormat(buf[:0], TimeFormat)) != string(text) {
		return ev, false
	}
	p = p[len(TimeFormat)+1:]
	kind, ok := cutPlainString(&p, `,"kind":"`)
	if !ok {
		return ev, false
	}
	actor, ok := cutPlainString(&p, `,"actor":"`)
	if !ok || !cutPrefix(&p, `,"data":`) || len(p) < 2 || p[len(p)-1] != '}' {
		return ev, false
	}
	data := p[:len(p)-1]
	if !compactJSON(data) || !utf8.Valid(body) {
		return ev, false
	}
	return Event{Seq: seq, Time: t, Kind: kind, Actor: actor, Data: json.RawMessage(data), Body: body}, true
}

func cutPrefix(p *[]byte, prefix string) bool {
	if len(*p) < len(prefix) || string((*p)[:len(prefix)]) != prefix {
		return false
	}
	*p = (*p)[len(prefix):]
	return true
}

// cutPlainString cuts prefix and a non-empty JSON string's contents and
// closing quote from *p, when the contents are written as they are: no
// escapes, no control characters, no U+2028 or U+2029 (which CanonicalJSON
// escapes).
func cutPlainString(p *[]byte, prefix string) (string, bool) {
	if !cutPrefix(p, prefix) {
		return "", false
	}
	b := *p
	for i, c := range b {
		switch {
		case c == '"':
			if i == 0 {
				return "", false
			}
			*p = b[i+1:]
			return string(b[:i]), true
		case c == '\\' || c < 0x20:
			return "", false
		case c == 0xE2 && i+2 < len(b) && b[i+1] == 0x80 && (b[i+2] == 0xA8 || b[i+2] == 0xA9):
			return "", false
		}
	}
	return "", false
}

// compactJSON reports whether b is one valid JSON value with no white
// space outside its strings: what CanonicalJSON leaves a json.RawMessage
// as.
func compactJSON(b []byte) bool {
	if !json.Valid(b) {
		return false
	}
	in := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case in && c == '\\':
			i++ // json.Valid saw a well-formed escape
		case c == '"':
			in = !in
		case !in && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return false
		}
	}
	return true
}

// decodeEventJSON is DecodeEvent with encoding/json: decode, re-encode and
// compare.
func decodeEventJSON(body []byte) (Event, error) {
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
	if !bytes.Equal(encodeEventJSON(env.Seq, t, env.Kind, env.Actor, data), body) {
		return Event{}, fmt.Errorf("event body %d is not in canonical form", env.Seq)
	}
	return Event{Seq: env.Seq, Time: t, Kind: env.Kind, Actor: env.Actor, Data: data, Body: body}, nil
}
