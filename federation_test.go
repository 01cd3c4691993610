package plenty_test

import (
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/plentyhub/plenty"
)

func signedCheckpoint(t *testing.T, s note.Signer, size int64, root byte) string {
	t.Helper()
	cp := plenty.Checkpoint{Origin: s.Name(), Size: size}
	cp.Root[0] = root
	n, err := note.Sign(&note.Note{Text: cp.String()}, s)
	if err != nil {
		t.Fatal(err)
	}
	return string(n)
}

func newNoteKey(t *testing.T, name string) (note.Signer, string) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return s, vkey
}

func TestFoldFederation(t *testing.T) {
	a, aKey := newNoteKey(t, "a.test/plenty")
	other, _ := newNoteKey(t, "a.test/plenty") // same name, another key
	fork := plenty.FederationEvidence{
		Origin: "a.test/plenty", Log: aKey, Kind: plenty.EvidenceFork,
		Notes:   []string{signedCheckpoint(t, a, 10, 1), signedCheckpoint(t, a, 10, 2)},
		Message: "signed two roots for size 10",
	}
	apply := func(kind, actor string, data any) error {
		body, err := json.Marshal(data)
		if err != nil {
			t.Fatal(err)
		}
		st := plenty.NewState()
		err = st.Apply(plenty.Event{Seq: 0, Time: time.Now(), Kind: kind, Actor: actor, Data: body})
		if err == nil && st.Size() != 1 {
			t.Fatalf("applied, size %d", st.Size())
		}
		if err != nil && st.Size() != 0 {
			t.Fatalf("refused, but size %d", st.Size())
		}
		return err
	}
	if err := apply(plenty.KindFederationEvidence, plenty.ActorHub, fork); err != nil {
		t.Fatal(err)
	}
	forged := fork
	forged.Notes = []string{fork.Notes[0], signedCheckpoint(t, other, 10, 2)}
	wrongKind := fork
	wrongKind.Kind = "gossip"
	wrongOrigin := fork
	wrongOrigin.Origin = "b.test/plenty"
	threeNotes := fork
	threeNotes.Notes = append(append([]string{}, fork.Notes...), fork.Notes[0])
	for _, tc := range []struct {
		name, kind, actor string
		data              any
		want              string
	}{
		{"ForgedNote", plenty.KindFederationEvidence, plenty.ActorHub, forged, "notes[1] is not a checkpoint signed by the log key"},
		{"UnknownKind", plenty.KindFederationEvidence, plenty.ActorHub, wrongKind, "kind must be fork, rollback, withholding or split-view"},
		{"OriginNotTheKeys", plenty.KindFederationEvidence, plenty.ActorHub, wrongOrigin, "origin must be the log key's name"},
		{"ThreeNotes", plenty.KindFederationEvidence, plenty.ActorHub, threeNotes, "notes must hold one or two"},
		{"EvidenceByDelegate", plenty.KindFederationEvidence, "delegate:x", fork, "only the hub records federation evidence"},
		{"NeighboursByPublic", plenty.KindFederationNeighbours, plenty.ActorPublic, plenty.FederationNeighbours{}, "only the hub records its neighbours"},
		{"LogWithWitnessType", plenty.KindFederationNeighbours, plenty.ActorHub,
			plenty.FederationNeighbours{Logs: []plenty.NeighbourLog{{Key: strings.Replace(aKey, "+A", "+B", 1), URL: "http://x"}}}, "logs[0].key must be a verifier key"},
		{"BadURL", plenty.KindFederationNeighbours, plenty.ActorHub,
			plenty.FederationNeighbours{Logs: []plenty.NeighbourLog{{Key: aKey, URL: "mailto:x"}}}, "logs[0].url must be an http(s) URL"},
		{"UnknownField", plenty.KindFederationNeighbours, plenty.ActorHub, map[string]any{"logs": []any{}, "status": "ok"}, "unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := apply(tc.kind, tc.actor, tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	ok := plenty.FederationNeighbours{Logs: []plenty.NeighbourLog{{Key: aKey, URL: "https://a.example"}}, Witnesses: []plenty.NeighbourWitness{}}
	if err := apply(plenty.KindFederationNeighbours, plenty.ActorHub, ok); err != nil {
		t.Fatal(err)
	}
}
