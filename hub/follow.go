package hub

import (
	"context"
	"time"

	"github.com/plentyhub/plenty"
)

// The follower reads the ledger's events after the hub wrote them, and
// each matching run's proposals: it keeps the private store in step with
// the agreements (see observe) and tells people what needs them
// (notices.go).

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
// follower's place is saved after each batch that acted (see followTo), so
// a crash repeats at most that batch and the events since that did
// nothing: feeds skip notices they hold, and a webhook receiver may see a
// webhook-id again, as Standard Webhooks allows.
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
// after each batch that acted and every unsavedEvents.
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
