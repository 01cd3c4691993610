package hub

import (
	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
)

// getFigures serves the concentration and sovereignty figures as of now.
func (s *Server) getFigures(c *fiber.Ctx) error {
	var f plenty.Figures
	s.read(func(st *plenty.State) error { f = st.Figures(s.now()); return nil })
	return c.JSON(fiber.Map{"figures": f})
}
