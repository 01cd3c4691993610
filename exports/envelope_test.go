package exports

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/plentyhub/plenty"
)

// A kind or actor column holding the text the body escapes it as is not
// the body's envelope, though it matches it byte for byte.
func TestEnvelopeIsRefusesEscapedText(t *testing.T) {
	at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	body := func(kind, actor string) []byte {
		return plenty.EncodeEvent(3, at, kind, actor, []byte(`{}`))
	}
	tests := []struct {
		name        string
		body        []byte
		kind, actor string
		want        bool
	}{
		{"Plain", body("offer.posted", "delegate:d-c2"), "offer.posted", "delegate:d-c2", true},
		{"PlainOtherActor", body("offer.posted", "delegate:d-c2"), "offer.posted", "delegate:d-c1", false},
		{"ActorAsEscaped", body("offer.posted", `delegate:d-"c2\`), "offer.posted", `delegate:d-\"c2\\`, false},
		{"ActorAsItIs", body("offer.posted", `delegate:d-"c2\`), "offer.posted", `delegate:d-"c2\`, false},
		{"KindAsEscaped", body(`offer\posted`, "hub"), `offer\\posted`, "hub", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &eventChecker{}
			r := eventRow{seq: 3, timeNS: at.UnixNano(), kind: tt.kind, actor: tt.actor, body: tt.body}
			if got := c.envelopeIs(r); got != tt.want {
				t.Errorf("envelopeIs(kind %q, actor %q) of %s = %v, want %v", tt.kind, tt.actor, tt.body, got, tt.want)
			}
		})
	}
}

// A delegate whose id holds a quote and a backslash posts an offer: the
// snapshot verifies, and a CSV part whose actor column holds the body's
// escaped text instead of the actor is refused.
func TestVerifyComparesAnEscapedActorInFull(t *testing.T) {
	const delegate = `d-"c2\`
	l := newTestLog(t)
	at := l.now
	l.add(plenty.KindCouncilRegistered, plenty.ActorPublic, plenty.CouncilRegistration{
		ID: "c2", Name: "Hill Mill", Sector: "food", Place: "Riverside", Location: plenty.Location{Lat: 51.5, Lon: -0.2},
		Delegate: plenty.MandateGrant{ID: delegate, Council: "c2", Label: "Jo", Mandate: "post flour",
			Scopes: plenty.AllScopes, ExpiresAt: l.now.Add(plenty.MaxMandateTerm)},
	})
	l.add(plenty.KindItemDefined, plenty.ActorHub, plenty.ItemDefinition{
		Code: "wheat-flour", Name: "Wheat flour", Dimension: plenty.Mass, Unit: "kg"})
	l.add(plenty.KindOfferPosted, plenty.DelegateActor(delegate), plenty.OfferPosting{
		ID: "o1", Council: "c2", Item: "wheat-flour", Quantity: 250_000,
		Location: plenty.Location{Lat: 51.5, Lon: -0.2}, AvailableFrom: at, AvailableUntil: at.Add(72 * time.Hour),
		MinSplit: 500, MaxDistanceKm: 40, ExpiresAt: at.Add(72 * time.Hour)})
	good := mustWrite(t, l, 3)
	if _, err := Verify(context.Background(), good, &VerifyOptions{Key: l.verifier}); err != nil {
		t.Fatalf("Verify: %v", err)
	}

	dir := copyDir(t, good)
	csvPart := partPath(CSV, 0, 2)
	// In CSV, the actor delegate:d-"c2\ is "delegate:d-""c2\"; its
	// escaped text in the body, delegate:d-\"c2\\, is "delegate:d-\""c2\\".
	replaceIn(t, dir, csvPart, `,"delegate:d-""c2\",`, `,"delegate:d-\""c2\\",`)
	remove(t, dir, "events/parquet")
	relist(t, dir)
	_, err := Verify(context.Background(), dir, &VerifyOptions{Key: l.verifier})
	want := csvPart + `: event 2: actor column "delegate:d-\\\"c2\\\\" differs from the body's "delegate:d-\"c2\\"`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Verify error = %v\nwant one containing %q", err, want)
	}
}
