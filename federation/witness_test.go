package federation

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/plentyhub/plenty"
)

// push sends an add-checkpoint request and returns the answer.
func (tw *testWitness) push(old int64, proof tlog.TreeProof, signed []byte) ([]byte, error) {
	return tw.f.AddCheckpoint(context.Background(), (&AddCheckpoint{Old: old, Proof: proof, Checkpoint: signed}).Bytes())
}

func status(err error) int {
	var we *WitnessError
	if errors.As(err, &we) {
		return we.Status
	}
	return 0
}

func (tw *testWitness) witnessed(l *testLog) Witnessed {
	var w Witnessed
	tw.neighbour(l).Read(func(v MirrorView) error { w = v.Witnessed(); return nil })
	return w
}

func TestAddCheckpoint(t *testing.T) {
	dir := t.TempDir()
	a := newTestLog(t, "a.test/plenty")
	a.add(300)
	tw := newWitness(t, dir, a)

	line, err := tw.push(0, nil, a.checkpoint(300))
	if err != nil {
		t.Fatal(err)
	}
	// The answer is a cosignature/v1 line that verifies with the witness key.
	v, _, err := NewVerifier(tw.cos.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(append(a.checkpoint(300), line...), note.VerifierList(v))
	if err != nil || len(n.Sigs) != 1 {
		t.Fatalf("cosignature %q does not verify: %v", line, err)
	}
	if ts, _ := CosignatureTime(n.Sigs[0]); !ts.Equal(*tw.now) {
		t.Fatalf("cosignature time %v, want %v", ts, *tw.now)
	}
	if w := tw.witnessed(a); w.Size != 300 {
		t.Fatalf("witnessed %d", w.Size)
	}

	a.add(100)
	other := newTestLog(t, "other.test/plenty")
	other.add(3)
	forged := newTestLog(t, "a.test/plenty") // the same origin, another key
	forged.add(400)
	bad := a.proof(300, 400)
	bad[0][0] ^= 1
	for _, tc := range []struct {
		name   string
		body   []byte
		status int
		size   int64
	}{
		{"Malformed", []byte("old x\n\n" + string(a.checkpoint(400))), 400, 0},
		{"OldAboveNew", (&AddCheckpoint{Old: 500, Checkpoint: a.checkpoint(400)}).Bytes(), 400, 0},
		{"UnknownOrigin", (&AddCheckpoint{Old: 0, Checkpoint: other.checkpoint(3)}).Bytes(), 404, 0},
		{"UntrustedKey", (&AddCheckpoint{Old: 300, Proof: forged.proof(300, 400), Checkpoint: forged.checkpoint(400)}).Bytes(), 403, 0},
		{"StaleOld", (&AddCheckpoint{Old: 0, Checkpoint: a.checkpoint(400)}).Bytes(), 409, 300},
		{"BadProof", (&AddCheckpoint{Old: 300, Proof: bad, Checkpoint: a.checkpoint(400)}).Bytes(), 422, 0},
		{"NoProof", (&AddCheckpoint{Old: 300, Checkpoint: a.checkpoint(400)}).Bytes(), 422, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tw.f.AddCheckpoint(context.Background(), tc.body)
			var we *WitnessError
			if !errors.As(err, &we) || we.Status != tc.status || we.Size != tc.size {
				t.Fatalf("got %v (%+v), want status %d size %d", err, we, tc.status, tc.size)
			}
			// Nothing changed: no evidence (a bad proof proves nothing),
			// the same witnessed size.
			if w := tw.witnessed(a); w.Size != 300 || w.Halt != nil {
				t.Fatalf("witnessed %+v", w)
			}
			if ev := tw.hub.evidence(); len(ev) != 0 {
				t.Fatalf("evidence recorded: %+v", ev)
			}
		})
	}

	// With the right proof, 400 is mirrored, folded and cosigned.
	if _, err := tw.push(300, a.proof(300, 400), a.checkpoint(400)); err != nil {
		t.Fatal(err)
	}
	// The same size again is cosigned again (a newer timestamp).
	*tw.now = tw.now.Add(time.Minute)
	if _, err := tw.push(400, nil, a.checkpoint(400)); err != nil {
		t.Fatal(err)
	}
	w := tw.witnessed(a)
	if w.Size != 400 || !w.CosignedAt.Equal(*tw.now) || !strings.Contains(w.Note, "— w.test/plenty/witness ") {
		t.Fatalf("witnessed %+v", w)
	}
	if strings.Count(w.Note, "— w.test/plenty/witness ") != 1 {
		t.Fatalf("the witnessed note holds the witness's signature more than once:\n%s", w.Note)
	}

	// Every cosignature is on record: 300, 400, and 400 again.
	log, err := os.ReadFile(filepath.Join(dir, "mirrors", OriginHash(a.origin), mirrorCosigned))
	if err != nil || strings.Count(string(log), "\n") != 3 || !strings.Contains(string(log), `"size":300`) {
		t.Fatalf("cosigned record: %v\n%s", err, log)
	}

	// Restarted, the witness resumes from the witnessed state, its
	// mirror and its fold.
	tw.f.Close()
	tw2 := newWitness(t, dir, a)
	if w := tw2.witnessed(a); w.Size != 400 {
		t.Fatalf("after a restart witnessed %d", w.Size)
	}
	var stored int64
	tw2.neighbour(a).Read(func(v MirrorView) error {
		return v.Entries(0, 400, func(seq int64, body []byte) error {
			if !bytes.Equal(body, a.bodies[seq]) {
				t.Fatalf("entry %d differs", seq)
			}
			stored++
			return nil
		})
	})
	if stored != 400 || tw2.neighbour(a).m.state != nil {
		t.Fatalf("stored %d; folded before the first catch-up: %v", stored, tw2.neighbour(a).m.state != nil)
	}
	// The first catch-up folds the stored events, then the new one.
	a.add(1)
	if _, err := tw2.push(400, a.proof(400, 401), a.checkpoint(401)); err != nil {
		t.Fatal(err)
	}
	if got := tw2.neighbour(a).m.state.Size(); got != 401 {
		t.Fatalf("folded %d", got)
	}
	if _, err := tw2.push(0, nil, a.checkpoint(400)); status(err) != 409 {
		t.Fatalf("after restart, old 0: %v", err)
	}
}

