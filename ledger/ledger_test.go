package ledger_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/ledger"
)

// MustOpen opens a ledger in dir (a fresh temporary folder when empty) and
// closes it when the test ends.
func MustOpen(tb testing.TB, dir string) *ledger.Ledger {
	tb.Helper()
	if dir == "" {
		dir = tb.TempDir()
	}
	l, err := ledger.Open(dir, ledger.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	return l
}

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// councilRequest registers council i with its first delegate: a valid
// event whatever else the ledger holds.
func councilRequest(tag string, i int) ledger.Request {
	return councilRequestAt(tag, i, time.Now())
}

// councilRequestAt registers council i for a ledger whose clock reads now.
func councilRequestAt(tag string, i int, now time.Time) ledger.Request {
	id := fmt.Sprintf("c-%s-%d", tag, i)
	return ledger.Request{
		Kind:  plenty.KindCouncilRegistered,
		Actor: plenty.ActorPublic,
		Data: plenty.CouncilRegistration{ID: id, Name: "Council " + id, Sector: "food", Place: "Riverside",
			Location: plenty.Location{Lat: 51.46, Lon: -0.11},
			Delegate: plenty.MandateGrant{ID: "d-" + id, Council: id, Label: "first", Mandate: "post our surplus",
				Scopes: plenty.AllScopes, ExpiresAt: now.Add(6 * 24 * time.Hour).UTC().Truncate(time.Second)},
		},
		Credentials: []plenty.Credential{{Holder: plenty.DelegateActor("d-" + id), Hash: fmt.Sprintf("%x", sha256.Sum256([]byte(id)))}},
	}
}

// rfc6962Root computes the Merkle tree hash of RFC 6962 section 2.1 from
// the leaf hashes directly, independently of tlog.
func rfc6962Root(leaves [][32]byte) [32]byte {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	l, r := rfc6962Root(leaves[:k]), rfc6962Root(leaves[k:])
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}

func leafHashes(t *testing.T, l *ledger.Ledger) [][32]byte {
	t.Helper()
	var out [][32]byte
	err := l.Events(context.Background(), 0, -1, func(ev plenty.Event) error {
		out = append(out, sha256.Sum256(append([]byte{0}, ev.Body...)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAppendAndRead(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l := MustOpen(t, dir)
	for i := 0; i < 5; i++ {
		ev, _, err := l.Append(ctx, councilRequest("a", i))
		if err != nil {
			t.Fatal(err)
		}
		if ev.Seq != int64(i) {
			t.Fatalf("event %d got seq %d", i, ev.Seq)
		}
	}
	if got := l.Size(); got != 5 {
		t.Fatalf("size = %d, want 5", got)
	}
	var kinds []string
	l.Events(ctx, 1, 3, func(ev plenty.Event) error {
		kinds = append(kinds, fmt.Sprintf("%d:%s", ev.Seq, ev.Kind))
		return nil
	})
	if want := "1:council.registered 2:council.registered"; strings.Join(kinds, " ") != want {
		t.Fatalf("events 1..3 = %v, want %s", kinds, want)
	}
	l.Read(func(s *plenty.State) error {
		if c, ok := s.Council("c-a-3"); !ok || c.Name != "Council c-a-3" {
			t.Errorf("council c-a-3 = %+v, %v", c, ok)
		}
		return nil
	})
	// Reopen: the state is rebuilt from the events.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := MustOpen(t, dir)
	if l2.Size() != 5 {
		t.Fatalf("reopened size = %d", l2.Size())
	}
	ev, _, err := l2.Append(ctx, councilRequest("a", 5))
	if err != nil || ev.Seq != 5 {
		t.Fatalf("append after reopen: seq %d, %v", ev.Seq, err)
	}
	if n, err := ledger.Check(ctx, dir); err == nil {
		t.Fatalf("Check on an open ledger should fail to take the lock, got %d events", n)
	}
}

func TestAppendRefusesWhatDoesNotFollow(t *testing.T) {
	ctx := context.Background()
	l := MustOpen(t, "")
	if _, _, err := l.Append(ctx, councilRequest("a", 0)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		req  ledger.Request
		code string
	}{
		{"DuplicateCouncil", councilRequest("a", 0), plenty.ECONFLICT},
		{"RecallByStranger", ledger.Request{Kind: plenty.KindDelegateRecalled, Actor: plenty.DelegateActor("nobody"),
			Data: plenty.MandateRecall{Council: "c-a-0", Delegate: "d-c-a-0"}}, plenty.EFORBIDDEN},
		{"WithdrawUnknown", ledger.Request{Kind: plenty.KindOfferWithdrawn, Actor: plenty.DelegateActor("d-c-a-0"),
			Data: plenty.PostingClosed{ID: "nope"}}, plenty.ENOTFOUND},
		{"UnknownKind", ledger.Request{Kind: "rumour.heard", Actor: plenty.ActorHub, Data: map[string]string{}}, plenty.EINVALID},
		{"DrawOfNoTask", ledger.Request{Kind: plenty.KindTaskAssigned, Actor: plenty.ActorHub,
			Data: plenty.TaskAssignment{Task: "tk", Volunteer: "v", Proof: strings.Repeat("ab", 80)}}, plenty.ENOTFOUND},
		{"TokenOfAnother", ledger.Request{Kind: plenty.KindDelegateIssued, Actor: plenty.DelegateActor("d-c-a-0"),
			Data:        plenty.MandateGrant{ID: "d2", Council: "c-a-0", Label: "x", Mandate: "y", Scopes: []string{"post"}, ExpiresAt: time.Now().Add(time.Hour).UTC()},
			Credentials: []plenty.Credential{{Holder: plenty.DelegateActor("d-c-a-0x"), Hash: strings.Repeat("ab", 32)}}}, plenty.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := l.Append(ctx, tt.req)
			if got := plenty.ErrorCode(err); got != tt.code {
				t.Fatalf("code = %q (%v), want %q", got, err, tt.code)
			}
			if l.Size() != 1 {
				t.Fatalf("size = %d after a refused append, want 1", l.Size())
			}
		})
	}
}

func TestIdempotency(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l := MustOpen(t, dir)
	req := councilRequest("i", 0)
	req.IdempotencyKey = "key-1"
	first, replay, err := l.Append(ctx, req)
	if err != nil || replay {
		t.Fatalf("first append: replay %v, %v", replay, err)
	}
	again, replay, err := l.Append(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !replay || again.Seq != first.Seq || string(again.Body) != string(first.Body) || l.Size() != 1 {
		t.Fatalf("replay gave seq %d (first %d), replay %v, size %d", again.Seq, first.Seq, replay, l.Size())
	}
	other := councilRequest("i", 1)
	other.IdempotencyKey = "key-1"
	if _, _, err := l.Append(ctx, other); plenty.ErrorCode(err) != plenty.ECONFLICT {
		t.Fatalf("same key, other request: %v, want conflict", err)
	}
	// Another actor may use the same key.
	hub := ledger.Request{Kind: plenty.KindItemDefined, Actor: plenty.ActorHub, IdempotencyKey: "key-1",
		Data: plenty.ItemDefinition{Code: "wheat-flour", Name: "Wheat flour", Dimension: plenty.Mass, Unit: "kg"}}
	if ev, _, err := l.Append(ctx, hub); err != nil || ev.Seq != 1 {
		t.Fatalf("other actor's key: seq %d, %v", ev.Seq, err)
	}
	// Keys survive a restart.
	l.Close()
	l2 := MustOpen(t, dir)
	if ev, replay, err := l2.Append(ctx, req); err != nil || !replay || ev.Seq != 0 || string(ev.Body) != string(first.Body) || l2.Size() != 2 {
		t.Fatalf("replay after restart: seq %d, replay %v, size %d, %v", ev.Seq, replay, l2.Size(), err)
	}
}

func TestConcurrentAppends(t *testing.T) {
	ctx := context.Background()
	l := MustOpen(t, "")
	const writers, each = 64, 40
	seqs := make(chan int64, writers*each)
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				ev, _, err := l.Append(ctx, councilRequest(fmt.Sprint(w), i))
				if err != nil {
					t.Error(err)
					return
				}
				seqs <- ev.Seq
			}
		}(w)
	}
	wg.Wait()
	close(seqs)
	seen := make([]bool, writers*each)
	for s := range seqs {
		if s < 0 || s >= int64(len(seen)) || seen[s] {
			t.Fatalf("seq %d duplicated or out of range", s)
		}
		seen[s] = true
	}
	for s, ok := range seen {
		if !ok {
			t.Fatalf("seq %d missing", s)
		}
	}
	if st := l.Stats(); st.Batches >= int64(writers*each) {
		t.Errorf("%d batches for %d events: appends were not grouped", st.Batches, writers*each)
	}
}

func TestTreeAndCheckpoints(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l := MustOpen(t, dir)
	verifier, err := note.NewVerifier(l.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int64
	var roots []tlog.Hash
	for i := 0; i < 37; i++ {
		if _, _, err := l.Append(ctx, councilRequest("t", i)); err != nil {
			t.Fatal(err)
		}
		if i%6 == 0 || i == 36 {
			signed, err := l.Checkpoint(ctx)
			if err != nil {
				t.Fatal(err)
			}
			n, err := note.Open(signed, note.VerifierList(verifier))
			if err != nil {
				t.Fatalf("checkpoint does not verify: %v", err)
			}
			c, err := plenty.ParseCheckpoint(n.Text)
			if err != nil || c.Origin != l.Origin() || c.Size != int64(i+1) {
				t.Fatalf("checkpoint %q: origin %q size %d err %v", n.Text, c.Origin, c.Size, err)
			}
			size, root := c.Size, tlog.Hash(c.Root)
			want := rfc6962Root(leafHashes(t, l))
			if root != tlog.Hash(want) {
				t.Fatalf("size %d: checkpoint root %x, independent RFC 6962 root %x", size, root, want)
			}
			sizes, roots = append(sizes, size), append(roots, root)
		}
	}
	// Inclusion and consistency proofs check against the roots.
	leaves := leafHashes(t, l)
	for _, seq := range []int64{0, 1, 17, 36} {
		p, err := l.InclusionProof(ctx, seq, 37)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckRecord(p, 37, roots[len(roots)-1], seq, tlog.Hash(leaves[seq])); err != nil {
			t.Fatalf("inclusion of %d: %v", seq, err)
		}
	}
	for i := range sizes[:len(sizes)-1] {
		p, err := l.ConsistencyProof(ctx, sizes[i], 37)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckTree(p, 37, roots[len(roots)-1], sizes[i], roots[i]); err != nil {
			t.Fatalf("consistency %d→37: %v", sizes[i], err)
		}
	}
	if _, err := l.InclusionProof(ctx, 37, 37); plenty.ErrorCode(err) != plenty.ENOTFOUND {
		t.Fatalf("proof beyond the tree: %v", err)
	}
	// The key file is private; the verifier key is public.
	info, err := os.Stat(filepath.Join(dir, ledger.SignerKeyFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("hub.key mode = %v, %v; want 0600", info.Mode().Perm(), err)
	}
	l.Close()
	if n, err := ledger.Check(ctx, dir); err != nil || n != 37 {
		t.Fatalf("Check = %d, %v", n, err)
	}
}

// Token hashes travel beside the body: never in it, kept by the database
// and the journal, so a restart and a rebuild from the journal both still
// know every credential.
func TestCredentialsBesideTheBody(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l := MustOpen(t, dir)
	req := councilRequest("cred", 0)
	hash := req.Credentials[0].Hash
	ev, _, err := l.Append(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(ev.Body), hash) || strings.Contains(string(ev.Body), "token") {
		t.Fatalf("the body carries a credential: %s", ev.Body)
	}
	l.Close()
	known := func(l *ledger.Ledger) string {
		var id string
		l.Read(func(st *plenty.State) error {
			d, _ := st.DelegateByToken(hash)
			id = d.ID
			return nil
		})
		return id
	}
	l2 := MustOpen(t, dir)
	if got := known(l2); got != "d-c-cred-0" {
		t.Fatalf("after restart the token names %q", got)
	}
	l2.Close()
	if _, _, err := ledger.Recover(ctx, dir, ledger.Options{}); err != nil {
		t.Fatal(err)
	}
	l3 := MustOpen(t, dir)
	if got := known(l3); got != "d-c-cred-0" {
		t.Fatalf("after a rebuild from the journal the token names %q", got)
	}
}

// A data folder of the first event format is refused with a message that
// says to start afresh; nothing in it is touched.
func TestOldFormatRefused(t *testing.T) {
	dir := t.TempDir()
	l := MustOpen(t, dir)
	if _, _, err := l.Append(context.Background(), councilRequest("old", 0)); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if err := os.Remove(filepath.Join(dir, ledger.FormatFile)); err != nil {
		t.Fatal(err)
	}
	_, err := ledger.Open(dir, ledger.Options{})
	if err == nil || !strings.Contains(err.Error(), "earlier version of Plenty") || !strings.Contains(err.Error(), "start afresh") {
		t.Fatalf("open of an old folder: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ledger.FormatFile)); !os.IsNotExist(err) {
		t.Fatal("the refused folder was marked with the new format")
	}
}

// TestIdempotencyWindow checks that a key is remembered for
// IdempotencyWindow and then forgotten, so that the map of keys stays
// bounded by a day's writes, also across a restart.
func TestIdempotencyWindow(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var mu sync.Mutex
	now := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	l, err := ledger.Open(dir, ledger.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	keyed := func(i int, key string) ledger.Request {
		r := councilRequestAt("w", i, t0)
		r.IdempotencyKey = key
		return r
	}
	if _, _, err := l.Append(ctx, keyed(0, "old")); err != nil {
		t.Fatal(err)
	}
	advance(ledger.IdempotencyWindow - time.Minute)
	if _, _, err := l.Append(ctx, keyed(1, "new")); err != nil {
		t.Fatal(err)
	}
	// Within the window the first key still answers.
	if ev, replay, err := l.Append(ctx, keyed(0, "old")); err != nil || !replay || ev.Seq != 0 {
		t.Fatalf("key within the window: seq %d, replay %v, %v", ev.Seq, replay, err)
	}
	if n := l.IdempotencyKeys(); n != 2 {
		t.Fatalf("%d keys remembered, want 2", n)
	}
	advance(2 * time.Minute) // "old" is now 24h01m old, "new" 2m
	// The forgotten key writes a new event: the same request, a new
	// council id, so that it follows from the state.
	if ev, replay, err := l.Append(ctx, keyed(2, "old")); err != nil || replay || ev.Seq != 2 {
		t.Fatalf("key beyond the window: seq %d, replay %v, %v", ev.Seq, replay, err)
	}
	if n := l.IdempotencyKeys(); n != 2 { // "new" and the new "old"
		t.Fatalf("%d keys remembered, want 2", n)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// After a restart a day later, only keys within the window are loaded.
	advance(ledger.IdempotencyWindow - 30*time.Second)
	l2, err := ledger.Open(dir, ledger.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if n := l2.IdempotencyKeys(); n != 1 {
		t.Fatalf("after restart %d keys remembered, want 1 (the second \"old\")", n)
	}
	if ev, replay, err := l2.Append(ctx, keyed(2, "old")); err != nil || !replay || ev.Seq != 2 {
		t.Fatalf("key within the window after restart: seq %d, replay %v, %v", ev.Seq, replay, err)
	}
	if ev, replay, err := l2.Append(ctx, keyed(3, "new")); err != nil || replay || ev.Seq != 3 {
		t.Fatalf("expired key after restart: seq %d, replay %v, %v", ev.Seq, replay, err)
	}
}

// TestPayloadMustDecodeToItself checks the test binaries' guard on the
// fold taking the request's value instead of decoding its data: a value
// holding what its JSON drops (here a time's monotonic clock reading) would
// make the live state differ from a replay, so the append is refused and
// nothing is written.
func TestPayloadMustDecodeToItself(t *testing.T) {
	ctx := context.Background()
	l := MustOpen(t, "")
	req := councilRequest("p", 0)
	data := req.Data.(plenty.CouncilRegistration)
	data.Delegate.ExpiresAt = time.Now().Add(6 * 24 * time.Hour) // with a monotonic reading
	req.Data = data
	_, _, err := l.Append(ctx, req)
	if plenty.ErrorCode(err) != plenty.EINTERNAL || !strings.Contains(err.Error(), "does not decode from its own JSON to itself") {
		t.Fatalf("append of a payload that does not round-trip: %v", err)
	}
	if l.Size() != 0 {
		t.Fatalf("a refused append wrote %d events", l.Size())
	}
	// The same request with a value that round-trips is written.
	if ev, _, err := l.Append(ctx, councilRequest("p", 0)); err != nil || ev.Seq != 0 {
		t.Fatalf("append: %d, %v", ev.Seq, err)
	}
}

// TestOpenAgainAfterAFailedOpen: a folder whose last signed checkpoint
// covers events its database lacks is refused, and refused again by a
// second Open in the same process: the first let go of DuckDB.
func TestOpenAgainAfterAFailedOpen(t *testing.T) {
	ctx := context.Background()
	dir, behind := t.TempDir(), t.TempDir()
	l, err := ledger.Open(dir, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Append(ctx, councilRequest("fail", 0)); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(behind, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	if l, err = ledger.Open(dir, ledger.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Append(ctx, councilRequest("fail", 1)); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, ledger.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(behind, ledger.CheckpointFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := ledger.Open(behind, ledger.Options{}); err == nil || !strings.Contains(err.Error(), "acknowledged events are missing") {
			t.Fatalf("open %d of a folder behind its checkpoint: %v", i+1, err)
		}
	}
}
