package exports

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/plentyhub/plenty"
)

// testDrawKey is the hub's lottery key in these tests.
var testDrawKey, _ = plenty.NewVRFKey(plenty.DrawKeySeed([]byte("exports test hub key seed.......")))

// drawLog is an exchange whose delivery task is drawn by the lottery: the
// honest winner, or (forge) the other candidate under the same proof.
func drawLog(t *testing.T, forge bool) *testLog {
	l := demoLog(t, "stone-milled")
	at := l.now
	l.add(plenty.KindTermsSet, plenty.ActorHub, plenty.Terms{LotteryWindow: 10 * time.Minute, ClaimWindow: time.Hour,
		AgreementTerm: time.Hour, DrawKey: hex.EncodeToString(testDrawKey.Public())})
	l.add(plenty.KindNeedPosted, plenty.DelegateActor("d-c1"), plenty.NeedPosting{
		ID: "n2", Council: "c1", Item: "wheat-flour", Quantity: 60_000,
		Location: plenty.Location{Lat: 51.4613, Lon: -0.1156}, NeededBy: at.Add(48 * time.Hour), Priority: 5, MaxDistanceKm: 50,
		ExpiresAt: at.Add(48 * time.Hour)})
	terms := plenty.ProposalTerms{ID: "p1", Offer: "o1", Need: "n2", Quantity: 50_000, DistanceKm: 7.3,
		LedgerSize: int64(len(l.events)), Engine: "test", ExpiresAt: at.Add(time.Hour)}
	l.add(plenty.KindProposalAccepted, plenty.DelegateActor("d-c2"), plenty.ProposalDecision{Proposal: terms})
	opened := l.now
	l.add(plenty.KindProposalAccepted, plenty.DelegateActor("d-c1"), plenty.ProposalDecision{Proposal: terms})
	task := plenty.TaskID(plenty.AgreementID("p1"))
	for _, v := range []string{"v1", "v2"} {
		l.add(plenty.KindVolunteerRegistered, plenty.ActorPublic, plenty.VolunteerRegistration{ID: v, Handle: "handle-" + v})
		l.add(plenty.KindVolunteerVouched, plenty.DelegateActor("d-c1"), plenty.VolunteerVouch{Volunteer: v, Council: "c1"})
		l.add(plenty.KindTaskVolunteered, plenty.VolunteerActor(v), plenty.TaskRef{Task: task})
	}
	// The window closes; the draw is the first event after it, so it
	// depends on the root of every event before it.
	closes := opened.Add(10 * time.Minute)
	l.now = closes
	var tree plenty.Tree
	for _, ev := range l.events {
		tree.Add(tlog.RecordHash(ev.Body))
	}
	root := tree.Root()
	proof, out := testDrawKey.Prove(plenty.DrawInput(task, closes))
	win := plenty.DrawVolunteer(plenty.DrawSeed(out, root[:]), task, []string{"v1", "v2"})
	if forge {
		win = map[string]string{"v1": "v2", "v2": "v1"}[win]
	}
	l.add(plenty.KindTaskAssigned, plenty.ActorHub, plenty.TaskAssignment{Task: task, Volunteer: win, Proof: hex.EncodeToString(proof)})
	return l
}

// The fold checks each draw: its proof under the hub's published draw key,
// and the winner under the rule, from the open data alone.
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
	if err == nil || !strings.Contains(err.Error(), "the published rule draws") {
		t.Fatalf("a forged draw: %v, want the rule named", err)
	}
}
