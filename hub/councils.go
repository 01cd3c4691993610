package hub

import (
	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/usecase"
)

// delegateView is a delegate as the public sees it: the mandate's text,
// scopes and term, never the token. Token is set only in the answer that
// issues it.
type delegateView struct {
	plenty.Delegate
	Active bool   `json:"active"`
	Token  string `json:"token,omitempty"`
}

func (s *Server) viewDelegate(d plenty.Delegate) delegateView {
	return delegateView{Delegate: d, Active: d.Active(s.now())}
}

// registerCouncil registers a council, issues its first delegate, who
// holds every scope for the longest term, and makes its assembly key. The
// token and the key are shown only here.
func (s *Server) registerCouncil(c *fiber.Ctx) error {
	var in usecase.Council
	if err := decodeBody(c, &in); err != nil {
		return err
	}
	r, err := usecase.RegisterCouncil(c.UserContext(), s.env(), in, requestKey(c))
	if err != nil {
		return err
	}
	view := s.viewDelegate(r.Delegate)
	view.Token = r.Token
	res := fiber.Map{"council": r.Council, "delegate": &view}
	if !r.Replay {
		res["assembly"] = fiber.Map{"key": r.AssemblyKey,
			"note": "Keep this key with the council's assembly: it issues, renews and recalls mandates and replaces itself. It is shown only now."}
	}
	return c.Status(fiber.StatusCreated).JSON(res)
}

func (s *Server) listCouncils(c *fiber.Ctx) error {
	var out []plenty.Council
	s.read(func(st *plenty.State) error { out = st.Councils(); return nil })
	if out == nil {
		out = []plenty.Council{}
	}
	return c.JSON(fiber.Map{"councils": out})
}

// mandateHistory is how many ended mandates a council's record lists
// beside those in force (the API's and its pages): the most recently
// issued. The open data's delegates table holds every one.
const mandateHistory = 50

// getCouncil returns a council's public record: the council and its
// mandates (text, scopes, term), those in force and the mandateHistory
// most recently issued of the ended ones, never a token.
func (s *Server) getCouncil(c *fiber.Ctx) error {
	id := c.Params("id")
	var (
		council plenty.Council
		ok      bool
	)
	s.read(func(st *plenty.State) error {
		council, ok = st.Council(id)
		return nil
	})
	if !ok {
		return plenty.Errorf(plenty.ENOTFOUND, "council %s does not exist", id)
	}
	ds, err := s.ledger.CouncilDelegates(c.UserContext(), id, mandateHistory)
	if err != nil {
		return err
	}
	views := make([]delegateView, len(ds))
	for i, d := range ds {
		views[i] = s.viewDelegate(d)
	}
	return c.JSON(fiber.Map{"council": council, "delegates": views})
}

type accountLineView struct {
	Item      string        `json:"item"`
	Unit      string        `json:"unit"`
	Given     plenty.Amount `json:"given"`
	Received  plenty.Amount `json:"received"`
	Committed plenty.Amount `json:"committed"`
	// Outstanding is committed plus what was agreed, received short and
	// never made good (see plenty.State.Outstanding).
	Outstanding plenty.Amount `json:"outstanding"`
}

func (s *Server) getAccount(c *fiber.Ctx) error {
	id := c.Params("id")
	var (
		ok  bool
		out = []accountLineView{}
	)
	s.read(func(st *plenty.State) error {
		if _, ok = st.Council(id); !ok {
			return nil
		}
		for _, l := range st.Accounts() {
			if l.Council == id {
				it, _ := st.Item(l.Item)
				out = append(out, accountLineView{l.Item, it.Unit, l.Given, l.Received, l.Committed, st.Outstanding(id, l.Item)})
			}
		}
		return nil
	})
	if !ok {
		return plenty.Errorf(plenty.ENOTFOUND, "council %s does not exist", id)
	}
	return c.JSON(fiber.Map{"account": out})
}

