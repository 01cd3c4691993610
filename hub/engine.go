package hub

import (
	"context"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/matching"
)

// proposalSet is the outcome of one matching run.
type proposalSet struct {
	size      int64
	at        time.Time
	list      []plenty.Proposal
	byCouncil map[string][]int // council → indexes into list
}

// engine keeps the current proposals, and every proposal served since it
// was computed that has not expired: a council may accept a proposal it
// was shown even after a newer run replaced it, and the ledger's fold
// decides, by what is still remaining, whether it can still be agreed.
type engine struct {
	cur   atomic.Pointer[proposalSet]
	dirty chan struct{} // a change since the last run; buffered, size 1

	run sync.Mutex // serialises runs, guards inc and stats
	// inc keeps each item's last solution and re-solves, warm, only the
	// items whose input changed; its proposals are those of a
	// from-scratch matching.Propose of the same input (its tie rule), so
	// they stay recomputable from the log. nil: start afresh.
	inc   *matching.Incremental
	stats matching.Stats // what the last run did with each item

	mu     sync.Mutex // guards served and nextExpiry
	served map[string]plenty.Proposal
	// nextExpiry is the earliest expiry in served (zero: none), so that
	// runs scan served for expired proposals only when one is due.
	nextExpiry time.Time
}

func newEngine() *engine {
	e := &engine{dirty: make(chan struct{}, 1), served: map[string]plenty.Proposal{}}
	e.cur.Store(&proposalSet{byCouncil: map[string][]int{}})
	return e
}

// changed notes that the ledger changed, for the matching loop.
func (e *engine) changed() {
	select {
	case e.dirty <- struct{}{}:
	default:
	}
}

// current returns the proposals of the last run.
func (e *engine) current() *proposalSet { return e.cur.Load() }

// lookup returns a proposal served and not yet expired at now.
func (e *engine) lookup(id string, now time.Time) (plenty.Proposal, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.served[id]
	if ok && !now.Before(p.ExpiresAt) {
		return p, false
	}
	return p, ok
}

// RunMatching recomputes the proposals from the ledger's current state,
// solving again only the items whose offers or needs changed (warm, from
// the last solution) and reusing the others. The proposals equal those of
// matching.Propose on matching.InputOf of the same state and time. The
// server runs it after changes and on every tick; tests call it to see
// proposals at once. Runs are serialised; acceptances meanwhile read the
// proposals served so far.
func (s *Server) RunMatching(ctx context.Context) error {
	e := s.engine
	e.run.Lock()
	defer e.run.Unlock()
	now := s.now()
	var in matching.Input
	if err := s.read(func(st *plenty.State) error {
		in = matching.InputOf(st, now)
		return nil
	}); err != nil {
		return err
	}
	start := time.Now()
	if e.inc == nil {
		e.inc = matching.NewIncremental(in.Options)
	}
	e.inc.SetExclude(in.Options.Exclude)
	ps, stats, err := e.inc.Propose(in)
	if err != nil {
		e.inc = nil // the next run starts afresh
		s.log.Error("matching failed", "ledger_size", in.LedgerSize, "err", err)
		return err
	}
	e.stats = stats
	s.metrics.observeMatching(time.Since(start), len(ps))
	set := &proposalSet{size: in.LedgerSize, at: now, list: ps, byCouncil: map[string][]int{}}
	// The last run's list is in the same order (item, offer, need), and
	// each of its proposals is the one served under its ID: walking it
	// beside this run's finds most proposals without a map lookup.
	prev, j := e.cur.Load().list, 0
	e.mu.Lock()
	for i := range ps {
		ps[i].ComputedAt = now
		for j < len(prev) && proposalBefore(&prev[j], &ps[i]) {
			j++
		}
		// While its terms stand (the id hashes them), a proposal is the
		// one first served: its expiry does not move with every run, and
		// its ledger size and time still recompute it.
		if j < len(prev) && prev[j].ID == ps[i].ID && now.Before(prev[j].ExpiresAt) {
			ps[i] = prev[j]
			j++
		} else if old, ok := e.served[ps[i].ID]; ok && now.Before(old.ExpiresAt) {
			ps[i] = old
		} else {
			e.served[ps[i].ID] = ps[i]
			if e.nextExpiry.IsZero() || ps[i].ExpiresAt.Before(e.nextExpiry) {
				e.nextExpiry = ps[i].ExpiresAt
			}
		}
		set.byCouncil[ps[i].Provider] = append(set.byCouncil[ps[i].Provider], i)
		if ps[i].Receiver != ps[i].Provider {
			set.byCouncil[ps[i].Receiver] = append(set.byCouncil[ps[i].Receiver], i)
		}
	}
	if !e.nextExpiry.IsZero() && !now.Before(e.nextExpiry) {
		// lookup and pending skip expired proposals anyway: this only
		// frees them, once one has expired, not on every run
		e.nextExpiry = time.Time{}
		for id, p := range e.served {
			if !now.Before(p.ExpiresAt) {
				delete(e.served, id)
			} else if e.nextExpiry.IsZero() || p.ExpiresAt.Before(e.nextExpiry) {
				e.nextExpiry = p.ExpiresAt
			}
		}
	}
	e.mu.Unlock()
	e.cur.Store(set)
	s.coord.proposed(set)
	return nil
}

// proposalBefore orders proposals as matching returns them: by item,
// offer and need.
func proposalBefore(a, b *plenty.Proposal) bool {
	if a.Item != b.Item {
		return a.Item < b.Item
	}
	if a.Offer != b.Offer {
		return a.Offer < b.Offer
	}
	return a.Need < b.Need
}

// pending returns the proposals served and not expired at now that a
// council has accepted and that have no agreement (or refusal) yet,
// except those in skip: a proposal waiting for a co-signature stays in view even after a
// newer run replaced it.
func (e *engine) pending(st *plenty.State, council string, now time.Time, skip map[string]bool) []plenty.Proposal {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []plenty.Proposal
	for id, p := range e.served {
		if skip[id] || !now.Before(p.ExpiresAt) || (council != "" && p.Provider != council && p.Receiver != council) {
			continue
		}
		if acc, ok := st.Acceptance(id); ok && acc.Agreement == "" && !slices.ContainsFunc(acc.Decisions, func(d plenty.Decision) bool { return !d.Accepted }) {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
