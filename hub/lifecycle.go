package hub

import "github.com/gofiber/fiber/v2"

// lifecycleRoutes lays out the exchange lifecycle's API: proposals,
// agreements and receipts, volunteers and delivery tasks, figures.
func (s *Server) lifecycleRoutes(api fiber.Router) {
	api.Get("/proposals", s.listProposals)
	api.Post("/proposals/:id/accept", s.limitAddr, s.acceptProposal)
	api.Post("/proposals/:id/decline", s.limitAddr, s.declineProposal)
	api.Post("/proposals/:id/withdraw-acceptance", s.limitAddr, s.postWithdrawAcceptance)

	api.Get("/agreements", s.listAgreements)
	api.Get("/agreements/:id", s.getAgreement)
	api.Post("/agreements/:id/receipt", s.limitAddr, s.postReceipt)
	api.Post("/agreements/:id/cancel", s.limitAddr, s.cancelAgreement)
	api.Post("/transfers/:id/correction", s.limitAddr, s.postCorrection)

	api.Post("/volunteers", s.limitAddr, s.limitRegister, s.registerVolunteer)
	api.Post("/volunteers/:id/vouch", s.limitAddr, s.vouchVolunteer)
	api.Get("/tasks", s.listTasks)
	api.Get("/tasks/:id", s.getTask)
	api.Post("/tasks/:id/volunteer", s.limitAddr, s.actOnTask("volunteer"))
	api.Post("/tasks/:id/pickup", s.limitAddr, s.actOnTask("pickup"))
	api.Post("/tasks/:id/dropoff", s.limitAddr, s.actOnTask("dropoff"))

	api.Get("/figures", s.getFigures)
}
