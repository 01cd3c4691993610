package hub

import (
	"context"
	"net"
	"sync"
	"time"
)

// loops run beside the server: the matching engine, debounced after
// changes, and the timers, every TickInterval.
type loops struct {
	once      sync.Once
	coordOnce sync.Once
	stopped   sync.Once
	stop      chan struct{}
	done      sync.WaitGroup
}

func (l *loops) start(s *Server) {
	l.once.Do(func() {
		l.done.Add(1)
		go func() {
			defer l.done.Done()
			s.runLoops(l.stop)
		}()
	})
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

func (s *Server) runLoops(stop <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-stop; cancel() }()
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
			if err := s.Tick(ctx); err != nil {
				s.log.Error("timers", "err", err)
			}
			s.RunMatching(ctx)
		}
	}
}
