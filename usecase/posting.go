package usecase

import (
	"context"
	"strings"
	"time"

	"github.com/plentyhub/plenty"
)

// Offer is an offer as sent.
type Offer struct {
	Item           string    `json:"item" validate:"required,max=64"`
	Quantity       Decimal   `json:"quantity" validate:"required"`
	Unit           string    `json:"unit" validate:"required,max=16"`
	Location       *Location `json:"location"`
	AvailableFrom  Timestamp `json:"available_from"`
	AvailableUntil Timestamp `json:"available_until"`
	MinSplit       Decimal   `json:"min_split"`
	MaxDistanceKm  *float64  `json:"max_distance_km"`
	Note           string    `json:"note"`
	ExpiresAt      Timestamp `json:"expires_at"`
	// Private details are kept out of the ledger (Env.Private).
	Private *Details    `json:"private"`
	Faults  FieldErrors `json:"-"` // as Council.Faults
}

// Need is a need as sent.
type Need struct {
	Item          string      `json:"item" validate:"required,max=64"`
	Quantity      Decimal     `json:"quantity" validate:"required"`
	Unit          string      `json:"unit" validate:"required,max=16"`
	Location      *Location   `json:"location"`
	NeededBy      Timestamp   `json:"needed_by"`
	Priority      *int        `json:"priority"`
	MaxDistanceKm *float64    `json:"max_distance_km"`
	Note          string      `json:"note"`
	ExpiresAt     Timestamp   `json:"expires_at"`
	Private       *Details    `json:"private"`
	Faults        FieldErrors `json:"-"` // as Council.Faults
}

// Details are the private pickup or drop-off details of an offer or a
// need: where, when, whom to ask for. They are never written to an event,
// the open data or a log (see Private).
type Details struct {
	Place   string `json:"place,omitempty" validate:"max=300"`
	Hours   string `json:"hours,omitempty" validate:"max=300"`
	Contact string `json:"contact,omitempty" validate:"max=300"`
}

// Empty reports whether d holds nothing.
func (d *Details) Empty() bool {
	return d == nil || (d.Place == "" && d.Hours == "" && d.Contact == "")
}

// check adds faults for details that are not single lines.
func (d *Details) check(fe *FieldErrors) {
	if d == nil {
		return
	}
	for _, f := range []struct{ field, v string }{{"private.place", d.Place}, {"private.hours", d.Hours}, {"private.contact", d.Contact}} {
		if strings.ContainsAny(f.v, "\x00\r\n") {
			fe.Addf(f.field, "must be one line of text")
		}
	}
}

// posting is what offers and needs share, read against the state.
type posting struct {
	item     plenty.Item
	quantity plenty.Amount
	location plenty.Location
	expires  time.Time
}

// readPosting reads the fields offers and needs share: the item from the
// catalog, the quantity in its unit, the place (the council's when not
// given) and the expiry. It adds faults to fe.
func readPosting(env Env, fe *FieldErrors, council, item string, q Decimal, unit string,
	loc *Location, expiresAt Timestamp, now time.Time) (posting, error) {
	var p posting
	var c plenty.Council
	var itemOK bool
	if err := env.read(func(st *plenty.State) {
		c, _ = st.Council(council)
		p.item, itemOK = st.Item(item)
	}); err != nil {
		return p, err
	}
	switch {
	case fe.Has("item") || fe.Has("quantity") || fe.Has("unit"):
	case !itemOK:
		fe.Addf("item", "is not in the catalog: %q; see GET /api/v1/items, or define it with POST /api/v1/items", item)
	default:
		var f *plenty.FieldError
		p.quantity, f = q.Parse("quantity", unit, p.item.Dimension)
		fe.Add(f)
	}
	p.location = c.Location
	if loc != nil {
		p.location = loc.location()
	}
	p.expires = now.Add(plenty.DefaultPostingTTL)
	if expiresAt != "" {
		t, f := expiresAt.Parse("expires_at")
		fe.Add(f)
		p.expires = t
	}
	return p, nil
}

