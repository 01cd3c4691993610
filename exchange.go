package plenty

import "time"

// Proposal is the matching engine's suggestion that an offer supply a need
// with a quantity. It is not a fact: it is recomputed from the ledger at a
// given size, so anyone can check it.
type Proposal struct {
	ID         string    `json:"id"`
	Offer      string    `json:"offer"`
	Need       string    `json:"need"`
	Item       string    `json:"item"`
	Provider   string    `json:"provider"`
	Receiver   string    `json:"receiver"`
	Quantity   Amount    `json:"quantity"`
	DistanceKm float64   `json:"distance_km"`
	Score      int64     `json:"score"`
	Reason     string    `json:"reason"`
	ExpiresAt  time.Time `json:"expires_at"`
	LedgerSize int64     `json:"ledger_size"`
	Engine     string    `json:"engine"`
	// ComputedAt is the time the engine computed it at: with the ledger of
	// LedgerSize events it gives the same proposal again.
	ComputedAt time.Time `json:"computed_at"`
}

// Agreement status.
const (
	AgreementActive    = "active"    // quantity reserved, delivery pending
	AgreementReceived  = "received"  // the receiver confirmed; a transfer exists
	AgreementCancelled = "cancelled" // ended before receipt; reservation released
)

// Agreement is formed when both councils accepted a proposal [vf:Agreement
// with two vf:Commitment]. It reserves the quantity on the offer and the
// need.
type Agreement struct {
	ID         string    `json:"id"`
	Proposal   string    `json:"proposal"`
	Offer      string    `json:"offer"`
	Need       string    `json:"need"`
	Item       string    `json:"item"`
	Provider   string    `json:"provider"`
	Receiver   string    `json:"receiver"`
	Quantity   Amount    `json:"quantity"`
	DistanceKm float64   `json:"distance_km"`
	Status     string    `json:"status"`
	FormedAt   time.Time `json:"formed_at"`
}

// Transfer records goods received [vf:EconomicEvent, action transfer].
type Transfer struct {
	ID         string    `json:"id"`
	Agreement  string    `json:"agreement"`
	Item       string    `json:"item"`
	Provider   string    `json:"provider"`
	Receiver   string    `json:"receiver"`
	Quantity   Amount    `json:"quantity"`
	RecordedAt time.Time `json:"recorded_at"`
	Corrects   string    `json:"corrects,omitempty"`
}

// AccountLine is one council's standing in one item, derived from
// agreements and transfers.
type AccountLine struct {
	Council   string `json:"council"`
	Item      string `json:"item"`
	Given     Amount `json:"given"`
	Received  Amount `json:"received"`
	Committed Amount `json:"committed"`
}
