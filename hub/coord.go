package hub

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/private"
)

// Coordination between people is kept out of the ledger: what councils and
// volunteers say to each other about an agreement, the pickup and drop-off
// details of offers and needs, reflections, webhook registrations and
// their secrets live in the data folder's private store (private/) and are
// deleted on a timer. The feeds and webhooks carry only public facts,
// derived from the ledger's events by the follower below.

// Record kinds of the private store.
const (
	kindThreads     = "threads"     // one per agreement: details and messages
	kindPostings    = "postings"    // one per offer or need with private details
	kindReflections = "reflections" // one per agreement and writing council
	kindFeeds       = "feeds"       // one per council or volunteer: its recent notices
	kindWebhooks    = "webhooks"    // one per registration, with its queue
	kindState       = "state"       // the follower's cursor
)

// reflectionTTL is how long a reflection is kept after it was written.
const reflectionTTL = 30 * 24 * time.Hour

// coord owns the private store and the follower of the ledger's events.
type coord struct {
	s     *Server
	store *private.Store

	follow sync.Mutex   // serialises catch-ups
	place  *followState // the follower's place, read once; guarded by follow

	mu        sync.Mutex
	deadlines map[string]time.Time   // "kind/key" → when the record is deleted
	sets      []*proposalSet         // matching runs not yet followed
	recent    map[int64]plenty.Event // events the hub wrote, not yet followed
	timer     *time.Timer            // fires at the earliest deadline

	hooks  *webhooks
	wakeup chan struct{} // a change in the ledger or the proposals; buffered, size 1
	done   chan struct{}
}

// coordRoutes lays out the API of coordination between people.
func (s *Server) coordRoutes(api fiber.Router) {
	api.Get("/agreements/:id/messages", s.getMessages)
	api.Post("/agreements/:id/messages", s.limitAddr, s.postMessage)
	api.Post("/agreements/:id/reflection", s.limitAddr, s.postReflection)
	api.Get("/councils/:id/reflections", s.getReflections)
	api.Get("/councils/:id/feed.atom", s.councilFeed)
	api.Get("/volunteers/:id/feed.atom", s.volunteerFeed)
	api.Post("/councils/:id/webhooks", s.limitAddr, s.registerWebhook)
	api.Get("/councils/:id/webhooks", s.listWebhooks)
	api.Delete("/councils/:id/webhooks/:webhook", s.limitAddr, s.deleteWebhook)
}

// changed notes a change for the follower.
func (c *coord) changed() {
	select {
	case c.wakeup <- struct{}{}:
	default:
	}
}

// run follows the ledger while the hub serves: MatchDelay after a change,
// and every TickInterval regardless.
func (c *coord) run(ln net.Listener, stop <-chan struct{}) {
	c.hooks.listening(ln.Addr())
	c.hooks.start()
	c.armTimer()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-stop; cancel() }()
	tick := time.NewTicker(c.s.cfg.TickInterval)
	defer tick.Stop()
	timers := true
	for {
		if err := c.catchUp(ctx, timers); err != nil && ctx.Err() == nil {
			c.s.log.Error("coordination: following the ledger", "err", err)
		}
		select {
		case <-stop:
			return
		case <-c.wakeup:
			// Gather the changes of the next MatchDelay into one catch-up,
			// so that a busy hub follows in batches.
			select {
			case <-stop:
				return
			case <-time.After(c.s.cfg.MatchDelay):
			}
			timers = false
		case <-tick.C:
			timers = true
		}
	}
}