// fitExpiry keeps a posting's window within its expiry: without an
// explicit expires_at, the expiry moves out to the window's end (at most
// MaxPostingTTL on); with one, a window beyond it is refused.
func fitExpiry(fe *FieldErrors, field string, end time.Time, expires *time.Time, explicit bool, now time.Time) {
	if fe.Has(field) || fe.Has("expires_at") || !end.After(*expires) {
		return
	}
	switch {
	case explicit:
		fe.Addf(field, "must not be after expires_at")
	case end.Sub(now) > plenty.MaxPostingTTL:
		fe.Addf(field, "must be at most 366 days from now")
	default:
		*expires = end
	}
}

// PostOffer posts an offer of d's council. Every fault of the input is
// EINVALID naming its field, with nothing written; the fold's refusals
// (EFORBIDDEN outside the mandate, EINVALID for its field rules) are
// returned as they are. The private details are kept once it is recorded.
func PostOffer(ctx context.Context, env Env, d plenty.Delegate, in Offer, key Key) (plenty.Offer, error) {
	fe := append(in.Faults, Validate(&in)...)
	now := env.now()
	p, err := readPosting(env, &fe, d.Council, in.Item, in.Quantity, in.Unit, in.Location, in.ExpiresAt, now)
	if err != nil {
		return plenty.Offer{}, err
	}
	from, until := now, p.expires
	if in.AvailableFrom != "" {
		t, f := in.AvailableFrom.Parse("available_from")
		fe.Add(f)
		if f == nil {
			from = t
		}
	}
	if in.AvailableUntil != "" {
		t, f := in.AvailableUntil.Parse("available_until")
		fe.Add(f)
		until = t
	}
	fitExpiry(&fe, "available_until", until, &p.expires, in.ExpiresAt != "", now)
	var minSplit plenty.Amount
	if in.MinSplit != "" && p.item.Code != "" {
		var f *plenty.FieldError
		minSplit, f = in.MinSplit.Parse("min_split", in.Unit, p.item.Dimension)
		fe.Add(f)
	}
	maxKm := float64(plenty.DefaultMaxKm)
	if in.MaxDistanceKm != nil {
		maxKm = *in.MaxDistanceKm
	}
	in.Private.check(&fe)
	data := plenty.OfferPosting{
		ID: NewID("o_", now), Council: d.Council, Item: p.item.Code, Quantity: p.quantity,
		Location: p.location, AvailableFrom: from, AvailableUntil: until, MinSplit: minSplit,
		MaxDistanceKm: maxKm, Note: in.Note, ExpiresAt: p.expires,
	}
	if err := fe.withRules(data.Check(now)); err != nil {
		return plenty.Offer{}, err
	}
	if err := post(ctx, env, key, plenty.KindOfferPosted, d, &data, data.ID, in.Private); err != nil {
		return plenty.Offer{}, err
	}
	// A replay answers with the offer as it is now, which may have closed
	// and left the state since.
	return env.Ledger.Offer(ctx, data.ID)
}

