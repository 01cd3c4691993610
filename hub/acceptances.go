package hub

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
)

// withdrawAcceptance takes back the acceptance of d's council (a
// co-signature included) of a proposal whose agreement has not formed.
// The fold refuses it (ECONFLICT) once the agreement formed or when the
// council has not accepted, and (ENOTFOUND) when no council decided.
func (s *Server) withdrawAcceptance(ctx context.Context, d plenty.Delegate, proposal string) (plenty.Acceptance, error) {
	if _, _, err := s.write(ctx, plenty.KindAcceptanceWithdrawn, plenty.DelegateActor(d.ID),
		plenty.AcceptanceWithdrawal{Proposal: proposal}); err != nil {
		return plenty.Acceptance{}, err
	}
	var acc plenty.Acceptance
	s.read(func(st *plenty.State) error { acc, _ = st.Acceptance(proposal); return nil })
	if acc.Decisions == nil {
		acc.Decisions = []plenty.Decision{} // served as [], as the schema says
	}
	return acc, nil
}

// postWithdrawAcceptance answers POST /api/v1/proposals/{id}/withdraw-acceptance.
func (s *Server) postWithdrawAcceptance(c *fiber.Ctx) error {
	d, err := s.mandate(c, "", plenty.ScopeAccept)
	if err != nil {
		return err
	}
	ctx, err := idempotent(c)
	if err != nil {
		return err
	}
	acc, err := s.withdrawAcceptance(ctx, d, c.Params("id"))
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
