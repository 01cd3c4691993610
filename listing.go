package plenty

import "sort"

// PostingFilter selects offers or needs in a listing. Empty fields match
// everything. Listings are ordered by id; After is the last id of the
// previous page (the cursor), and Limit bounds the page (100 when 0).
type PostingFilter struct {
	Council string
	Item    string
	Status  string
	After   string
	Limit   int
}

func (f PostingFilter) limit() int {
	if f.Limit <= 0 {
		return 100
	}
	return f.Limit
}

func (f PostingFilter) match(id, council, item, status string) bool {
	return id > f.After &&
		(f.Council == "" || f.Council == council) &&
		(f.Item == "" || f.Item == item) &&
		(f.Status == "" || f.Status == status)
}

// ListOffers returns one page of the offers that f selects, ordered by id,
// and whether more follow.
func (s *State) ListOffers(f PostingFilter) (page []Offer, more bool) {
	var ids []string
	for id, o := range s.offers {
		if f.match(id, o.Council, o.Item, o.Status) {
			ids = append(ids, id)
		}
	}
	ids, more = firstIDs(ids, f.limit())
	page = make([]Offer, len(ids))
	for i, id := range ids {
		page[i] = *s.offers[id]
	}
	return page, more
}

// ListNeeds returns one page of the needs that f selects, ordered by id,
// and whether more follow.
func (s *State) ListNeeds(f PostingFilter) (page []Need, more bool) {
	var ids []string
	for id, n := range s.needs {
		if f.match(id, n.Council, n.Item, n.Status) {
			ids = append(ids, id)
		}
	}
	ids, more = firstIDs(ids, f.limit())
	page = make([]Need, len(ids))
	for i, id := range ids {
		page[i] = *s.needs[id]
	}
	return page, more
}

// CouncilDelegates returns the delegates of one council, ordered by id,
// token hashes included.
func (s *State) CouncilDelegates(council string) []Delegate {
	var out []Delegate
	for _, d := range s.delegates {
		if d.Council == council {
			out = append(out, copyDelegate(d))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// ItemCount returns how many items are defined.
func (s *State) ItemCount() int { return len(s.items) }

func firstIDs(ids []string, limit int) ([]string, bool) {
	sort.Strings(ids)
	if len(ids) > limit {
		return ids[:limit], true
	}
	return ids, false
}
