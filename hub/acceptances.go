package hub

import (
	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/usecase"
)

// postWithdrawAcceptance answers POST /api/v1/proposals/{id}/withdraw-acceptance.
func (s *Server) postWithdrawAcceptance(c *fiber.Ctx) error {
	d, err := s.mandate(c, "", plenty.ScopeAccept)
	if err != nil {
		return err
	}
	acc, err := usecase.WithdrawAcceptance(c.UserContext(), s.env(), d, c.Params("id"), requestKey(c))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"acceptance": s.viewAcceptance(acc)})
}

// acceptanceView is an acceptance with the unit its proposal's quantity is
// counted in.
type acceptanceView struct {
	plenty.Acceptance
	Unit string `json:"unit"`
}

func (s *Server) viewAcceptance(acc plenty.Acceptance) acceptanceView {
	v := acceptanceView{Acceptance: acc}
	s.read(func(st *plenty.State) error { it, _ := st.Item(acc.Item); v.Unit = it.Unit; return nil })
	return v
}
