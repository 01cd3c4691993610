package plenty

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// Each row is an insider trying to capture a council through its
// mandates; the fold refuses it with the code and, where a field is at
// fault, the field as the API spells it. Nothing changes on a refusal.
func TestMandatesHoldAgainstInsiders(t *testing.T) {
	tests := []struct {
		name  string
		try   func(w *world) error
		code  string
		field string
	}{
		{"ChildOutlivesIssuer", func(w *world) error {
			d := w.s.delegates["d_b1"]
			return w.issue(DelegateActor("d_b1"), grant("x", "c_bak", 100_000, []string{ScopePost}, d.ExpiresAt.Add(time.Minute)))
		}, EINVALID, "expires_at"},
		{"ChildWiderScopes", func(w *world) error {
			w.delegate("d_b1", "d_x", 100_000, []string{ScopePost, ScopeDelegate})
			d := w.s.delegates["d_x"]
			return w.issue(DelegateActor("d_x"), grant("x", "c_bak", 100_000, []string{ScopeAccept}, d.ExpiresAt))
		}, EINVALID, "scopes"},
		{"ChildWithoutThreshold", func(w *world) error {
			d := w.s.delegates["d_b1"]
			return w.issue(DelegateActor("d_b1"), grant("x", "c_bak", 0, AllScopes, d.ExpiresAt))
		}, EINVALID, "cosign_above"},
		{"ChildWeakerThreshold", func(w *world) error {
			d := w.s.delegates["d_b1"]
			return w.issue(DelegateActor("d_b1"), grant("x", "c_bak", 100_001, AllScopes, d.ExpiresAt))
		}, EINVALID, "cosign_above"},
		{"NineDayMandate", func(w *world) error {
			return w.issue(AssemblyActor("c_bak"), grant("x", "c_bak", 0, AllScopes, w.now.Add(9*24*time.Hour)))
		}, EINVALID, "expires_at"},
		{"RenewItself", func(w *world) error {
			return w.apply(KindDelegateRenewed, DelegateActor("d_b1"), MandateRenewal{"c_bak", "d_b1", w.now.Add(MaxMandateTerm)})
		}, EFORBIDDEN, ""},
		{"RenewPeer", func(w *world) error {
			return w.apply(KindDelegateRenewed, DelegateActor("d_b2"), MandateRenewal{"c_bak", "d_b1", w.now.Add(time.Hour)})
		}, EFORBIDDEN, ""},
		{"RenewChildPastIssuer", func(w *world) error {
			return w.apply(KindDelegateRenewed, AssemblyActor("c_bak"), MandateRenewal{"c_bak", "d_b3", w.now.Add(MaxMandateTerm)})
		}, EINVALID, "expires_at"},
		{"RecallPeer", func(w *world) error {
			return w.apply(KindDelegateRecalled, DelegateActor("d_b2"), MandateRecall{"c_bak", "d_b1"})
		}, EFORBIDDEN, ""},
		{"RecallIssuer", func(w *world) error {
			w.delegate("d_b1", "d_b5", 100_000, AllScopes)
			return w.apply(KindDelegateRecalled, DelegateActor("d_b5"), MandateRecall{"c_bak", "d_b1"})
		}, EFORBIDDEN, ""},
		{"OtherCouncilsAssembly", func(w *world) error {
			return w.issue(AssemblyActor("c_mill"), grant("x", "c_bak", 0, AllScopes, w.now.Add(time.Hour)))
		}, EFORBIDDEN, ""},
		{"AssemblyPosts", func(w *world) error {
			return w.apply(KindOfferWithdrawn, AssemblyActor("c_mill"), PostingClosed{ID: "o1"})
		}, EFORBIDDEN, ""},
		{"AssemblyAccepts", func(w *world) error {
			return w.apply(KindProposalAccepted, AssemblyActor("c_mill"), ProposalDecision{terms("p1", "o1", "n1", 1000)})
		}, EFORBIDDEN, ""},
		{"HubIssues", func(w *world) error {
			return w.issue(ActorHub, grant("x", "c_bak", 0, AllScopes, w.now.Add(time.Hour)))
		}, EFORBIDDEN, ""},
		{"CosignFromOwnChild", func(w *world) error {
			w.delegate("d_b1", "d_b5", 100_000, []string{ScopeAccept})
			p := terms("p9", "o1", "n2", 200_000)
			if err := w.accept("d_b1", p); err != nil {
				return err
			}
			return w.accept("d_b5", p)
		}, EFORBIDDEN, ""},
		{"CosignFromOwnIssuer", func(w *world) error {
			w.delegate("d_b1", "d_b5", 100_000, []string{ScopeAccept})
			p := terms("p9", "o1", "n2", 200_000)
			if err := w.accept("d_b5", p); err != nil {
				return err
			}
			return w.accept("d_b1", p)
		}, EFORBIDDEN, ""},
		{"ExchangeWithOneself", func(w *world) error {
			w.need("n_mill", "d_m1", 10_000)
			return w.accept("d_m1", terms("p9", "o1", "n_mill", 10_000))
		}, ECONFLICT, "proposal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			err := tc.try(w)
			wantCode(t, err, tc.code)
			if tc.field != "" {
				var fields []string
				if e, ok := err.(*Error); ok {
					for _, f := range e.Fields {
						fields = append(fields, f.Field)
					}
				}
				if len(fields) == 0 || fields[0] != tc.field {
					t.Fatalf("fields %v, want %s first (%v)", fields, tc.field, err)
				}
			}
			if err := w.s.CheckMandates(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRecallCascades(t *testing.T) {
	w := newWorld(t)
	w.delegate("d_b1", "x1", 100_000, AllScopes)
	w.delegate("x1", "x2", 100_000, []string{ScopePost})
	w.delegate("d_b1", "x3", 100_000, []string{ScopeAccept})
	w.must(KindDelegateRecalled, DelegateActor("d_b1"), MandateRecall{"c_bak", "x1"})
	for id, want := range map[string]bool{"x1": true, "x2": true, "x3": false, "d_b1": false, "d_b2": false} {
		d := w.s.delegates[id]
		if got := d.RecalledAt != nil; got != want {
			t.Fatalf("%s recalled = %v, want %v", id, got, want)
		}
		if want && (d.RecallOf != "x1" || d.RecalledBy != "delegate:d_b1") {
			t.Fatalf("%s ended by %q of %q", id, d.RecalledBy, d.RecallOf)
		}
	}
	// The assembly ends the whole tree of the first delegate at once.
	w.must(KindDelegateRecalled, AssemblyActor("c_bak"), MandateRecall{"c_bak", "d_b1"})
	for _, id := range []string{"d_b1", "d_b3", "x3"} {
		if d := w.s.delegates[id]; d.RecalledAt == nil || d.RecallOf != "d_b1" {
			t.Fatalf("%s not ended by the recall of d_b1: %+v", id, d)
		}
	}
	if w.s.delegates["d_b2"].RecalledAt != nil {
		t.Fatal("the assembly's own mandate d_b2 fell with d_b1")
	}
	// A recalled delegate posts nothing.
	err := w.apply(KindOfferWithdrawn, DelegateActor("x2"), PostingClosed{ID: "o1"})
	wantCode(t, err, EFORBIDDEN)
}

// A council whose every mandate ran out is not locked out: its assembly
// issues a new one, renews it, and replaces its own key.
func TestAssemblyRenewsALapsedCouncil(t *testing.T) {
	w := newWorld(t)
	w.now = w.s.delegates["d_m1"].ExpiresAt
	w.must(KindMandateExpired, ActorHub, MandateExpired{"d_m1"})
	wantCode(t, w.apply(KindOfferWithdrawn, DelegateActor("d_m1"), PostingClosed{ID: "o1"}), EFORBIDDEN)
	if err := w.issue(AssemblyActor("c_mill"), grant("d_m2", "c_mill", 0, AllScopes, w.now.Add(24*time.Hour))); err != nil {
		t.Fatal(err)
	}
	w.must(KindDelegateRenewed, AssemblyActor("c_mill"), MandateRenewal{"c_mill", "d_m2", w.now.Add(MaxMandateTerm)})
	if d := w.s.delegates["d_m2"]; !d.ExpiresAt.Equal(w.now.Add(-time.Minute).Add(MaxMandateTerm)) || d.IssuedBy != IssuedByAssembly {
		t.Fatalf("renewed mandate %+v", d)
	}
	w.must(KindOfferWithdrawn, DelegateActor("d_m2"), PostingClosed{ID: "o1"})

	// The assembly key is replaced: the old one no longer names the
	// assembly, the new one does.
	if c, ok := w.s.AssemblyByKey(HashToken("assembly-c_mill")); !ok || c != "c_mill" {
		t.Fatal("the assembly key is not known")
	}
	err := w.applyWith(KindAssemblyReplaced, AssemblyActor("c_mill"), AssemblyKeyReplaced{"c_mill"},
		Credential{AssemblyActor("c_mill"), HashToken("assembly-c_mill-2")})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := w.s.AssemblyByKey(HashToken("assembly-c_mill")); ok {
		t.Fatal("the replaced assembly key still works")
	}
	if c, _ := w.s.AssemblyByKey(HashToken("assembly-c_mill-2")); c != "c_mill" {
		t.Fatal("the new assembly key does not work")
	}
	// Nobody else replaces it, and a credential names only what the event
	// creates.
	wantCode(t, w.applyWith(KindAssemblyReplaced, DelegateActor("d_m2"), AssemblyKeyReplaced{"c_mill"},
		Credential{AssemblyActor("c_mill"), HashToken("x")}), EFORBIDDEN)
	wantCode(t, w.applyWith(KindAssemblyReplaced, AssemblyActor("c_mill"), AssemblyKeyReplaced{"c_mill"},
		Credential{DelegateActor("d_m2"), HashToken("y")}), EINVALID)
	wantCode(t, w.applyWith(KindAssemblyReplaced, AssemblyActor("c_mill"), AssemblyKeyReplaced{"c_mill"},
		Credential{AssemblyActor("c_mill"), HashToken("token-d_b1")}), ECONFLICT)
}

// Random sequences of issue, recall, renew and expiry never leave a
// mandate that outlives or outranks its issuer, or one in force under a
// recalled issuer; and a mandate in force always has its whole chain of
// issue in force.
func TestMandateTreesProperty(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		w := newWorld(t)
		ids := []string{"d_b1", "d_b2", "d_b3"}
		scopeSets := [][]string{AllScopes, {ScopePost}, {ScopeAccept, ScopeDelegate}, {ScopePost, ScopeDelegate}, {ScopeDelegate}}
		actorOf := func() Actor {
			if rng.IntN(4) == 0 {
				return AssemblyActor("c_bak")
			}
			return DelegateActor(ids[rng.IntN(len(ids))])
		}
		for step := 0; step < 60; step++ {
			target := ids[rng.IntN(len(ids))]
			switch rng.IntN(5) {
			case 0, 1:
				id := "m" + strings.Repeat("x", step%3) + string(rune('a'+step%26)) + string(rune('a'+step/26))
				end := w.now.Add(time.Duration(1+rng.IntN(200)) * time.Hour)
				if w.issue(actorOf(), grant(id, "c_bak", Amount(rng.IntN(3))*50_000, scopeSets[rng.IntN(len(scopeSets))], end)) == nil {
					ids = append(ids, id)
				}
			case 2:
				w.apply(KindDelegateRecalled, actorOf(), MandateRecall{"c_bak", target})
			case 3:
				w.apply(KindDelegateRenewed, actorOf(), MandateRenewal{"c_bak", target, w.now.Add(time.Duration(1+rng.IntN(200)) * time.Hour)})
			case 4:
				w.now = w.now.Add(time.Duration(rng.IntN(30)) * time.Hour)
				for _, id := range w.s.Due(w.now.Add(time.Minute)).Mandates {
					w.apply(KindMandateExpired, ActorHub, MandateExpired{id})
				}
			}
			if err := w.s.CheckMandates(); err != nil {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
			for _, id := range ids {
				d := w.s.delegates[id]
				for x := w.s.delegates[d.IssuedBy]; x != nil && d.Active(w.now); x = w.s.delegates[x.IssuedBy] {
					if !x.Active(w.now) {
						t.Fatalf("seed %d step %d: %s is in force under %s, which is not", seed, step, id, x.ID)
					}
				}
			}
		}
	}
}
