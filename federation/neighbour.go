package federation

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/plentyhub/plenty"
)

// Statuses of a neighbour.
const (
	StatusOK          = "ok"          // mirrored and cosigned up to its latest checkpoint
	StatusPending     = "pending"     // not witnessed yet, or the link is not two-sided
	StatusUnreachable = "unreachable" // its checkpoint or events could not be fetched
	StatusFork        = "fork"        // it signed two inconsistent histories
	StatusRollback    = "rollback"    // it signed a smaller tree than one witnessed
	StatusWithholding = "withholding" // it did not serve events it signed
)

// catchUpChunk is how many entries a catch-up fetches, checks and folds
// before writing them out.
const catchUpChunk = 64 * TileWidth

// Neighbour is one hub this hub mirrors and witnesses: its mirror, its
// witnessed state and its pull loop.
type Neighbour struct {
	f     *Federation
	log   Log
	fetch *fetcher
	wake  chan struct{}

	mu sync.Mutex // serialises advance and every use of m
	m  *mirror

	withheldSince time.Time // first failure to get the events of a signed checkpoint
	withheld      []byte    // that checkpoint

	comparedAt time.Time // when the other witnesses' views were last compared

	stMu sync.Mutex
	st   neighbourState
}

type neighbourState struct {
	w        Witnessed // a copy of the mirror's, readable during a catch-up
	status   string
	err      string
	unlisted bool // the last pull found that the neighbour does not list this hub as a witness
}

// NeighbourStatus is what GET /fed/v1/neighbours shows of a neighbour.
type NeighbourStatus struct {
	Origin     string     `json:"origin"`
	URL        string     `json:"url"`
	Log        string     `json:"log"`
	Size       int64      `json:"size"`
	Status     string     `json:"status"`
	Error      string     `json:"error,omitempty"`
	CosignedAt *time.Time `json:"cosigned_at,omitempty"`
	Evidence   *Halt      `json:"evidence,omitempty"`
}

// Origin is the neighbour's origin line.
func (n *Neighbour) Origin() string { return n.log.Origin }

// Key is the neighbour's log verifier key.
func (n *Neighbour) Key() string { return n.log.Key }

// Status returns the neighbour's status.
// It does not wait for a catch-up in progress.
func (n *Neighbour) Status() NeighbourStatus {
	n.stMu.Lock()
	st := n.st
	n.stMu.Unlock()
	w := st.w
	s := NeighbourStatus{Origin: n.log.Origin, URL: n.log.URL, Log: n.log.Key, Size: w.Size, Status: st.status, Error: st.err}
	if !w.CosignedAt.IsZero() {
		t := w.CosignedAt
		s.CosignedAt = &t
	}
	if w.Halt != nil {
		h := *w.Halt
		s.Evidence = &h
		s.Status = haltStatus(h.Kind)
	}
	return s
}

func haltStatus(kind string) string {
	switch kind {
	case plenty.EvidenceRollback:
		return StatusRollback
	case plenty.EvidenceWithholding:
		return StatusWithholding
	}
	return StatusFork
}

func (n *Neighbour) setStatus(status string, err error) {
	n.stMu.Lock()
	defer n.stMu.Unlock()
	n.st.status = status
	n.st.err = ""
	if err != nil {
		n.st.err = err.Error()
	}
}

// Witnessed returns the witnessed state, without waiting for a catch-up
// in progress.
func (n *Neighbour) Witnessed() Witnessed {
	n.stMu.Lock()
	defer n.stMu.Unlock()
	return n.st.w
}

