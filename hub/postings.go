package hub

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
)

type offerInput struct {
	Item           string         `json:"item" validate:"required,max=64"`
	Quantity       Decimal        `json:"quantity" validate:"required"`
	Unit           string         `json:"unit" validate:"required,max=16"`
	Location       *locationInput `json:"location"`
	AvailableFrom  Timestamp      `json:"available_from"`
	AvailableUntil Timestamp      `json:"available_until"`
	MinSplit       Decimal        `json:"min_split"`
	MaxDistanceKm  *float64       `json:"max_distance_km"`
	Note           string         `json:"note"`
	ExpiresAt      Timestamp      `json:"expires_at"`
	Private        *details       `json:"private"` // kept out of the ledger: see threads.go
}

type needInput struct {
	Item          string         `json:"item" validate:"required,max=64"`
	Quantity      Decimal        `json:"quantity" validate:"required"`
	Unit          string         `json:"unit" validate:"required,max=16"`
	Location      *locationInput `json:"location"`
	NeededBy      Timestamp      `json:"needed_by"`
	Priority      *int           `json:"priority"`
	MaxDistanceKm *float64       `json:"max_distance_km"`
	Note          string         `json:"note"`
	ExpiresAt     Timestamp      `json:"expires_at"`
	Private       *details       `json:"private"` // kept out of the ledger: see threads.go
}

// offerView and needView add the unit that amounts are counted in.
type offerView struct {
	plenty.Offer
	Unit string `json:"unit"`
}

type needView struct {
	plenty.Need
	Unit string `json:"unit"`
}

// posting is what offers and needs share, checked against the state.
type posting struct {
	council  plenty.Council
	item     plenty.Item
	quantity plenty.Amount
	location plenty.Location
	expires  time.Time
}

// checkPosting checks the fields offers and needs share and reads the
// council and item. It adds field errors to fe.
func (s *Server) checkPosting(fe *fieldErrors, council, item string, q Decimal, unit string,
	loc *locationInput, expiresAt Timestamp, now time.Time) posting {
	var p posting
	var itemOK bool
	s.read(func(st *plenty.State) error {
		p.council, _ = st.Council(council)
		p.item, itemOK = st.Item(item)
		return nil
	})
	switch {
	case fe.has("item") || fe.has("quantity") || fe.has("unit"):
	case !itemOK:
		fe.addf("item", "is not in the catalog: %q; see GET /api/v1/items, or define it with POST /api/v1/items", item)
	default:
		var f *plenty.FieldError
		p.quantity, f = q.parse("quantity", unit, p.item.Dimension)
		if f != nil && f.Message != "" && isUnitProblem(unit, p.item.Dimension) {
			f.Field = "unit"
		}
		fe.add(f)
	}
	p.location = p.council.Location
	if loc != nil {
		p.location = loc.location()
	}
	p.expires = now.Add(plenty.DefaultPostingTTL)
	if expiresAt != "" {
		t, f := expiresAt.parse("expires_at")
		fe.add(f)
		p.expires = t
	}
	return p
}

func isUnitProblem(unit string, dim plenty.Dimension) bool {
	u, ok := plenty.LookupUnit(unit)
	return !ok || u.Dimension != dim
}

// recordFunc appends one event for a request: the API's passes the
// request's Idempotency-Key (s.record), the web forms' the form's key.
type recordFunc func(kind string, actor plenty.Actor, data any, creds ...plenty.Credential) (ev plenty.Event, replay bool, err error)

// apiRecorder records events for an API request, with its Idempotency-Key.
func (s *Server) apiRecorder(c *fiber.Ctx) recordFunc {
	return func(kind string, actor plenty.Actor, data any, creds ...plenty.Credential) (plenty.Event, bool, error) {
		return s.record(c, kind, actor, data, creds...)
	}
}

func (s *Server) postOffer(c *fiber.Ctx) error {
	d, err := s.mandate(c, "", plenty.ScopePost)
	if err != nil {
		return err
	}
	var in offerInput
	var fe fieldErrors
	if err := s.decodeBody(c, &in, &fe); err != nil {
		return err
	}
	o, err := s.createOffer(d, in, fe, s.apiRecorder(c))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"offer": o})
}

