package plenty

import (
	"fmt"
	"testing"
	"time"
)

func TestListOffersFiltersAndPages(t *testing.T) {
	s := NewState()
	for i, id := range []string{"o3", "o1", "o2", "o4"} {
		item := "wheat-flour"
		if i == 3 {
			item = "oats"
		}
		s.offers[id] = &Offer{ID: id, Council: "c1", Item: item, Status: StatusOpen, PostedAt: time.Unix(0, 0)}
		s.index.add("offer", id)
	}
	page, more := s.ListOffers(PostingFilter{Item: "wheat-flour", Limit: 2})
	if len(page) != 2 || page[0].ID != "o1" || page[1].ID != "o2" || !more {
		t.Fatalf("first page = %v, more %v; want o1, o2 and more", page, more)
	}
	page, more = s.ListOffers(PostingFilter{Item: "wheat-flour", Limit: 2, After: "o2"})
	if len(page) != 1 || page[0].ID != "o3" || more {
		t.Fatalf("second page = %v, more %v; want o3 and no more", page, more)
	}
	if got := HashToken("abc"); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("HashToken(abc) = %s", got)
	}
}

// TestOpenPostingsWalk walks the open offers and needs in id order, closed
// ones (held by an agreement, or gone) left out, and stops when told to.
func TestOpenPostingsWalk(t *testing.T) {
	w := newWorld(t)
	w.offer("o3", "d_m1", 1_000)
	w.offer("o2", "d_m1", 1_000)
	w.agree(terms("p2", "o2", "n2", 500))
	for _, id := range []string{"o2", "o3"} {
		if err := w.withdraw(KindOfferWithdrawn, id, "d_m1"); err != nil {
			t.Fatal(err)
		}
	}
	w.offer("o0", "d_m1", 1_000)
	var offers, needs []string
	w.s.OpenOffers(func(o Offer) bool { offers = append(offers, o.ID); return true })
	w.s.OpenNeeds(func(n Need) bool { needs = append(needs, n.ID); return true })
	if fmt.Sprint(offers) != "[o0 o1]" || fmt.Sprint(needs) != "[n1 n2]" {
		t.Fatalf("open offers %v, needs %v; want [o0 o1] and [n1 n2] (o2 held by its agreement, o3 gone)", offers, needs)
	}
	var first []string
	w.s.OpenOffers(func(o Offer) bool { first = append(first, o.ID); return false })
	if fmt.Sprint(first) != "[o0]" {
		t.Fatalf("a walk told to stop after one gave %v", first)
	}
}