func TestPullEvidence(t *testing.T) {
	ctx := context.Background()
	t.Run("Rollback", func(t *testing.T) {
		a := newTestLog(t, "a.test/plenty")
		a.add(40)
		tw := newWitness(t, t.TempDir(), a)
		n := tw.neighbour(a)
		n.round(ctx)
		if st := n.Status(); st.Status != StatusOK || st.Size != 40 {
			t.Fatalf("status %+v", st)
		}
		a.mu.Lock()
		a.signed = a.checkpointLocked(30)
		a.mu.Unlock()
		n.round(ctx)
		ev := tw.hub.evidence()
		if len(ev) != 1 || ev[0].Kind != plenty.EvidenceRollback || len(ev[0].Notes) != 2 {
			t.Fatalf("evidence %+v", ev)
		}
		if st := n.Status(); st.Status != StatusRollback || st.Size != 40 {
			t.Fatalf("status %+v", st)
		}
		// Halted: no more cosignatures, and no second record.
		a.mu.Lock()
		a.signed = nil
		a.mu.Unlock()
		a.add(5)
		n.round(ctx)
		if st := n.Status(); st.Size != 40 || len(tw.hub.evidence()) != 1 {
			t.Fatalf("after the halt: %+v, %d records", st, len(tw.hub.evidence()))
		}
	})
	t.Run("Fork", func(t *testing.T) {
		a := newTestLog(t, "a.test/plenty")
		a.add(40)
		tw := newWitness(t, t.TempDir(), a)
		n := tw.neighbour(a)
		n.round(ctx)
		// The same key signs another history of 60 events.
		a.mu.Lock()
		a.bodies, a.hashes = nil, nil
		a.start = a.start.Add(time.Hour)
		a.mu.Unlock()
		a.add(60)
		n.round(ctx)
		ev := tw.hub.evidence()
		if len(ev) != 1 || ev[0].Kind != plenty.EvidenceFork {
			t.Fatalf("evidence %+v", ev)
		}
		if st := n.Status(); st.Status != StatusFork || st.Size != 40 {
			t.Fatalf("status %+v", st)
		}
	})
	t.Run("Withholding", func(t *testing.T) {
		a := newTestLog(t, "a.test/plenty")
		a.add(10)
		tw := newWitness(t, t.TempDir(), a)
		n := tw.neighbour(a)
		n.round(ctx)
		a.mu.Lock()
		a.withhold = true
		a.mu.Unlock()
		a.add(300)
		n.round(ctx)
		if st := n.Status(); st.Status != StatusUnreachable || st.Size != 10 || len(tw.hub.evidence()) != 0 {
			t.Fatalf("status %+v", st)
		}
		*tw.now = tw.now.Add(2 * time.Minute) // past WithholdAfter
		n.round(ctx)
		ev := tw.hub.evidence()
		if len(ev) != 1 || ev[0].Kind != plenty.EvidenceWithholding || len(ev[0].Notes) != 2 {
			t.Fatalf("evidence %+v", ev)
		}
		if st := n.Status(); st.Status != StatusWithholding || st.Size != 10 {
			t.Fatalf("status %+v", st)
		}
		// Nothing of the withheld events is stored.
		if got := n.m.size; got != 10 {
			t.Fatalf("mirror holds %d entries", got)
		}
	})
	t.Run("UnknownKind", func(t *testing.T) {
		a := newTestLog(t, "a.test/plenty")
		a.add(10)
		tw := newWitness(t, t.TempDir(), a)
		n := tw.neighbour(a)
		n.round(ctx)
		// A signed event of a kind this version does not know: the
		// witness stops there and says so, without evidence.
		a.addBody(plenty.EncodeEvent(10, a.start.Add(time.Hour), "barter.proposed", plenty.ActorHub, []byte(`{}`)))
		a.add(5)
		for i := 0; i < 2; i++ {
			n.round(ctx)
			*tw.now = tw.now.Add(2 * time.Minute) // past WithholdAfter
		}
		st := n.Status()
		if st.Status != StatusPending || st.Size != 10 || !strings.Contains(st.Error, `cannot replay`) || !strings.Contains(st.Error, `unknown event kind "barter.proposed"`) {
			t.Fatalf("status %+v", st)
		}
		if ev := tw.hub.evidence(); len(ev) != 0 || n.m.size != 10 {
			t.Fatalf("evidence %+v; mirror holds %d", ev, n.m.size)
		}
	})
	t.Run("NotListed", func(t *testing.T) {
		a := newTestLog(t, "a.test/plenty")
		a.add(10)
		tw := newWitness(t, t.TempDir(), a)
		a.mu.Lock()
		a.witnesses = ""
		a.mu.Unlock()
		n := tw.neighbour(a)
		n.round(ctx)
		if st := n.Status(); st.Status != StatusPending || st.Size != 0 || !strings.Contains(st.Error, "does not list this hub") {
			t.Fatalf("status %+v", st)
		}
		// Its pushes are refused too, and nothing is mirrored.
		if _, err := tw.push(0, nil, a.checkpoint(10)); status(err) != 404 || n.Status().Size != 0 {
			t.Fatalf("push from a neighbour that does not list the witness: %v", err)
		}
	})
}

