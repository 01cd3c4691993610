package hub

import "github.com/gofiber/fiber/v2"

// lifecycleRoutes lays out the exchange lifecycle's API: proposals,
// agreements and receipts, volunteers and delivery tasks, figures.
func (s *Server) lifecycleRoutes(api fiber.Router) {}
