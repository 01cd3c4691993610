package plenty

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// State is the fold of the ledger's events: the current councils,
// delegates, items, offers, needs, agreements, transfers and accounts. It is
// pure computation, so the ledger, the verifier and anyone holding the open
// data derive the same projections from the same events.
//
// Apply refuses an event that does not follow from the state (a delegate
// acting outside its mandate, a withdrawal of what is not open, a gap in
// seq); a refused event leaves the state unchanged. State is not safe for
// concurrent use.
type State struct {
	size     int64
	lastTime time.Time

	councils   map[string]*Council
	delegates  map[string]*Delegate
	items      map[string]*Item
	offers     map[string]*Offer
	needs      map[string]*Need
	agreements map[string]*Agreement
	transfers  map[string]*Transfer

	// The exchange lifecycle (lifecycle.go, delivery.go).
	acceptances   map[string]*Acceptance // proposal id →
	received      map[string]Amount      // agreement id → received, corrections included
	volunteers    map[string]*Volunteer
	handles       map[string]string // lower-cased handle → volunteer id
	tasks         map[string]*Task
	mandateEnded  map[string]bool     // delegate id → mandate.expired recorded
	closedPairs   map[string]bool     // pairKey(offer, need) → declined, or its agreement cancelled; live postings only
	pairsOf       map[string][]string // "o:" or "n:" and a posting id → its keys in closedPairs
	acceptancesOf map[string][]string // "o:" or "n:" and a posting id → its acceptances without an agreement
	terms         Terms               // the hub's time limits in force (sunset.go)
	termsSet      bool
	termsSince    []termsSince // every terms.set, in order: what governs an agreement or a claim

	// Capture resistance (mandate.go, draw.go).
	credentials  map[string]Actor      // credential hash → holder; private, never in a body
	assemblyKeys map[string]string     // council → hash of its assembly key
	issued       map[string][]string   // delegate id → the mandates it issued still in the state
	seats        map[seat]*seatHistory // what the tenure figures read (mandate_ended.go)
	tenures      tenures
	councilNames map[string]string // folded place and name → council id
	closing      []string          // open tasks whose lottery window has not closed
	deadlines    *deadlines        // when each entity runs out, for NextDeadline (deadline.go)

	// Postings that closed and left the live maps (closed.go).
	gone        goneSet // id's hash → index in goneAs (closed.go)
	goneAs      []goneAs
	goneIndex   map[goneAs]uint32
	holds       map[string]int // posting id → its active agreements
	receipts    map[string]int // need id → its receipts still open to correction
	needsPosted int64          // every need ever posted (figures)
	closedDocs  *closedDocs    // left, not yet written by the store; not in snapshots
	index       *postingIndex  // live posting and task ids, sorted (listing.go)

	// Agreements that finished and left the live maps (retire.go).
	finals      []finalDue          // receipts in the order they turn final
	lingering   map[string]bool     // agreement id → finished, its task still on its way
	corrections map[string][]string // agreement id → its corrections, while open to them
	settled     map[string]Amount   // "o:" or "n:" and a live posting's id → what its retired agreements hold of it
	formed      []string            // live agreements in the order they formed, some retired
	needGot     map[string]Amount   // need id → received under it, corrections included
	needMetAt   map[string]time.Time
	tally       tally

	// The Merkle tree over every applied body (tree.go).
	tree       Tree
	lastHashes []tlog.Hash

	onChange func(Change)
}

// Change names one projected entity that an event created or changed.
// Kind is one of "council", "delegate", "item", "offer", "need",
// "agreement", "transfer", "acceptance", "task", "volunteer".
type Change struct{ Kind, ID string }

// OnChange registers fn to be called for every entity an applied event
// creates or changes, so that a store can persist just those.
func (s *State) OnChange(fn func(Change)) { s.onChange = fn }

func (s *State) touch(kind, id string) {
	s.deadlines.touched(Change{kind, id})
	if s.onChange != nil {
		s.onChange(Change{kind, id})
	}
}

// live returns the live entity of kind id, nil when there is none (or the
// kind is unknown).
func (s *State) live(kind, id string) any {
	switch kind {
	case "council":
		return some(s.councils[id])
	case "delegate":
		return some(s.delegates[id])
	case "item":
		return some(s.items[id])
	case "offer":
		return some(s.offers[id])
	case "need":
		return some(s.needs[id])
	case "agreement":
		return some(s.agreements[id])
	case "transfer":
		return some(s.transfers[id])
	case "acceptance":
		return some(s.acceptances[id])
	case "task":
		return some(s.tasks[id])
	case "volunteer":
		return some(s.volunteers[id])
	}
	return nil
}