// TestCatchUpResumes: a catch-up that fails half way keeps what it
// fetched and folded, and the next round goes on from there; events that
// do not hash to the signed root are all dropped.
func TestCatchUpResumes(t *testing.T) {
	ctx := context.Background()
	a := newTestLog(t, "a.test/plenty")
	a.add(600)
	a.mu.Lock()
	a.failOnce = 1 // the second bundle
	a.mu.Unlock()
	tw := newWitness(t, t.TempDir(), a)
	n := tw.neighbour(a)
	n.round(ctx)
	if st := n.Status(); st.Status != StatusUnreachable || st.Size != 0 || n.m.size != 256 || n.m.state.Size() != 256 {
		t.Fatalf("after a failed fetch: %+v, stored %d", st, n.m.size)
	}
	n.round(ctx)
	if st := n.Status(); st.Status != StatusOK || st.Size != 600 || n.m.state.Size() != 600 {
		t.Fatalf("after the next round: %+v", st)
	}

	// Other events than the signed ones, valid for the fold: all dropped.
	b := newTestLog(t, "b.test/plenty")
	b.add(300)
	other := newTestLog(t, "other.test/plenty")
	other.start = other.start.Add(time.Minute)
	other.add(300)
	b.mu.Lock()
	b.served = other.bodies
	b.mu.Unlock()
	tw2 := newWitness(t, t.TempDir(), b)
	n2 := tw2.neighbour(b)
	n2.round(ctx)
	if st := n2.Status(); st.Status != StatusUnreachable || st.Size != 0 || n2.m.size != 0 || n2.m.state != nil ||
		!strings.Contains(st.Error, "do not hash to the signed root") {
		t.Fatalf("after events that do not hash to the root: %+v, stored %d", st, n2.m.size)
	}
}

// TestSlowNeighbour: a neighbour that answers slowly, and one that is
// gone, do not hold up another.
func TestSlowNeighbour(t *testing.T) {
	slow, gone, quick := newTestLog(t, "slow.test/plenty"), newTestLog(t, "gone.test/plenty"), newTestLog(t, "quick.test/plenty")
	for _, l := range []*testLog{slow, gone, quick} {
		l.add(20)
	}
	slow.mu.Lock()
	slow.delay = time.Minute
	slow.mu.Unlock()
	gone.srv.Close()
	tw := newWitness(t, t.TempDir(), slow, gone, quick)
	tw.f.cfg.PullInterval = 50 * time.Millisecond
	tw.f.Start()
	deadline := time.Now().Add(10 * time.Second)
	for tw.neighbour(quick).Status().Size != 20 {
		if time.Now().After(deadline) {
			t.Fatalf("the quick neighbour was not witnessed: %+v", tw.neighbour(quick).Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := tw.neighbour(gone).Status(); st.Status == StatusOK {
		t.Fatalf("the gone neighbour: %+v", st)
	}
	if st := tw.neighbour(slow).Status(); st.Size != 0 {
		t.Fatalf("the slow neighbour: %+v", st)
	}
}
