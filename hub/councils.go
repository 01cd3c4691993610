package hub

import (
	"encoding/json"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
)

type locationInput struct {
	Lat *float64 `json:"lat" validate:"required,gte=-90,lte=90"`
	Lon *float64 `json:"lon" validate:"required,gte=-180,lte=180"`
}

func (l *locationInput) location() plenty.Location {
	if l == nil || l.Lat == nil || l.Lon == nil {
		return plenty.Location{} // refused by the struct tags
	}
	return plenty.Location{Lat: *l.Lat, Lon: *l.Lon}
}

type councilInput struct {
	Name     string         `json:"name" validate:"required,text,max=200"`
	Sector   string         `json:"sector" validate:"required,text,max=100"`
	Place    string         `json:"place" validate:"required,text,max=200"`
	Location *locationInput `json:"location" validate:"required"`
	Delegate *firstDelegate `json:"delegate"`
}

type firstDelegate struct {
	Label   string `json:"label" validate:"omitempty,text,max=100"`
	Mandate string `json:"mandate" validate:"omitempty,text,max=4000"`
}

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

// registerCouncil registers a council and issues its first delegate, who
// holds every scope for the longest term. The token is shown only here.
func (s *Server) registerCouncil(c *fiber.Ctx) error {
	var in councilInput
	var fe fieldErrors
	if err := s.decodeBody(c, &in, &fe); err != nil {
		return err
	}
	if err := fe.err(); err != nil {
		return err
	}
	now := s.now()
	id := newID("c_", now)
	token := newToken()
	label, mandate := "first delegate", "Registers the council; may post, accept and issue delegates until the assembly issues its own mandates."
	if in.Delegate != nil {
		if in.Delegate.Label != "" {
			label = in.Delegate.Label
		}
		if in.Delegate.Mandate != "" {
			mandate = in.Delegate.Mandate
		}
	}
	data := plenty.CouncilRegistered{
		Council: plenty.Council{ID: id, Name: in.Name, Sector: in.Sector, Place: in.Place,
			Location: in.Location.location(), RegisteredAt: now},
		Delegate: plenty.DelegateGrant{
			Delegate: plenty.Delegate{ID: newID("d_", now), Council: id, Label: label, Mandate: mandate,
				Scopes: plenty.AllScopes, IssuedAt: now, ExpiresAt: now.Add(plenty.MaxMandateTerm)},
			TokenHash: plenty.HashToken(token),
		},
	}
	ev, replay, err := s.record(c, plenty.KindCouncilRegistered, plenty.ActorPublic, data)
	if err != nil {
		return err
	}
	if replay {
		// The first answer carried the token; it is not kept, so a
		// replay shows the same council and delegate without it.
		if err := json.Unmarshal(ev.Data, &data); err != nil {
			return err
		}
		token = ""
	}
	d := s.viewDelegate(data.Delegate.Delegate)
	d.Token = token
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"council": data.Council, "delegate": d})
}

func (s *Server) listCouncils(c *fiber.Ctx) error {
	var out []plenty.Council
	s.read(func(st *plenty.State) error { out = st.Councils(); return nil })
	if out == nil {
		out = []plenty.Council{}
	}
	return c.JSON(fiber.Map{"councils": out})
}

// getCouncil returns a council's public record: the council and every
// mandate it issued (text, scopes, term), never a token.
func (s *Server) getCouncil(c *fiber.Ctx) error {
	id := c.Params("id")
	var (
		council plenty.Council
		ok      bool
		ds      []plenty.Delegate
	)
	s.read(func(st *plenty.State) error {
		council, ok = st.Council(id)
		ds = st.CouncilDelegates(id)
		return nil
	})
	if !ok {
		return plenty.Errorf(plenty.ENOTFOUND, "council %s does not exist", id)
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

type delegateInput struct {
	Label       string    `json:"label" validate:"required,text,max=100"`
	Mandate     string    `json:"mandate" validate:"required,text,max=4000"`
	Scopes      []string  `json:"scopes" validate:"required,min=1,max=3,unique,dive,oneof=post accept delegate"`
	CosignAbove Decimal   `json:"cosign_above"`
	ExpiresAt   Timestamp `json:"expires_at"`
}

// issueDelegate issues a delegate of the council with a written mandate.
func (s *Server) issueDelegate(c *fiber.Ctx) error {
	council := c.Params("id")
	if err := s.councilExists(council); err != nil {
		return err
	}
	by, err := s.mandate(c, council, plenty.ScopeDelegate)
	if err != nil {
		return err
	}
	var in delegateInput
	var fe fieldErrors
	if err := s.decodeBody(c, &in, &fe); err != nil {
		return err
	}
	d, err := s.grantDelegate(by, in, fe, s.apiRecorder(c))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"delegate": d})
}