// some returns p as an interface, nil (not a typed nil) when p is nil.
func some[T any](p *T) any {
	if p == nil {
		return nil
	}
	return p
}

// held returns p, the live entity of kind id, or when there is none the
// one that left the state and waits for the store (closedDocs), or nil.
func held[T any](s *State, p *T, kind, id string) *T {
	if p == nil {
		p, _ = s.closedDocs.get(Change{kind, id}).(*T)
	}
	return p
}

// Doc returns the JSON document of one entity, as projections store it:
// live, or left the state but not yet dropped by ForgetClosed.
func (s *State) Doc(c Change) (json.RawMessage, bool) {
	v := s.live(c.Kind, c.ID)
	if v == nil {
		v = s.closedDocs.get(c)
	}
	if v == nil {
		return nil, false
	}
	doc, err := CanonicalJSON(v)
	if err != nil {
		return nil, false
	}
	return doc, true
}

// Entities lists every entity of the state, ordered by kind and id (the
// projections a full rebuild writes), with the postings that left the
// state but that ForgetClosed has not dropped: with OnChange set and
// ForgetClosed never called, every entity the events made.
func (s *State) Entities() []Change {
	var out []Change
	closed := map[string][]string{}
	for c := range s.closedDocs.at {
		closed[c.Kind] = append(closed[c.Kind], c.ID)
	}
	add := func(kind string, ids []string) {
		ids = append(ids, closed[kind]...)
		sort.Strings(ids)
		for _, id := range ids {
			out = append(out, Change{kind, id})
		}
	}
	add("acceptance", keys(s.acceptances))
	add("agreement", keys(s.agreements))
	add("council", keys(s.councils))
	add("delegate", keys(s.delegates))
	add("item", keys(s.items))
	add("need", keys(s.needs))
	add("offer", keys(s.offers))
	add("task", keys(s.tasks))
	add("transfer", keys(s.transfers))
	add("volunteer", keys(s.volunteers))
	return out
}

