package usecase_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/usecase"
)

// fold is a fake ledger for the use cases: the real fold over events kept
// in memory, with idempotency keys, and a count of what was written.
type fold struct {
	mu      sync.Mutex
	st      *plenty.State
	now     time.Time
	keys    map[string]keyed
	written int
	fail    error // when set, Read and Append answer it
}

type keyed struct {
	request string
	ev      plenty.Event
}

func newFold(t *testing.T) *fold {
	f := &fold{st: plenty.NewState(), now: time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC), keys: map[string]keyed{}}
	f.st.OnChange(func(plenty.Change) {})
	f.must(t, plenty.KindItemDefined, plenty.ActorHub, plenty.ItemDefinition{Code: "wheat-flour", Name: "Wheat flour", Dimension: plenty.Mass, Unit: "kg"})
	f.written = 0
	return f
}

func (f *fold) must(t *testing.T, kind string, actor plenty.Actor, data any) {
	t.Helper()
	if _, _, err := f.Append(context.Background(), usecase.Key{}, kind, actor, data); err != nil {
		t.Fatalf("%s: %v", kind, err)
	}
}

func (f *fold) Append(_ context.Context, key usecase.Key, kind string, actor plenty.Actor, data any, creds ...plenty.Credential) (plenty.Event, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return plenty.Event{}, false, f.fail
	}
	raw, err := plenty.CanonicalJSON(data)
	if err != nil {
		return plenty.Event{}, false, err
	}
	request := key.Request
	if request == "" {
		request = string(raw)
	}
	if key.Name != "" {
		if k, ok := f.keys[string(actor)+" "+key.Name]; ok {
			if k.request != request {
				return plenty.Event{}, false, plenty.Errorf(plenty.ECONFLICT, "key used for another request")
			}
			return k.ev, true, nil
		}
	}
	f.now = f.now.Add(time.Second)
	seq := f.st.Size()
	ev := plenty.Event{Seq: seq, Time: f.now, Kind: kind, Actor: actor, Data: raw,
		Body: plenty.EncodeEvent(seq, f.now, kind, actor, raw), Credentials: creds}
	if err := f.st.Apply(ev); err != nil {
		return plenty.Event{}, false, err
	}
	if key.Name != "" {
		f.keys[string(actor)+" "+key.Name] = keyed{request, ev}
	}
	f.written++
	return ev, false, nil
}

func (f *fold) Read(fn func(*plenty.State) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	return fn(f.st)
}

// Offer and Need read the fold's state, which keeps the postings that
// left it (OnChange is set and nothing forgets them), as the ledger's
// store would.
func (f *fold) Offer(_ context.Context, id string) (plenty.Offer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if o, ok := f.st.Offer(id); ok {
		return o, nil
	}
	return plenty.Offer{}, plenty.Errorf(plenty.ENOTFOUND, "offer %s does not exist", id)
}

func (f *fold) Need(_ context.Context, id string) (plenty.Need, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n, ok := f.st.Need(id); ok {
		return n, nil
	}
	return plenty.Need{}, plenty.Errorf(plenty.ENOTFOUND, "need %s does not exist", id)
}

// held reads one entity of the fold's state, which keeps the ones that
// left it, or answers ENOTFOUND.
func held[T any](f *fold, kind, id string, get func(*plenty.State) (T, bool)) (T, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok := get(f.st); ok {
		return v, nil
	}
	var zero T
	return zero, plenty.Errorf(plenty.ENOTFOUND, "%s %s does not exist", kind, id)
}

func (f *fold) Delegate(_ context.Context, id string) (plenty.Delegate, error) {
	return held(f, "delegate", id, func(st *plenty.State) (plenty.Delegate, bool) { return st.Delegate(id) })
}

func (f *fold) Agreement(_ context.Context, id string) (plenty.Agreement, error) {
	return held(f, "agreement", id, func(st *plenty.State) (plenty.Agreement, bool) { return st.Agreement(id) })
}

func (f *fold) Task(_ context.Context, id string) (plenty.Task, error) {
	return held(f, "task", id, func(st *plenty.State) (plenty.Task, bool) { return st.Task(id) })
}

func (f *fold) Transfer(_ context.Context, id string) (plenty.Transfer, error) {
	return held(f, "transfer", id, func(st *plenty.State) (plenty.Transfer, bool) { return st.Transfer(id) })
}

func (f *fold) Acceptance(_ context.Context, id string) (plenty.Acceptance, error) {
	return held(f, "acceptance", id, func(st *plenty.State) (plenty.Acceptance, bool) { return st.Acceptance(id) })
}

func (f *fold) env() usecase.Env {
	return usecase.Env{Ledger: f, Now: func() time.Time { return f.now }}
}

func ptr[T any](v T) *T { return &v }

func register(t *testing.T, f *fold, name string) usecase.Registration {
	t.Helper()
	r, err := usecase.RegisterCouncil(context.Background(), f.env(), usecase.Council{Name: name, Sector: "food", Place: "Testville",
		Location: &usecase.Location{Lat: ptr(51.5), Lon: ptr(-0.1)}}, usecase.Key{})
	if err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	return r
}

