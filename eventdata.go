package plenty

import "time"

// The payload of each event kind, as stored in an event body's "data"
// field. A payload holds what its actor chose and nothing the fold can
// derive: the fold builds the entities (Offer, Delegate, …) from it, with
// their status, remaining quantity, times and issuers. Renaming a field of
// an entity therefore never makes an old event unreplayable; renaming a
// field here does, and testdata/events/ (TestGoldenEvents) catches it.
//
// Secrets never enter a payload: a token or assembly key travels beside the
// body as an Event's Credentials.

// CouncilRegistration is the data of council.registered, by the public:
// the council and its first delegate, whose mandate holds every scope. The
// event also creates the council's assembly key (see Credential).
type CouncilRegistration struct {
	ID       string       `json:"id"`
	Name     string       `json:"name"`
	Sector   string       `json:"sector"`
	Place    string       `json:"place"`
	Location Location     `json:"location"`
	Delegate MandateGrant `json:"delegate"`
}

// MandateGrant is the data of delegate.issued, by a delegate with the
// delegate scope or by the council's assembly: a mandate within the
// issuer's own (see mandate.go).
type MandateGrant struct {
	ID          string    `json:"id"`
	Council     string    `json:"council"`
	Label       string    `json:"label"`
	Mandate     string    `json:"mandate"`
	Scopes      []string  `json:"scopes"`
	CosignAbove Amount    `json:"cosign_above"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// MandateRecall is the data of delegate.recalled: the mandate named and
// every mandate issued under it end at once.
type MandateRecall struct {
	Council  string `json:"council"`
	Delegate string `json:"delegate"`
}

// MandateRenewal is the data of delegate.renewed: a mandate in force gets a
// new end, by the assembly or by a delegate above it in its chain of issue.
type MandateRenewal struct {
	Council   string    `json:"council"`
	Delegate  string    `json:"delegate"`
	ExpiresAt time.Time `json:"expires_at"`
}

// AssemblyKeyReplaced is the data of assembly.key_replaced, by the
// assembly: its old key stops working and the new one travels as the
// event's credential.
type AssemblyKeyReplaced struct {
	Council string `json:"council"`
}

// ItemDefinition is the data of item.defined.
type ItemDefinition struct {
	Code      string    `json:"code"`
	Name      string    `json:"name"`
	Dimension Dimension `json:"dimension"`
	Unit      string    `json:"unit"`
}

// OfferPosting is the data of offer.posted, by a delegate of Council with
// the post scope.
type OfferPosting struct {
	ID             string    `json:"id"`
	Council        string    `json:"council"`
	Item           string    `json:"item"`
	Quantity       Amount    `json:"quantity"`
	Location       Location  `json:"location"`
	AvailableFrom  time.Time `json:"available_from"`
	AvailableUntil time.Time `json:"available_until"`
	MinSplit       Amount    `json:"min_split"`
	MaxDistanceKm  float64   `json:"max_distance_km"`
	Note           string    `json:"note"`
	ExpiresAt      time.Time `json:"expires_at"`
}

// NeedPosting is the data of need.posted, by a delegate of Council with the
// post scope.
type NeedPosting struct {
	ID            string    `json:"id"`
	Council       string    `json:"council"`
	Item          string    `json:"item"`
	Quantity      Amount    `json:"quantity"`
	Location      Location  `json:"location"`
	NeededBy      time.Time `json:"needed_by"`
	Priority      int       `json:"priority"`
	MaxDistanceKm float64   `json:"max_distance_km"`
	Note          string    `json:"note"`
	ExpiresAt     time.Time `json:"expires_at"`
}

// PostingClosed is the data of offer.withdrawn, offer.expired,
// need.withdrawn and need.expired events: the id of the offer or need.
type PostingClosed struct {
	ID string `json:"id"`
}

// VolunteerRegistration is the data of volunteer.registered, by the public
// or the hub. Contact details are never part of it.
type VolunteerRegistration struct {
	ID     string `json:"id"`
	Handle string `json:"handle"`
}

// VolunteerVouch is the data of volunteer.vouched, by a delegate of Council
// with the accept scope: the council knows the volunteer and lets it enter
// lotteries. It names a council and a handle, never a person.
type VolunteerVouch struct {
	Volunteer string `json:"volunteer"`
	Council   string `json:"council"`
}

// Posting returns the payload that posts o (its chosen fields, not what
// the fold derives).
func (o Offer) Posting() OfferPosting {
	return OfferPosting{ID: o.ID, Council: o.Council, Item: o.Item, Quantity: o.Quantity, Location: o.Location,
		AvailableFrom: o.AvailableFrom, AvailableUntil: o.AvailableUntil, MinSplit: o.MinSplit,
		MaxDistanceKm: o.MaxDistanceKm, Note: o.Note, ExpiresAt: o.ExpiresAt}
}

// Posting returns the payload that posts n.
func (n Need) Posting() NeedPosting {
	return NeedPosting{ID: n.ID, Council: n.Council, Item: n.Item, Quantity: n.Quantity, Location: n.Location,
		NeededBy: n.NeededBy, Priority: n.Priority, MaxDistanceKm: n.MaxDistanceKm, Note: n.Note, ExpiresAt: n.ExpiresAt}
}

// Definition returns the payload that defines it.
func (it Item) Definition() ItemDefinition {
	return ItemDefinition{Code: it.Code, Name: it.Name, Dimension: it.Dimension, Unit: it.Unit}
}

// Registration returns the payload that registers c with its first
// delegate's mandate.
func (c Council) Registration(first MandateGrant) CouncilRegistration {
	return CouncilRegistration{ID: c.ID, Name: c.Name, Sector: c.Sector, Place: c.Place, Location: c.Location, Delegate: first}
}
