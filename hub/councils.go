package hub

import (
	"encoding/json"
	"slices"

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
	Name     string         `json:"name"`
	Sector   string         `json:"sector"`
	Place    string         `json:"place"`
	Location *locationInput `json:"location" validate:"required"`
	Delegate *firstDelegate `json:"delegate"`
}

type firstDelegate struct {
	Label   string `json:"label"`
	Mandate string `json:"mandate"`
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

// registerCouncil registers a council, issues its first delegate, who
// holds every scope for the longest term, and makes its assembly key. The
// token and the key are shown only here.
func (s *Server) registerCouncil(c *fiber.Ctx) error {
	var in councilInput
	var fe fieldErrors
	if err := s.decodeBody(c, &in, &fe); err != nil {
		return err
	}
	if err := fe.err(); err != nil {
		return err
	}
	r, err := s.newCouncil(in, s.apiRecorder(c))
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

// registration is what registering a council gives: the council, its first
// delegate, and the two secrets, which are empty on an idempotent replay
// (they are not kept, so they cannot be shown again).
type registration struct {
	Council            plenty.Council
	Delegate           plenty.Delegate
	Token, AssemblyKey string
	Replay             bool
}

// newCouncil registers a council from in (the API's and the web form's
// use case). The fold judges the fields.
func (s *Server) newCouncil(in councilInput, rec recordFunc) (registration, error) {
	now := s.now()
	id, first := newID("c_", now), newID("d_", now)
	token, key := newToken(), newAssemblyKey()
	label, mandate := "first delegate", "Registers the council; may post, accept and issue delegates until the assembly issues its own mandates."
	if in.Delegate != nil {
		if in.Delegate.Label != "" {
			label = in.Delegate.Label
		}
		if in.Delegate.Mandate != "" {
			mandate = in.Delegate.Mandate
		}
	}
	data := plenty.CouncilRegistration{ID: id, Name: in.Name, Sector: in.Sector, Place: in.Place,
		Location: in.Location.location(),
		Delegate: plenty.MandateGrant{ID: first, Council: id, Label: label, Mandate: mandate,
			Scopes: plenty.AllScopes, ExpiresAt: now.Add(plenty.MaxMandateTerm)},
	}
	ev, replay, err := rec(plenty.KindCouncilRegistered, plenty.ActorPublic, data,
		plenty.Credential{Holder: plenty.DelegateActor(first), Hash: plenty.HashToken(token)},
		plenty.Credential{Holder: plenty.AssemblyActor(id), Hash: plenty.HashToken(key)})
	if err != nil {
		return registration{}, err
	}
	r := registration{Token: token, AssemblyKey: key, Replay: replay}
	if replay {
		if err := json.Unmarshal(ev.Data, &data); err != nil {
			return registration{}, err
		}
		r.Token, r.AssemblyKey = "", ""
	}
	err = s.read(func(st *plenty.State) error {
		r.Council, _ = st.Council(data.ID)
		r.Delegate, _ = st.Delegate(data.Delegate.ID)
		return nil
	})
	return r, err
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
	Label       string    `json:"label"`
	Mandate     string    `json:"mandate"`
	Scopes      []string  `json:"scopes"`
	CosignAbove Decimal   `json:"cosign_above"`
	ExpiresAt   Timestamp `json:"expires_at"`
}

// authority is who manages a council's mandates in a request: a delegate
// with the delegate scope, or the council's assembly (Delegate nil).
type authority struct {
	Actor    plenty.Actor
	Council  string
	Delegate *plenty.Delegate
}

// manager authenticates a request that manages council's mandates: a
// delegate's token (which must hold the delegate scope) or the council's
// assembly key. A council that does not exist is not found.
func (s *Server) manager(c *fiber.Ctx, council string) (authority, error) {
	if err := s.councilExists(council); err != nil {
		return authority{}, err
	}
	token, err := bearerToken(c, "delegate's or assembly")
	if err != nil {
		return authority{}, err
	}
	var assembly string
	var isAssembly bool
	if err := s.read(func(st *plenty.State) error {
		assembly, isAssembly = st.AssemblyByKey(plenty.HashToken(token))
		return nil
	}); err != nil {
		return authority{}, err
	}
	if isAssembly {
		if assembly != council {
			return authority{}, plenty.Errorf(plenty.EFORBIDDEN, "this assembly key is council %s's, not %s's", assembly, council)
		}
		return authority{Actor: plenty.AssemblyActor(council), Council: council}, nil
	}
	d, err := s.delegateByToken(token)
	if err != nil {
		return authority{}, err
	}
	if d.Council != council {
		return authority{}, plenty.Errorf(plenty.EFORBIDDEN, "delegate %s acts for council %s, not %s", d.ID, d.Council, council)
	}
	if !d.HasScope(plenty.ScopeDelegate) {
		return authority{}, plenty.Errorf(plenty.EFORBIDDEN, "delegate %s's mandate does not include the %q scope", d.ID, plenty.ScopeDelegate)
	}
	return authority{Actor: plenty.DelegateActor(d.ID), Council: council, Delegate: &d}, nil
}

// byDelegate is the authority of a signed-in delegate.
func byDelegate(d plenty.Delegate) authority {
	return authority{Actor: plenty.DelegateActor(d.ID), Council: d.Council, Delegate: &d}
}

// issueDelegate issues a delegate of the council with a written mandate.
func (s *Server) issueDelegate(c *fiber.Ctx) error {
	council := c.Params("id")
	by, err := s.manager(c, council)
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

// grantDelegate issues a delegate of by's council. Without expires_at the
// term runs as long as allowed: 7 days, and never past the issuing
// delegate's own. The fold checks the mandate against its issuer's
// (EFORBIDDEN naming the field and the limit) and its fields (EINVALID).
// The answer carries the new token, except on an idempotent replay.
func (s *Server) grantDelegate(by authority, in delegateInput, fe fieldErrors, rec recordFunc) (delegateView, error) {
	now := s.now()
	expires := now.Add(plenty.MaxMandateTerm)
	if by.Delegate != nil && by.Delegate.ExpiresAt.Before(expires) {
		expires = by.Delegate.ExpiresAt
	}
	if in.ExpiresAt != "" {
		t, f := in.ExpiresAt.parse("expires_at")
		fe.add(f)
		expires = t
	}
	var cosign plenty.Amount
	if in.CosignAbove != "" && string(in.CosignAbove) != "0" {
		// The threshold is in base units of whatever item is accepted.
		a, f := in.CosignAbove.parse("cosign_above", "each", plenty.Count)
		fe.add(f)
		cosign = a
	} else if in.CosignAbove == "" && by.Delegate != nil {
		cosign = by.Delegate.CosignAbove // no weaker than the issuer's
	}
	if err := fe.err(); err != nil {
		return delegateView{}, err
	}
	token := newToken()
	data := plenty.MandateGrant{ID: newID("d_", now), Council: by.Council, Label: in.Label, Mandate: in.Mandate,
		Scopes: orderScopes(in.Scopes), CosignAbove: cosign, ExpiresAt: expires}
	ev, replay, err := rec(plenty.KindDelegateIssued, by.Actor, data,
		plenty.Credential{Holder: plenty.DelegateActor(data.ID), Hash: plenty.HashToken(token)})
	if err != nil {
		return delegateView{}, err
	}
	if replay {
		if err := json.Unmarshal(ev.Data, &data); err != nil {
			return delegateView{}, err
		}
		token = ""
	}
	var d plenty.Delegate
	if err := s.read(func(st *plenty.State) error { d, _ = st.Delegate(data.ID); return nil }); err != nil {
		return delegateView{}, err
	}
	v := s.viewDelegate(d)
	v.Token = token
	return v, nil
}

// orderScopes puts scopes in the order the fold expects, keeping unknown
// ones (which the fold refuses by name) at the end.
func orderScopes(in []string) []string {
	var out []string
	for _, sc := range plenty.AllScopes {
		for _, x := range in {
			if x == sc {
				out = append(out, sc)
			}
		}
	}
	for _, x := range in {
		if !slices.Contains(plenty.AllScopes, x) {
			out = append(out, x)
		}
	}
	return out
}

// recallDelegate recalls a delegate of the council, and every mandate
// issued under it, at once.
func (s *Server) recallDelegate(c *fiber.Ctx) error {
	council, target := c.Params("id"), c.Params("delegate")
	by, err := s.manager(c, council)
	if err != nil {
		return err
	}
	d, err := s.recallFor(by, target, s.apiRecorder(c))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"delegate": d})
}

// recallFor recalls the delegate target of by's council. It returns
// ENOTFOUND when the council has no such delegate, EFORBIDDEN when by may
// not recall it, and ECONFLICT when it was already recalled.
func (s *Server) recallFor(by authority, target string, rec recordFunc) (delegateView, error) {
	if _, _, err := rec(plenty.KindDelegateRecalled, by.Actor,
		plenty.MandateRecall{Council: by.Council, Delegate: target}); err != nil {
		return delegateView{}, err
	}
	var d plenty.Delegate
	if err := s.read(func(st *plenty.State) error { d, _ = st.Delegate(target); return nil }); err != nil {
		return delegateView{}, err
	}
	return s.viewDelegate(d), nil
}

type renewalInput struct {
	ExpiresAt Timestamp `json:"expires_at"`
}

// renewDelegate gives a mandate in force a new end, by the assembly or a
// delegate above it in its chain of issue.
func (s *Server) renewDelegate(c *fiber.Ctx) error {
	council, target := c.Params("id"), c.Params("delegate")
	by, err := s.manager(c, council)
	if err != nil {
		return err
	}
	var in renewalInput
	var fe fieldErrors
	if len(c.Body()) > 0 { // without a body: the longest term allowed
		if err := s.decodeBody(c, &in, &fe); err != nil {
			return err
		}
	}
	expires := s.now().Add(plenty.MaxMandateTerm)
	if in.ExpiresAt != "" {
		t, f := in.ExpiresAt.parse("expires_at")
		fe.add(f)
		expires = t
	}
	if err := fe.err(); err != nil {
		return err
	}
	if _, _, err := s.record(c, plenty.KindDelegateRenewed, by.Actor,
		plenty.MandateRenewal{Council: council, Delegate: target, ExpiresAt: expires}); err != nil {
		return err
	}
	var d plenty.Delegate
	if err := s.read(func(st *plenty.State) error { d, _ = st.Delegate(target); return nil }); err != nil {
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
	key := newAssemblyKey()
	if _, replay, err := s.record(c, plenty.KindAssemblyReplaced, by.Actor, plenty.AssemblyKeyReplaced{Council: council},
		plenty.Credential{Holder: plenty.AssemblyActor(council), Hash: plenty.HashToken(key)}); err != nil {
		return err
	} else if replay {
		return c.JSON(fiber.Map{"assembly": fiber.Map{"council": council}})
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"assembly": fiber.Map{"council": council, "key": key,
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
