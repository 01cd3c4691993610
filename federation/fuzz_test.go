package federation

import (
	"bytes"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/plentyhub/plenty"
)

func FuzzParsePolicy(f *testing.F) {
	_, logKey, cs := testKeys(f, 2, time.Now)
	f.Add([]byte("log " + logKey + " http://127.0.0.1:8080\nwitness x " + cs[0].VerifierKey() + "\nwitness y " + cs[1].VerifierKey() +
		" https://b.example\ngroup g any x y\nquorum g\n"))
	f.Add([]byte("# comment\n\n quorum none \n"))
	f.Add([]byte("group g 2 a b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePolicy(data)
		if err != nil {
			return
		}
		// The log and witness lines written back read the same.
		back, err := ParsePolicy([]byte(p.String()))
		if err != nil {
			t.Fatalf("the policy written back does not parse: %v\n%s", err, p.String())
		}
		if len(back.Logs) != len(p.Logs) || len(back.Witnesses) != len(p.Witnesses) {
			t.Fatalf("written back: %d logs, %d witnesses; want %d, %d", len(back.Logs), len(back.Witnesses), len(p.Logs), len(p.Witnesses))
		}
		for i := range p.Logs {
			if back.Logs[i].Key != p.Logs[i].Key || back.Logs[i].URL != p.Logs[i].URL {
				t.Fatalf("log %d: %+v, want %+v", i, back.Logs[i], p.Logs[i])
			}
		}
		// The neighbours event payload the policy gives passes the fold.
		body, _ := plenty.CanonicalJSON(p.Neighbours())
		st := plenty.NewState()
		if err := st.Apply(plenty.Event{Kind: plenty.KindFederationNeighbours, Actor: plenty.ActorHub, Data: body, Time: time.Now()}); err != nil && len(p.Logs)+len(p.Witnesses) <= plenty.MaxNeighbours {
			t.Fatalf("the fold refuses the neighbours of a valid policy: %v", err)
		}
		if p.Quorum != "" {
			p.witnessed(p.Quorum, map[string]time.Time{})
			p.Verify([]byte("a\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— a AAAA\n"), 0, time.Now())
		}
	})
}

func FuzzParseAddCheckpoint(f *testing.F) {
	s, _, _ := testKeys(f, 0, time.Now)
	signed, _ := note.Sign(&note.Note{Text: plenty.Checkpoint{Origin: "a.test/plenty", Size: 20852163}.String()}, s)
	f.Add(append([]byte("old 20852014\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\njrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n\n"), signed...))
	f.Add(append([]byte("old 0\n\n"), signed...))
	f.Add([]byte("old 00\n\nx"))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParseAddCheckpoint(body)
		if err != nil {
			return
		}
		if len(req.Proof) > maxProofLines || req.Old < 0 || len(req.Checkpoint) == 0 {
			t.Fatalf("accepted %+v", req)
		}
		// The framing is canonical: it encodes back to the same bytes.
		if got := req.Bytes(); !bytes.Equal(got, body) {
			t.Fatalf("encodes back to %q, not %q", got, body)
		}
	})
}
