package plenty

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Mandates: nobody captures a council. The fold enforces, for every event,
// that:
//
//   - a council's authority starts at its assembly: registration creates
//     the assembly key (an event credential), which can only issue, renew
//     and recall mandates and replace itself; a council whose mandates all
//     lapsed issues new ones with it;
//   - a mandate issued by a delegate never exceeds the issuer's: its scopes
//     are a subset of the issuer's, its term ends no later, its co-sign
//     threshold is no weaker (a threshold of 0 means none, the weakest);
//   - a recall ends the mandate named and every mandate issued under it, at
//     once, and only the assembly or a delegate above it in its chain of
//     issue (or the delegate itself) may recall it;
//   - no delegate renews itself: the assembly or a delegate above it
//     renews, and never past the end of any mandate above it;
//   - a co-signature counts only from a delegate outside the first one's
//     chain of issue (see lifecycle.go).

// Text limits of councils and mandates.
const (
	MaxNameLen    = 200
	MaxSectorLen  = 100
	MaxLabelLen   = 100
	MaxMandateLen = 4000
)

// Issuers of mandates that are not delegates, as Delegate.IssuedBy shows.
const (
	IssuedAtRegistration = "registration"
	IssuedByAssembly     = "assembly"
)

func (s *State) registerCouncil(ev Event, d CouncilRegistration) error {
	if ev.Actor != ActorPublic && ev.Actor != ActorHub {
		return Errorf(EFORBIDDEN, "%s may not register councils; registration is open to anyone without a credential", ev.Actor)
	}
	var c checks
	if d.ID == "" {
		c.add("id", "is required")
	}
	c.text("name", d.Name, MaxNameLen, true)
	c.text("sector", d.Sector, MaxSectorLen, true)
	c.text("place", d.Place, MaxNameLen, true)
	c.location("location", d.Location)
	if d.Delegate.Council != d.ID {
		c.addf("delegate.council", "must be the council's id %q", d.ID)
	}
	if !slices.Equal(d.Delegate.Scopes, AllScopes) {
		c.add("delegate.scopes", "must be every scope (post, accept, delegate): the first delegate registers the council")
	}
	s.checkMandateFields(&c, "delegate.", d.Delegate, ev.Time)
	if err := c.err(); err != nil {
		return err
	}
	if s.councils[d.ID] != nil {
		return Errorf(ECONFLICT, "council id %q is taken", d.ID)
	}
	if err := s.checkNewDelegateID(d.Delegate.ID); err != nil {
		return err
	}
	council := &Council{ID: d.ID, Name: d.Name, Sector: d.Sector, Place: d.Place, Location: d.Location, RegisteredAt: ev.Time}
	if err := s.claimCouncilName(council); err != nil {
		return err
	}
	s.councils[d.ID] = council
	s.touch("council", d.ID)
	s.addDelegate(ev, d.Delegate, IssuedAtRegistration)
	return nil
}

// checkMandateFields checks a mandate's own fields: texts, scopes, the
// threshold and a term of at most MaxMandateTerm from the event.
func (s *State) checkMandateFields(c *checks, prefix string, g MandateGrant, now time.Time) {
	if g.ID == "" {
		c.add(prefix+"id", "is required")
	}
	c.text(prefix+"label", g.Label, MaxLabelLen, true)
	c.text(prefix+"mandate", g.Mandate, MaxMandateLen, true)
	checkScopes(c, prefix+"scopes", g.Scopes)
	if g.CosignAbove < 0 || g.CosignAbove > MaxAmount {
		c.add(prefix+"cosign_above", "must be 0 (no co-signature needed) or a positive quantity")
	}
	c.expiry(prefix+"expires_at", g.ExpiresAt, now, MaxMandateTerm, "7 days")
}

// checkScopes checks that scopes are distinct known scopes in the order of
// AllScopes (so that equal mandates have equal bodies), naming the first
// one at fault.
func checkScopes(c *checks, field string, scopes []string) {
	if len(scopes) == 0 {
		c.add(field, "must name at least one of post, accept, delegate")
		return
	}
	last := -1
	for i, sc := range scopes {
		at := slices.Index(AllScopes, sc)
		switch {
		case at < 0:
			c.addf(fmt.Sprintf("%s[%d]", field, i), "must be one of post, accept, delegate, not %q", sc)
			return
		case at == last:
			c.addf(fmt.Sprintf("%s[%d]", field, i), "names %q twice", sc)
			return
		case at < last:
			c.add(field, "must be listed in the order post, accept, delegate")
			return
		}
		last = at
	}
}

