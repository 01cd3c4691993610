package hub

import (
	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/usecase"
)

func (s *Server) listItems(c *fiber.Ctx) error {
	var out []plenty.Item
	s.read(func(st *plenty.State) error { out = st.Items(); return nil })
	if out == nil {
		out = []plenty.Item{}
	}
	return c.JSON(fiber.Map{"items": out})
}

func (s *Server) getItem(c *fiber.Ctx) error {
	code := c.Params("code")
	var (
		it plenty.Item
		ok bool
	)
	s.read(func(st *plenty.State) error { it, ok = st.Item(code); return nil })
	if !ok {
		return plenty.Errorf(plenty.ENOTFOUND, "item %s is not in the catalog", code)
	}
	return c.JSON(fiber.Map{"item": it})
}

// defineItem adds an item to the catalog, by a delegate with the post
// scope. Amounts of the item are counted in its dimension's base unit; a
// unit given must measure that dimension.
func (s *Server) defineItem(c *fiber.Ctx) error {
	d, err := s.mandate(c, "", plenty.ScopePost)
	if err != nil {
		return err
	}
	var in usecase.Item
	if err := decodeBody(c, &in); err != nil {
		return err
	}
	it, err := usecase.DefineItem(c.UserContext(), s.env(), d, in, requestKey(c))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"item": it})
}