// Wake asks the pull loop for a round now.
func (n *Neighbour) Wake() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// round is one pull: the two-sided check, the checkpoint, the catch-up,
// then the comparison with the other witnesses' views.
func (n *Neighbour) round(ctx context.Context) {
	f := n.f
	data, _, err := n.fetch.get(ctx, "neighbours")
	if err != nil {
		n.setStatus(StatusUnreachable, err)
		return
	}
	theirs, err := ParsePolicy(data)
	if err != nil {
		n.setStatus(StatusPending, fmt.Errorf("%s/neighbours: %v", n.fetch.base, err))
		return
	}
	_, listed := theirs.Witness(f.cfg.Cosigner.VerifierKey())
	n.stMu.Lock()
	n.st.unlisted = !listed
	n.stMu.Unlock()
	if !listed {
		n.setStatus(StatusPending, fmt.Errorf("%s does not list this hub as a witness (`witness NAME %s URL`): the link is not active", n.log.Origin, f.cfg.Cosigner.VerifierKey()))
		return
	}
	signed, _, err := n.fetch.get(ctx, "checkpoint")
	if err != nil {
		n.setStatus(StatusUnreachable, err)
		return
	}
	if _, err := n.advance(ctx, signed, nil); err != nil {
		var we *WitnessError
		switch {
		case errors.As(err, &we) && we.Status == 503:
			n.setStatus(StatusUnreachable, err)
		default:
			n.setStatus(StatusPending, err)
		}
		if !errors.Is(err, context.Canceled) {
			f.cfg.Logger.Warn("federation: pull failed", "origin", n.log.Origin, "err", err)
		}
	} else {
		n.setStatus(StatusOK, nil)
	}
	// The other witnesses' views are compared every tenth round, and at
	// once after a change: an idle loop costs two requests a round.
	if now := f.cfg.Now(); now.Sub(n.comparedAt) >= 10*f.cfg.PullInterval || n.Witnessed().CosignedAt.After(n.comparedAt) {
		n.comparedAt = now
		n.comparePeers(ctx, theirs)
	}
}

// advance checks a signed checkpoint of the neighbour against the
// witnessed state, mirrors and folds the events up to it, swaps the
// witnessed state and cosigns. push is the add-checkpoint request when the
// neighbour pushed it, nil when the pull loop fetched it. It returns the
// cosignature line, or a *WitnessError with the tlog-witness status.
func (n *Neighbour) advance(ctx context.Context, signed []byte, push *AddCheckpoint) ([]byte, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	f := n.f
	if len(signed) > MaxCheckpoint {
		return nil, witnessErr(400, "the checkpoint is larger than %d bytes", MaxCheckpoint)
	}
	nt, err := note.Open(signed, note.VerifierList(n.log.Verifier))
	if err != nil {
		return nil, witnessErr(403, "the checkpoint carries no valid signature of %s's log key: %v", n.log.Origin, err)
	}
	cp, err := plenty.ParseCheckpoint(nt.Text)
	if err != nil {
		return nil, witnessErr(400, "%v", err)
	}
	if cp.Origin != n.log.Origin {
		return nil, witnessErr(404, "the checkpoint is of %q, not %q", cp.Origin, n.log.Origin)
	}
	m := n.m
	w := m.w
	if push != nil && push.Old > cp.Size {
		return nil, witnessErr(400, "old size %d is larger than the checkpoint's %d", push.Old, cp.Size)
	}
	if push != nil && push.Old != w.Size {
		return nil, &WitnessError{Status: 409, Size: w.Size, Msg: fmt.Sprintf("this witness last cosigned %s at size %d, not %d", n.log.Origin, w.Size, push.Old)}
	}
	if w.Halt != nil {
		return nil, witnessErr(422, "this witness recorded %s evidence against %s and no longer cosigns it: %s", w.Halt.Kind, n.log.Origin, w.Halt.Message)
	}
	if cp.Size == 0 && cp.Root != sha256.Sum256(nil) {
		return nil, witnessErr(422, "a checkpoint of size 0 must have the empty tree's root")
	}
	switch {
	case cp.Size < w.Size:
		return nil, n.halt(ctx, plenty.EvidenceRollback, fmt.Sprintf("signed size %d after size %d was witnessed", cp.Size, w.Size), signed)
	case cp.Size == w.Size && w.Size > 0 && !bytes.Equal(cp.Root[:], w.Root):
		return nil, n.halt(ctx, plenty.EvidenceFork, fmt.Sprintf("signed two different roots for size %d", cp.Size), signed)
	case cp.Size == w.Size && w.Note != "" && push == nil:
		return nil, nil // nothing new
	}
	if w.Size > 0 && cp.Size > w.Size {
		if push != nil {
			if err := tlog.CheckTree(push.Proof, cp.Size, cp.Root, w.Size, tlog.Hash(w.Root)); err != nil {
				n.Wake() // the pull loop finds out whether this is a fork
				return nil, witnessErr(422, "the consistency proof from size %d to %d does not verify: %v", w.Size, cp.Size, err)
			}
		} else {
			// Authenticate the neighbour's tiles by the new root and
			// read the old root out of them.
			hr := tlog.TileHashReader(tlog.Tree{N: cp.Size, Hash: cp.Root}, newTileReader(ctx, n.fetch))
			old, err := tlog.TreeHash(w.Size, hr)
			if err != nil {
				return nil, n.withholding(ctx, signed, fmt.Errorf("reading the tree of size %d from its tiles: %v", cp.Size, err))
			}
			if !bytes.Equal(old[:], w.Root) {
				return nil, n.halt(ctx, plenty.EvidenceFork, fmt.Sprintf("the tree signed at size %d does not extend the tree witnessed at size %d", cp.Size, w.Size), signed)
			}
		}
	} else if push != nil && push.Old == 0 && len(push.Proof) > 0 {
		return nil, witnessErr(422, "a request from old size 0 must carry no proof")
	}
	if cp.Size > m.size {
		var fe *foldError
		if err := n.catchUp(ctx, cp); errors.As(err, &fe) {
			// Not evidence: the neighbour may run a newer version whose
			// events this one does not know. A person looks.
			n.withheldSince, n.withheld = time.Time{}, nil
			return nil, witnessErr(422, "this witness cannot replay %s's events: %v", n.log.Origin, fe)
		} else if err != nil {
			return nil, n.withholding(ctx, signed, err)
		}
	}
	n.withheldSince, n.withheld = time.Time{}, nil
	line, err := f.cosign(nt.Text)
	if err != nil {
		return nil, err
	}
	now := f.cfg.Now().UTC()
	next := Witnessed{
		Origin: n.log.Origin, Size: cp.Size, Root: cp.Root[:],
		Note: string(mergeSignatures(withoutKey(signed, f.cfg.Cosigner), line)), CosignedAt: now,
	}
	if err := m.swapWitnessed(w.Size, next); err != nil {
		return nil, err
	}
	return line, nil
}