func (s *State) checkNewDelegateID(id string) error {
	if id == IssuedByAssembly || id == IssuedAtRegistration {
		// Delegate.IssuedBy names these issuers: a delegate of that id
		// would stand in the chain of issue of every mandate they issued.
		return Errorf(EINVALID, "delegate id %q is reserved: it names an issuer that is not a delegate", id)
	}
	if s.delegates[id] != nil || s.Gone("delegate", id) {
		return Errorf(ECONFLICT, "delegate id %q is taken", id)
	}
	return nil
}

func (s *State) issueDelegate(ev Event, g MandateGrant) error {
	if s.councils[g.Council] == nil {
		return Errorf(ENOTFOUND, "council %s does not exist", g.Council)
	}
	if err := s.authorize(ev, g.Council, ScopeDelegate); err != nil {
		return err
	}
	var c checks
	s.checkMandateFields(&c, "", g, ev.Time)
	if err := c.err(); err != nil {
		return err
	}
	issuer := IssuedByAssembly
	if by := s.actorDelegate(ev); by != nil {
		if err := withinIssuer(g, by); err != nil {
			return err
		}
		issuer = by.ID
	}
	if err := s.checkNewDelegateID(g.ID); err != nil {
		return err
	}
	s.addDelegate(ev, g, issuer)
	return nil
}

// withinIssuer refuses a mandate that exceeds its issuing delegate's: an
// EINVALID (422) naming the field and the issuer's limit.
func withinIssuer(g MandateGrant, by *Delegate) error {
	for _, sc := range g.Scopes {
		if !by.HasScope(sc) {
			return &Error{Code: EINVALID, Message: "delegate " + by.ID + " may not grant the \"" + sc + "\" scope, which its own mandate lacks",
				Fields: []FieldError{{Field: "scopes", Message: "must be among the issuer's own scopes: " + strings.Join(by.Scopes, ", ")}}}
		}
	}
	if g.ExpiresAt.After(by.ExpiresAt) {
		return &Error{Code: EINVALID, Message: "a mandate may not outlast its issuer's, which ends at " + by.ExpiresAt.Format(time.RFC3339),
			Fields: []FieldError{{Field: "expires_at", Message: "must be no later than the issuer's own term, " + by.ExpiresAt.Format(time.RFC3339)}}}
	}
	if by.CosignAbove > 0 && (g.CosignAbove == 0 || g.CosignAbove > by.CosignAbove) {
		return &Error{Code: EINVALID, Message: "a mandate's co-sign threshold may not be weaker than its issuer's, " + by.CosignAbove.String(),
			Fields: []FieldError{{Field: "cosign_above", Message: "must be greater than 0 and at most the issuer's own threshold, " + by.CosignAbove.String()}}}
	}
	return nil
}

// actorDelegate returns the delegate an event's actor names, or nil.
func (s *State) actorDelegate(ev Event) *Delegate {
	id, ok := strings.CutPrefix(ev.Actor, "delegate:")
	if !ok {
		return nil
	}
	return s.delegates[id]
}

func (s *State) addDelegate(ev Event, g MandateGrant, issuer string) {
	d := &Delegate{ID: g.ID, Council: g.Council, Label: g.Label, Mandate: g.Mandate,
		Scopes: append([]string(nil), g.Scopes...), CosignAbove: g.CosignAbove,
		IssuedBy: issuer, IssuedAt: ev.Time, ExpiresAt: g.ExpiresAt}
	s.delegates[d.ID] = d
	if s.delegates[issuer] != nil {
		s.issued[issuer] = append(s.issued[issuer], d.ID)
	}
	s.seatIssued(d)
	s.touch("delegate", d.ID)
}

// above reports whether delegate a is in the chain of issue above d: it
// issued d, or issued the one that did, and so on.
func (s *State) above(a string, d *Delegate) bool {
	for x := s.delegates[d.IssuedBy]; x != nil; x = s.delegates[x.IssuedBy] {
		if x.ID == a {
			return true
		}
	}
	return false
}

// inChain reports whether a and b are in one chain of issue: the same
// delegate, or one above the other.
func (s *State) inChain(a, b *Delegate) bool {
	return a.ID == b.ID || s.above(a.ID, b) || s.above(b.ID, a)
}

// InChain reports whether delegates a and b are in one chain of issue (one
// issued the other, directly or through others, or they are the same): a
// co-signature between them does not count.
func (s *State) InChain(a, b string) bool {
	x, y := s.delegates[a], s.delegates[b]
	return x != nil && y != nil && s.inChain(x, y)
}

