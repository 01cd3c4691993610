package plenty

import (
	"math/rand/v2"
	"sort"
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
		// A delegate named as the issuers that are not delegates would
		// stand above every mandate they issued, in every council.
		{"DelegateNamedAssembly", func(w *world) error {
			return w.issue(AssemblyActor("c_mill"), grant(IssuedByAssembly, "c_mill", 0, AllScopes, w.now.Add(time.Hour)))
		}, EINVALID, ""},
		{"DelegateNamedRegistration", func(w *world) error {
			return w.issue(AssemblyActor("c_mill"), grant(IssuedAtRegistration, "c_mill", 0, AllScopes, w.now.Add(time.Hour)))
		}, EINVALID, ""},
		{"FirstDelegateNamedAssembly", func(w *world) error {
			return w.apply(KindCouncilRegistered, ActorPublic, CouncilRegistration{ID: "c_z", Name: "Z", Sector: "food", Place: "Testville",
				Location: Location{Lat: 51.4, Lon: -0.1}, Delegate: grant(IssuedByAssembly, "c_z", 0, AllScopes, w.now.Add(time.Hour))})
		}, EINVALID, ""},
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
	w.s.OnChange(func(Change) {}) // keeps what left until ForgetClosed
	mandate := func(id string) Delegate {
		d, ok := w.s.Delegate(id)
		if !ok {
			t.Fatalf("no delegate %s", id)
		}
		return d
	}
	w.delegate("d_b1", "x1", 100_000, AllScopes)
	w.delegate("x1", "x2", 100_000, []string{ScopePost})
	w.delegate("d_b1", "x3", 100_000, []string{ScopeAccept})
	w.must(KindDelegateRecalled, DelegateActor("d_b1"), MandateRecall{"c_bak", "x1"})
	for id, want := range map[string]bool{"x1": true, "x2": true, "x3": false, "d_b1": false, "d_b2": false} {
		d := mandate(id)
		if got := d.RecalledAt != nil; got != want {
			t.Fatalf("%s recalled = %v, want %v", id, got, want)
		}
		if want && (d.RecallOf != "x1" || d.RecalledBy != "delegate:d_b1") {
			t.Fatalf("%s ended by %q of %q", id, d.RecalledBy, d.RecallOf)
		}
		// A recalled mandate leaves the state with the tree under it.
		if why, _ := w.s.GoneStatus("delegate", id); (w.s.delegates[id] == nil) != want || (why == EndedByRecall) != want {
			t.Fatalf("%s: in the state %v, gone as %q; want it gone %v", id, w.s.delegates[id] != nil, why, want)
		}
	}
	if kids := w.s.issued["d_b1"]; len(kids) != 2 || kids[0] != "d_b3" || kids[1] != "x3" {
		t.Fatalf("d_b1 issued %v in the state, want d_b3 and x3", kids)
	}
	// The assembly ends the whole tree of the first delegate at once.
	w.must(KindDelegateRecalled, AssemblyActor("c_bak"), MandateRecall{"c_bak", "d_b1"})
	for _, id := range []string{"d_b1", "d_b3", "x3"} {
		if d := mandate(id); d.RecalledAt == nil || d.RecallOf != "d_b1" || w.s.delegates[id] != nil {
			t.Fatalf("%s not ended by the recall of d_b1: %+v", id, d)
		}
	}
	if w.s.delegates["d_b2"].RecalledAt != nil {
		t.Fatal("the assembly's own mandate d_b2 fell with d_b1")
	}
	if len(w.s.issued) != 0 {
		t.Fatalf("issued %v, want nothing: every mandate d_b1 issued left", w.s.issued)
	}
	// A recalled delegate, gone from the state, still posts nothing, is
	// not recalled or renewed again, and its id stays taken.
	for _, try := range []struct {
		err  error
		code string
	}{
		{w.apply(KindOfferWithdrawn, DelegateActor("x2"), PostingClosed{ID: "o1"}), EFORBIDDEN},
		{w.accept("x3", terms("p9", "o1", "n1", 1000)), EFORBIDDEN},
		{w.apply(KindDelegateRecalled, AssemblyActor("c_bak"), MandateRecall{"c_bak", "x1"}), ECONFLICT},
		{w.apply(KindDelegateRecalled, DelegateActor("d_b2"), MandateRecall{"c_bak", "x1"}), ECONFLICT},
		{w.apply(KindDelegateRecalled, AssemblyActor("c_mill"), MandateRecall{"c_bak", "x1"}), EFORBIDDEN},
		{w.apply(KindDelegateRecalled, AssemblyActor("c_mill"), MandateRecall{"c_mill", "x1"}), ENOTFOUND},
		{w.apply(KindDelegateRenewed, AssemblyActor("c_bak"), MandateRenewal{"c_bak", "x2", w.now.Add(time.Hour)}), ECONFLICT},
		{w.apply(KindDelegateRenewed, DelegateActor("x1"), MandateRenewal{"c_bak", "x2", w.now.Add(time.Hour)}), EFORBIDDEN},
		{w.apply(KindMandateExpired, ActorHub, MandateExpired{"x2"}), ECONFLICT},
		{w.issue(AssemblyActor("c_bak"), grant("x1", "c_bak", 0, AllScopes, w.now.Add(time.Hour))), ECONFLICT},
		{w.issue(DelegateActor("x1"), grant("x9", "c_bak", 100_000, []string{ScopePost}, w.now.Add(time.Hour))), EFORBIDDEN},
		// The hub operator cannot hand a recalled delegate's token to a
		// new mandate: its credential stays in use after it left.
		{w.applyWith(KindDelegateIssued, AssemblyActor("c_bak"), grant("x8", "c_bak", 0, AllScopes, w.now.Add(time.Hour)),
			Credential{DelegateActor("x8"), HashToken("token-x1")}), ECONFLICT},
	} {
		wantCode(t, try.err, try.code)
	}
	if err := w.apply(KindNeedWithdrawn, DelegateActor("x2"), PostingClosed{ID: "n1"}); err == nil || !strings.Contains(err.Error(), "x2 was recalled") {
		t.Fatalf("a gone delegate's refusal says %v, want that it was recalled", err)
	}
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
	labels := []string{"Ana", "Bo", "Cy"}
	for seed := uint64(1); seed <= 40; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		w := newWorld(t)
		// Every delegate's newest document, to check the figures against.
		docs := map[string]Delegate{}
		var changed []string
		w.s.OnChange(func(c Change) {
			if c.Kind == "delegate" {
				changed = append(changed, c.ID)
			}
		})
		for _, d := range w.s.Delegates() {
			docs[d.ID] = d
		}
		ids := []string{"d_b1", "d_b2", "d_b3"}
		scopeSets := [][]string{AllScopes, {ScopePost}, {ScopeAccept, ScopeDelegate}, {ScopePost, ScopeDelegate}, {ScopeDelegate}}
		actorOf := func() Actor {
			if rng.IntN(4) == 0 {
				return AssemblyActor("c_bak")
			}
			return DelegateActor(ids[rng.IntN(len(ids))])
		}
		for step := 0; step < 80; step++ {
			target := ids[rng.IntN(len(ids))]
			switch rng.IntN(5) {
			case 0, 1:
				id := "m" + strings.Repeat("x", step%3) + string(rune('a'+step%26)) + string(rune('a'+step/26))
				end := w.now.Add(time.Duration(1+rng.IntN(200)) * time.Hour)
				g := grant(id, "c_bak", Amount(rng.IntN(3))*50_000, scopeSets[rng.IntN(len(scopeSets))], end)
				g.Label = labels[rng.IntN(len(labels))]
				if w.issue(actorOf(), g) == nil {
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
			for _, id := range changed {
				d, ok := w.s.Delegate(id)
				if !ok {
					t.Fatalf("seed %d step %d: %s changed, but the state has no document of it", seed, step, id)
				}
				docs[id] = d
			}
			changed = changed[:0]
			if err := w.s.CheckMandates(); err != nil {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
			for _, id := range ids {
				d := w.s.delegates[id]
				if d == nil {
					// Left: it ended, and so did everything it issued.
					why, gone := w.s.GoneStatus("delegate", id)
					doc := docs[id]
					if want := map[bool]string{true: EndedByRecall, false: EndedByExpiry}[doc.RecalledAt != nil]; !gone || why != want {
						t.Fatalf("seed %d step %d: %s is not in the state, gone %v as %q, want %q", seed, step, id, gone, why, want)
					}
					continue
				}
				if w.s.ended(d) && len(w.s.issued[id]) == 0 {
					t.Fatalf("seed %d step %d: %s ended and issued nothing in the state, but stays", seed, step, id)
				}
				for x := d; x.IssuedBy != IssuedByAssembly && x.IssuedBy != IssuedAtRegistration; x = w.s.delegates[x.IssuedBy] {
					if w.s.delegates[x.IssuedBy] == nil {
						t.Fatalf("seed %d step %d: %s is in the state, but %s above it is not", seed, step, id, x.IssuedBy)
					}
				}
				for x := w.s.delegates[d.IssuedBy]; x != nil && d.Active(w.now); x = w.s.delegates[x.IssuedBy] {
					if !x.Active(w.now) {
						t.Fatalf("seed %d step %d: %s is in force under %s, which is not", seed, step, id, x.ID)
					}
				}
			}
			// The tenure figures, kept as mandates leave, are those of every
			// mandate ever.
			all := make([]Delegate, 0, len(docs))
			for _, d := range docs {
				all = append(all, d)
			}
			for _, asOf := range []time.Time{w.now, w.now.Add(40 * time.Hour)} {
				got, want := w.s.Figures(asOf), tenuresOfAll(all, asOf)
				if got.Tenures != want.Tenures || got.LongestTenureDays != want.LongestTenureDays ||
					got.MedianTenureDays != want.MedianTenureDays || got.MostMandates != want.MostMandates {
					t.Fatalf("seed %d step %d: tenures %d, longest %v, median %v, most %d; every mandate gives %d, %v, %v, %d",
						seed, step, got.Tenures, got.LongestTenureDays, got.MedianTenureDays, got.MostMandates,
						want.Tenures, want.LongestTenureDays, want.MedianTenureDays, want.MostMandates)
				}
			}
		}
	}
}

// tenuresOfAll computes the tenure figures from every mandate ever, as
// the fold did before mandates left the state.
func tenuresOfAll(all []Delegate, asOf time.Time) Figures {
	f := Figures{AsOf: asOf}
	seats := map[[2]string][]Delegate{}
	for _, d := range all {
		k := [2]string{d.Council, d.Label}
		seats[k] = append(seats[k], d)
	}
	end := func(d Delegate) time.Time {
		e := d.ExpiresAt
		if d.RecalledAt != nil && d.RecalledAt.Before(e) {
			e = *d.RecalledAt
		}
		if f.AsOf.Before(e) {
			e = f.AsOf
		}
		return e
	}
	var days []float64
	for _, ds := range seats {
		sort.Slice(ds, func(i, j int) bool {
			if !ds[i].IssuedAt.Equal(ds[j].IssuedAt) {
				return ds[i].IssuedAt.Before(ds[j].IssuedAt)
			}
			return ds[i].ID < ds[j].ID
		})
		flush := func(start, last time.Time, n int) {
			d := max(0, last.Sub(start).Hours()/24)
			days = append(days, d)
			f.LongestTenureDays = max(f.LongestTenureDays, d)
			f.MostMandates = max(f.MostMandates, n)
		}
		start, last, n := ds[0].IssuedAt, end(ds[0]), 1
		for _, d := range ds[1:] {
			if d.IssuedAt.After(last.Add(TenureGap)) {
				flush(start, last, n)
				start, last, n = d.IssuedAt, end(d), 1
				continue
			}
			if e := end(d); e.After(last) {
				last = e
			}
			n++
		}
		flush(start, last, n)
	}
	f.Tenures = len(days)
	f.MedianTenureDays = median(days)
	return f
}