// withoutKey drops the signer's own lines from a note.
func withoutKey(signed []byte, c *Cosigner) []byte {
	text, sigs, ok := splitNote(signed)
	if !ok {
		return signed
	}
	var b bytes.Buffer
	b.Write(text)
	b.WriteByte('\n')
	for _, l := range bytes.SplitAfter(sigs, []byte("\n")) {
		if bytes.HasPrefix(l, []byte("— "+c.Name()+" ")) {
			continue
		}
		b.Write(l)
	}
	return b.Bytes()
}

// catchUp fetches the entry bundles from the mirror's size to cp's,
// re-hashes and folds every event, stores them and checks the new root.
// When a fetch or the fold fails, what was fetched and folded so far is
// kept, so the next round goes on from there (a restart cuts back to the
// witnessed size); when the root does not match, the mirror is cut back to
// the witnessed size and its fold rebuilt by the next catch-up.
func (n *Neighbour) catchUp(ctx context.Context, cp plenty.Checkpoint) error {
	m := n.m
	start := m.size
	if m.state == nil {
		if err := m.replay(); err != nil {
			return &foldError{-1, fmt.Errorf("replaying the mirror stored: %v", err)}
		}
	}
	discard := func(err error) error {
		m.state = nil
		if terr := m.truncate(m.w.Size); terr != nil {
			return errors.Join(err, terr)
		}
		return err
	}
	for m.size < cp.Size {
		end := min(cp.Size, (m.size/catchUpChunk+1)*catchUpChunk)
		a := m.appender()
		err := n.fetchChunk(ctx, cp, a, end)
		if ferr := a.flush(); ferr != nil {
			return discard(errors.Join(err, ferr))
		}
		if err != nil {
			return err
		}
	}
	if root := m.root(); root != cp.Root {
		return discard(fmt.Errorf("the events %d to %d served do not hash to the signed root of size %d", start, cp.Size, cp.Size))
	}
	n.f.cfg.Logger.Info("federation: mirrored", "origin", n.log.Origin, "from", start, "to", cp.Size)
	return nil
}

