package plenty

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
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
	byToken    map[string]string // token hash → delegate id
	items      map[string]*Item
	offers     map[string]*Offer
	needs      map[string]*Need
	agreements map[string]*Agreement
	transfers  map[string]*Transfer

	// The exchange lifecycle (lifecycle.go, delivery.go).
	acceptances     map[string]*Acceptance // proposal id →
	received        map[string]Amount      // agreement id → received, corrections included
	volunteers      map[string]*Volunteer
	volunteerTokens map[string]string // token hash → volunteer id
	handles         map[string]string // lower-cased handle → volunteer id
	tasks           map[string]*Task
	mandateEnded    map[string]bool // delegate id → mandate.expired recorded
	terms           Terms           // the hub's time limits in force (sunset.go)
	termsSet        bool

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
	if s.onChange != nil {
		s.onChange(Change{kind, id})
	}
}

// Doc returns the JSON document of one entity, as projections store it.
func (s *State) Doc(c Change) (json.RawMessage, bool) {
	var v any
	switch c.Kind {
	case "council":
		v = s.councils[c.ID]
	case "delegate":
		if d := s.delegates[c.ID]; d != nil {
			v = d
		}
	case "item":
		v = s.items[c.ID]
	case "offer":
		v = s.offers[c.ID]
	case "need":
		v = s.needs[c.ID]
	case "agreement":
		v = s.agreements[c.ID]
	case "transfer":
		v = s.transfers[c.ID]
	case "acceptance":
		v = s.acceptances[c.ID]
	case "task":
		v = s.tasks[c.ID]
	case "volunteer":
		v = s.volunteers[c.ID]
	}
	if v == nil || isNilPointer(v) {
		return nil, false
	}
	doc, err := CanonicalJSON(v)
	if err != nil {
		return nil, false
	}
	return doc, true
}