// createOffer checks an offer of d's council and records it. fe holds the
// failures of in's struct tags (see tagErrors); the checks against the
// state and the clock add theirs, and any failure is EINVALID naming the
// fields, with nothing written. The ledger's refusals (ECONFLICT,
// EFORBIDDEN) are returned as they are.
func (s *Server) createOffer(d plenty.Delegate, in offerInput, fe fieldErrors, rec recordFunc) (offerView, error) {
	now := s.now()
	p := s.checkPosting(&fe, d.Council, in.Item, in.Quantity, in.Unit, in.Location, in.ExpiresAt, now)
	from, until := now, p.expires
	if in.AvailableFrom != "" {
		t, f := in.AvailableFrom.parse("available_from")
		fe.add(f)
		if f == nil {
			from = t
		}
	}
	if in.AvailableUntil != "" {
		t, f := in.AvailableUntil.parse("available_until")
		fe.add(f)
		until = t
	}
	fitExpiry(&fe, "available_until", until, &p.expires, in.ExpiresAt != "", now)
	var minSplit plenty.Amount
	if in.MinSplit != "" && p.item.Code != "" {
		var f *plenty.FieldError
		minSplit, f = in.MinSplit.parse("min_split", in.Unit, p.item.Dimension)
		fe.add(f)
	}
	maxKm := float64(plenty.DefaultMaxKm)
	if in.MaxDistanceKm != nil {
		maxKm = *in.MaxDistanceKm
	}
	checkDetails(&fe, in.Private)
	data := plenty.OfferPosting{
		ID: newID("o_", now), Council: d.Council, Item: p.item.Code, Quantity: p.quantity,
		Location: p.location, AvailableFrom: from, AvailableUntil: until, MinSplit: minSplit,
		MaxDistanceKm: maxKm, Note: in.Note, ExpiresAt: p.expires,
	}
	if err := fe.withRules(data.Check(now)); err != nil {
		return offerView{}, err
	}
	ev, replay, err := rec(plenty.KindOfferPosted, plenty.DelegateActor(d.ID), data)
	if err != nil {
		return offerView{}, err
	}
	if replay {
		if err := json.Unmarshal(ev.Data, &data); err != nil {
			return offerView{}, err
		}
	} else if err := s.keepDetails(data.ID, in.Private); err != nil {
		return offerView{}, err
	}
	var o plenty.Offer
	if err := s.read(func(st *plenty.State) error { o, _ = st.Offer(data.ID); return nil }); err != nil {
		return offerView{}, err
	}
	return offerView{o, p.item.Unit}, nil
}

func (s *Server) postNeed(c *fiber.Ctx) error {
	d, err := s.mandate(c, "", plenty.ScopePost)
	if err != nil {
		return err
	}
	var in needInput
	var fe fieldErrors
	if err := s.decodeBody(c, &in, &fe); err != nil {
		return err
	}
	n, err := s.createNeed(d, in, fe, s.apiRecorder(c))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"need": n})
}

// createNeed checks a need of d's council and records it, as createOffer
// does an offer.
func (s *Server) createNeed(d plenty.Delegate, in needInput, fe fieldErrors, rec recordFunc) (needView, error) {
	now := s.now()
	p := s.checkPosting(&fe, d.Council, in.Item, in.Quantity, in.Unit, in.Location, in.ExpiresAt, now)
	neededBy := p.expires
	if in.NeededBy != "" {
		t, f := in.NeededBy.parse("needed_by")
		fe.add(f)
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
	checkDetails(&fe, in.Private)
	data := plenty.NeedPosting{
		ID: newID("n_", now), Council: d.Council, Item: p.item.Code, Quantity: p.quantity,
		Location: p.location, NeededBy: neededBy, Priority: priority, MaxDistanceKm: maxKm, Note: in.Note,
		ExpiresAt: p.expires,
	}
	if err := fe.withRules(data.Check(now)); err != nil {
		return needView{}, err
	}
	ev, replay, err := rec(plenty.KindNeedPosted, plenty.DelegateActor(d.ID), data)
	if err != nil {
		return needView{}, err
	}
	if replay {
		if err := json.Unmarshal(ev.Data, &data); err != nil {
			return needView{}, err
		}
	} else if err := s.keepDetails(data.ID, in.Private); err != nil {
		return needView{}, err
	}
	var n plenty.Need
	if err := s.read(func(st *plenty.State) error { n, _ = st.Need(data.ID); return nil }); err != nil {
		return needView{}, err
	}
	return needView{n, p.item.Unit}, nil
}

func (s *Server) getOffer(c *fiber.Ctx) error {
	o, err := s.ledger.Offer(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"offer": offerView{o, s.unitOf(o.Item)}})
}

