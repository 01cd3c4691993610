package ledger

import (
	"sync"
	"time"
)

// Stats are the ledger's counters since it opened, for /metrics.
type Stats struct {
	Appends        int64         // acknowledged appends, replays included
	AppendTime     time.Duration // summed time from submit to acknowledgement
	Batches        int64         // committed transactions
	CommittedEvent int64         // events committed
	CommitTime     time.Duration // summed time spent committing
}

type stats struct {
	mu sync.Mutex
	s  Stats
}

func (s *stats) observe(d time.Duration) {
	s.mu.Lock()
	s.s.Appends++
	s.s.AppendTime += d
	s.mu.Unlock()
}

func (s *stats) batch(n int, d time.Duration) {
	s.mu.Lock()
	s.s.Batches++
	s.s.CommittedEvent += int64(n)
	s.s.CommitTime += d
	s.mu.Unlock()
}

// Stats returns a copy of the ledger's counters.
func (l *Ledger) Stats() Stats {
	l.stats.mu.Lock()
	defer l.stats.mu.Unlock()
	return l.stats.s
}