// PostNeed posts a need of d's council, as PostOffer an offer.
func PostNeed(ctx context.Context, env Env, d plenty.Delegate, in Need, key Key) (plenty.Need, error) {
	fe := append(in.Faults, Validate(&in)...)
	now := env.now()
	p, err := readPosting(env, &fe, d.Council, in.Item, in.Quantity, in.Unit, in.Location, in.ExpiresAt, now)
	if err != nil {
		return plenty.Need{}, err
	}
	neededBy := p.expires
	if in.NeededBy != "" {
		t, f := in.NeededBy.Parse("needed_by")
		fe.Add(f)
		neededBy = t
	}
	fitExpiry(&fe, "needed_by", neededBy, &p.expires, in.ExpiresAt != "", now)
	priority := 3
	if in.Priority != nil {
		priority = *in.Priority
	}
	maxKm := float64(plenty.DefaultMaxKm)
	if in.MaxDistanceKm != nil {
		maxKm = *in.MaxDistanceKm
	}
	in.Private.check(&fe)
	data := plenty.NeedPosting{
		ID: NewID("n_", now), Council: d.Council, Item: p.item.Code, Quantity: p.quantity,
		Location: p.location, NeededBy: neededBy, Priority: priority, MaxDistanceKm: maxKm, Note: in.Note,
		ExpiresAt: p.expires,
	}
	if err := fe.withRules(data.Check(now)); err != nil {
		return plenty.Need{}, err
	}
	if err := post(ctx, env, key, plenty.KindNeedPosted, d, &data, data.ID, in.Private); err != nil {
		return plenty.Need{}, err
	}
	return env.Ledger.Need(ctx, data.ID)
}

// post records a posting (data points to it; on a replay it becomes the
// first one) and keeps its private details, but not on a replay.
func post(ctx context.Context, env Env, key Key, kind string, d plenty.Delegate, data any, id string, details *Details) error {
	replay, err := env.append(ctx, key, kind, plenty.DelegateActor(d.ID), data)
	if err != nil || replay || details.Empty() || env.Private == nil {
		return err
	}
	if err := env.Private.KeepDetails(id, *details); err != nil {
		return plenty.Errorf(plenty.EINTERNAL, "posted as %s, but its private details could not be kept: %v", id, err)
	}
	return nil
}

// Withdraw withdraws an open offer (kind plenty.KindOfferWithdrawn) or
// need (plenty.KindNeedWithdrawn) of d's council. The fold refuses one
// that is not open (ECONFLICT) or not the council's (EFORBIDDEN).
func Withdraw(ctx context.Context, env Env, d plenty.Delegate, kind, id string, key Key) error {
	if kind != plenty.KindOfferWithdrawn && kind != plenty.KindNeedWithdrawn {
		return plenty.Errorf(plenty.EINTERNAL, "Withdraw takes an offer's or a need's withdrawal, not %s", kind)
	}
	_, err := env.append(ctx, key, kind, plenty.DelegateActor(d.ID), &plenty.PostingClosed{ID: id})
	return err
}

// Item is a new catalog item as sent.
type Item struct {
	Code      string `json:"code" validate:"required,max=64"`
	Name      string `json:"name" validate:"required,text,max=200"`
	Dimension string `json:"dimension" validate:"required,oneof=mass volume count time length area"`
	// Unit, when given, must measure the dimension; amounts are counted
	// in the dimension's base unit whatever it is.
	Unit string `json:"unit" validate:"omitempty,max=16"`
}

// DefineItem adds an item to the catalog, by a delegate with the post
// scope. The fold judges the code and name (EINVALID) and refuses a code
// already defined (ECONFLICT).
func DefineItem(ctx context.Context, env Env, d plenty.Delegate, in Item, key Key) (plenty.Item, error) {
	fe := Validate(&in)
	dim := plenty.Dimension(in.Dimension)
	base, _ := plenty.BaseUnit(dim)
	if in.Unit != "" && !fe.Has("dimension") {
		if u, ok := plenty.LookupUnit(in.Unit); !ok || u.Dimension != dim {
			fe.Addf("unit", "must measure %s: one of %s", dim, strings.Join(plenty.UnitCodes(dim), ", "))
		}
	}
	data := plenty.ItemDefinition{Code: in.Code, Name: in.Name, Dimension: dim, Unit: base}
	if err := fe.withRules(data.Check()); err != nil {
		return plenty.Item{}, err
	}
	if _, err := env.append(ctx, key, plenty.KindItemDefined, plenty.DelegateActor(d.ID), &data); err != nil {
		return plenty.Item{}, err
	}
	var it plenty.Item
	err := env.read(func(st *plenty.State) { it, _ = st.Item(data.Code) })
	return it, err
}