// newCoord opens the private store in dir. On an error the coordination
// still answers, each read or write of the store reporting its own.
func newCoord(s *Server, dir string) (*coord, error) {
	store, err := private.Open(dir)
	c := &coord{s: s, store: store, deadlines: map[string]time.Time{}, recent: map[int64]plenty.Event{}, wakeup: make(chan struct{}, 1)}
	c.hooks = newWebhooks(c)
	if err != nil {
		return c, err
	}
	// Deadlines are read from the records, so that a restart keeps them.
	for _, kind := range []string{kindThreads, kindReflections, kindPostings} {
		keys, err := store.Keys(kind)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			var r struct {
				DeleteAt *time.Time `json:"delete_at"`
			}
			if _, err := store.Get(kind, k, &r); err != nil {
				return nil, err
			}
			if r.DeleteAt != nil {
				c.deadlines[kind+"/"+k] = *r.DeleteAt
			}
		}
	}
	return c, nil
}

// setDeadline notes when a record is to be deleted.
func (c *coord) setDeadline(kind, key string, at time.Time) {
	c.mu.Lock()
	c.deadlines[kind+"/"+key] = at
	c.mu.Unlock()
	c.armTimer()
}

// armTimer sets the timer to the earliest deadline, so that records are
// deleted at their time and not only at the next tick.
func (c *coord) armTimer() {
	c.mu.Lock()
	defer c.mu.Unlock()
	var next time.Time
	for _, at := range c.deadlines {
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	if next.IsZero() {
		return
	}
	c.timer = time.AfterFunc(max(next.Sub(c.s.now()), 0), func() {
		if err := c.purge(); err != nil {
			c.s.log.Error("private store: deleting what ran out", "err", err)
		}
	})
}

func (c *coord) stop() {
	c.mu.Lock()
	if c.timer != nil {
		c.timer.Stop()
	}
	c.mu.Unlock()
	c.hooks.stop()
	c.follow.Lock()
	defer c.follow.Unlock()
	if fs := c.place; fs != nil && fs.Saved != fs.Next {
		fs.Saved = fs.Next
		if err := c.store.Put(kindState, "follower", *fs); err != nil {
			c.s.log.Error("coordination: saving the follower's place", "err", err)
		}
	}
}

// purge deletes every record whose time ran out, and gives a time to a
// thread of an ended agreement that has none yet (written after the
// follower saw the end).
func (c *coord) purge() error {
	now := c.s.now()
	c.mu.Lock()
	var due []string
	for k, at := range c.deadlines {
		if !now.Before(at) {
			due = append(due, k)
		}
	}
	c.mu.Unlock()
	sort.Strings(due)
	var errs []error
	for _, k := range due {
		kind, key, _ := strings.Cut(k, "/")
		if kind == kindPostings && c.postingOpen(key) {
			// Open again (an agreement was cancelled): kept, and timed
			// again when it is used up.
			var r postingRecord
			err := c.store.Update(kind, key, &r, func(found bool) (bool, error) { r.DeleteAt = nil; return found, nil })
			if err != nil {
				errs = append(errs, err)
				continue
			}
		} else if err := c.store.Delete(kind, key); err != nil {
			errs = append(errs, err)
			continue
		}
		c.mu.Lock()
		delete(c.deadlines, k)
		c.mu.Unlock()
	}
	keys, err := c.store.Keys(kindThreads)
	if err != nil {
		errs = append(errs, err)
	}
	for _, key := range keys {
		c.mu.Lock()
		_, timed := c.deadlines[kindThreads+"/"+key]
		c.mu.Unlock()
		if timed {
			continue
		}
		var a plenty.Agreement
		var ok bool
		c.s.read(func(st *plenty.State) error { a, ok = st.Agreement(key); return nil })
		if !ok || a.Status != plenty.AgreementActive {
			errs = append(errs, c.endThread(key, now))
		}
	}
	if len(due) > 0 {
		c.armTimer()
	}
	return errors.Join(errs...)
}

// followState is the follower's place in the ledger and the deadlines it
// already warned of, so that a restart tells nothing twice.
type followState struct {
	Next   int64                `json:"next"`   // the first event not yet followed
	Saved  int64                `json:"-"`      // Next when last saved
	Warned map[string]time.Time `json:"warned"` // "kind:id" warned of → its deadline
}

// toldProposals are the proposals already told, each until it expires. It
// is a record of its own, written only when the engine's proposals
// change.
type toldProposals struct {
	Told map[string]time.Time `json:"told"`
}

// followBatch bounds the events read at once.
const followBatch = 1000

// maxPendingSets bounds the matching runs waiting for the follower.
const maxPendingSets = 100

// catchUp follows the ledger's events since the last call, and the
// engine's latest proposals: it ends threads of ended agreements, copies
// private details into new agreements' threads, deletes those of closed
// postings, and tells councils and volunteers (feeds and webhooks). The
// follower's place is saved after what it did, so a crash repeats at most
// the last batch: feeds skip notices they hold, and webhook receivers
// see the same webhook-id again.
//
// With timers, it also warns of what is about to expire, which reads every
// open offer and need: the timers ask for it, not every change.
func (c *coord) catchUp(ctx context.Context, timers bool) error {
	c.follow.Lock()
	defer c.follow.Unlock()
	if c.place == nil {
		var fs followState
		if _, err := c.store.Get(kindState, "follower", &fs); err != nil {
			return err
		}
		if fs.Warned == nil {
			fs.Warned = map[string]time.Time{}
		}
		fs.Saved = fs.Next
		c.place = &fs
	}
	fs := c.place
	// The time is read before the size: what is told of the clock comes
	// after every event written before that time.
	now := c.s.now()
	// Each run's proposals are told between the events before the run and
	// those after it, as they happened.
	c.mu.Lock()
	sets := c.sets
	c.sets = nil
	c.mu.Unlock()
	for i, set := range sets {
		err := c.followTo(ctx, fs, set.size)
		if err == nil {
			err = c.proposalNotices(set, now)
		}
		if err != nil {
			c.mu.Lock()
			c.sets = append(sets[i:], c.sets...)
			c.mu.Unlock()
			return err
		}
	}
	if err := c.followTo(ctx, fs, c.s.ledger.Size()); err != nil {
		return err
	}
	if !timers {
		return nil
	}
	notices, changed := c.expiryNotices(fs, now)
	if !changed && fs.Saved == fs.Next {
		return nil
	}
	if err := c.tell(notices); err != nil {
		return err
	}
	fs.Saved = fs.Next
	return c.store.Put(kindState, "follower", *fs)
}

// followTo follows the events before size, in batches, saving the place
// after each.
func (c *coord) followTo(ctx context.Context, fs *followState, size int64) error {
	for fs.Next < size {
		to := min(fs.Next+followBatch, size)
		evs := c.takeRecent(fs.Next, to)
		if len(evs) > 0 {
			to = fs.Next + int64(len(evs))
		} else if err := c.s.ledger.Events(ctx, fs.Next, to, func(ev plenty.Event) error {
			evs = append(evs, ev)
			return nil
		}); err != nil {
			return err
		}
		var notices []notice
		acted := false
		for _, ev := range evs {
			ns, err := c.observe(ev)
			if err != nil {
				return err
			}
			notices = append(notices, ns...)
			acted = acted || followedKinds[ev.Kind]
		}
		if err := c.tell(notices); err != nil {
			return err
		}
		fs.Next = to
		// A batch that told nothing and changed nothing is followed
		// again after a crash at no cost: its place is saved only now
		// and then, sparing a busy hub the writes.
		if acted || fs.Next-fs.Saved >= unsavedEvents {
			fs.Saved = fs.Next
			if err := c.store.Put(kindState, "follower", *fs); err != nil {
				return err
			}
		}
	}
	return nil
}

// followedKinds are the events the follower acts on (see observe).
var followedKinds = map[string]bool{
	plenty.KindOfferWithdrawn: true, plenty.KindOfferExpired: true, plenty.KindNeedWithdrawn: true, plenty.KindNeedExpired: true,
	plenty.KindProposalAccepted: true, plenty.KindTaskAssigned: true, plenty.KindTaskPickedUp: true, plenty.KindTaskDroppedOff: true,
	plenty.KindTransferRecorded: true, plenty.KindAgreementCancelled: true,
}

// unsavedEvents bounds the events followed again after a crash.
const unsavedEvents = 10000

// maxRecent bounds the events the hub's writes hand the follower; beyond
// it, the follower reads them from the ledger.
const maxRecent = 10000

// appended hands the follower an event the hub just wrote, so that it
// need not read it back from the database.
func (c *coord) appended(ev plenty.Event) {
	c.mu.Lock()
	if len(c.recent) < maxRecent {
		c.recent[ev.Seq] = ev
	}
	c.mu.Unlock()
	c.changed()
}

// takeRecent returns the events handed over from seq from on, in order
// and without a gap, up to to, and forgets them and any older ones.
func (c *coord) takeRecent(from, to int64) []plenty.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []plenty.Event
	for seq := from; seq < to; seq++ {
		ev, ok := c.recent[seq]
		if !ok {
			break
		}
		out = append(out, ev)
		delete(c.recent, seq)
	}
	if len(out) == 0 {
		for seq := range c.recent {
			if seq < from {
				delete(c.recent, seq)
			}
		}
	}
	return out
}

