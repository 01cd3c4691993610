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
	return listPage(s.offers, f, func(o *Offer) (string, string, string) { return o.Council, o.Item, o.Status })
}

// ListNeeds returns one page of the needs that f selects, ordered by id,
// and whether more follow.
func (s *State) ListNeeds(f PostingFilter) (page []Need, more bool) {
	return listPage(s.needs, f, func(n *Need) (string, string, string) { return n.Council, n.Item, n.Status })
}

// listPage returns one page of the postings in m that f selects, by the
// council, item and status that fields gives of each.
func listPage[T any](m map[string]*T, f PostingFilter, fields func(*T) (council, item, status string)) (page []T, more bool) {
	var ids []string
	for id, p := range m {
		if c, it, st := fields(p); f.match(id, c, it, st) {
			ids = append(ids, id)
		}
	}
	ids, more = firstIDs(ids, f.limit())
	page = make([]T, len(ids))
	for i, id := range ids {
		page[i] = *m[id]
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