func keys[T any](m map[string]*T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// NewState returns the state of an empty ledger.
func NewState() *State {
	return &State{
		councils:   map[string]*Council{},
		delegates:  map[string]*Delegate{},
		items:      map[string]*Item{},
		offers:     map[string]*Offer{},
		needs:      map[string]*Need{},
		agreements: map[string]*Agreement{},
		transfers:  map[string]*Transfer{},

		acceptances:   map[string]*Acceptance{},
		received:      map[string]Amount{},
		volunteers:    map[string]*Volunteer{},
		handles:       map[string]string{},
		tasks:         map[string]*Task{},
		mandateEnded:  map[string]bool{},
		closedPairs:   map[string]bool{},
		pairsOf:       map[string][]string{},
		acceptancesOf: map[string][]string{},

		credentials:  map[string]Actor{},
		assemblyKeys: map[string]string{},
		issued:       map[string][]string{},
		seats:        map[seat]*seatHistory{},
		councilNames: map[string]string{},
		deadlines:    &deadlines{},

		goneIndex:  map[goneAs]uint32{},
		holds:      map[string]int{},
		receipts:   map[string]int{},
		closedDocs: &closedDocs{},
		index:      &postingIndex{},

		lingering:   map[string]bool{},
		corrections: map[string][]string{},
		settled:     map[string]Amount{},
		needGot:     map[string]Amount{},
		needMetAt:   map[string]time.Time{},
		tally:       newTally(),
	}
}

// Size is the number of events applied.
func (s *State) Size() int64 { return s.size }

// LastTime is the time of the last event applied.
func (s *State) LastTime() time.Time { return s.lastTime }

// Root is the Merkle tree hash of every event applied (RFC 6962 over their
// bodies).
func (s *State) Root() tlog.Hash { return s.tree.Root() }

// StoredHashes returns the tree hashes the last applied event completed,
// from tlog.StoredHashIndex(0, seq) on: what a store of the tree appends.
func (s *State) StoredHashes() []tlog.Hash { return s.lastHashes }

// Apply folds one event into the state. It returns ECONFLICT, EFORBIDDEN,
// ENOTFOUND or EINVALID when the event does not follow from the state, and
// then changes nothing. The error names the event and the rule.
func (s *State) Apply(ev Event) error {
	if ev.Seq != s.size {
		return Errorf(EINVALID, "event seq %d does not follow ledger size %d", ev.Seq, s.size)
	}
	if ev.Time.Before(s.lastTime) {
		return Errorf(EINVALID, "event %d time %s is before the previous event's %s",
			ev.Seq, ev.Time.Format(time.RFC3339Nano), s.lastTime.Format(time.RFC3339Nano))
	}
	if err := s.checkCredentials(ev); err != nil {
		return withEvent(ev, err)
	}
	// Lottery windows that closed by this event's time close before it
	// applies: their candidates and the tree they draw from are fixed.
	closed := s.closeWindows(ev.Time)
	if err := s.apply(ev); err != nil {
		s.reopenWindows(closed)
		return withEvent(ev, err)
	}
	s.grantCredentials(ev)
	s.settle(ev.Time) // what it retires left at this event
	s.size++
	s.lastTime = ev.Time
	s.lastHashes = s.tree.Add(tlog.RecordHash(ev.Body))
	return nil
}

// withEvent names the refused event in err's message, keeping its code and
// fields, so that a verifier's message names the event and the rule.
func withEvent(ev Event, err error) error {
	var e *Error
	if !errors.As(err, &e) || e.Event != "" {
		return err
	}
	c := *e
	c.Event = fmt.Sprintf("event %d (%s)", ev.Seq, ev.Kind)
	return &c
}

func (s *State) apply(ev Event) error {
	switch ev.Kind {
	case KindCouncilRegistered:
		var d CouncilRegistration
		if err := decodeData(ev, &d); err != nil {
			return err
		}
		return s.registerCouncil(ev, d)
	case KindDelegateIssued:
		var d MandateGrant
		if err := decodeData(ev, &d); err != nil {
			return err
		}
		return s.issueDelegate(ev, d)
	case KindDelegateRecalled:
		var d MandateRecall
		if err := decodeData(ev, &d); err != nil {
			return err
		}
		return s.recallDelegate(ev, d)
	case KindDelegateRenewed:
		var d MandateRenewal
		if err := decodeData(ev, &d); err != nil {
			return err
		}
		return s.renewDelegate(ev, d)
	case KindAssemblyReplaced:
		var d AssemblyKeyReplaced
		if err := decodeData(ev, &d); err != nil {
			return err
		}
		return s.replaceAssemblyKey(ev, d)
	case KindItemDefined:
		var d ItemDefinition
		if err := decodeData(ev, &d); err != nil {
			return err
		}
		return s.defineItem(ev, d)
	case KindOfferPosted:
		var d OfferPosting
		if err := decodeData(ev, &d); err != nil {
			return err
		}
		return s.postOffer(ev, d)
	case KindNeedPosted:
		var d NeedPosting
		if err := decodeData(ev, &d); err != nil {
			return err
		}
		return s.postNeed(ev, d)
	case KindMandateExpired:
		var d MandateExpired
		if err := decodeData(ev, &d); err != nil {
			return err
		}
		return s.expireMandate(ev, d)
	case KindOfferWithdrawn, KindOfferExpired, KindNeedWithdrawn, KindNeedExpired:
		var d PostingClosed
		if err := decodeData(ev, &d); err != nil {
			return err
		}
		return s.closePosting(ev, d.ID)
	case KindVolunteerVouched:
		var d VolunteerVouch
		if err := decodeData(ev, &d); err != nil {
			return err
		}
		return s.vouchVolunteer(ev, d)
	default:
		if ok, err := s.applyLifecycle(ev); ok {
			return err
		}
		if ok, err := s.applyAcceptance(ev); ok {
			return err
		}
		if ok, err := s.applyFederation(ev); ok {
			return err
		}
	}
	return Errorf(EINVALID, "unknown event kind %q", ev.Kind)
}

// decodeData reads an event's data strictly: unknown fields are refused.
func decodeData(ev Event, v any) error {
	if ev.takePayload(v) || decodeFast(ev.Data, v) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(ev.Data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return Errorf(EINVALID, "data: %v", err)
	}
	if dec.More() {
		return Errorf(EINVALID, "data: more than one JSON value")
	}
	// encoding/json keeps the last of two equal keys and matches a key
	// to a field ignoring case; other readers of the open data keep the
	// first and match exactly. A body that reads two ways is refused, as
	// the API refuses such a request. decodeFast never accepts one, so
	// only this slower path looks, and only at data the payload type
	// accepted, whose nesting that type bounds.
	if err := checkKeys(json.NewDecoder(bytes.NewReader(ev.Data)), reflect.TypeOf(v), ""); err != nil {
		return err
	}
	return nil
}

// checkKeys returns EINVALID naming the first key of the JSON value dec
// reads, as t, that repeats in its object or names a field of t only when
// compared ignoring case, as the API spells fields ("location.lat",
// "logs[1].key"); nil when there is none.
func checkKeys(dec *json.Decoder, t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return nil
	}
	switch tok {
	case json.Delim('{'):
		fields := jsonFields(t)
		seen := map[string]bool{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil
			}
			key, _ := k.(string)
			field := key
			if path != "" {
				field = path + "." + key
			}
			if seen[key] {
				return Invalid(field, "appears more than once")
			}
			seen[key] = true
			ft, ok := fields[key]
			if fields != nil && !ok {
				for name := range fields {
					if strings.EqualFold(name, key) {
						return Invalid(field, fmt.Sprintf("is not a known field; it is spelled %q", name))
					}
				}
			}
			if err := checkKeys(dec, ft, field); err != nil {
				return err
			}
		}
		dec.Token()
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && t.Kind() == reflect.Slice {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := checkKeys(dec, elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		dec.Token()
	}
	return nil
}

// jsonFields maps the JSON names of a payload struct's fields to their
// types; nil for any other type (payloads embed no structs).
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if t == nil || t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case !f.IsExported() || name == "-":
		case name == "":
			out[f.Name] = f.Type
		default:
			out[name] = f.Type
		}
	}
	return out
}

