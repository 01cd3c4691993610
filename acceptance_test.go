package plenty

import "testing"

func (w *world) withdrawAcceptance(by, proposal string) error {
	return w.apply(KindAcceptanceWithdrawn, DelegateActor(by), AcceptanceWithdrawal{Proposal: proposal})
}

// A council takes back its acceptance before the agreement forms; the
// other council's stands, and accepting again forms the agreement. After
// the agreement formed, or without an acceptance, the withdrawal is
// refused and nothing changes.
func TestWithdrawAcceptance(t *testing.T) {
	w := newWorld(t)
	p := terms("p1", "o1", "n1", 40_000)

	wantCode(t, w.withdrawAcceptance("d_m1", "p1"), ENOTFOUND)
	if err := w.accept("d_m1", p); err != nil {
		t.Fatal(err)
	}
	wantCode(t, w.withdrawAcceptance("d_b1", "p1"), ECONFLICT) // the bakers never accepted
	wantCode(t, w.withdrawAcceptance("d_m1", ""), EINVALID)
	if err := w.withdrawAcceptance("d_m1", "p1"); err != nil {
		t.Fatal(err)
	}
	if acc, _ := w.s.Acceptance("p1"); len(acc.Decisions) != 0 {
		t.Fatalf("decisions after the mill withdrew: %+v", acc.Decisions)
	}
	wantCode(t, w.withdrawAcceptance("d_m1", "p1"), ECONFLICT) // nothing left to withdraw

	// The bakers accept; with the mill's acceptance gone, nothing forms.
	if err := w.accept("d_b1", p); err != nil {
		t.Fatal(err)
	}
	if _, ok := w.s.Agreement(AgreementID("p1")); ok {
		t.Fatal("an agreement formed without the mill's consent")
	}
	if o1, _, _ := w.remaining(); o1 != 250_000 {
		t.Fatalf("offer remaining %s, want nothing reserved", o1)
	}
	// The mill accepts again: the agreement forms; now it can only be cancelled.
	if err := w.accept("d_m1", p); err != nil {
		t.Fatal(err)
	}
	if _, ok := w.s.Agreement(AgreementID("p1")); !ok {
		t.Fatal("no agreement after both accepted")
	}
	size := w.s.Size()
	wantCode(t, w.withdrawAcceptance("d_b1", "p1"), ECONFLICT)
	if w.s.Size() != size {
		t.Error("a refused withdrawal was applied")
	}
}

// Only a delegate of a council party to the proposal, with the accept
// scope, may withdraw; a refusal stands.
func TestWithdrawAcceptanceRefusals(t *testing.T) {
	w := newWorld(t)
	p := terms("p1", "o1", "n1", 40_000)
	if err := w.accept("d_m1", p); err != nil {
		t.Fatal(err)
	}
	if err := w.decline("d_b1", p); err != nil {
		t.Fatal(err)
	}
	wantCode(t, w.withdrawAcceptance("d_b1", "p1"), ECONFLICT)
	w.delegate("d_m1", "d_m2", 0, []string{ScopePost})
	wantCode(t, w.withdrawAcceptance("d_m2", "p1"), EFORBIDDEN)
	wantCode(t, w.apply(KindAcceptanceWithdrawn, ActorHub, AcceptanceWithdrawal{Proposal: "p1"}), EFORBIDDEN)
	wantCode(t, w.apply(KindAcceptanceWithdrawn, DelegateActor("d_m1"), map[string]string{"proposal": "p1", "reason": "x"}), EINVALID)
}