// proposed hands the follower a matching run's proposals.
func (c *coord) proposed(set *proposalSet) {
	c.mu.Lock()
	c.sets = append(c.sets, set)
	if over := len(c.sets) - maxPendingSets; over > 0 {
		c.sets = c.sets[over:] // nobody follows (the hub does not serve): keep the newest
	}
	c.mu.Unlock()
	c.changed()
}

// notice is something a council or a volunteer is told, derived from
// public facts only: it goes into their Atom feeds and to the council's
// webhooks. Its id is stable, so a notice told twice is the same notice.
type notice struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Title     string    `json:"title"`
	At        time.Time `json:"at"`
	Councils  []string  `json:"councils,omitempty"`
	Volunteer string    `json:"volunteer,omitempty"`
	Proposal  string    `json:"proposal,omitempty"`
	Agreement string    `json:"agreement,omitempty"`
	Task      string    `json:"task,omitempty"`
	Subject   string    `json:"subject,omitempty"` // an offer, need or delegate about to expire
}

// Notice types: what a feed entry or a webhook is about.
const (
	NoticeProposal      = "proposal.new"           // the engine proposes an exchange
	NoticeOtherAccepted = "proposal.accepted"      // the other council accepted
	NoticeCosign        = "proposal.cosign_needed" // a second delegate must co-sign
	NoticeAgreement     = "agreement.formed"
	NoticeDrawn         = "task.drawn" // a volunteer was drawn to carry
	NoticePickedUp      = "task.picked_up"
	NoticeDelivered     = "task.delivered"
	NoticeReceiptDue    = "receipt.due" // the receiver should confirm receipt
	NoticeEnded         = "agreement.ended"
	NoticeExpiring      = "expiry.soon" // something expires within a day
)

