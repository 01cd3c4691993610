package plenty

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"reflect"
	"slices"
)

// Closed postings leave the state. An offer or a need whose life is over
// (withdrawn, expired or fulfilled) and that no later event can change
// leaves the live maps in the event that makes it so; the ledger reads it
// from its projection document from then on. This is part of the fold's
// definition, not a cache: every fold of the same events (the hub, a
// restart from a snapshot, `plenty check`, `plenty verify`, a mirror)
// evicts the same postings at the same events, so they decide alike.
//
// A posting can still change while an agreement on it is active (a
// cancellation gives its quantity back, a receipt short of it gives the
// shortfall back to the need), and a need whose agreement was received can
// still change through a correction of that receipt. So an offer leaves
// once it is not open and holds no active agreement; a need once it is not
// open, holds no active agreement and none of its receipts is still open
// to correction (Terms.CorrectionWindow, retire.go).
//
// What the rules still ask of a posting that left is kept compactly in
// State.gone, keyed by a 128-bit hash of its id: that the id is taken (a
// re-post is refused), and its kind, council, item and status, so that a
// withdrawal, an expiry or a decision on a proposal that names it is
// refused, or (a decline) recorded, exactly as when it was live.

// goneKey is the SHA-256 of an entity's kind and id, cut to 128 bits. The
// set is probabilistic: two ids of a kind sharing a key would need about
// 2^64 tries to find, and the cost of one is only that the second id is
// refused as taken (or as closed), by every fold alike.
type goneKey [16]byte

func goneKeyOf(kind, id string) goneKey {
	var buf [96]byte
	b := append(append(append(buf[:0], kind...), 0), id...)
	h := sha256.Sum256(b)
	return goneKey(h[:16])
}

// goneAs is what the fold keeps of an entity that left. Few tuples are
// distinct (councils × items × statuses), so each is kept once in
// State.goneAs and a gone entity holds its index. An acceptance that left
// without an agreement keeps its receiver in Item and what each council
// decided in Status (stale.as, acceptance.go).
type goneAs struct {
	Kind, Council, Item, Status string
}

// bury moves a posting that cannot change any more out of the live maps.
// It is called after each change to a posting's status or holds.
func (s *State) bury(kind, id string) {
	var g goneAs
	var v any
	switch kind {
	case "offer":
		o := s.offers[id]
		if o == nil || o.Status == StatusOpen || s.holds[id] > 0 {
			return
		}
		g, v = goneAs{kind, o.Council, o.Item, o.Status}, o
		delete(s.offers, id)
	case "need":
		n := s.needs[id]
		if n == nil || n.Status == StatusOpen || s.holds[id] > 0 || s.receipts[id] > 0 {
			return
		}
		g, v = goneAs{kind, n.Council, n.Item, n.Status}, n
		delete(s.needs, id)
	default:
		return
	}
	s.forget(g, id, v)
	s.index.remove(kind, id)
	delete(s.settled, kind[:1]+":"+id)
	s.dropPairs(kind[:1] + ":" + id)
	s.dropAcceptances(kind[:1] + ":" + id)
	if kind == "need" {
		s.settleNeedFigures(v.(*Need))
	}
}

// forget records that the entity id, now out of the live maps, left as g,
// and keeps its last value v for the store (closedDocs).
func (s *State) forget(g goneAs, id string, v any) {
	s.regone(id, g)
	if s.onChange != nil {
		s.closedDocs.add(Change{g.Kind, id}, v, s.size)
	}
}

// regone records that the entity id, out of the live maps, is (now) g.
func (s *State) regone(id string, g goneAs) {
	i, ok := s.goneIndex[g]
	if !ok {
		i = uint32(len(s.goneAs))
		s.goneAs = append(s.goneAs, g)
		s.goneIndex[g] = i
	}
	s.gone.put(goneKeyOf(g.Kind, id), i)
}

// goneOffer returns a stand-in for an offer that left the state, holding
// what the rules read of it (id, council, item, status), or nil.
func (s *State) goneOffer(id string) *Offer {
	if g, ok := s.goneAsOf(id, "offer"); ok {
		return &Offer{ID: id, Council: g.Council, Item: g.Item, Status: g.Status}
	}
	return nil
}

