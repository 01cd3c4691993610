package plenty

// The data of each event kind, as stored in an event body's "data" field.

// CouncilRegistered is the data of a council.registered event: the council
// and its first delegate, who holds every scope.
type CouncilRegistered struct {
	Council  Council       `json:"council"`
	Delegate DelegateGrant `json:"delegate"`
}

// DelegateGrant is a delegate as issued, with the hash of its token (the
// SHA-256 of a random 256-bit secret; the token itself is never stored).
// It is the data of a delegate.issued event.
type DelegateGrant struct {
	Delegate
	TokenHash string `json:"token_hash"`
}

// DelegateRecalled is the data of a delegate.recalled event.
type DelegateRecalled struct {
	Council  string `json:"council"`
	Delegate string `json:"delegate"`
}

// ItemDefined is the data of an item.defined event.
type ItemDefined struct {
	Item Item `json:"item"`
}

// OfferPosted is the data of an offer.posted event.
type OfferPosted struct {
	Offer Offer `json:"offer"`
}

// NeedPosted is the data of a need.posted event.
type NeedPosted struct {
	Need Need `json:"need"`
}

// PostingClosed is the data of offer.withdrawn, offer.expired,
// need.withdrawn and need.expired events: the id of the offer or need.
type PostingClosed struct {
	ID string `json:"id"`
}
