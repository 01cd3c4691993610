package exports

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"

	"fmt"
	"github.com/apache/arrow-go/v18/arrow"
	"testing"
	"time"

	"github.com/plentyhub/plenty"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// testLog is an in-memory ledger: events and a signing key, standing in for
// *ledger.Ledger.
type testLog struct {
	t        testing.TB
	events   []plenty.Event
	signer   note.Signer
	verifier string
	now      time.Time
}

const testOrigin = "plenty.test/log"

func newTestLog(t testing.TB) *testLog {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return &testLog{t: t, signer: s, verifier: vkey, now: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
}

// add appends an event with the next seq, a minute after the previous one.
func (l *testLog) add(kind string, actor plenty.Actor, data any) {
	l.t.Helper()
	raw, err := plenty.CanonicalJSON(data)
	if err != nil {
		l.t.Fatal(err)
	}
	seq := int64(len(l.events))
	body := plenty.EncodeEvent(seq, l.now, kind, actor, raw)
	ev, err := plenty.DecodeEvent(body)
	if err != nil {
		l.t.Fatalf("event %d: %v", seq, err)
	}
	l.events = append(l.events, ev)
	l.now = l.now.Add(time.Minute)
}

// checkpoint signs the tree over the first n events, computed with tlog
// itself so that the exporter's own tree code is checked against it.
func (l *testLog) checkpoint(n int64) []byte {
	l.t.Helper()
	return signTree(l.t, l.signer, l.events[:n])
}

func signTree(t testing.TB, s note.Signer, events []plenty.Event) []byte {
	t.Helper()
	var stored []tlog.Hash
	for i, ev := range events {
		hs, err := tlog.StoredHashes(int64(i), ev.Body, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(idx))
			for j, x := range idx {
				out[j] = stored[x]
			}
			return out, nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, hs...)
	}
	root, err := tlog.TreeHash(int64(len(events)), tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for j, x := range idx {
			out[j] = stored[x]
		}
		return out, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	text := Checkpoint{Origin: testOrigin, Size: int64(len(events)), Root: root}.String()
	msg, err := note.Sign(&note.Note{Text: text}, s)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// source serves the log's events as the ledger would.
func (l *testLog) source() EventSource {
	return func(ctx context.Context, from, to int64, fn func(plenty.Event) error) error {
		for _, ev := range l.events[from:to] {
			if err := fn(ev); err != nil {
				return err
			}
		}
		return nil
	}
}

// demoLog is a small ledger touching every kind of event the state knows:
// two councils, an item, offers and needs, a withdrawal, an expiry, a
// delegate issued and recalled. note lets a test rewrite history.
func demoLog(t testing.TB, note string) *testLog {
	l := newTestLog(t)
	at := l.now
	council := func(id, name string, lat, lon float64) {
		l.add(plenty.KindCouncilRegistered, plenty.ActorPublic, plenty.CouncilRegistration{
			ID: id, Name: name, Sector: "food", Place: "Riverside", Location: plenty.Location{Lat: lat, Lon: lon},
			Delegate: plenty.MandateGrant{ID: "d-" + id, Council: id, Label: "Jo Bloggs", Mandate: "post and accept bread flour",
				Scopes: plenty.AllScopes, ExpiresAt: l.now.Add(plenty.MaxMandateTerm)},
		})
	}
	council("c1", "Riverside Bakers", 51.4613, -0.1156)
	council("c2", "Hill Mill, \"North\"", 51.5, -0.2)
	l.add(plenty.KindItemDefined, plenty.ActorHub, plenty.ItemDefinition{
		Code: "wheat-flour", Name: "Wheat flour", Dimension: plenty.Mass, Unit: "kg"})
	offer := func(id string, q plenty.Amount, n string) {
		l.add(plenty.KindOfferPosted, plenty.DelegateActor("d-c2"), plenty.OfferPosting{
			ID: id, Council: "c2", Item: "wheat-flour", Quantity: q,
			Location: plenty.Location{Lat: 51.5, Lon: -0.2}, AvailableFrom: at, AvailableUntil: at.Add(72 * time.Hour),
			MinSplit: 500, MaxDistanceKm: 40, Note: n, ExpiresAt: at.Add(72 * time.Hour)})
	}
	offer("o1", 250_000, note)
	l.add(plenty.KindNeedPosted, plenty.DelegateActor("d-c1"), plenty.NeedPosting{
		ID: "n1", Council: "c1", Item: "wheat-flour", Quantity: 80_500,
		Location: plenty.Location{Lat: 51.4613, Lon: -0.1156}, NeededBy: at.Add(48 * time.Hour), Priority: 4,
		MaxDistanceKm: 50, Note: "for the winter bread", ExpiresAt: at.Add(48 * time.Hour)})
	offer("o2", 1_234, "small, line1\nline2")
	l.add(plenty.KindOfferWithdrawn, plenty.DelegateActor("d-c2"), plenty.PostingClosed{ID: "o2"})
	l.add(plenty.KindDelegateIssued, plenty.DelegateActor("d-c1"), plenty.MandateGrant{
		ID: "d3", Council: "c1", Label: "Sam", Mandate: "accept only",
		Scopes: []string{plenty.ScopeAccept}, CosignAbove: 100_000, ExpiresAt: l.now.Add(48 * time.Hour)})
	l.add(plenty.KindDelegateRecalled, plenty.DelegateActor("d-c1"), plenty.MandateRecall{Council: "c1", Delegate: "d3"})
	// The fold refuses an expiry before its time: n1 ran out after 48 hours.
	l.now = at.Add(48 * time.Hour)
	l.add(plenty.KindNeedExpired, plenty.ActorHub, plenty.PostingClosed{ID: "n1"})
	return l
}

// mustJSON is for messages.
func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

type arrowRecord = arrow.RecordBatch

func leafHex(h tlog.Hash) string { return hex.EncodeToString(h[:]) }
