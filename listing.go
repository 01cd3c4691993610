package plenty

import (
	"slices"
	"sort"
)

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
	return listPage(s.index.offers, s.offers, s.closedDocs, "offer", f,
		func(o *Offer) (string, string, string, string) { return o.ID, o.Council, o.Item, o.Status })
}

// ListNeeds returns one page of the needs that f selects, ordered by id,
// and whether more follow, as ListOffers does.
func (s *State) ListNeeds(f PostingFilter) (page []Need, more bool) {
	return listPage(s.index.needs, s.needs, s.closedDocs, "need", f,
		func(n *Need) (string, string, string, string) { return n.ID, n.Council, n.Item, n.Status })
}

// listPage returns one page of the postings f selects: those of m, walked
// in the order of ids (sorted) from the cursor on, and those of kind that
// left the state and that closed still holds.
func listPage[T any](ids []string, m map[string]*T, closed *closedDocs, kind string, f PostingFilter,
	fields func(*T) (id, council, item, status string)) (page []T, more bool) {
	limit := f.limit()
	var late []*T // left the state a moment ago: few
	for _, c := range closed.order {
		if c.Kind != kind {
			continue
		}
		p := closed.at[c].v.(*T)
		if id, co, it, st := fields(p); f.match(id, co, it, st) {
			late = append(late, p)
		}
	}
	sort.Slice(late, func(i, j int) bool { a, _, _, _ := fields(late[i]); b, _, _, _ := fields(late[j]); return a < b })
	i, _ := sort.Find(len(ids), func(i int) int {
		if f.After < ids[i] {
			return -1
		}
		return 1
	})
	for len(page) <= limit && (i < len(ids) || len(late) > 0) {
		var p *T
		for p == nil && i < len(ids) {
			q := m[ids[i]]
			if id, co, it, st := fields(q); f.match(id, co, it, st) {
				p = q
			} else {
				i++
			}
		}
		switch {
		case p != nil && len(late) > 0:
			a, _, _, _ := fields(p)
			if b, _, _, _ := fields(late[0]); b < a {
				p, late = late[0], late[1:]
			} else {
				i++
			}
		case p != nil:
			i++
		case len(late) > 0:
			p, late = late[0], late[1:]
		default:
			continue
		}
		page = append(page, *p)
	}
	if len(page) > limit {
		return page[:limit], true
	}
	return page, false
}

// postingIndex keeps the ids of the live offers and needs sorted, so that
// a listing pages from its cursor rather than sorting every id under the
// read lock. Hub ids grow with time, so an id is almost always appended.
// It follows from the maps, so a replay and a snapshot hold the same; the
// snapshot keeps it because decoding it is cheaper than sorting the ids
// again.
type postingIndex struct{ offers, needs []string }

func (x *postingIndex) of(kind string) *[]string {
	if kind == "offer" {
		return &x.offers
	}
	return &x.needs
}

func (x *postingIndex) add(kind, id string) {
	ids := x.of(kind)
	if n := len(*ids); n == 0 || (*ids)[n-1] < id {
		*ids = append(*ids, id)
		return
	}
	i, found := slices.BinarySearch(*ids, id)
	if !found {
		*ids = slices.Insert(*ids, i, id)
	}
}

func (x *postingIndex) remove(kind, id string) {
	ids := x.of(kind)
	if i, found := slices.BinarySearch(*ids, id); found {
		*ids = slices.Delete(*ids, i, i+1)
	}
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
