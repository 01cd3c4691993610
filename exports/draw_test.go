package exports

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/plentyhub/plenty"
)

// drawLog is an exchange whose delivery task is drawn by the lottery, the
// seed being the true root of the events before the draw, or another.
func drawLog(t *testing.T, forge bool) *testLog {
	l := demoLog(t, "stone-milled")
	at := l.now
	l.add(plenty.KindNeedPosted, plenty.DelegateActor("d-c1"), plenty.NeedPosted{Need: plenty.Need{
		ID: "n2", Council: "c1", Item: "wheat-flour", Quantity: 60_000, Remaining: 60_000,
		Location: plenty.Location{Lat: 51.4613, Lon: -0.1156}, Priority: 5, MaxDistanceKm: 50,
		ExpiresAt: at.Add(48 * time.Hour), Status: plenty.StatusOpen, PostedBy: "d-c1", PostedAt: l.now}})
	terms := plenty.ProposalTerms{ID: "p1", Offer: "o1", Need: "n2", Quantity: 50_000, DistanceKm: 12.25,
		LedgerSize: int64(len(l.events)), Engine: "test", ExpiresAt: at.Add(time.Hour)}
	l.add(plenty.KindProposalAccepted, plenty.DelegateActor("d-c2"), plenty.ProposalDecision{Proposal: terms})
	l.add(plenty.KindProposalAccepted, plenty.DelegateActor("d-c1"), plenty.ProposalDecision{Proposal: terms})
	l.add(plenty.KindTermsSet, plenty.ActorHub, plenty.Terms{ClaimWindow: time.Hour, AgreementTerm: time.Hour})
	for _, v := range []string{"v1", "v2"} {
		l.add(plenty.KindVolunteerRegistered, plenty.ActorPublic, plenty.VolunteerGrant{
			Volunteer: plenty.Volunteer{ID: v, Handle: "handle-" + v, RegisteredAt: l.now}, TokenHash: "hash-" + v})
		l.add(plenty.KindTaskVolunteered, plenty.VolunteerActor(v), plenty.TaskRef{Task: plenty.TaskID(plenty.AgreementID("p1"))})
	}
	n := int64(len(l.events))
	n1, err := note.Open(l.checkpoint(n), note.VerifierList(mustVerifier(t, l.verifier)))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := plenty.ParseCheckpoint(n1.Text)
	if err != nil {
		t.Fatal(err)
	}
	seed := cp.Root[:]
	if forge {
		// The seed that makes the other volunteer win.
		honest := plenty.DrawVolunteer(seed, plenty.TaskID(plenty.AgreementID("p1")), []string{"v1", "v2"})
		for i := 0; ; i++ {
			s := []byte(strings.Repeat("x", 31) + string(rune('a'+i)))
			if plenty.DrawVolunteer(s, plenty.TaskID(plenty.AgreementID("p1")), []string{"v1", "v2"}) != honest {
				seed = s
				break
			}
		}
	}
	task := plenty.TaskID(plenty.AgreementID("p1"))
	l.add(plenty.KindTaskAssigned, plenty.ActorHub, plenty.TaskAssignment{Task: task,
		Volunteer: plenty.DrawVolunteer(seed, task, []string{"v1", "v2"}), Seed: hex.EncodeToString(seed), TreeSize: n})
	return l
}

func mustVerifier(t *testing.T, vkey string) note.Verifier {
	t.Helper()
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The fold cannot see the tree: the verifier checks each draw's seed
// against the root of the events before it.
func TestVerifyChecksTheLotterySeed(t *testing.T) {
	honest := drawLog(t, false)
	if _, err := Verify(context.Background(), mustWrite(t, honest, int64(len(honest.events))), &VerifyOptions{Key: honest.verifier}); err != nil {
		t.Fatalf("an honest draw: %v", err)
	}
	forged := drawLog(t, true)
	dir := t.TempDir()
	_, err := Write(context.Background(), dir, forged.source(), forged.checkpoint(int64(len(forged.events))), forged.verifier, nil)
	if err == nil {
		_, err = Verify(context.Background(), dir+"/latest", &VerifyOptions{Key: forged.verifier})
	}
	if err == nil || !strings.Contains(err.Error(), "the draw was steered") {
		t.Fatalf("a forged seed: %v, want the draw named as steered", err)
	}
}
