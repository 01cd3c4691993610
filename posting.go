package plenty

import "time"

// Status of an offer or need.
const (
	StatusOpen      = "open"      // can still be matched
	StatusWithdrawn = "withdrawn" // its council took it back
	StatusExpired   = "expired"   // its expiry passed
	StatusFulfilled = "fulfilled" // nothing remains to match
)

// Offer is what a council can provide [vf:Intent with provider, in a
// vf:Proposal whose purpose is offer]. Amounts are in thousandths of the
// item's base unit.
type Offer struct {
	ID             string    `json:"id"`
	Council        string    `json:"council"`
	Item           string    `json:"item"`
	Quantity       Amount    `json:"quantity"`
	Remaining      Amount    `json:"remaining"`
	Location       Location  `json:"location"`
	AvailableFrom  time.Time `json:"available_from"`
	AvailableUntil time.Time `json:"available_until"`
	MinSplit       Amount    `json:"min_split"`
	MaxDistanceKm  float64   `json:"max_distance_km"`
	Note           string    `json:"note"`
	ExpiresAt      time.Time `json:"expires_at"`
	Status         string    `json:"status"`
	PostedBy       string    `json:"posted_by"`
	PostedAt       time.Time `json:"posted_at"`
}

// Need is what a council requires [vf:Intent with receiver, in a
// vf:Proposal whose purpose is request].
type Need struct {
	ID            string    `json:"id"`
	Council       string    `json:"council"`
	Item          string    `json:"item"`
	Quantity      Amount    `json:"quantity"`
	Remaining     Amount    `json:"remaining"`
	Location      Location  `json:"location"`
	NeededBy      time.Time `json:"needed_by"`
	Priority      int       `json:"priority"`
	MaxDistanceKm float64   `json:"max_distance_km"`
	Note          string    `json:"note"`
	ExpiresAt     time.Time `json:"expires_at"`
	Status        string    `json:"status"`
	PostedBy      string    `json:"posted_by"`
	PostedAt      time.Time `json:"posted_at"`
}

// Posting limits.
const (
	MinPriority       = 1
	MaxPriority       = 5
	MaxDistanceKm     = 20000 // half the Earth's circumference, rounded
	DefaultMaxKm      = 50
	DefaultPostingTTL = 30 * 24 * time.Hour
	MaxPostingTTL     = 366 * 24 * time.Hour
)

// MaxNoteLen bounds a posting's note, in characters.
const MaxNoteLen = 2000

// Check returns the faults of the offer's own fields at now, named as the
// API spells them: what the fold refuses before it looks at the ledger.
func (p OfferPosting) Check(now time.Time) []FieldError {
	var c checks
	p.check(&c, now)
	return c.fields
}

func (p OfferPosting) check(c *checks, now time.Time) {
	checkPostingFields(c, p.ID, p.Quantity, p.Location, p.MaxDistanceKm, p.Note, p.ExpiresAt, now)
	// The API reads every time between the years 2000 and 9999; the other
	// times of a posting are bounded by now and its expiry, this one is not.
	if y := p.AvailableFrom.Year(); y < 2000 || y > 9999 {
		c.add("available_from", "must be a time between the years 2000 and 9999")
	}
	switch {
	case !p.AvailableUntil.After(now):
		c.add("available_until", "must be in the future")
	case !p.AvailableUntil.After(p.AvailableFrom):
		c.add("available_until", "must be after available_from")
	case p.AvailableUntil.After(p.ExpiresAt):
		c.add("available_until", "must not be after expires_at")
	}
	if !c.has("quantity") && (p.MinSplit < 0 || p.MinSplit > p.Quantity) {
		c.add("min_split", "must be between 0 and the quantity offered")
	}
}

// Check returns the faults of the need's own fields at now.
func (p NeedPosting) Check(now time.Time) []FieldError {
	var c checks
	p.check(&c, now)
	return c.fields
}

func (p NeedPosting) check(c *checks, now time.Time) {
	checkPostingFields(c, p.ID, p.Quantity, p.Location, p.MaxDistanceKm, p.Note, p.ExpiresAt, now)
	if p.Priority < MinPriority || p.Priority > MaxPriority {
		c.add("priority", "must be a whole number from 1 (can wait) to 5 (most urgent)")
	}
	switch {
	case !p.NeededBy.After(now):
		c.add("needed_by", "must be in the future")
	case p.NeededBy.After(p.ExpiresAt):
		c.add("needed_by", "must not be after expires_at")
	}
}

func (s *State) postOffer(ev Event, p OfferPosting) error {
	var c checks
	s.checkItem(&c, p.Item)
	p.check(&c, ev.Time)
	if err := s.postingAllowed(&c, ev, p.ID, p.Council, p.Item); err != nil {
		return err
	}
	s.offers[p.ID] = &Offer{ID: p.ID, Council: p.Council, Item: p.Item, Quantity: p.Quantity, Remaining: p.Quantity,
		Location: p.Location, AvailableFrom: p.AvailableFrom, AvailableUntil: p.AvailableUntil, MinSplit: p.MinSplit,
		MaxDistanceKm: p.MaxDistanceKm, Note: p.Note, ExpiresAt: p.ExpiresAt, Status: StatusOpen,
		PostedBy: s.actorDelegate(ev).ID, PostedAt: ev.Time}
	s.index.add("offer", p.ID)
	s.touch("offer", p.ID)
	return nil
}

func (s *State) postNeed(ev Event, p NeedPosting) error {
	var c checks
	s.checkItem(&c, p.Item)
	p.check(&c, ev.Time)
	if err := s.postingAllowed(&c, ev, p.ID, p.Council, p.Item); err != nil {
		return err
	}
	s.needs[p.ID] = &Need{ID: p.ID, Council: p.Council, Item: p.Item, Quantity: p.Quantity, Remaining: p.Quantity,
		Location: p.Location, NeededBy: p.NeededBy, Priority: p.Priority, MaxDistanceKm: p.MaxDistanceKm,
		Note: p.Note, ExpiresAt: p.ExpiresAt, Status: StatusOpen, PostedBy: s.actorDelegate(ev).ID, PostedAt: ev.Time}
	s.needsPosted++
	s.index.add("need", p.ID)
	s.touch("need", p.ID)
	return nil
}

func (s *State) checkItem(c *checks, item string) {
	if s.items[item] == nil {
		c.addf("item", "is not in the catalog: %q", item)
	}
}

// checkPostingFields checks the fields offers and needs share.
func checkPostingFields(c *checks, id string, q Amount, loc Location, maxKm float64, note string, expires, now time.Time) {
	if id == "" {
		c.add("id", "is required")
	}
	c.quantity("quantity", q)
	c.location("location", loc)
	c.distance("max_distance_km", maxKm)
	c.text("note", note, MaxNoteLen, false)
	c.expiry("expires_at", expires, now, MaxPostingTTL, "366 days")
}

// postingAllowed returns the field faults, then checks the id and that the
// actor is a delegate of the council with the post scope.
func (s *State) postingAllowed(c *checks, ev Event, id, council, item string) error {
	if s.councils[council] == nil {
		return Errorf(ENOTFOUND, "council %s does not exist", council)
	}
	if err := s.authorize(ev, council, ScopePost); err != nil {
		return err
	}
	if err := c.err(); err != nil {
		return err
	}
	if s.offers[id] != nil || s.needs[id] != nil || s.Gone("offer", id) || s.Gone("need", id) {
		return Errorf(ECONFLICT, "posting id %q is taken", id)
	}
	return nil
}
