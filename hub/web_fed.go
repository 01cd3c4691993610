package hub

import (
	"github.com/gofiber/fiber/v2"
)

// neighboursPageData is what the neighbours page shows.
type neighboursPageData struct {
	Federates  bool
	Keys       FedKeys
	Neighbours Neighbours
}

// neighboursPage shows the hubs this hub mirrors and witnesses, and the
// hubs that witness it, with their status.
func (w *web) neighboursPage(c *fiber.Ctx) error {
	s := w.s
	d := neighboursPageData{}
	if s.fed != nil {
		d.Federates = true
		d.Keys = FedKeys{Origin: s.ledger.Origin(), Log: s.ledger.VerifierKey(), Witness: s.fed.WitnessKey()}
		d.Neighbours = s.neighbours(c.BaseURL())
	}
	return w.render(c, fiber.StatusOK, "neighbours", view{Title: "Neighbours", Nav: "open", Data: d})
}
