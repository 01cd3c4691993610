package hub

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/usecase"
)

// proposalView is a proposal as served: the engine's terms and reason, the
// unit its quantity is counted in, what the councils decided so far, and
// the councils whose consent is still missing (a council that accepted
// with a delegate whose threshold the quantity exceeds waits for a second
// delegate's co-signature).
type proposalView struct {
	plenty.Proposal
	Unit       string            `json:"unit"`
	Decisions  []plenty.Decision `json:"decisions"`
	WaitingFor []string          `json:"waiting_for"`
	Agreement  string            `json:"agreement,omitempty"`
}

// viewProposal describes p in the state st at now.
func viewProposal(st *plenty.State, p plenty.Proposal, now time.Time) proposalView {
	v := proposalView{Proposal: p, Decisions: []plenty.Decision{}, WaitingFor: []string{}}
	it, _ := st.Item(p.Item)
	v.Unit = it.Unit
	acc, ok := st.Acceptance(p.ID)
	if ok {
		v.Decisions, v.Agreement = acc.Decisions, acc.Agreement
	}
	if v.Agreement != "" {
		return v
	}
	for _, c := range []string{p.Provider, p.Receiver} {
		if !ok || !st.Consents(acc, c, now) {
			v.WaitingFor = append(v.WaitingFor, c)
		}
		if p.Receiver == p.Provider {
			break
		}
	}
	return v
}

// proposalsFor returns the current proposals that involve council (all of
// them when council is ""), in the engine's order, then those a newer run
// replaced while a council's decision on them is pending.
func (s *Server) proposalsFor(council string) []proposalView {
	views, _ := s.proposalsOf(s.engine.current(), council)
	return views
}

func (s *Server) proposalsOf(set *proposalSet, council string) ([]proposalView, error) {
	now := s.now()
	out := []proposalView{}
	err := s.read(func(st *plenty.State) error {
		listed := map[string]bool{}
		add := func(p plenty.Proposal) {
			if now.Before(p.ExpiresAt) {
				out = append(out, viewProposal(st, p, now))
				listed[p.ID] = true
			}
		}
		if council == "" {
			for _, p := range set.list {
				add(p)
			}
		} else {
			for _, i := range set.byCouncil[council] {
				add(set.list[i])
			}
		}
		for _, p := range s.engine.pending(st, council, now, listed) {
			add(p)
		}
		return nil
	})
	return out, err
}

func (s *Server) listProposals(c *fiber.Ctx) error {
	council := c.Query("council")
	if council != "" {
		if err := s.councilExists(council); err != nil {
			return err
		}
	}
	set := s.engine.current()
	views, err := s.proposalsOf(set, council)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"proposals": views, "ledger_size": set.size, "computed_at": set.at})
}

// decide finds proposal id among those the hub served (ENOTFOUND when it
// expired or never was; ECONFLICT when it is already agreed) and records
// delegate d's decision on it (usecase.Decide), for the API and the desk.
func (s *Server) decide(ctx context.Context, d plenty.Delegate, id string, accept bool, key usecase.Key) (plenty.Acceptance, error) {
	p, ok := s.engine.lookup(id, s.now())
	if !ok {
		acc, err := s.ledger.Acceptance(ctx, id)
		if err == nil && acc.Agreement != "" {
			return acc, plenty.Errorf(plenty.ECONFLICT, "proposal %s is already agreed as %s", id, acc.Agreement)
		}
		return acc, plenty.Errorf(plenty.ENOTFOUND,
			"proposal %s is not among the proposals the hub serves: it expired or never existed; fetch fresh proposals with GET /api/v1/proposals?council=%s", id, d.Council)
	}
	return usecase.Decide(ctx, s.env(), d, p, accept, key)
}

func (s *Server) acceptProposal(c *fiber.Ctx) error  { return s.decideProposal(c, true) }
func (s *Server) declineProposal(c *fiber.Ctx) error { return s.decideProposal(c, false) }

func (s *Server) decideProposal(c *fiber.Ctx, accept bool) error {
	d, err := s.mandate(c, "", plenty.ScopeAccept)
	if err != nil {
		return err
	}
	acc, err := s.decide(c.UserContext(), d, c.Params("id"), accept, requestKey(c))
	if err != nil {
		return err
	}
	out := fiber.Map{"acceptance": s.viewAcceptance(acc)}
	if acc.Agreement != "" {
		line, err := s.ledger.AgreementLine(c.UserContext(), acc.Agreement)
		if err != nil {
			return err
		}
		out["agreement"] = s.viewAgreement(line)
	}
	return c.JSON(out)
}
