package federation

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/plentyhub/plenty"
)

// testLog is a neighbour's log in memory, served over HTTP on 127.0.0.1
// as a hub serves it: /open/neighbours, /open/checkpoint and tiles.
type testLog struct {
	t      testing.TB
	origin string
	signer note.Signer
	vkey   string
	srv    *httptest.Server

	mu        sync.Mutex
	bodies    [][]byte
	hashes    []tlog.Hash   // stored hashes
	witnesses string        // the neighbours file served
	signed    []byte        // the checkpoint served; nil: sign the current size
	withhold  bool          // answer 404 to entry bundles
	failOnce  int64         // answer 404 once to the entry bundle of this index (0: none)
	served    [][]byte      // when set, the bodies served in bundles instead of the signed ones
	delay     time.Duration // each answer waits this long
	start     time.Time
}

func newTestLog(t testing.TB, origin string) *testLog {
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	l := &testLog{t: t, origin: origin, signer: s, vkey: vkey, start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l.srv = httptest.NewServer(http.HandlerFunc(l.serve))
	t.Cleanup(l.srv.Close)
	return l
}

func (l *testLog) hashReader() tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			if x >= int64(len(l.hashes)) {
				return nil, fmt.Errorf("hash %d not stored", x)
			}
			out[i] = l.hashes[x]
		}
		return out, nil
	})
}

// add appends n valid events (neighbours by the hub, which the
// fold accepts whatever came before).
func (l *testLog) add(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	data, _ := plenty.CanonicalJSON(plenty.FederationNeighbours{Logs: []plenty.NeighbourLog{}, Witnesses: []plenty.NeighbourWitness{}})
	for i := 0; i < n; i++ {
		seq := int64(len(l.bodies))
		body := plenty.EncodeEvent(seq, l.start.Add(time.Duration(seq)*time.Millisecond), plenty.KindFederationNeighbours, plenty.ActorHub, data)
		hs, err := tlog.StoredHashes(seq, body, l.hashReader())
		if err != nil {
			l.t.Fatal(err)
		}
		l.bodies = append(l.bodies, body)
		l.hashes = append(l.hashes, hs...)
	}
}

// addBody appends one event body as it is.
func (l *testLog) addBody(body []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	hs, err := tlog.StoredHashes(int64(len(l.bodies)), body, l.hashReader())
	if err != nil {
		l.t.Fatal(err)
	}
	l.bodies = append(l.bodies, body)
	l.hashes = append(l.hashes, hs...)
}

// checkpoint signs the tree of the given size.
func (l *testLog) checkpoint(size int64) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.checkpointLocked(size)
}

func (l *testLog) checkpointLocked(size int64) []byte {
	root, err := tlog.TreeHash(size, l.hashReader())
	if err != nil {
		l.t.Fatal(err)
	}
	signed, err := note.Sign(&note.Note{Text: plenty.Checkpoint{Origin: l.origin, Size: size, Root: root}.String()}, l.signer)
	if err != nil {
		l.t.Fatal(err)
	}
	return signed
}

func (l *testLog) proof(old, size int64) tlog.TreeProof {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, err := tlog.ProveTree(size, old, l.hashReader())
	if err != nil {
		l.t.Fatal(err)
	}
	return p
}

func (l *testLog) serve(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	delay := l.delay
	l.mu.Unlock()
	select {
	case <-time.After(delay):
	case <-r.Context().Done():
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	path, ok := strings.CutPrefix(r.URL.Path, "/open/")
	switch {
	case !ok:
		http.NotFound(w, r)
	case path == "neighbours":
		fmt.Fprint(w, l.witnesses)
	case path == "checkpoint":
		if l.signed != nil {
			w.Write(l.signed)
			return
		}
		w.Write(l.checkpointLocked(int64(len(l.bodies))))
	default:
		t, err := ParseTilePath(path)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		size := int64(len(l.bodies))
		if t.L >= 0 {
			data, err := TileData(t, size, l.hashReader())
			if err != nil {
				http.NotFound(w, r)
				return
			}
			w.Write(data)
			return
		}
		from, to, err := BundleRange(t, size)
		if err != nil || l.withhold || (l.failOnce != 0 && t.N == l.failOnce) {
			l.failOnce = 0
			http.NotFound(w, r)
			return
		}
		bodies := l.bodies
		if l.served != nil {
			bodies = l.served
		}
		var b []byte
		for _, body := range bodies[from:to] {
			b, _ = AppendBundleEntry(b, body)
		}
		w.Write(b)
	}
}

// fakeHub is the witness's own log: it keeps the events federation records.
type fakeHub struct {
	mu     sync.Mutex
	events []plenty.FederationEvidence
}

func (h *fakeHub) Checkpoint(context.Context) ([]byte, error) {
	return nil, errors.New("no checkpoint")
}

func (h *fakeHub) ConsistencyProof(context.Context, int64, int64) (tlog.TreeProof, error) {
	return nil, errors.New("no proof")
}

func (h *fakeHub) Record(_ context.Context, kind string, data any) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	ev, ok := data.(plenty.FederationEvidence)
	if kind != plenty.KindFederationEvidence || !ok {
		return fmt.Errorf("unexpected %s", kind)
	}
	// The fold must accept what is recorded.
	body, _ := plenty.CanonicalJSON(ev)
	st := plenty.NewState()
	if err := st.Apply(plenty.Event{Seq: 0, Time: time.Now(), Kind: kind, Actor: plenty.ActorHub, Data: body}); err != nil {
		return err
	}
	h.events = append(h.events, ev)
	return nil
}

func (h *fakeHub) evidence() []plenty.FederationEvidence {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]plenty.FederationEvidence(nil), h.events...)
}

// witnessOf opens a witness of the logs in dir, with a clock the test
// moves.
type testWitness struct {
	f   *Federation
	hub *fakeHub
	cos *Cosigner
	now *time.Time
}

func newWitness(t *testing.T, dir string, logs ...*testLog) *testWitness {
	t.Helper()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	tw := &testWitness{hub: &fakeHub{}, now: &now}
	clock := func() time.Time { return *tw.now }
	cos, err := LoadOrCreateCosigner(dir, "w.test/plenty", clock)
	if err != nil {
		t.Fatal(err)
	}
	tw.cos = cos
	var policy strings.Builder
	for _, l := range logs {
		fmt.Fprintf(&policy, "log %s %s\n", l.vkey, l.srv.URL)
		l.mu.Lock()
		l.witnesses = "witness w " + cos.VerifierKey() + " http://127.0.0.1:1\n"
		l.mu.Unlock()
	}
	p, err := ParsePolicy([]byte(policy.String()))
	if err != nil {
		t.Fatal(err)
	}
	tw.f, err = Open(Config{Dir: dir, Origin: "w.test/plenty", Cosigner: cos, Policy: p, Log: tw.hub,
		WithholdAfter: time.Minute, Now: clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tw.f.Close)
	return tw
}

func (tw *testWitness) neighbour(l *testLog) *Neighbour {
	n, _ := tw.f.Neighbour(OriginHash(l.origin))
	return n
}
