package ledger

import "time"

// IdempotencyWindow is how long the ledger remembers an idempotency key:
// 24 hours from the event it returned. A key sent again within the window
// returns the first event (or is a conflict for another request); a key
// older than the window is forgotten, and the same request then writes a
// new event. Clients retry within seconds or minutes, so a day is ample,
// and it keeps the memory of keys bounded by a day's writes rather than
// growing with the whole history.
const IdempotencyWindow = 24 * time.Hour

type idemEntry struct {
	requestHash string
	seq         int64
	time        time.Time // the event's time
}

// idemWindow holds the idempotency keys of the last IdempotencyWindow.
// Keys arrive in event order, and event times never go backwards, so the
// oldest key is always at the front of order.
type idemWindow struct {
	keys  map[string]idemEntry
	order []string // keys by event time, oldest first; order[head:] is live
	head  int
}

func newIdemWindow() *idemWindow { return &idemWindow{keys: map[string]idemEntry{}} }

func (w *idemWindow) get(key string) (idemEntry, bool) {
	e, ok := w.keys[key]
	return e, ok
}

func (w *idemWindow) add(key string, e idemEntry) {
	w.keys[key] = e
	w.order = append(w.order, key)
}

// expire forgets the keys of events before now minus the window.
func (w *idemWindow) expire(now time.Time) {
	cutoff := now.Add(-IdempotencyWindow)
	for w.head < len(w.order) {
		k := w.order[w.head]
		if e, ok := w.keys[k]; ok && !e.time.Before(cutoff) {
			break
		}
		delete(w.keys, k)
		w.order[w.head] = ""
		w.head++
	}
	// Compact once the dead prefix is most of the slice.
	if w.head > 1024 && w.head > len(w.order)/2 {
		w.order = append(w.order[:0:0], w.order[w.head:]...)
		w.head = 0
	}
}

// Len is the number of keys remembered.
func (w *idemWindow) Len() int { return len(w.keys) }
