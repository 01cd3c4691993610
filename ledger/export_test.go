package ledger

import (
	"sync"
	"time"
)

// DelayCommits makes the committer wait d before each DuckDB commit, so
// that a crash test can kill the process while acknowledged events are in
// the journal only.
func DelayCommits(d time.Duration) { commitHook = func() { time.Sleep(d) } }

// IdempotencyKeys is the number of idempotency keys l remembers.
func (l *Ledger) IdempotencyKeys() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.idem.Len()
}

// CheckPayloads turns the test binaries' check of payloads on or off;
// benchmarks turn it off to measure what a hub does.
func CheckPayloads(on bool) { checkPayloads = on }

// HoldCommits makes the committer wait before each DuckDB commit until
// release is called: DuckDB lags the journal for as long as a test needs.
// It is set before the ledger opens; ResetCommitHook clears it once the
// ledger is closed.
func HoldCommits() (release func()) {
	ch := make(chan struct{})
	commitHook = func() { <-ch }
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

// ResetCommitHook removes a hook HoldCommits or DelayCommits set.
func ResetCommitHook() { commitHook = nil }
