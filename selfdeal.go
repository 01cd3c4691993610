package plenty

// No exchange with oneself: a council's offer never meets its own need.
// The engine never proposes such a pair (matching.compatible), and the fold
// refuses an acceptance of one, so a hand-made proposal cannot record an
// exchange that moves the public flow figures while nothing changes hands.

// checkNotSelf returns ECONFLICT, naming the council, when an exchange's
// provider and receiver are the same council.
func checkNotSelf(provider, receiver string) error {
	if provider == receiver {
		return &Error{Code: ECONFLICT,
			Message: "council " + provider + " would exchange with itself: a council's offer never meets its own need",
			Fields:  []FieldError{{Field: "proposal", Message: "pairs council " + provider + "'s offer with its own need"}}}
	}
	return nil
}