// mayManage checks that the actor may recall or renew mandate d: the
// council's assembly, or a delegate with the delegate scope above d in its
// chain of issue (for a recall, d itself too).
func (s *State) mayManage(ev Event, d *Delegate, self bool) error {
	if err := s.authorize(ev, d.Council, ScopeDelegate); err != nil {
		return err
	}
	by := s.actorDelegate(ev)
	if by == nil || s.above(by.ID, d) || (self && by.ID == d.ID) {
		return nil
	}
	if by.ID == d.ID {
		return Errorf(EFORBIDDEN, "no delegate renews its own mandate: the assembly or a delegate above it in its chain of issue does")
	}
	return Errorf(EFORBIDDEN, "delegate %s did not issue %s, directly or through others; only the assembly or a delegate above it in its chain of issue may do this", by.ID, d.ID)
}

func (s *State) recallDelegate(ev Event, r MandateRecall) error {
	d := s.delegates[r.Delegate]
	if why, gone := s.goneMandate(r.Council, r.Delegate); gone {
		if err := s.authorize(ev, r.Council, ScopeDelegate); err != nil {
			return err
		}
		if why == EndedByRecall {
			return Errorf(ECONFLICT, "delegate %s was already recalled", r.Delegate)
		}
		return Errorf(ECONFLICT, "delegate %s's mandate already ran out", r.Delegate)
	}
	if d == nil || d.Council != r.Council {
		return Errorf(ENOTFOUND, "council %s has no delegate %s", r.Council, r.Delegate)
	}
	if err := s.mayManage(ev, d, true); err != nil {
		return err
	}
	if d.RecalledAt != nil {
		return Errorf(ECONFLICT, "delegate %s was already recalled", d.ID)
	}
	if !d.Active(ev.Time) {
		return Errorf(ECONFLICT, "delegate %s's mandate already ran out at %s", d.ID, d.ExpiresAt.Format(time.RFC3339))
	}
	s.recallTree(ev, d, d.ID)
	up := s.delegates[d.IssuedBy]
	s.leaveSubtree(d)
	s.leaveUp(up)
	return nil
}

// recallTree ends d and every mandate issued under it that is still in
// force.
func (s *State) recallTree(ev Event, d *Delegate, of string) {
	if d.RecalledAt == nil && !s.mandateEnded[d.ID] {
		t := ev.Time
		d.RecalledAt, d.RecalledBy, d.RecallOf = &t, ev.Actor, of
		s.touch("delegate", d.ID)
	}
	for _, id := range s.issued[d.ID] {
		s.recallTree(ev, s.delegates[id], of)
	}
}

func (s *State) renewDelegate(ev Event, r MandateRenewal) error {
	d := s.delegates[r.Delegate]
	if _, gone := s.goneMandate(r.Council, r.Delegate); gone {
		if err := s.authorize(ev, r.Council, ScopeDelegate); err != nil {
			return err
		}
		return Errorf(ECONFLICT, "delegate %s's mandate is not in force; issue a new one", r.Delegate)
	}
	if d == nil || d.Council != r.Council {
		return Errorf(ENOTFOUND, "council %s has no delegate %s", r.Council, r.Delegate)
	}
	if err := s.mayManage(ev, d, false); err != nil {
		return err
	}
	if !d.Active(ev.Time) {
		return Errorf(ECONFLICT, "delegate %s's mandate is not in force; issue a new one", d.ID)
	}
	var c checks
	c.expiry("expires_at", r.ExpiresAt, ev.Time, MaxMandateTerm, "7 days")
	if err := c.err(); err != nil {
		return err
	}
	for x := s.delegates[d.IssuedBy]; x != nil; x = s.delegates[x.IssuedBy] {
		if r.ExpiresAt.After(x.ExpiresAt) {
			return &Error{Code: EINVALID, Message: "a mandate may not outlast " + x.ID + "'s, above it, which ends at " + x.ExpiresAt.Format(time.RFC3339),
				Fields: []FieldError{{Field: "expires_at", Message: "must be no later than " + x.ExpiresAt.Format(time.RFC3339) + ", the end of mandate " + x.ID + " above it"}}}
		}
	}
	if r.ExpiresAt.Before(d.ExpiresAt) {
		// Shortening may leave mandates issued under it outliving it:
		// they end with it.
		s.shorten(d, r.ExpiresAt)
	}
	d.ExpiresAt = r.ExpiresAt
	s.touch("delegate", d.ID)
	return nil
}

func (s *State) shorten(d *Delegate, end time.Time) {
	for _, id := range s.issued[d.ID] {
		x := s.delegates[id]
		if x.ExpiresAt.After(end) {
			x.ExpiresAt = end
			s.touch("delegate", x.ID)
		}
		s.shorten(x, end)
	}
}

func (s *State) replaceAssemblyKey(ev Event, r AssemblyKeyReplaced) error {
	if s.councils[r.Council] == nil {
		return Errorf(ENOTFOUND, "council %s does not exist", r.Council)
	}
	if ev.Actor != AssemblyActor(r.Council) {
		return Errorf(EFORBIDDEN, "only the assembly of council %s replaces its key", r.Council)
	}
	return nil
}

