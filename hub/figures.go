package hub

import (
	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
)

// figuresView adds to the figures how many volunteers registered, beside
// Volunteers, which counts those who carried a delivery.
type figuresView struct {
	plenty.Figures
	VolunteersRegistered int `json:"volunteers_registered"`
}

// getFigures serves the concentration and sovereignty figures as of now.
func (s *Server) getFigures(c *fiber.Ctx) error {
	var f figuresView
	s.read(func(st *plenty.State) error {
		f = figuresView{st.Figures(s.now()), len(st.Volunteers())}
		return nil
	})
	return c.JSON(fiber.Map{"figures": f})
}