// goneNeed is goneOffer for needs.
func (s *State) goneNeed(id string) *Need {
	if g, ok := s.goneAsOf(id, "need"); ok {
		return &Need{ID: id, Council: g.Council, Item: g.Item, Status: g.Status}
	}
	return nil
}

func (s *State) goneAsOf(id, kind string) (goneAs, bool) {
	i, ok := s.gone.get(goneKeyOf(kind, id))
	if !ok || int(i) >= len(s.goneAs) || s.goneAs[i].Kind != kind {
		return goneAs{}, false
	}
	return s.goneAs[i], true
}

// offerOrGone returns the live offer, or a stand-in for one that left.
func (s *State) offerOrGone(id string) *Offer {
	if o := s.offers[id]; o != nil {
		return o
	}
	return s.goneOffer(id)
}

// needOrGone returns the live need, or a stand-in for one that left.
func (s *State) needOrGone(id string) *Need {
	if n := s.needs[id]; n != nil {
		return n
	}
	return s.goneNeed(id)
}

// GoneStatus returns the status an entity of kind had when it left the
// state, and false when it did not leave.
func (s *State) GoneStatus(kind, id string) (string, bool) {
	g, ok := s.goneAsOf(id, kind)
	return g.Status, ok
}

// Gone reports whether id is the id of an entity of kind (an offer, a
// need, an agreement, a task, a transfer or an acceptance) that ended and
// left the state: its document is in the ledger's projections.
func (s *State) Gone(kind, id string) bool {
	_, ok := s.goneAsOf(id, kind)
	return ok
}

// closedDocs keeps the entities that left the state until the store that
// registered OnChange has written their last document: the ledger commits
// to DuckDB after the journal, so a posting that closed a moment ago may
// not be in DuckDB yet. It is not part of the fold (a snapshot leaves it
// out) and is kept only when OnChange is set.
type closedDocs struct {
	at    map[Change]closedDoc
	order []Change // in the order they left
}

type closedDoc struct {
	v   any // *Offer, *Need, *Agreement, *Task, *Transfer or *Acceptance
	seq int64
}

var closedDocsType = reflect.TypeFor[*closedDocs]()

func (c *closedDocs) add(ch Change, v any, seq int64) {
	if c.at == nil {
		c.at = map[Change]closedDoc{}
	}
	c.at[ch] = closedDoc{v, seq}
	c.order = append(c.order, ch)
}

func (c *closedDocs) get(ch Change) any {
	if d, ok := c.at[ch]; ok {
		return d.v
	}
	return nil
}

// closedOf returns the entities of kind that left the state and wait for
// the store, in the order they left.
func closedOf[T any](c *closedDocs, kind string) []*T {
	var out []*T
	for _, ch := range c.order {
		if v, ok := c.at[ch].v.(*T); ok && ch.Kind == kind {
			out = append(out, v)
		}
	}
	return out
}

// ForgetClosed drops the entities that left the state at events before
// size: the store holds their last document. The ledger calls it with the
// number of events DuckDB has committed.
func (s *State) ForgetClosed(size int64) {
	c := s.closedDocs
	n := 0
	for n < len(c.order) && c.at[c.order[n]].seq < size {
		delete(c.at, c.order[n])
		n++
	}
	if n > 0 {
		c.order = append(c.order[:0], c.order[n:]...)
	}
}

// TakeClosed calls fn once with the entities that left the state at
// events before size, in the order they left, and then drops them as
// ForgetClosed(size) does. While fn runs, Doc and the accessors (Offer,
// Need, Agreement, Transfer) still find them: a caller that folds what
// left into a summary of its own (plenty verify's digest of each table)
// reads them one last time and need not keep every entity ever. left is
// valid only during the call. fn is not called when none left before
// size. When fn returns an error, nothing is dropped and TakeClosed
// returns it.
func (s *State) TakeClosed(size int64, fn func(left []Change) error) error {
	c := s.closedDocs
	n := 0
	for n < len(c.order) && c.at[c.order[n]].seq < size {
		n++
	}
	if n == 0 {
		return nil
	}
	if err := fn(c.order[:n:n]); err != nil {
		return err
	}
	s.ForgetClosed(size)
	return nil
}

// Closed returns how many entities left the state and await ForgetClosed.
func (s *State) Closed() int { return len(s.closedDocs.at) }

