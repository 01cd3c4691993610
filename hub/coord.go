package hub

import (
	"context"
	"errors"
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
	kindState       = "state"       // the follower's place and the proposals it told
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
			return c, err
		}
		for _, k := range keys {
			var r struct {
				DeleteAt *time.Time `json:"delete_at"`
			}
			if _, err := store.Get(kind, k, &r); err != nil {
				return c, err
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
		a, err := c.s.ledger.Agreement(context.Background(), key)
		if err != nil || a.Status != plenty.AgreementActive {
			errs = append(errs, c.endThread(key, now))
		}
	}
	if len(due) > 0 {
		c.armTimer()
	}
	return errors.Join(errs...)
}
