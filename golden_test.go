package plenty

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// goldenLog scripts a ledger that records every kind of event the fold
// knows.
func goldenLog(t *testing.T) *world {
	w := newWorld(t)
	w.must(KindDelegateRenewed, AssemblyActor("c_bak"), MandateRenewal{"c_bak", "d_b2", w.now.Add(6 * 24 * time.Hour)})
	if err := w.applyWith(KindAssemblyReplaced, AssemblyActor("c_bak"), AssemblyKeyReplaced{"c_bak"},
		Credential{AssemblyActor("c_bak"), HashToken("assembly-c_bak-2")}); err != nil {
		t.Fatal(err)
	}
	w.must(KindDelegateRecalled, DelegateActor("d_b1"), MandateRecall{"c_bak", "d_b3"})
	w.offer("o2", "d_m1", 1_000)
	w.must(KindOfferWithdrawn, DelegateActor("d_m1"), PostingClosed{ID: "o2"})
	w.need("n3", "d_b1", 2_000)
	w.must(KindNeedWithdrawn, DelegateActor("d_b1"), PostingClosed{ID: "n3"})
	w.vouched("v1")
	w.vouched("v2")
	w.must(KindProposalDeclined, DelegateActor("d_m1"), ProposalDecision{terms("p0", "o1", "n3", 1_000)})
	w.must(KindProposalAccepted, DelegateActor("d_b1"), ProposalDecision{terms("p3", "o1", "n2", 5_000)})
	w.must(KindAcceptanceWithdrawn, DelegateActor("d_b1"), AcceptanceWithdrawal{Proposal: "p3"})
	a := w.agree(terms("p1", "o1", "n1", 80_500))
	task := TaskID(a.ID)
	w.must(KindTaskVolunteered, VolunteerActor("v1"), TaskRef{task})
	w.must(KindTaskVolunteered, VolunteerActor("v2"), TaskRef{task})
	first, err := w.draw(task)
	if err != nil {
		t.Fatal(err)
	}
	w.now = w.now.Add(time.Minute)
	w.must(KindTaskLapsed, ActorHub, TaskRef{task})
	second, err := w.draw(task)
	if err != nil || second == first {
		t.Fatalf("second draw %s (first %s): %v", second, first, err)
	}
	w.must(KindTaskPickedUp, VolunteerActor(second), TaskRef{task})
	w.must(KindTaskDroppedOff, VolunteerActor(second), TaskRef{task})
	w.must(KindTransferRecorded, DelegateActor("d_b1"), TransferRecorded{a.ID, 80_000})
	w.must(KindCorrectionRecorded, DelegateActor("d_b1"), CorrectionRecorded{TransferID(a.ID), 80_500})
	b := w.agree(terms("p2", "o1", "n2", 50_000))
	w.must(KindAgreementCancelled, DelegateActor("d_m1"), AgreementCancellation{b.ID, CancelWithdrawn})
	logKey, notes := goldenNeighbour(t)
	w.must(KindFederationNeighbours, ActorHub, FederationNeighbours{
		Logs:      []NeighbourLog{{Key: logKey, URL: "https://leeds.example"}},
		Witnesses: []NeighbourWitness{{Name: "leeds", Key: goldenWitnessKey("leeds.example/witness"), URL: "https://leeds.example"}},
	})
	w.must(KindFederationEvidence, ActorHub, FederationEvidence{Origin: "leeds.example/plenty", Log: logKey, Kind: EvidenceFork,
		Notes: notes, Message: "two checkpoints of size 5 with different roots"})
	w.now = w.s.delegates["d_m1"].ExpiresAt
	w.must(KindMandateExpired, ActorHub, MandateExpired{"d_m1"})
	w.now = w.s.offers["o1"].ExpiresAt
	w.must(KindOfferExpired, ActorHub, PostingClosed{ID: "o1"})
	w.must(KindNeedExpired, ActorHub, PostingClosed{ID: "n2"})
	return w
}