// grantDelegate issues a delegate of by's council, by holding the delegate
// scope (the caller checks it). by may grant only scopes it holds
// (EFORBIDDEN otherwise); the term runs at most 7 days. fe holds the
// failures of in's struct tags; any failure is EINVALID naming the fields.
// The answer carries the new token, except on an idempotent replay.
func (s *Server) grantDelegate(by plenty.Delegate, in delegateInput, fe fieldErrors, rec recordFunc) (delegateView, error) {
	now := s.now()
	expires := now.Add(plenty.MaxMandateTerm)
	if in.ExpiresAt != "" {
		t, f := in.ExpiresAt.parse("expires_at")
		fe.add(f)
		switch {
		case f != nil:
		case !t.After(now):
			fe.addf("expires_at", "must be in the future")
		case t.Sub(now) > plenty.MaxMandateTerm:
			fe.addf("expires_at", "must be at most 7 days from now (%s)", now.Add(plenty.MaxMandateTerm).Format(time.RFC3339))
		default:
			expires = t
		}
	}
	var cosign plenty.Amount
	if in.CosignAbove != "" {
		// The threshold is in base units of whatever item is accepted.
		raw := string(in.CosignAbove)
		if raw == "0" {
			cosign = 0
		} else if a, f := in.CosignAbove.parse("cosign_above", "each", plenty.Count); f != nil {
			fe.add(f)
		} else {
			cosign = a
		}
	}
	if err := fe.err(); err != nil {
		return delegateView{}, err
	}
	for _, sc := range in.Scopes {
		if !by.HasScope(sc) {
			return delegateView{}, plenty.Errorf(plenty.EFORBIDDEN, "delegate %s may not grant the %q scope, which its own mandate lacks", by.ID, sc)
		}
	}
	token := newToken()
	data := plenty.DelegateGrant{
		Delegate: plenty.Delegate{ID: newID("d_", now), Council: by.Council, Label: in.Label, Mandate: in.Mandate,
			Scopes: orderScopes(in.Scopes), CosignAbove: cosign, IssuedBy: by.ID, IssuedAt: now, ExpiresAt: expires},
		TokenHash: plenty.HashToken(token),
	}
	ev, replay, err := rec(plenty.KindDelegateIssued, plenty.DelegateActor(by.ID), data)
	if err != nil {
		return delegateView{}, err
	}
	if replay {
		if err := json.Unmarshal(ev.Data, &data); err != nil {
			return delegateView{}, err
		}
		token = ""
	}
	d := s.viewDelegate(data.Delegate)
	d.Token = token
	return d, nil
}

func orderScopes(in []string) []string {
	var out []string
	for _, sc := range plenty.AllScopes {
		for _, x := range in {
			if x == sc {
				out = append(out, sc)
			}
		}
	}
	return out
}

// recallDelegate recalls a delegate of the council at once.
func (s *Server) recallDelegate(c *fiber.Ctx) error {
	council, target := c.Params("id"), c.Params("delegate")
	if err := s.councilExists(council); err != nil {
		return err
	}
	by, err := s.mandate(c, council, plenty.ScopeDelegate)
	if err != nil {
		return err
	}
	d, err := s.recallFor(by, target, s.apiRecorder(c))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"delegate": d})
}

// recallFor recalls the delegate target of by's council, by holding the
// delegate scope (the caller checks it). It returns ENOTFOUND when the
// council has no such delegate, and the ledger's ECONFLICT when it was
// already recalled.
func (s *Server) recallFor(by plenty.Delegate, target string, rec recordFunc) (delegateView, error) {
	var d plenty.Delegate
	var ok bool
	s.read(func(st *plenty.State) error { d, ok = st.Delegate(target); return nil })
	if !ok || d.Council != by.Council {
		return delegateView{}, plenty.Errorf(plenty.ENOTFOUND, "council %s has no delegate %s", by.Council, target)
	}
	if _, _, err := rec(plenty.KindDelegateRecalled, plenty.DelegateActor(by.ID),
		plenty.DelegateRecalled{Council: by.Council, Delegate: target}); err != nil {
		return delegateView{}, err
	}
	s.read(func(st *plenty.State) error { d, _ = st.Delegate(target); return nil })
	return s.viewDelegate(d), nil
}

func (s *Server) councilExists(id string) error {
	var ok bool
	s.read(func(st *plenty.State) error { _, ok = st.Council(id); return nil })
	if !ok {
		return plenty.Errorf(plenty.ENOTFOUND, "council %s does not exist", id)
	}
	return nil
}