// NoticeTypes lists every notice type, for webhook subscriptions.
var NoticeTypes = []string{NoticeProposal, NoticeOtherAccepted, NoticeCosign, NoticeAgreement, NoticeDrawn,
	NoticePickedUp, NoticeDelivered, NoticeReceiptDue, NoticeEnded, NoticeExpiring}

// expiryWarning is how long before a deadline people are warned of it.
const expiryWarning = 24 * time.Hour

// describe names an agreement's goods and councils, as "80.5 kg of Wheat
// flour from Mill (Riverside) to Bakers (Riverside)".
func describe(st *plenty.State, item string, q plenty.Amount, provider, receiver string) string {
	it, _ := st.Item(item)
	name := it.Name
	if name == "" {
		name = item
	}
	return fmt.Sprintf("%s %s of %s from %s to %s", q, it.Unit, name, councilLabel(st, provider), councilLabel(st, receiver))
}

func councilLabel(st *plenty.State, id string) string {
	c, ok := st.Council(id)
	if !ok {
		return id
	}
	if c.Place == "" {
		return c.Name
	}
	return c.Name + " (" + c.Place + ")"
}

// observe reads one event: what it changes in the private store, and what
// it tells whom. It reads the current state, which the follower trails by
// moments; what it tells is about the event's facts.
func (c *coord) observe(ev plenty.Event) ([]notice, error) {
	id := func(t string) string { return fmt.Sprintf("e%d.%s", ev.Seq, t) }
	var out []notice
	var err error
	switch ev.Kind {
	case plenty.KindOfferWithdrawn, plenty.KindOfferExpired, plenty.KindNeedWithdrawn, plenty.KindNeedExpired:
		var d plenty.PostingClosed
		if decode(ev, &d) == nil {
			// Agreements keep their own copy; the posting's is not needed.
			err = c.store.Delete(kindPostings, d.ID)
		}
	case plenty.KindProposalAccepted:
		var d plenty.ProposalDecision
		if decode(ev, &d) != nil {
			return nil, nil
		}
		c.s.read(func(st *plenty.State) error {
			acc, ok := st.Acceptance(d.Proposal.ID)
			if !ok || len(acc.Decisions) == 0 {
				return nil
			}
			what := describe(st, acc.Item, d.Proposal.Quantity, acc.Provider, acc.Receiver)
			delegate, _ := strings.CutPrefix(ev.Actor, "delegate:")
			var council string
			mine := -1
			for i, dec := range acc.Decisions {
				if dec.Delegate == delegate && dec.At.Equal(ev.Time) {
					council, mine = dec.Council, i
				}
			}
			last := acc.Decisions[len(acc.Decisions)-1]
			if acc.Agreement != "" && last.Delegate == delegate && last.At.Equal(ev.Time) {
				out = append(out, notice{ID: id(NoticeAgreement), Type: NoticeAgreement, At: ev.Time,
					Title: "Agreement formed: " + what, Councils: []string{acc.Provider, acc.Receiver},
					Proposal: d.Proposal.ID, Agreement: acc.Agreement, Task: plenty.TaskID(acc.Agreement)})
				return nil
			}
			if council == "" {
				return nil
			}
			other := acc.Provider
			if council == acc.Provider {
				other = acc.Receiver
			}
			// Whether the council consented with this decision, not with
			// those that followed it by the time the follower reads: the
			// other council is told once it did, the council itself while
			// it waits for a co-signature.
			acc.Decisions = acc.Decisions[:mine+1]
			if st.Consents(acc, council, ev.Time) {
				out = append(out, notice{ID: id(NoticeOtherAccepted), Type: NoticeOtherAccepted, At: ev.Time,
					Title: councilLabel(st, council) + " accepted: " + what, Councils: []string{other}, Proposal: d.Proposal.ID})
			} else {
				out = append(out, notice{ID: id(NoticeCosign), Type: NoticeCosign, At: ev.Time,
					Title: "A second delegate must co-sign: " + what, Councils: []string{council}, Proposal: d.Proposal.ID})
			}
			return nil
		})
		for _, n := range out {
			if n.Type == NoticeAgreement {
				err = errors.Join(c.openThread(n.Agreement), c.postingsUsed(n.Agreement, ev.Time))
			}
		}
	case plenty.KindTaskAssigned, plenty.KindTaskPickedUp, plenty.KindTaskDroppedOff:
		var d plenty.TaskRef
		if decode(ev, &d) != nil {
			return nil, nil
		}
		c.s.read(func(st *plenty.State) error {
			t, ok := st.Task(d.Task)
			a, ok2 := st.Agreement(t.Agreement)
			if !ok || !ok2 {
				return nil
			}
			what := describe(st, a.Item, a.Quantity, a.Provider, a.Receiver)
			both := []string{a.Provider, a.Receiver}
			volunteer, _ := strings.CutPrefix(ev.Actor, "volunteer:")
			switch ev.Kind {
			case plenty.KindTaskAssigned:
				var ta plenty.TaskAssignment
				decode(ev, &ta)
				handle := ta.Volunteer
				if v, ok := st.Volunteer(ta.Volunteer); ok {
					handle = v.Handle
				}
				out = append(out, notice{ID: id(NoticeDrawn), Type: NoticeDrawn, At: ev.Time, Councils: both, Volunteer: ta.Volunteer,
					Title: handle + " was drawn to carry " + what, Agreement: a.ID, Task: t.ID})
			case plenty.KindTaskPickedUp:
				out = append(out, notice{ID: id(NoticePickedUp), Type: NoticePickedUp, At: ev.Time, Councils: both, Volunteer: volunteer,
					Title: "Picked up: " + what, Agreement: a.ID, Task: t.ID})
			case plenty.KindTaskDroppedOff:
				out = append(out, notice{ID: id(NoticeDelivered), Type: NoticeDelivered, At: ev.Time, Councils: both, Volunteer: volunteer,
					Title: "Delivered: " + what, Agreement: a.ID, Task: t.ID},
					notice{ID: id(NoticeReceiptDue), Type: NoticeReceiptDue, At: ev.Time, Councils: []string{a.Receiver},
						Title: "Confirm receipt of " + what, Agreement: a.ID, Task: t.ID})
			}
			return nil
		})
	case plenty.KindTransferRecorded, plenty.KindAgreementCancelled:
		var ref struct {
			Agreement string `json:"agreement"`
		}
		if decode(ev, &ref) != nil || ref.Agreement == "" {
			return nil, nil
		}
		how := "received"
		if ev.Kind == plenty.KindAgreementCancelled {
			var d plenty.AgreementCancellation
			decode(ev, &d)
			how = "cancelled (" + d.Reason + ")"
		}
		c.s.read(func(st *plenty.State) error {
			a, ok := st.Agreement(ref.Agreement)
			if !ok {
				return nil
			}
			t, _ := st.Task(plenty.TaskID(a.ID))
			out = append(out, notice{ID: id(NoticeEnded), Type: NoticeEnded, At: ev.Time, Councils: []string{a.Provider, a.Receiver},
				Volunteer: t.Assignee, Title: "Agreement " + how + ": " + describe(st, a.Item, a.Quantity, a.Provider, a.Receiver),
				Agreement: a.ID, Task: t.ID})
			return nil
		})
		err = errors.Join(c.endThread(ref.Agreement, ev.Time), c.postingsUsed(ref.Agreement, ev.Time))
	}
	return out, err
}