// Every kind of event has a canonical body in testdata/events/, and the
// fold replays them all, credentials or not. A change of a payload type
// that old events would not survive changes these files: refresh them with
// -update only for a change that says so in the README (the event format).
func TestGoldenEvents(t *testing.T) {
	w := goldenLog(t)
	var log bytes.Buffer
	byKind := map[string][]byte{}
	for _, ev := range w.log {
		log.Write(ev.Body)
		log.WriteByte('\n')
		if byKind[ev.Kind] == nil {
			byKind[ev.Kind] = ev.Body
		}
	}
	kinds := allKinds()
	if len(kinds) < 29 {
		t.Fatalf("found only %d kinds in the sources: %v", len(kinds), kinds)
	}
	for _, k := range kinds {
		if byKind[k] == nil {
			t.Errorf("the golden log has no %s event", k)
		}
	}
	dir := filepath.Join("testdata", "events")
	if *update {
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "log.jsonl"), log.Bytes(), 0o644)
		for k, b := range byKind {
			os.WriteFile(filepath.Join(dir, k+".json"), append(b, '\n'), 0o644)
		}
	}
	want, err := os.ReadFile(filepath.Join(dir, "log.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, log.Bytes()) {
		t.Fatalf("the scripted log differs from testdata/events/log.jsonl: the event format changed (run go test -update after saying so in the README)")
	}
	for k, b := range byKind {
		got, err := os.ReadFile(filepath.Join(dir, k+".json"))
		if err != nil || !bytes.Equal(got, append(b, '\n')) {
			t.Errorf("testdata/events/%s.json differs from the scripted body: %v", k, err)
		}
	}
	// The open log, without credentials, replays through the fold.
	st := NewState()
	for i, line := range bytes.Split(bytes.TrimSuffix(want, []byte("\n")), []byte("\n")) {
		ev, err := DecodeEvent(line)
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if err := st.Apply(ev); err != nil {
			t.Fatalf("line %d does not replay: %v", i+1, err)
		}
	}
	if st.Root() != w.s.Root() || st.CheckBalances() != nil || st.CheckMandates() != nil {
		t.Fatal("the replayed state differs from the scripted one")
	}
}

// allKinds lists the event kinds the fold knows, from the const blocks of
// the package's sources: a new kind without a golden body fails above.
func allKinds() []string {
	var out []string
	seen := map[string]bool{}
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, _ := os.ReadFile(f)
		for _, line := range strings.Split(string(b), "\n") {
			line = strings.TrimPrefix(strings.TrimSpace(line), "const ")
			if !strings.HasPrefix(line, "Kind") || !strings.Contains(line, "= \"") {
				continue
			}
			k := line[strings.Index(line, "\"")+1 : strings.LastIndex(line, "\"")]
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

// goldenNeighbour makes a neighbour's log key from a fixed seed, and two
// checkpoints it signed that fork: the same size, two roots.
func goldenNeighbour(t *testing.T) (string, []string) {
	skey, vkey, err := note.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{7}, 64)), "leeds.example/plenty")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, r := range []byte{1, 2} {
		cp := Checkpoint{Origin: "leeds.example/plenty", Size: 5, Root: [32]byte{r}}
		b, err := note.Sign(&note.Note{Text: cp.String()}, signer)
		if err != nil {
			t.Fatal(err)
		}
		notes = append(notes, string(b))
	}
	return vkey, notes
}

// goldenWitnessKey is a cosignature/v1 verifier key (type 0x04) of a fixed
// Ed25519 key.
func goldenWitnessKey(name string) string {
	pub := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32)).Public().(ed25519.PublicKey)
	key := append([]byte{0x04}, pub...)
	h := sha256.Sum256(append([]byte(name+"\n"), key...))
	return name + "+" + hex.EncodeToString(h[:4]) + "+" + base64.StdEncoding.EncodeToString(key)
}