// authorize checks that the event's actor is a delegate of council whose
// mandate grants scope and is in force at the event's time, or, for the
// delegate scope only, the council's assembly. The hub is not a council's
// delegate: it acts only where a rule names it.
func (s *State) authorize(ev Event, council, scope string) error {
	if ev.Actor == AssemblyActor(council) {
		if scope != ScopeDelegate {
			return Errorf(EFORBIDDEN, "the assembly key of council %s may only issue, renew and recall mandates; a delegate must %s", council, scopeVerb(scope))
		}
		return nil
	}
	id, ok := strings.CutPrefix(ev.Actor, "delegate:")
	if !ok {
		return Errorf(EFORBIDDEN, "%s may not %s for council %s", ev.Actor, scopeVerb(scope), council)
	}
	d := s.delegates[id]
	switch {
	case d == nil:
		return s.noDelegate(id, council)
	case d.Council != council:
		return Errorf(EFORBIDDEN, "delegate %s acts for council %s, not %s", id, d.Council, council)
	case d.RecalledAt != nil:
		return Errorf(EFORBIDDEN, "delegate %s was recalled", id)
	case !ev.Time.Before(d.ExpiresAt):
		return Errorf(EFORBIDDEN, "delegate %s's mandate expired at %s", id, d.ExpiresAt.Format(time.RFC3339))
	case !d.HasScope(scope):
		return Errorf(EFORBIDDEN, "delegate %s's mandate does not include the %q scope", id, scope)
	}
	return nil
}

func scopeVerb(scope string) string {
	switch scope {
	case ScopePost:
		return "post, withdraw or define items"
	case ScopeAccept:
		return "accept, decline, vouch or confirm receipts"
	}
	return "issue, renew or recall mandates"
}

// Check returns the faults of the item's own fields, named as the API
// spells them: what the fold refuses before it looks at the catalog.
func (it ItemDefinition) Check() []FieldError {
	var c checks
	it.check(&c)
	return c.fields
}

func (it ItemDefinition) check(c *checks) {
	if !ValidItemCode(it.Code) {
		c.add("code", "must be a slug of lower-case letters, digits and dashes, such as wheat-flour")
	}
	c.text("name", it.Name, 200, true)
	if base, ok := BaseUnit(it.Dimension); !ok {
		c.add("dimension", "must be one of mass, volume, count, time, length, area")
	} else if base != it.Unit {
		c.addf("unit", "must be %q, the base unit of %s", base, it.Dimension)
	}
}

