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
	o, err := s.ledger.Offer(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"offer": offerView{o, s.unitOf(o.Item)}})
}

func (s *Server) getNeed(c *fiber.Ctx) error {
	n, err := s.ledger.Need(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"need": needView{n, s.unitOf(n.Item)}})
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
	page, more, err := s.ledger.ListOffers(c.UserContext(), f)
	if err != nil {
		return err
	}
	out := make([]offerView, len(page))
	for i, o := range page {
		out[i] = offerView{o, s.unitOf(o.Item)}
	}
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
	page, more, err := s.ledger.ListNeeds(c.UserContext(), f)
	if err != nil {
		return err
	}
	out := make([]needView, len(page))
	for i, n := range page {
		out[i] = needView{n, s.unitOf(n.Item)}
	}
	res := fiber.Map{"needs": out}
	if more {
		res["next_cursor"] = page[len(page)-1].ID
	}
	return c.JSON(res)
}

func (s *Server) withdrawOffer(c *fiber.Ctx) error {
	id := c.Params("id")
	o, err := s.ledger.Offer(c.UserContext(), id)
	if err != nil {
		return err
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
	n, err := s.ledger.Need(c.UserContext(), id)
	if err != nil {
		return err
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
