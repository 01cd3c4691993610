package plenty

import "time"

// Council is a workplace council [vf:Organization].
type Council struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Sector       string    `json:"sector"`
	Place        string    `json:"place"`
	Location     Location  `json:"location"`
	RegisteredAt time.Time `json:"registered_at"`
}

// Scopes a mandate may grant.
const (
	ScopePost     = "post"     // post and withdraw offers and needs, define items
	ScopeAccept   = "accept"   // accept and decline proposals, confirm receipts
	ScopeDelegate = "delegate" // issue and recall the council's delegates
)

// AllScopes lists every scope, in the order they are shown.
var AllScopes = []string{ScopePost, ScopeAccept, ScopeDelegate}

// MaxMandateTerm is the longest a delegate's mandate may run: short,
// revocable mandates.
const MaxMandateTerm = 7 * 24 * time.Hour

// Delegate acts for a council under a written mandate. The delegate's
// credential is a bearer token that is shown once; only its hash is kept.
type Delegate struct {
	ID      string   `json:"id"`
	Council string   `json:"council"`
	Label   string   `json:"label"`
	Mandate string   `json:"mandate"`
	Scopes  []string `json:"scopes"`
	// CosignAbove is the quantity (in thousandths of the item's base unit)
	// above which an acceptance needs a second, different delegate. Zero
	// means no co-signature is required.
	CosignAbove Amount `json:"cosign_above"`
	// IssuedBy is the delegate that issued the mandate, or "assembly", or
	// "registration" for a council's first delegate.
	IssuedBy   string     `json:"issued_by"`
	IssuedAt   time.Time  `json:"issued_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	RecalledAt *time.Time `json:"recalled_at,omitempty"`
	// RecalledBy is the actor whose recall ended the mandate, and RecallOf
	// the mandate that recall named: this one, or one above it in its
	// chain of issue.
	RecalledBy string `json:"recalled_by,omitempty"`
	RecallOf   string `json:"recall_of,omitempty"`
	TokenHash  string `json:"-"`
}

// HasScope reports whether the mandate grants scope.
func (d *Delegate) HasScope(scope string) bool {
	for _, s := range d.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// Active reports whether the mandate is in force at now: not recalled and
// not expired.
func (d *Delegate) Active(now time.Time) bool {
	return d.RecalledAt == nil && now.Before(d.ExpiresAt)
}

// Volunteer carries deliveries [vf:Person]. Only a pseudonymous handle is
// public; contact details never leave the hub.
type Volunteer struct {
	ID           string    `json:"id"`
	Handle       string    `json:"handle"`
	RegisteredAt time.Time `json:"registered_at"`
	// VouchedBy lists the councils that vouched for the volunteer, in
	// order; only a vouched volunteer enters lotteries.
	VouchedBy []string `json:"vouched_by"`
	TokenHash string   `json:"-"`
}