func (s *Server) getNeed(c *fiber.Ctx) error {
	n, err := s.ledger.Need(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"need": needView{n, s.unitOf(n.Item)}})
}

// unitOf returns the base unit of an item.
func (s *Server) unitOf(item string) string {
	var unit string
	s.read(func(st *plenty.State) error {
		it, _ := st.Item(item)
		unit = it.Unit
		return nil
	})
	return unit
}

// listFilter reads ?council=&item=&status=&cursor=&limit=.
func listFilter(c *fiber.Ctx) (plenty.PostingFilter, error) {
	f := plenty.PostingFilter{
		Council: c.Query("council"), Item: c.Query("item"), Status: c.Query("status"),
		After: c.Query("cursor"), Limit: 100,
	}
	var fe fieldErrors
	switch f.Status {
	case "", plenty.StatusOpen, plenty.StatusWithdrawn, plenty.StatusExpired, plenty.StatusFulfilled:
	default:
		fe.addf("status", "must be one of: open, withdrawn, expired, fulfilled")
	}
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			fe.addf("limit", "must be a whole number from 1 to 1000")
		}
		f.Limit = n
	}
	return f, fe.err()
}

func (s *Server) listOffers(c *fiber.Ctx) error {
	f, err := listFilter(c)
	if err != nil {
		return err
	}
	page, more, err := s.ledger.ListOffers(c.UserContext(), f)
	if err != nil {
		return err
	}
	out := make([]offerView, len(page))
	for i, o := range page {
		out[i] = offerView{o, s.unitOf(o.Item)}
	}
	res := fiber.Map{"offers": out}
	if more {
		res["next_cursor"] = page[len(page)-1].ID
	}
	return c.JSON(res)
}

func (s *Server) listNeeds(c *fiber.Ctx) error {
	f, err := listFilter(c)
	if err != nil {
		return err
	}
	page, more, err := s.ledger.ListNeeds(c.UserContext(), f)
	if err != nil {
		return err
	}
	out := make([]needView, len(page))
	for i, n := range page {
		out[i] = needView{n, s.unitOf(n.Item)}
	}
	res := fiber.Map{"needs": out}
	if more {
		res["next_cursor"] = page[len(page)-1].ID
	}
	return c.JSON(res)
}

func (s *Server) withdrawOffer(c *fiber.Ctx) error {
	id := c.Params("id")
	o, err := s.ledger.Offer(c.UserContext(), id)
	if err != nil {
		return err
	}
	d, err := s.mandate(c, o.Council, plenty.ScopePost)
	if err != nil {
		return err
	}
	// A posting that is not open is refused by the ledger (ECONFLICT),
	// after an idempotent repeat is recognised.
	if _, _, err := s.record(c, plenty.KindOfferWithdrawn, plenty.DelegateActor(d.ID), plenty.PostingClosed{ID: id}); err != nil {
		return err
	}
	return s.getOffer(c)
}

func (s *Server) withdrawNeed(c *fiber.Ctx) error {
	id := c.Params("id")
	n, err := s.ledger.Need(c.UserContext(), id)
	if err != nil {
		return err
	}
	d, err := s.mandate(c, n.Council, plenty.ScopePost)
	if err != nil {
		return err
	}
	// A posting that is not open is refused by the ledger (ECONFLICT),
	// after an idempotent repeat is recognised.
	if _, _, err := s.record(c, plenty.KindNeedWithdrawn, plenty.DelegateActor(d.ID), plenty.PostingClosed{ID: id}); err != nil {
		return err
	}
	return s.getNeed(c)
}

// fitExpiry keeps a posting's window within its expiry: without an
// explicit expires_at, the expiry moves out to the window's end (at most
// 366 days on); with one, a window beyond it is refused.
func fitExpiry(fe *fieldErrors, field string, end time.Time, expires *time.Time, explicit bool, now time.Time) {
	if fe.has(field) || fe.has("expires_at") || !end.After(*expires) {
		return
	}
	switch {
	case explicit:
		fe.addf(field, "must not be after expires_at")
	case end.Sub(now) > plenty.MaxPostingTTL:
		fe.addf(field, "must be at most 366 days from now")
	default:
		*expires = end
	}
}