func (s *State) defineItem(ev Event, it ItemDefinition) error {
	var c checks
	it.check(&c)
	if err := c.err(); err != nil {
		return err
	}
	if s.items[it.Code] != nil {
		return Errorf(ECONFLICT, "item %s is already defined", it.Code)
	}
	var by string
	if ev.Actor != ActorHub {
		d := s.actorDelegate(ev)
		if d == nil {
			return Errorf(EFORBIDDEN, "%s may not define items", ev.Actor)
		}
		if err := s.authorize(ev, d.Council, ScopePost); err != nil {
			return err
		}
		by = d.Council
	}
	s.items[it.Code] = &Item{Code: it.Code, Name: it.Name, Dimension: it.Dimension, Unit: it.Unit, DefinedBy: by}
	s.touch("item", it.Code)
	return nil
}

func (s *State) closePosting(ev Event, id string) error {
	status := StatusWithdrawn
	if strings.HasSuffix(ev.Kind, ".expired") {
		status = StatusExpired
		if ev.Actor != ActorHub {
			return Errorf(EFORBIDDEN, "only the hub records expiries")
		}
	}
	var council, cur *string
	kind := "need"
	if strings.HasPrefix(ev.Kind, "offer.") {
		kind = "offer"
		o := s.offerOrGone(id)
		if o == nil {
			return Errorf(ENOTFOUND, "offer %s does not exist", id)
		}
		council, cur = &o.Council, &o.Status
		if status == StatusExpired && o.Status == StatusOpen && !offerExpired(o, ev.Time) {
			return Errorf(ECONFLICT, "offer %s has not run out yet", id)
		}
	} else {
		n := s.needOrGone(id)
		if n == nil {
			return Errorf(ENOTFOUND, "need %s does not exist", id)
		}
		council, cur = &n.Council, &n.Status
		if status == StatusExpired && n.Status == StatusOpen && !needExpired(n, ev.Time) {
			return Errorf(ECONFLICT, "need %s has not run out yet", id)
		}
	}
	if *cur != StatusOpen {
		return Errorf(ECONFLICT, "%s is %s, not open", id, *cur)
	}
	if status == StatusWithdrawn {
		if err := s.authorize(ev, *council, ScopePost); err != nil {
			return err
		}
	}
	*cur = status
	s.touch(kind, id)
	s.bury(kind, id)
	return nil
}

// Council returns the council with the given id.
func (s *State) Council(id string) (Council, bool) {
	c := s.councils[id]
	if c == nil {
		return Council{}, false
	}
	return *c, true
}

// Delegate returns the delegate with the given id, its token hash included.
func (s *State) Delegate(id string) (Delegate, bool) {
	d := held(s, s.delegates[id], "delegate", id)
	if d == nil {
		return Delegate{}, false
	}
	return copyDelegate(d), true
}

// DelegateByToken returns the delegate whose token hashes to hash, while
// the state holds it.
func (s *State) DelegateByToken(hash string) (Delegate, bool) {
	id := s.TokenDelegate(hash)
	if id == "" {
		return Delegate{}, false
	}
	return s.Delegate(id)
}

// TokenDelegate returns the id of the delegate whose token hashes to hash,
// its mandate in force or ended, and "" when it is no delegate's token.
func (s *State) TokenDelegate(hash string) string {
	id, ok := strings.CutPrefix(s.credentials[hash], "delegate:")
	if !ok {
		return ""
	}
	return id
}

// Item returns the item with the given code.
func (s *State) Item(code string) (Item, bool) {
	it := s.items[code]
	if it == nil {
		return Item{}, false
	}
	return *it, true
}

// Offer returns the offer with the given id, if the state holds it: open,
// or closed but still held by an agreement, or closed a moment ago and not
// yet dropped by ForgetClosed. Otherwise, when Gone(id), the store holds
// it (the ledger's Offer reads it).
func (s *State) Offer(id string) (Offer, bool) {
	o := held(s, s.offers[id], "offer", id)
	if o == nil {
		return Offer{}, false
	}
	return *o, true
}

// Need returns the need with the given id, if the state holds it (see
// Offer).
func (s *State) Need(id string) (Need, bool) {
	n := held(s, s.needs[id], "need", id)
	if n == nil {
		return Need{}, false
	}
	return *n, true
}

