package hub

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
)

type itemInput struct {
	Code      string `json:"code" validate:"required,max=64"`
	Name      string `json:"name" validate:"required,text,max=200"`
	Dimension string `json:"dimension" validate:"required,oneof=mass volume count time length area"`
	Unit      string `json:"unit" validate:"omitempty,max=16"`
}

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
	var in itemInput
	var fe fieldErrors
	if err := s.decodeBody(c, &in, &fe); err != nil {
		return err
	}
	dim := plenty.Dimension(in.Dimension)
	base, _ := plenty.BaseUnit(dim)
	if !fe.has("code") && !plenty.ValidItemCode(in.Code) {
		fe.addf("code", "must be a slug of lowercase letters, digits and single hyphens, such as \"wheat-flour\"")
	}
	if in.Unit != "" && !fe.has("dimension") {
		if u, ok := plenty.LookupUnit(in.Unit); !ok || u.Dimension != dim {
			fe.addf("unit", "must measure %s: one of %s", dim, strings.Join(plenty.UnitCodes(dim), ", "))
		}
	}
	if err := fe.err(); err != nil {
		return err
	}
	it := plenty.Item{Code: in.Code, Name: in.Name, Dimension: dim, Unit: base, DefinedBy: d.Council}
	var exists bool
	s.read(func(st *plenty.State) error { _, exists = st.Item(in.Code); return nil })
	if exists && c.Get("Idempotency-Key") == "" {
		return plenty.Errorf(plenty.ECONFLICT, "item %s is already defined", in.Code)
	}
	if _, _, err := s.record(c, plenty.KindItemDefined, plenty.DelegateActor(d.ID), plenty.ItemDefinition{Code: it.Code, Name: it.Name, Dimension: it.Dimension, Unit: it.Unit}); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"item": it})
}