// Holds reports whether the state holds the entity of kind id: live, or
// left but not yet dropped by ForgetClosed.
func (s *State) Holds(kind, id string) bool {
	return s.live(kind, id) != nil || s.closedDocs.get(Change{kind, id}) != nil
}

// goneSet maps the hashed id of each posting that left to its tuple in
// State.goneAs. It holds an entry per closed posting ever, so it is kept
// compact: a slice sorted by key (20 bytes an entry, searched in
// O(log n)) and a small map of the newest entries, merged into the slice
// once it grows past a sixteenth of it. Its snapshot encoding is the sorted
// union, whatever is still in the map, so equal sets encode equally, and
// it decodes with one pass over the bytes rather than by reflection.
type goneSet struct {
	sorted []goneEntry
	recent map[goneKey]uint32
}

type goneEntry struct {
	key goneKey
	as  uint32
}

func compareGone(a, b goneEntry) int { return bytes.Compare(a.key[:], b.key[:]) }

// keyBefore reports whether key a sorts before b, as compareGone does, in
// two word comparisons.
func keyBefore(a, b goneKey) bool {
	a0, b0 := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8])
	return a0 < b0 || (a0 == b0 && binary.BigEndian.Uint64(a[8:]) < binary.BigEndian.Uint64(b[8:]))
}

func (g *goneSet) get(k goneKey) (uint32, bool) {
	if v, ok := g.recent[k]; ok {
		return v, true
	}
	if i, ok := slices.BinarySearchFunc(g.sorted, goneEntry{key: k}, compareGone); ok {
		return g.sorted[i].as, true
	}
	return 0, false
}

func (g *goneSet) put(k goneKey, v uint32) {
	// A key put again (an entity whose record changed) is changed where
	// it is, so that each key is held once.
	if i, ok := slices.BinarySearchFunc(g.sorted, goneEntry{key: k}, compareGone); ok {
		g.sorted[i].as = v
		return
	}
	if g.recent == nil {
		g.recent = map[goneKey]uint32{}
	}
	g.recent[k] = v
	if len(g.recent) > max(1024, len(g.sorted)/16) {
		g.merge()
	}
}

func (g *goneSet) len() int { return len(g.sorted) + len(g.recent) }

// all returns every entry, sorted by key.
func (g *goneSet) all() []goneEntry {
	if len(g.recent) == 0 {
		return g.sorted
	}
	add := make([]goneEntry, 0, len(g.recent))
	for k, v := range g.recent {
		add = append(add, goneEntry{k, v})
	}
	slices.SortFunc(add, compareGone)
	out := make([]goneEntry, 0, len(g.sorted)+len(add))
	i, j := 0, 0
	for i < len(g.sorted) || j < len(add) {
		if j == len(add) || (i < len(g.sorted) && compareGone(g.sorted[i], add[j]) < 0) {
			out = append(out, g.sorted[i])
			i++
		} else {
			out = append(out, add[j])
			j++
		}
	}
	return out
}

func (g *goneSet) merge() {
	g.sorted = g.all()
	clear(g.recent)
}

func (g *goneSet) appendSnapshot(b []byte) []byte {
	all := g.all()
	b = binary.AppendUvarint(b, uint64(len(all)))
	for _, e := range all {
		b = append(b, e.key[:]...)
		b = binary.BigEndian.AppendUint32(b, e.as)
	}
	return b
}

func (g *goneSet) readSnapshot(b []byte) ([]byte, error) {
	const size = len(goneKey{}) + 4
	n, w := binary.Uvarint(b)
	if w <= 0 {
		return nil, errSnapshotShort
	}
	b = b[w:]
	if n > uint64(len(b)/size) {
		return nil, errSnapshotShort
	}
	var sorted []goneEntry // nil when empty, as in a state never snapshotted
	if n > 0 {
		sorted = make([]goneEntry, n)
	}
	for i := range sorted {
		e := &sorted[i]
		e.key = goneKey(b[:len(goneKey{})])
		e.as = binary.BigEndian.Uint32(b[len(goneKey{}):size])
		if i > 0 && !keyBefore(sorted[i-1].key, e.key) {
			return nil, errors.New("damaged set of closed postings: keys out of order")
		}
		b = b[size:]
	}
	*g = goneSet{sorted: sorted}
	return b, nil
}
