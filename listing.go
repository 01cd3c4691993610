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
// and whether more follow. It lists the offers the state holds (see
// Offer): the ledger adds those that left it.
func (s *State) ListOffers(f PostingFilter) (page []Offer, more bool) {
	return listPage(&s.index.offers, s.offers, s.closedDocs, "offer", f,
		func(o *Offer) (string, string, string, string) { return o.ID, o.Council, o.Item, o.Status })
}

// OpenOffers calls fn with each open offer, in id order, until fn returns
// false: walked from the index, with no copy of them all and no sort, for
// the pages that count or rank them under the read lock.
func (s *State) OpenOffers(fn func(Offer) bool) {
	eachOpen(&s.index.offers, s.offers, func(o *Offer) string { return o.Status }, fn)
}

// OpenNeeds calls fn with each open need, as OpenOffers does.
func (s *State) OpenNeeds(fn func(Need) bool) {
	eachOpen(&s.index.needs, s.needs, func(n *Need) string { return n.Status }, fn)
}

func eachOpen[T any](ids *sortedIDs, m map[string]*T, status func(*T) string, fn func(T) bool) {
	ids.after("", func(id string) bool {
		if p := m[id]; p != nil && status(p) == StatusOpen {
			return fn(*p)
		}
		return true
	})
}

// ListNeeds returns one page of the needs that f selects, ordered by id,
// and whether more follow, as ListOffers does.
func (s *State) ListNeeds(f PostingFilter) (page []Need, more bool) {
	return listPage(&s.index.needs, s.needs, s.closedDocs, "need", f,
		func(n *Need) (string, string, string, string) { return n.ID, n.Council, n.Item, n.Status })
}

// listPage returns one page of the postings f selects: those of m, walked
// in the order of ids (sorted) from the cursor on, and those of kind that
// left the state and that closed still holds.
func listPage[T any](ids *sortedIDs, m map[string]*T, closed *closedDocs, kind string, f PostingFilter,
	fields func(*T) (id, council, item, status string)) (page []T, more bool) {
	limit := f.limit()
	var late []*T // left the state a moment ago: few
	for _, p := range closedOf[T](closed, kind) {
		if id, co, it, st := fields(p); f.match(id, co, it, st) {
			late = append(late, p)
		}
	}
	sort.Slice(late, func(i, j int) bool { a, _, _, _ := fields(late[i]); b, _, _, _ := fields(late[j]); return a < b })
	ids.after(f.After, func(id string) bool {
		p := m[id]
		if _, co, it, st := fields(p); !f.match(id, co, it, st) {
			return true
		}
		for len(late) > 0 && len(page) <= limit {
			if b, _, _, _ := fields(late[0]); b > id {
				break
			}
			page, late = append(page, *late[0]), late[1:]
		}
		if len(page) <= limit {
			page = append(page, *p)
		}
		return len(page) <= limit
	})
	for len(late) > 0 && len(page) <= limit {
		page, late = append(page, *late[0]), late[1:]
	}
	if len(page) > limit {
		return page[:limit], true
	}
	return page, false
}

// CouncilDelegates returns the delegates of one council the state holds
// (those whose mandate ended leave it, mandate_ended.go), ordered by id,
// token hashes included.
func (s *State) CouncilDelegates(council string) []Delegate {
	var out []Delegate
	for _, d := range s.delegates {
		if d.Council == council {
			out = append(out, copyDelegate(d))
		}
	}
	for _, d := range closedOf[Delegate](s.closedDocs, "delegate") {
		if d.Council == council {
			out = append(out, copyDelegate(d))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// ItemCount returns how many items are defined.
func (s *State) ItemCount() int { return len(s.items) }