func decode(ev plenty.Event, v any) error { return jsonUnmarshal(ev.Data, v) }

// proposalNotices tells both councils of each proposal of a run that was
// not told before, once; proposals that expired are forgotten.
func (c *coord) proposalNotices(set *proposalSet, now time.Time) error {
	var tp toldProposals
	if _, err := c.store.Get(kindState, "proposals", &tp); err != nil {
		return err
	}
	if tp.Told == nil {
		tp.Told = map[string]time.Time{}
	}
	changed := false
	for id, exp := range tp.Told {
		if !now.Before(exp) {
			delete(tp.Told, id)
			changed = true
		}
	}
	var out []notice
	c.s.read(func(st *plenty.State) error {
		for _, p := range set.list {
			if _, told := tp.Told[p.ID]; told || !now.Before(p.ExpiresAt) {
				continue
			}
			tp.Told[p.ID], changed = p.ExpiresAt, true
			out = append(out, notice{ID: "p." + p.ID, Type: NoticeProposal, At: set.at, Proposal: p.ID,
				Councils: []string{p.Provider, p.Receiver},
				Title:    "Proposed: " + describe(st, p.Item, p.Quantity, p.Provider, p.Receiver)})
		}
		return nil
	})
	if !changed {
		return nil
	}
	if err := c.tell(out); err != nil {
		return err
	}
	return c.store.Put(kindState, "proposals", tp)
}