// fetchChunk fetches, folds and adds the entries up to end.
func (n *Neighbour) fetchChunk(ctx context.Context, cp plenty.Checkpoint, a *appender, end int64) error {
	m := n.m
	for m.size < end {
		t := tlog.Tile{H: TileHeight, L: -1, N: m.size / TileWidth, W: TileWidth}
		if last := cp.Size - t.N*TileWidth; last < TileWidth {
			t.W = int(last)
		}
		data, _, err := n.fetch.get(ctx, TilePath(t))
		if err != nil {
			return fmt.Errorf("fetching the events of size %d: %w", cp.Size, err)
		}
		bodies, err := SplitBundle(data)
		if err != nil || len(bodies) != t.W {
			return fmt.Errorf("entry bundle %s: want %d entries: %v", TilePath(t), t.W, err)
		}
		for _, body := range bodies[m.size-t.N*TileWidth:] {
			seq := m.size
			// A refused event counts against the neighbour's rules only
			// if it is the one it signed.
			refuse := func(err error) error {
				if tlog.RecordHash(body) != n.leafHash(ctx, cp, seq) {
					return fmt.Errorf("event %d served is not the one signed", seq)
				}
				return &foldError{seq, err}
			}
			ev, err := plenty.DecodeEvent(body)
			if err == nil && ev.Seq != seq {
				err = fmt.Errorf("it says it is event %d", ev.Seq)
			}
			if err != nil {
				return refuse(err)
			}
			if err := m.state.Apply(ev); err != nil {
				return refuse(fmt.Errorf("it does not follow from the events before it: %v", err))
			}
			if err := a.add(body, tlog.RecordHash(body)); err != nil {
				return err
			}
		}
	}
	return nil
}

// foldError is an event the fold refuses: one the neighbour signed but
// that breaks a rule, or that this version cannot read.
type foldError struct {
	seq int64
	err error
}

func (e *foldError) Error() string {
	if e.seq < 0 {
		return e.err.Error()
	}
	return fmt.Sprintf("event %d: %v", e.seq, e.err)
}

// leafHash reads the signed leaf hash of entry seq from the neighbour's
// tiles, authenticated by cp's root; the zero hash when it cannot.
func (n *Neighbour) leafHash(ctx context.Context, cp plenty.Checkpoint, seq int64) tlog.Hash {
	hr := tlog.TileHashReader(tlog.Tree{N: cp.Size, Hash: cp.Root}, newTileReader(ctx, n.fetch))
	hs, err := hr.ReadHashes([]int64{tlog.StoredHashIndex(0, seq)})
	if err != nil {
		return tlog.Hash{}
	}
	return hs[0]
}

// withholding notes a failure to mirror the events of a signed checkpoint;
// once it lasts longer than WithholdAfter it records evidence.
func (n *Neighbour) withholding(ctx context.Context, signed []byte, cause error) error {
	if errors.Is(cause, context.Canceled) {
		return cause
	}
	now := n.f.cfg.Now()
	if n.withheldSince.IsZero() {
		n.withheldSince, n.withheld = now, signed
	}
	if now.Sub(n.withheldSince) >= n.f.cfg.WithholdAfter {
		return n.halt(ctx, plenty.EvidenceWithholding,
			fmt.Sprintf("did not serve the events of a checkpoint it signed for %s: %v", now.Sub(n.withheldSince).Round(time.Second), cause), n.withheld)
	}
	return &WitnessError{Status: 503, Msg: fmt.Sprintf("could not mirror %s: %v", n.log.Origin, cause)}
}

// halt records evidence: the witnessed note and the conflicting one, in
// the witnessed state (the witness stops cosigning) and as a
// federation.evidence event in the hub's own log. It returns the 422 to
// answer.
func (n *Neighbour) halt(ctx context.Context, kind, msg string, signed []byte) error {
	m := n.m
	notes := []string{}
	if m.w.Note != "" {
		notes = append(notes, m.w.Note)
	}
	if signed != nil && string(signed) != m.w.Note {
		notes = append(notes, string(signed))
	}
	w := m.w
	w.Halt = &Halt{Kind: kind, Message: n.log.Origin + " " + msg, Notes: notes, At: n.f.cfg.Now().UTC()}
	if err := m.swapWitnessed(m.w.Size, w); err != nil {
		return err
	}
	n.f.cfg.Logger.Error("federation: evidence against a neighbour", "origin", n.log.Origin, "kind", kind, "msg", msg)
	ev := plenty.FederationEvidence{Origin: n.log.Origin, Log: n.log.Key, Kind: kind, Notes: notes, Message: w.Halt.Message}
	if err := n.f.cfg.Log.Record(context.WithoutCancel(ctx), plenty.KindFederationEvidence, ev); err != nil {
		n.f.cfg.Logger.Error("federation: recording the evidence failed", "origin", n.log.Origin, "err", err)
	}
	return witnessErr(422, "%s %s; this witness recorded the evidence and no longer cosigns it", n.log.Origin, msg)
}
