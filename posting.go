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