// expiryNotices warns, once each, of offers, needs, mandates and
// agreements that run out within expiryWarning, and volunteers whose
// claim lapses within half the claim window.
func (c *coord) expiryNotices(fs *followState, now time.Time) (out []notice, changed bool) {
	for k, at := range fs.Warned {
		if now.After(at) {
			delete(fs.Warned, k)
			changed = true
		}
	}
	warn := func(kind, id string, at time.Time, within time.Duration, n notice) {
		key := kind + ":" + id
		if _, done := fs.Warned[key]; done || !now.Before(at) || at.Sub(now) > within {
			return
		}
		fs.Warned[key], changed = at, true
		n.ID, n.Type, n.At, n.Subject = fmt.Sprintf("x.%s.%s.%d", kind, id, at.Unix()), NoticeExpiring, now, id
		n.Title += " on " + at.UTC().Format("2 Jan 2006 15:04 UTC")
		out = append(out, n)
	}
	c.s.read(func(st *plenty.State) error {
		terms, termsSet := st.Terms()
		for _, o := range st.Offers() {
			if o.Status == plenty.StatusOpen {
				at := o.ExpiresAt
				if !o.AvailableUntil.IsZero() && o.AvailableUntil.Before(at) {
					at = o.AvailableUntil
				}
				warn("offer", o.ID, at, expiryWarning, notice{Councils: []string{o.Council}, Title: "Offer " + o.ID + " expires"})
			}
		}
		for _, n := range st.Needs() {
			if n.Status == plenty.StatusOpen {
				warn("need", n.ID, n.ExpiresAt, expiryWarning, notice{Councils: []string{n.Council}, Title: "Need " + n.ID + " expires"})
			}
		}
		for _, d := range st.Delegates() {
			if d.RecalledAt == nil {
				warn("mandate", d.ID, d.ExpiresAt, expiryWarning, notice{Councils: []string{d.Council},
					Title: "The mandate of delegate " + d.Label + " (" + d.ID + ") expires"})
			}
		}
		if !termsSet {
			return nil
		}
		for _, a := range st.Agreements() {
			if a.Status != plenty.AgreementActive {
				continue
			}
			t, _ := st.Task(plenty.TaskID(a.ID))
			switch t.Status {
			case plenty.TaskOpen, "":
				warn("agreement", a.ID, a.FormedAt.Add(terms.AgreementTerm), expiryWarning, notice{Councils: []string{a.Provider, a.Receiver},
					Agreement: a.ID, Task: t.ID, Title: "Not picked up, agreement " + a.ID + " expires"})
			case plenty.TaskAssigned:
				warn("claim."+t.Assignee, t.ID, t.AssignedAt.Add(terms.ClaimWindow), terms.ClaimWindow/2, notice{Volunteer: t.Assignee,
					Agreement: a.ID, Task: t.ID, Title: "Pick up task " + t.ID + " or your claim lapses"})
			}
		}
		return nil
	})
	return out, changed
}

// tell adds notices to the feeds of those they concern and queues them
// for the councils' webhooks.
func (c *coord) tell(notices []notice) error {
	if len(notices) == 0 {
		return nil
	}
	byFeed := map[string][]notice{}
	var order []string
	for _, n := range notices {
		for _, to := range append(append([]string(nil), n.Councils...), n.Volunteer) {
			if to == "" {
				continue
			}
			if _, ok := byFeed[to]; !ok {
				order = append(order, to)
			}
			byFeed[to] = append(byFeed[to], n)
		}
	}
	for _, to := range order {
		if err := c.addToFeed(to, byFeed[to]); err != nil {
			return err
		}
	}
	return c.hooks.enqueue(notices)
}
