package ledger

import "time"

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
