package plenty

import (
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