func TestPostOfferReadsTheInputAgainstTheState(t *testing.T) {
	f := newFold(t)
	mill := register(t, f, "Mill")
	o, err := usecase.PostOffer(context.Background(), f.env(), mill.Delegate, usecase.Offer{
		Item: "wheat-flour", Quantity: "80.5", Unit: "t"}, usecase.Key{})
	if err != nil {
		t.Fatal(err)
	}
	if o.Quantity != 80_500_000 || o.Remaining != o.Quantity || o.Council != mill.Council.ID || o.Location != mill.Council.Location {
		t.Errorf("offer = %+v: want 80.5 t counted in g, all remaining, at the mill's place", o)
	}
	if o.MaxDistanceKm != plenty.DefaultMaxKm || !o.ExpiresAt.Equal(f.now.Add(plenty.DefaultPostingTTL).Add(-time.Second)) {
		t.Errorf("offer defaults: max %v km, expires %v", o.MaxDistanceKm, o.ExpiresAt)
	}
}

func TestFaultsNameTheFieldAndWriteNothing(t *testing.T) {
	f := newFold(t)
	mill := register(t, f, "Mill")
	f.written = 0
	cases := []struct {
		name  string
		in    usecase.Offer
		field string
	}{
		{"ErrItemUnknown", usecase.Offer{Item: "rye", Quantity: "1", Unit: "kg"}, "item"},
		{"ErrUnitOfAnotherDimension", usecase.Offer{Item: "wheat-flour", Quantity: "1", Unit: "l"}, "unit"},
		{"ErrQuantityRequired", usecase.Offer{Item: "wheat-flour", Unit: "kg"}, "quantity"},
		{"ErrNoteTooLong", usecase.Offer{Item: "wheat-flour", Quantity: "1", Unit: "kg", Note: string(make([]byte, 2001)), AvailableFrom: "soon"}, "note"},
		{"ErrAdapterFault", usecase.Offer{Item: "wheat-flour", Quantity: "1", Unit: "kg",
			Faults: usecase.FieldErrors{{Field: "min_split", Message: "could mean 1000 or 1.000"}}}, "min_split"},
		{"ErrPrivateDetailsOneLine", usecase.Offer{Item: "wheat-flour", Quantity: "1", Unit: "kg",
			Private: &usecase.Details{Place: "yard\nback"}}, "private.place"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := usecase.PostOffer(context.Background(), f.env(), mill.Delegate, c.in, usecase.Key{})
			var pe *plenty.Error
			if !errors.As(err, &pe) || pe.Code != plenty.EINVALID {
				t.Fatalf("err = %v, want EINVALID", err)
			}
			if !usecase.FieldErrors(pe.Fields).Has(c.field) {
				t.Errorf("fields %+v do not name %s", pe.Fields, c.field)
			}
		})
	}
	if f.written != 0 {
		t.Errorf("%d events written for refused input", f.written)
	}
}

// A repeated request with the same explicit key answers what the first
// recorded (its id, not a fresh one), writes nothing, and shows no secret
// again.
func TestAKeyRepeatsTheFirstAnswer(t *testing.T) {
	f := newFold(t)
	ctx := context.Background()
	in := usecase.Council{Name: "Bakery", Sector: "food", Place: "Testville", Location: &usecase.Location{Lat: ptr(51.4), Lon: ptr(-0.1)}}
	key := usecase.Key{Name: "k1", Request: "register bakery"}
	first, err := usecase.RegisterCouncil(ctx, f.env(), in, key)
	if err != nil {
		t.Fatal(err)
	}
	written := f.written
	again, err := usecase.RegisterCouncil(ctx, f.env(), in, key)
	if err != nil {
		t.Fatal(err)
	}
	if f.written != written {
		t.Errorf("the repeat wrote %d events", f.written-written)
	}
	if !again.Replay || again.Council.ID != first.Council.ID || again.Delegate.ID != first.Delegate.ID {
		t.Errorf("repeat = %+v, want the first council %s as a replay", again, first.Council.ID)
	}
	if again.Token != "" || again.AssemblyKey != "" || first.Token == "" || first.AssemblyKey == "" {
		t.Errorf("secrets: first %q/%q, repeat %q/%q", first.Token, first.AssemblyKey, again.Token, again.AssemblyKey)
	}
	if _, err := usecase.RegisterCouncil(ctx, f.env(), in, usecase.Key{Name: "k1", Request: "another"}); plenty.ErrorCode(err) != plenty.ECONFLICT {
		t.Errorf("the key with another request: %v, want ECONFLICT", err)
	}

	o1, err := usecase.PostOffer(ctx, f.env(), first.Delegate, usecase.Offer{Item: "wheat-flour", Quantity: "5", Unit: "kg"}, usecase.Key{Name: "o"})
	if err != nil {
		t.Fatal(err)
	}
	o2, err := usecase.PostOffer(ctx, f.env(), first.Delegate, usecase.Offer{Item: "wheat-flour", Quantity: "5", Unit: "kg"}, usecase.Key{Name: "o", Request: o1.ID})
	if plenty.ErrorCode(err) != plenty.ECONFLICT {
		t.Errorf("a key sent with another request hash: %+v, %v", o2, err)
	}
}