// manager authenticates a request that manages council's mandates: a
// delegate's token (which must hold the delegate scope) or the council's
// assembly key. A council that does not exist is not found.
func (s *Server) manager(c *fiber.Ctx, council string) (usecase.Authority, error) {
	if err := s.councilExists(council); err != nil {
		return usecase.Authority{}, err
	}
	token, err := bearerToken(c, "delegate's or assembly")
	if err != nil {
		return usecase.Authority{}, err
	}
	var assembly string
	var isAssembly bool
	if err := s.read(func(st *plenty.State) error {
		assembly, isAssembly = st.AssemblyByKey(plenty.HashToken(token))
		return nil
	}); err != nil {
		return usecase.Authority{}, err
	}
	if isAssembly {
		if assembly != council {
			return usecase.Authority{}, plenty.Errorf(plenty.EFORBIDDEN, "this assembly key is council %s's, not %s's", assembly, council)
		}
		return usecase.ByAssembly(council), nil
	}
	d, err := s.delegateByToken(c.UserContext(), token)
	if err != nil {
		return usecase.Authority{}, err
	}
	if d.Council != council {
		return usecase.Authority{}, plenty.Errorf(plenty.EFORBIDDEN, "delegate %s acts for council %s, not %s", d.ID, d.Council, council)
	}
	if !d.HasScope(plenty.ScopeDelegate) {
		return usecase.Authority{}, plenty.Errorf(plenty.EFORBIDDEN, "delegate %s's mandate does not include the %q scope", d.ID, plenty.ScopeDelegate)
	}
	return usecase.ByDelegate(d), nil
}

// issueDelegate issues a delegate of the council with a written mandate.
func (s *Server) issueDelegate(c *fiber.Ctx) error {
	by, err := s.manager(c, c.Params("id"))
	if err != nil {
		return err
	}
	var in usecase.Mandate
	if err := decodeBody(c, &in); err != nil {
		return err
	}
	is, err := usecase.IssueDelegate(c.UserContext(), s.env(), by, in, requestKey(c))
	if err != nil {
		return err
	}
	v := s.viewDelegate(is.Delegate)
	v.Token = is.Token
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"delegate": v})
}

// recallDelegate recalls a delegate of the council, and every mandate
// issued under it, at once.
func (s *Server) recallDelegate(c *fiber.Ctx) error {
	by, err := s.manager(c, c.Params("id"))
	if err != nil {
		return err
	}
	d, err := usecase.RecallDelegate(c.UserContext(), s.env(), by, c.Params("delegate"), requestKey(c))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"delegate": s.viewDelegate(d)})
}

// renewDelegate gives a mandate in force a new end, by the assembly or a
// delegate above it in its chain of issue; without a body, the longest
// term allowed.
func (s *Server) renewDelegate(c *fiber.Ctx) error {
	by, err := s.manager(c, c.Params("id"))
	if err != nil {
		return err
	}
	var in usecase.Renewal
	if len(c.Body()) > 0 {
		if err := decodeBody(c, &in); err != nil {
			return err
		}
	}
	d, err := usecase.RenewDelegate(c.UserContext(), s.env(), by, c.Params("delegate"), in, requestKey(c))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"delegate": s.viewDelegate(d)})
}

// replaceAssemblyKey gives the council's assembly a new key; the old one
// stops working at once. Only the assembly key itself may do it.
func (s *Server) replaceAssemblyKey(c *fiber.Ctx) error {
	council := c.Params("id")
	by, err := s.manager(c, council)
	if err != nil {
		return err
	}
	assembly, err := usecase.ReplaceAssemblyKey(c.UserContext(), s.env(), by, requestKey(c))
	if err != nil {
		return err
	}
	if assembly == "" { // an idempotent replay: the key was shown then
		return c.JSON(fiber.Map{"assembly": fiber.Map{"council": council}})
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"assembly": fiber.Map{"council": council, "key": assembly,
		"note": "The previous key no longer works. Keep this one with the assembly; it is shown only now."}})
}

func (s *Server) councilExists(id string) error {
	var ok bool
	if err := s.read(func(st *plenty.State) error { _, ok = st.Council(id); return nil }); err != nil {
		return err
	}
	if !ok {
		return plenty.Errorf(plenty.ENOTFOUND, "council %s does not exist", id)
	}
	return nil
}
