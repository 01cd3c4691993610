package hub

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/usecase"
)

// offerView and needView add the unit that amounts are counted in.
type offerView struct {
	plenty.Offer
	Unit string `json:"unit"`
}

type needView struct {
	plenty.Need
	Unit string `json:"unit"`
}

func (s *Server) postOffer(c *fiber.Ctx) error {
	d, err := s.mandate(c, "", plenty.ScopePost)
	if err != nil {
		return err
	}
	var in usecase.Offer
	if err := decodeBody(c, &in); err != nil {
		return err
	}
	o, err := usecase.PostOffer(c.UserContext(), s.env(), d, in, requestKey(c))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"offer": offerView{o, s.unitOf(o.Item)}})
}

func (s *Server) postNeed(c *fiber.Ctx) error {
	d, err := s.mandate(c, "", plenty.ScopePost)
	if err != nil {
		return err
	}
	var in usecase.Need
	if err := decodeBody(c, &in); err != nil {
		return err
	}
	n, err := usecase.PostNeed(c.UserContext(), s.env(), d, in, requestKey(c))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"need": needView{n, s.unitOf(n.Item)}})
}

// unitOf is the unit item's amounts are counted in.
func (s *Server) unitOf(item string) string {
	var it plenty.Item
	s.read(func(st *plenty.State) error { it, _ = st.Item(item); return nil })
	return it.Unit
}

func (s *Server) getOffer(c *fiber.Ctx) error {
	id := c.Params("id")
	var (
		o    plenty.Offer
		unit string
		ok   bool
	)
	s.read(func(st *plenty.State) error {
		if o, ok = st.Offer(id); ok {
			it, _ := st.Item(o.Item)
			unit = it.Unit
		}
		return nil
	})
	if !ok {
		return plenty.Errorf(plenty.ENOTFOUND, "offer %s does not exist", id)
	}
	return c.JSON(fiber.Map{"offer": offerView{o, unit}})
}

func (s *Server) getNeed(c *fiber.Ctx) error {
	id := c.Params("id")
	var (
		n    plenty.Need
		unit string
		ok   bool
	)
	s.read(func(st *plenty.State) error {
		if n, ok = st.Need(id); ok {
			it, _ := st.Item(n.Item)
			unit = it.Unit
		}
		return nil
	})
	if !ok {
		return plenty.Errorf(plenty.ENOTFOUND, "need %s does not exist", id)
	}
	return c.JSON(fiber.Map{"need": needView{n, unit}})
}

// listFilter reads ?council=&item=&status=&cursor=&limit=.
func listFilter(c *fiber.Ctx) (plenty.PostingFilter, error) {
	f := plenty.PostingFilter{
		Council: c.Query("council"), Item: c.Query("item"), Status: c.Query("status"),
		After: c.Query("cursor"), Limit: 100,
	}
	var fe fieldErrors
	switch f.Status {
	case "", plenty.StatusOpen, plenty.StatusWithdrawn, plenty.StatusExpired, plenty.StatusFulfilled:
	default:
		fe.Addf("status", "must be one of: open, withdrawn, expired, fulfilled")
	}
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			fe.Addf("limit", "must be a whole number from 1 to 1000")
		}
		f.Limit = n
	}
	return f, fe.Err()
}

func (s *Server) listOffers(c *fiber.Ctx) error {
	f, err := listFilter(c)
	if err != nil {
		return err
	}
	var (
		page []plenty.Offer
		more bool
		out  []offerView
	)
	s.read(func(st *plenty.State) error {
		page, more = st.ListOffers(f)
		out = make([]offerView, len(page))
		for i, o := range page {
			it, _ := st.Item(o.Item)
			out[i] = offerView{o, it.Unit}
		}
		return nil
	})
	res := fiber.Map{"offers": out}
	if more {
		res["next_cursor"] = page[len(page)-1].ID
	}
	return c.JSON(res)
}

func (s *Server) listNeeds(c *fiber.Ctx) error {
	f, err := listFilter(c)
	if err != nil {
		return err
	}
	var (
		page []plenty.Need
		more bool
		out  []needView
	)
	s.read(func(st *plenty.State) error {
		page, more = st.ListNeeds(f)
		out = make([]needView, len(page))
		for i, n := range page {
			it, _ := st.Item(n.Item)
			out[i] = needView{n, it.Unit}
		}
		return nil
	})
	res := fiber.Map{"needs": out}
	if more {
		res["next_cursor"] = page[len(page)-1].ID
	}
	return c.JSON(res)
}

func (s *Server) withdrawOffer(c *fiber.Ctx) error {
	id := c.Params("id")
	var (
		o  plenty.Offer
		ok bool
	)
	s.read(func(st *plenty.State) error { o, ok = st.Offer(id); return nil })
	if !ok {
		return plenty.Errorf(plenty.ENOTFOUND, "offer %s does not exist", id)
	}
	d, err := s.mandate(c, o.Council, plenty.ScopePost)
	if err != nil {
		return err
	}
	if err := s.withdraw(c, d, plenty.KindOfferWithdrawn, id); err != nil {
		return err
	}
	return s.getOffer(c)
}

func (s *Server) withdrawNeed(c *fiber.Ctx) error {
	id := c.Params("id")
	var (
		n  plenty.Need
		ok bool
	)
	s.read(func(st *plenty.State) error { n, ok = st.Need(id); return nil })
	if !ok {
		return plenty.Errorf(plenty.ENOTFOUND, "need %s does not exist", id)
	}
	d, err := s.mandate(c, n.Council, plenty.ScopePost)
	if err != nil {
		return err
	}
	if err := s.withdraw(c, d, plenty.KindNeedWithdrawn, id); err != nil {
		return err
	}
	return s.getNeed(c)
}

// withdraw withdraws an offer or a need for an API request. A posting
// that is not open is refused by the fold (ECONFLICT), after an idempotent
// repeat is recognised.
func (s *Server) withdraw(c *fiber.Ctx, d plenty.Delegate, kind, id string) error {
	return usecase.Withdraw(c.UserContext(), s.env(), d, kind, id, requestKey(c))
}