// The issuer's limits are the defaults of a new mandate: no later end and
// no weaker co-signing threshold than the issuing delegate's; the fold
// refuses a longer one.
func TestIssueDelegateWithinTheIssuer(t *testing.T) {
	f := newFold(t)
	ctx := context.Background()
	mill := register(t, f, "Mill")
	is, err := usecase.IssueDelegate(ctx, f.env(), usecase.ByDelegate(mill.Delegate),
		usecase.Mandate{Label: "buyer", Mandate: "buys flour", Scopes: []string{plenty.ScopeAccept, plenty.ScopePost}, CosignAbove: "50"}, usecase.Key{})
	if err != nil {
		t.Fatal(err)
	}
	if is.Token == "" || !is.Delegate.ExpiresAt.Equal(mill.Delegate.ExpiresAt) || is.Delegate.CosignAbove != 50_000 {
		t.Errorf("issued %+v: want the issuer's end %v and threshold 50", is.Delegate, mill.Delegate.ExpiresAt)
	}
	if got := is.Delegate.Scopes; len(got) != 2 || got[0] != plenty.ScopePost {
		t.Errorf("scopes %v, want the fold's order", got)
	}
	sub, err := usecase.IssueDelegate(ctx, f.env(), usecase.ByDelegate(is.Delegate), usecase.Mandate{Label: "x", Mandate: "y", Scopes: []string{plenty.ScopePost}}, usecase.Key{})
	if plenty.ErrorCode(err) != plenty.EFORBIDDEN {
		t.Errorf("a delegate without the delegate scope issued %+v: %v", sub, err)
	}
	later := usecase.Timestamp(mill.Delegate.ExpiresAt.Add(time.Hour).Format(time.RFC3339))
	_, err = usecase.RenewDelegate(ctx, f.env(), usecase.ByDelegate(mill.Delegate), is.Delegate.ID, usecase.Renewal{ExpiresAt: later}, usecase.Key{})
	if plenty.ErrorCode(err) == "" {
		t.Errorf("a renewal past the issuer's own end was recorded")
	}
	d, err := usecase.RecallDelegate(ctx, f.env(), usecase.ByAssembly(mill.Council.ID), is.Delegate.ID, usecase.Key{})
	if err != nil || d.RecalledAt == nil {
		t.Errorf("recall by the assembly: %+v, %v", d, err)
	}
}

// After a failed write the ledger answers EUNAVAILABLE, and so does every
// use case, rather than a made-up "not found".
func TestAFailedLedgerIsNotANotFound(t *testing.T) {
	f := newFold(t)
	mill := register(t, f, "Mill")
	f.fail = plenty.Errorf(plenty.EUNAVAILABLE, "the ledger stopped")
	_, err := usecase.PostOffer(context.Background(), f.env(), mill.Delegate, usecase.Offer{Item: "wheat-flour", Quantity: "1", Unit: "kg"}, usecase.Key{})
	if plenty.ErrorCode(err) != plenty.EUNAVAILABLE {
		t.Errorf("err = %v, want EUNAVAILABLE", err)
	}
}

type kept struct{ details map[string]usecase.Details }

func (k *kept) KeepDetails(posting string, d usecase.Details) error {
	k.details[posting] = d
	return nil
}
func (k *kept) KeepContact(string, string, time.Time) error { return nil }

// Private details are kept once the posting is recorded, and not again on
// a replay, never in the event.
func TestPrivateDetailsKeptBesideTheEvent(t *testing.T) {
	f := newFold(t)
	mill := register(t, f, "Mill")
	k := &kept{details: map[string]usecase.Details{}}
	env := f.env()
	env.Private = k
	in := usecase.Offer{Item: "wheat-flour", Quantity: "1", Unit: "kg", Private: &usecase.Details{Place: "Gate 3"}}
	o, err := usecase.PostOffer(context.Background(), env, mill.Delegate, in, usecase.Key{Name: "p", Request: "post gate 3"})
	if err != nil {
		t.Fatal(err)
	}
	if k.details[o.ID].Place != "Gate 3" || len(k.details) != 1 {
		t.Errorf("kept %+v", k.details)
	}
	delete(k.details, o.ID)
	if _, err := usecase.PostOffer(context.Background(), env, mill.Delegate, in, usecase.Key{Name: "p", Request: "post gate 3"}); err != nil || len(k.details) != 0 {
		t.Errorf("a replay kept details again: %+v, %v", k.details, err)
	}
	var body string
	for _, kd := range f.keys {
		body += string(kd.ev.Body)
	}
	if body == "" || strings.Contains(body, "Gate 3") {
		t.Errorf("the private place is in an event body: %s", body)
	}
}
