package hub

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/plentyhub/plenty"
)

// loops run beside the server: the matching engine, debounced after
// changes and rerun every TickInterval, and the timers, which wake at the
// state's next deadline.
type loops struct {
	once      sync.Once
	coordOnce sync.Once
	stopped   sync.Once
	stop      chan struct{}
	wake      chan struct{} // a write since the timers last looked; buffered, size 1
	tick      sync.Mutex    // serialises Tick
	done      sync.WaitGroup
}

func newLoops() *loops {
	return &loops{stop: make(chan struct{}), wake: make(chan struct{}, 1)}
}

func (l *loops) start(s *Server) {
	l.once.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-l.stop; cancel() }()
		l.done.Add(2)
		go func() {
			defer l.done.Done()
			s.runMatching(ctx, l.stop)
		}()
		go func() {
			defer l.done.Done()
			s.runTimers(ctx, l.stop)
		}()
		s.startOpenData()
	})
}

// poke tells the timers that the ledger changed: a write may bring a
// deadline nearer.
func (l *loops) poke() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// coord runs the follower of the coordination (see coord.go) beside the
// loops; halt stops it with them.
func (l *loops) coord(s *Server, ln net.Listener) {
	l.coordOnce.Do(func() {
		l.done.Add(1)
		go func() {
			defer l.done.Done()
			s.coord.run(ln, l.stop)
			s.coord.stop()
		}()
	})
}

// halt stops the loops and waits for them.
func (l *loops) halt() {
	l.stopped.Do(func() { close(l.stop) })
	l.done.Wait()
}

func (s *Server) runMatching(ctx context.Context, stop <-chan struct{}) {
	s.RunMatching(ctx)
	tick := time.NewTicker(s.cfg.TickInterval)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-s.engine.dirty:
			// Debounce: gather the changes of the next MatchDelay into one run.
			select {
			case <-stop:
				return
			case <-time.After(s.cfg.MatchDelay):
			}
			select {
			case <-s.engine.dirty:
			default:
			}
			s.RunMatching(ctx)
		case <-tick.C:
			s.RunMatching(ctx)
		}
	}
}

// timerSettle is the least time between two looks at the deadlines, so
// that a burst of writes costs one look (plenty.State.NextDeadline reads
// every open posting, mandate, agreement and task).
const timerSettle = 20 * time.Millisecond

// runTimers runs Tick whenever the state's next deadline comes: it sleeps
// until then, looking again after every write (which may bring a deadline
// nearer), and at most TickInterval, which also retries what a failed Tick
// left due. A draw thus follows its window's close, and an expiry its
// time, by milliseconds rather than up to a sweep. At start it ticks at
// once only when something ran out while the hub was down.
func (s *Server) runTimers(ctx context.Context, stop <-chan struct{}) {
	var since time.Time // when the last Tick looked: what fell due until then was recorded
	failed := false     // the last Tick failed: wait a little before the next
	timer := time.NewTimer(s.untilDeadline(since))
	defer timer.Stop()
	for {
		select {
		case <-stop:
			return
		case <-timer.C:
			since = s.now()
			err := s.Tick(ctx)
			if failed = err != nil && ctx.Err() == nil; failed {
				s.log.Error("timers", "err", err)
			}
		case <-s.loops.wake:
		}
		select {
		case <-stop:
			return
		case <-time.After(timerSettle):
		}
		select {
		case <-s.loops.wake:
		default:
		}
		wait := s.untilDeadline(since)
		if failed {
			wait = max(wait, time.Second)
		}
		timer.Reset(wait)
	}
}

// untilDeadline returns how long to sleep until the earliest deadline
// after since (zero when it has passed already), at most TickInterval.
// The draws, lapses and agreement expiries are measured against the terms
// the ledger holds, so once there is an agreement and the ledger does not
// hold the configured terms, it is time to publish them.
func (s *Server) untilDeadline(since time.Time) time.Duration {
	wait := s.cfg.TickInterval
	s.read(func(st *plenty.State) error {
		if cur, set := st.Terms(); (!set || cur != s.terms()) && st.AgreementsUnderWay() > 0 {
			wait = 0
			return nil
		}
		if next, ok := st.NextDeadline(since); ok {
			wait = min(wait, max(next.Sub(s.now()), 0))
		}
		return nil
	})
	return wait
}