func copyDelegate(d *Delegate) Delegate {
	c := *d
	c.Scopes = append([]string(nil), d.Scopes...)
	if d.RecalledAt != nil {
		t := *d.RecalledAt
		c.RecalledAt = &t
	}
	return c
}

// Councils returns every council, ordered by id.
func (s *State) Councils() []Council {
	return sorted(s.councils, func(c *Council) Council { return *c })
}

// Delegates returns every delegate, ordered by id, token hashes included.
func (s *State) Delegates() []Delegate { return sorted(s.delegates, copyDelegate) }

// Items returns every item, ordered by code.
func (s *State) Items() []Item { return sorted(s.items, func(i *Item) Item { return *i }) }

// Offers returns every offer, ordered by id.
func (s *State) Offers() []Offer { return sorted(s.offers, func(o *Offer) Offer { return *o }) }

// Needs returns every need, ordered by id.
func (s *State) Needs() []Need { return sorted(s.needs, func(n *Need) Need { return *n }) }

// Agreements returns the agreements the state holds (under way, or
// received and still open to correction; retire.go), ordered by id.
func (s *State) Agreements() []Agreement {
	return sorted(s.agreements, func(a *Agreement) Agreement { return *a })
}

// Transfer returns the transfer with the given id, if the state holds it
// (see Agreement).
func (s *State) Transfer(id string) (Transfer, bool) {
	t := held(s, s.transfers[id], "transfer", id)
	if t == nil {
		return Transfer{}, false
	}
	return *t, true
}

// NewestTransfers returns up to n transfers the state holds (see
// Transfer) that keep returns true for, the newest first (by when they
// were recorded, then id), without copying or sorting the others.
func (s *State) NewestTransfers(n int, keep func(Transfer) bool) []Transfer {
	newer := func(a, b *Transfer) bool {
		return a.RecordedAt.After(b.RecordedAt) || (a.RecordedAt.Equal(b.RecordedAt) && a.ID < b.ID)
	}
	var top []*Transfer // sorted, newest first, at most n
	consider := func(t *Transfer) {
		if n <= 0 || (keep != nil && !keep(*t)) || (len(top) == n && !newer(t, top[n-1])) {
			return
		}
		i, _ := slices.BinarySearchFunc(top, t, func(x, t *Transfer) int {
			if newer(x, t) {
				return -1
			}
			return 1
		})
		top = slices.Insert(top, i, t)
		if len(top) > n {
			top = top[:n]
		}
	}
	for _, t := range s.transfers {
		consider(t)
	}
	for _, t := range closedOf[Transfer](s.closedDocs, "transfer") {
		consider(t)
	}
	out := make([]Transfer, len(top))
	for i, t := range top {
		out[i] = *t
	}
	return out
}

// Transfers returns the transfers the state holds (those of agreements
// that did not leave it, retire.go), ordered by id.
func (s *State) Transfers() []Transfer {
	return sorted(s.transfers, func(t *Transfer) Transfer { return *t })
}

// Accounts returns each council's standing per item, ordered by council
// and item: given and received from transfers, committed from active
// agreements.
func (s *State) Accounts() []AccountLine {
	lines := map[councilItem]*AccountLine{}
	line := func(council, item string) *AccountLine {
		k := councilItem{council, item}
		if lines[k] == nil {
			lines[k] = &AccountLine{Council: council, Item: item}
		}
		return lines[k]
	}
	for k, b := range s.tally.Balances {
		l := line(k.Council, k.Item)
		l.Given, l.Received = b.Given, b.Received
	}
	for _, a := range s.agreements {
		if a.Status == AgreementActive {
			line(a.Provider, a.Item).Committed += a.Quantity
			line(a.Receiver, a.Item).Committed += a.Quantity
		}
	}
	out := make([]AccountLine, 0, len(lines))
	for _, l := range lines {
		out = append(out, *l)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Council != out[j].Council {
			return out[i].Council < out[j].Council
		}
		return out[i].Item < out[j].Item
	})
	return out
}

func sorted[T any](m map[string]*T, copyOf func(*T) T) []T {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]T, len(keys))
	for i, k := range keys {
		out[i] = copyOf(m[k])
	}
	return out
}

// String summarises the state for logs.
func (s *State) String() string {
	return fmt.Sprintf("%d events, %d councils, %d offers, %d needs", s.size, len(s.councils), len(s.offers), len(s.needs))
}