// Changes lists every entity of the state, ordered by kind and id.
func (s *State) Changes() []Change {
	var out []Change
	add := func(kind string, ids []string) {
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

func isNilPointer(v any) bool {
	switch p := v.(type) {
	case *Council:
		return p == nil
	case *Delegate:
		return p == nil
	case *Item:
		return p == nil
	case *Offer:
		return p == nil
	case *Need:
		return p == nil
	case *Agreement:
		return p == nil
	case *Transfer:
		return p == nil
	case *Acceptance:
		return p == nil
	case *Task:
		return p == nil
	case *Volunteer:
		return p == nil
	}
	return false
}

// NewState returns the state of an empty ledger.
func NewState() *State {
	return &State{
		councils:   map[string]*Council{},
		delegates:  map[string]*Delegate{},
		byToken:    map[string]string{},
		items:      map[string]*Item{},
		offers:     map[string]*Offer{},
		needs:      map[string]*Need{},
		agreements: map[string]*Agreement{},
		transfers:  map[string]*Transfer{},

		acceptances:     map[string]*Acceptance{},
		received:        map[string]Amount{},
		volunteers:      map[string]*Volunteer{},
		volunteerTokens: map[string]string{},
		handles:         map[string]string{},
		tasks:           map[string]*Task{},
		mandateEnded:    map[string]bool{},
	}
}

// Size is the number of events applied.
func (s *State) Size() int64 { return s.size }

// LastTime is the time of the last event applied.
func (s *State) LastTime() time.Time { return s.lastTime }

// Apply folds one event into the state. It returns ECONFLICT, EFORBIDDEN,
// ENOTFOUND or EINVALID when the event does not follow from the state, and
// then changes nothing.
func (s *State) Apply(ev Event) error {
	if ev.Seq != s.size {
		return Errorf(EINVALID, "event seq %d does not follow ledger size %d", ev.Seq, s.size)
	}
	if ev.Time.Before(s.lastTime) {
		return Errorf(EINVALID, "event %d time %s is before the previous event's %s",
			ev.Seq, ev.Time.Format(time.RFC3339Nano), s.lastTime.Format(time.RFC3339Nano))
	}
	if err := s.apply(ev); err != nil {
		return err
	}
	s.size++
	s.lastTime = ev.Time
	return nil
}

func (s *State) apply(ev Event) error {
	switch ev.Kind {
	case KindCouncilRegistered:
		var d CouncilRegistered
		if err := decodeData(ev, &d); err != nil {
			return err
		}
		return s.registerCouncil(ev, d)
	case KindDelegateIssued:
		var d DelegateGrant
		if err := decodeData(ev, &d); err != nil {
			return err
		}
		if err := s.authorize(ev, d.Council, ScopeDelegate); err != nil {
			return err
		}
		return s.issueDelegate(ev, d)
	case KindDelegateRecalled:
		var d DelegateRecalled
		if err := decodeData(ev, &d); err != nil {
			return err
		}
		return s.recallDelegate(ev, d)
	case KindItemDefined:
		var d ItemDefined
		if err := decodeData(ev, &d); err != nil {
			return err
		}
		return s.defineItem(ev, d.Item)
	case KindOfferPosted:
		var d OfferPosted
		if err := decodeData(ev, &d); err != nil {
			return err
		}
		return s.postOffer(ev, d.Offer)
	case KindNeedPosted:
		var d NeedPosted
		if err := decodeData(ev, &d); err != nil {
			return err
		}
		return s.postNeed(ev, d.Need)
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
	default:
		if ok, err := s.applyLifecycle(ev); ok {
			return err
		}
		if ok, err := s.applyFederation(ev); ok {
			return err
		}
	}
	return Errorf(EINVALID, "event %d has unknown kind %q", ev.Seq, ev.Kind)
}

// decodeData reads an event's data strictly: unknown fields are refused.
func decodeData(ev Event, v any) error {
	dec := json.NewDecoder(bytes.NewReader(ev.Data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return Errorf(EINVALID, "event %d (%s): data: %v", ev.Seq, ev.Kind, err)
	}
	return nil
}

// authorize checks that the event's actor is a delegate of council whose
// mandate grants scope and is in force at the event's time. The hub actor
// is always allowed.
func (s *State) authorize(ev Event, council, scope string) error {
	if ev.Actor == ActorHub {
		return nil
	}
	id, ok := strings.CutPrefix(ev.Actor, "delegate:")
	if !ok {
		return Errorf(EFORBIDDEN, "%s may not %s for council %s", ev.Actor, scope, council)
	}
	d := s.delegates[id]
	switch {
	case d == nil:
		return Errorf(EFORBIDDEN, "delegate %s does not exist", id)
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

func (s *State) registerCouncil(ev Event, d CouncilRegistered) error {
	c := d.Council
	if c.ID == "" || s.councils[c.ID] != nil {
		return Errorf(ECONFLICT, "council id %q is empty or taken", c.ID)
	}
	if d.Delegate.Council != c.ID {
		return Errorf(EINVALID, "event %d: first delegate is not of council %s", ev.Seq, c.ID)
	}
	if err := s.checkGrant(d.Delegate); err != nil {
		return err
	}
	s.councils[c.ID] = &c
	s.touch("council", c.ID)
	s.addDelegate(d.Delegate)
	return nil
}

func (s *State) issueDelegate(ev Event, d DelegateGrant) error {
	if s.councils[d.Council] == nil {
		return Errorf(ENOTFOUND, "council %s does not exist", d.Council)
	}
	if err := s.checkGrant(d); err != nil {
		return err
	}
	s.addDelegate(d)
	return nil
}

func (s *State) checkGrant(d DelegateGrant) error {
	switch {
	case d.ID == "" || s.delegates[d.ID] != nil:
		return Errorf(ECONFLICT, "delegate id %q is empty or taken", d.ID)
	case d.TokenHash == "" || s.byToken[d.TokenHash] != "":
		return Errorf(ECONFLICT, "delegate %s: token hash is empty or taken", d.ID)
	case d.ExpiresAt.Sub(d.IssuedAt) > MaxMandateTerm || !d.ExpiresAt.After(d.IssuedAt):
		return Errorf(EINVALID, "delegate %s: a mandate runs for at most 7 days", d.ID)
	case d.CosignAbove < 0:
		return Errorf(EINVALID, "delegate %s: cosign_above must not be negative", d.ID)
	}
	return nil
}

func (s *State) addDelegate(g DelegateGrant) {
	d := g.Delegate
	d.TokenHash = g.TokenHash
	d.Scopes = append([]string(nil), d.Scopes...)
	s.delegates[d.ID] = &d
	s.byToken[d.TokenHash] = d.ID
	s.touch("delegate", d.ID)
}

func (s *State) recallDelegate(ev Event, r DelegateRecalled) error {
	d := s.delegates[r.Delegate]
	if d == nil || d.Council != r.Council {
		return Errorf(ENOTFOUND, "council %s has no delegate %s", r.Council, r.Delegate)
	}
	if err := s.authorize(ev, r.Council, ScopeDelegate); err != nil {
		return err
	}
	if d.RecalledAt != nil {
		return Errorf(ECONFLICT, "delegate %s was already recalled", d.ID)
	}
	if !d.Active(ev.Time) {
		return Errorf(ECONFLICT, "delegate %s's mandate already ran out at %s", d.ID, d.ExpiresAt.Format(time.RFC3339))
	}
	t := ev.Time
	d.RecalledAt = &t
	s.touch("delegate", d.ID)
	return nil
}

func (s *State) defineItem(ev Event, it Item) error {
	if !ValidItemCode(it.Code) {
		return Errorf(EINVALID, "item code %q is not a slug such as wheat-flour", it.Code)
	}
	if s.items[it.Code] != nil {
		return Errorf(ECONFLICT, "item %s is already defined", it.Code)
	}
	if base, ok := BaseUnit(it.Dimension); !ok || base != it.Unit {
		return Errorf(EINVALID, "item %s: unit %q is not the base unit of dimension %q", it.Code, it.Unit, it.Dimension)
	}
	if ev.Actor != ActorHub {
		id, _ := strings.CutPrefix(ev.Actor, "delegate:")
		d := s.delegates[id]
		if d == nil {
			return Errorf(EFORBIDDEN, "%s may not define items", ev.Actor)
		}
		if err := s.authorize(ev, d.Council, ScopePost); err != nil {
			return err
		}
	}
	s.items[it.Code] = &it
	s.touch("item", it.Code)
	return nil
}

func (s *State) postOffer(ev Event, o Offer) error {
	if err := s.checkPosting(ev, o.ID, o.Council, o.Item, o.Quantity); err != nil {
		return err
	}
	if o.Remaining != o.Quantity || o.Status != StatusOpen {
		return Errorf(EINVALID, "offer %s must be posted open with all of its quantity remaining", o.ID)
	}
	if o.MinSplit < 0 || o.MinSplit > o.Quantity {
		return Errorf(EINVALID, "offer %s: min_split must be between 0 and the quantity", o.ID)
	}
	s.offers[o.ID] = &o
	s.touch("offer", o.ID)
	return nil
}

func (s *State) postNeed(ev Event, n Need) error {
	if err := s.checkPosting(ev, n.ID, n.Council, n.Item, n.Quantity); err != nil {
		return err
	}
	if n.Remaining != n.Quantity || n.Status != StatusOpen {
		return Errorf(EINVALID, "need %s must be posted open with all of its quantity remaining", n.ID)
	}
	if n.Priority < MinPriority || n.Priority > MaxPriority {
		return Errorf(EINVALID, "need %s: priority %d is outside 1–5", n.ID, n.Priority)
	}
	s.needs[n.ID] = &n
	s.touch("need", n.ID)
	return nil
}

func (s *State) checkPosting(ev Event, id, council, item string, q Amount) error {
	if id == "" || s.offers[id] != nil || s.needs[id] != nil {
		return Errorf(ECONFLICT, "posting id %q is empty or taken", id)
	}
	if s.councils[council] == nil {
		return Errorf(ENOTFOUND, "council %s does not exist", council)
	}
	if s.items[item] == nil {
		return Errorf(ENOTFOUND, "item %s does not exist", item)
	}
	if q <= 0 || q > MaxAmount {
		return Errorf(EINVALID, "posting %s: quantity %s is out of range", id, q)
	}
	return s.authorize(ev, council, ScopePost)
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
		o := s.offers[id]
		if o == nil {
			return Errorf(ENOTFOUND, "offer %s does not exist", id)
		}
		council, cur = &o.Council, &o.Status
		if status == StatusExpired && o.Status == StatusOpen && !offerExpired(o, ev.Time) {
			return Errorf(ECONFLICT, "offer %s has not run out yet", id)
		}
	} else {
		n := s.needs[id]
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
	if err := s.authorize(ev, *council, ScopePost); err != nil {
		return err
	}
	*cur = status
	s.touch(kind, id)
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
	d := s.delegates[id]
	if d == nil {
		return Delegate{}, false
	}
	return copyDelegate(d), true
}

// DelegateByToken returns the delegate whose token hashes to hash.
func (s *State) DelegateByToken(hash string) (Delegate, bool) {
	return s.Delegate(s.byToken[hash])
}

// Item returns the item with the given code.
func (s *State) Item(code string) (Item, bool) {
	it := s.items[code]
	if it == nil {
		return Item{}, false
	}
	return *it, true
}

// Offer returns the offer with the given id.
func (s *State) Offer(id string) (Offer, bool) {
	o := s.offers[id]
	if o == nil {
		return Offer{}, false
	}
	return *o, true
}

// Need returns the need with the given id.
func (s *State) Need(id string) (Need, bool) {
	n := s.needs[id]
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

// Agreements returns every agreement, ordered by id.
func (s *State) Agreements() []Agreement {
	return sorted(s.agreements, func(a *Agreement) Agreement { return *a })
}

// Transfer returns the transfer with the given id.
func (s *State) Transfer(id string) (Transfer, bool) {
	t := s.transfers[id]
	if t == nil {
		return Transfer{}, false
	}
	return *t, true
}

// Transfers returns every transfer, ordered by id.
func (s *State) Transfers() []Transfer {
	return sorted(s.transfers, func(t *Transfer) Transfer { return *t })
}

// Accounts returns each council's standing per item, ordered by council
// and item: given and received from transfers, committed from active
// agreements.
func (s *State) Accounts() []AccountLine {
	lines := map[[2]string]*AccountLine{}
	line := func(council, item string) *AccountLine {
		k := [2]string{council, item}
		if lines[k] == nil {
			lines[k] = &AccountLine{Council: council, Item: item}
		}
		return lines[k]
	}
	for _, t := range s.transfers {
		line(t.Provider, t.Item).Given += t.Quantity
		line(t.Receiver, t.Item).Received += t.Quantity
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