// checkCredentials checks the credentials an event carries: each a SHA-256
// in hex, not in use, held by an actor the event creates.
func (s *State) checkCredentials(ev Event) error {
	if len(ev.Credentials) == 0 {
		return nil
	}
	allowed := s.credentialHolders(ev)
	seen := map[string]bool{}
	for _, c := range ev.Credentials {
		b, err := hex.DecodeString(c.Hash)
		switch {
		case err != nil || len(b) != 32 || strings.ToLower(c.Hash) != c.Hash:
			return Errorf(EINVALID, "a credential must be a SHA-256 in lower-case hex")
		case s.credentials[c.Hash] != "" || seen[c.Hash]:
			return Errorf(ECONFLICT, "a credential is already in use; make a new secret")
		case !slices.Contains(allowed, c.Holder):
			return Errorf(EINVALID, "a %s event grants no credential to %s", ev.Kind, c.Holder)
		}
		seen[c.Hash] = true
	}
	return nil
}

// credentialHolders names the actors an event may grant credentials to,
// read from its data without judging it (the fold does that).
func (s *State) credentialHolders(ev Event) []Actor {
	switch ev.Kind {
	case KindCouncilRegistered:
		var d CouncilRegistration
		if decodeData(ev, &d) == nil {
			return []Actor{DelegateActor(d.Delegate.ID), AssemblyActor(d.ID)}
		}
	case KindDelegateIssued:
		var d MandateGrant
		if decodeData(ev, &d) == nil {
			return []Actor{DelegateActor(d.ID)}
		}
	case KindVolunteerRegistered:
		var d VolunteerRegistration
		if decodeData(ev, &d) == nil {
			return []Actor{VolunteerActor(d.ID)}
		}
	case KindAssemblyReplaced:
		var d AssemblyKeyReplaced
		if decodeData(ev, &d) == nil {
			return []Actor{AssemblyActor(d.Council)}
		}
	}
	return nil
}

// grantCredentials records an applied event's credentials; a new assembly
// key replaces the old one.
func (s *State) grantCredentials(ev Event) {
	for _, c := range ev.Credentials {
		s.credentials[c.Hash] = c.Holder
		if council, ok := strings.CutPrefix(c.Holder, "assembly:"); ok {
			delete(s.credentials, s.assemblyKeys[council])
			s.assemblyKeys[council] = c.Hash
		}
		if id, ok := strings.CutPrefix(c.Holder, "delegate:"); ok && s.delegates[id] != nil {
			s.delegates[id].TokenHash = c.Hash
		}
		if id, ok := strings.CutPrefix(c.Holder, "volunteer:"); ok && s.volunteers[id] != nil {
			s.volunteers[id].TokenHash = c.Hash
		}
	}
}

// AssemblyByKey returns the council whose assembly key hashes to hash.
func (s *State) AssemblyByKey(hash string) (council string, ok bool) {
	return strings.CutPrefix(s.credentials[hash], "assembly:")
}

// HasAssemblyKey reports whether the council's assembly key is known to
// this state (it is not in the open data).
func (s *State) HasAssemblyKey(council string) bool { return s.assemblyKeys[council] != "" }

// CheckMandates checks the mandate invariants over the whole state: no
// mandate issued by a delegate outranks its issuer (scopes, threshold),
// outlives it, or stays in force after it was recalled. It returns an
// EINTERNAL error naming the first mandate that breaks them, by id.
func (s *State) CheckMandates() error {
	for _, id := range sortedKeys(s.delegates) {
		d := s.delegates[id]
		by := s.delegates[d.IssuedBy]
		if by == nil {
			continue
		}
		switch {
		case d.ExpiresAt.After(by.ExpiresAt):
			return Errorf(EINTERNAL, "mandate %s ends at %s, after its issuer %s's", id, d.ExpiresAt.Format(time.RFC3339), by.ID)
		case by.RecalledAt != nil && (d.RecalledAt == nil || d.RecalledAt.After(*by.RecalledAt)) && !s.mandateEnded[id]:
			return Errorf(EINTERNAL, "mandate %s outlived the recall of its issuer %s", id, by.ID)
		case by.CosignAbove > 0 && (d.CosignAbove == 0 || d.CosignAbove > by.CosignAbove):
			return Errorf(EINTERNAL, "mandate %s's co-sign threshold is weaker than its issuer %s's", id, by.ID)
		}
		for _, sc := range d.Scopes {
			if !by.HasScope(sc) {
				return Errorf(EINTERNAL, "mandate %s holds the %q scope its issuer %s lacks", id, sc, by.ID)
			}
		}
	}
	return nil
}
