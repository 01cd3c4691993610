package usecase

import (
	"context"

	"github.com/plentyhub/plenty"
)

// Decide records that d's council accepts (or declines) proposal p, as the
// hub served it. The fold decides whether it still fits what the offer
// and need have left (ECONFLICT when other agreements overtook it), whether
// d may decide it (EFORBIDDEN), and whether the acceptance completes an
// agreement or waits for a co-signature.
func Decide(ctx context.Context, env Env, d plenty.Delegate, p plenty.Proposal, accept bool, key Key) (plenty.Acceptance, error) {
	kind := plenty.KindProposalDeclined
	if accept {
		kind = plenty.KindProposalAccepted
	}
	if _, err := env.append(ctx, key, kind, plenty.DelegateActor(d.ID), &plenty.ProposalDecision{Proposal: plenty.TermsOf(p)}); err != nil {
		return plenty.Acceptance{}, err
	}
	return acceptance(ctx, env, p.ID)
}

// WithdrawAcceptance takes back the acceptance of d's council (a
// co-signature included) of a proposal whose agreement has not formed.
// The fold refuses it (ECONFLICT) once the agreement formed or when the
// council has not accepted, and (ENOTFOUND) when no council decided.
func WithdrawAcceptance(ctx context.Context, env Env, d plenty.Delegate, proposal string, key Key) (plenty.Acceptance, error) {
	if _, err := env.append(ctx, key, plenty.KindAcceptanceWithdrawn, plenty.DelegateActor(d.ID),
		&plenty.AcceptanceWithdrawal{Proposal: proposal}); err != nil {
		return plenty.Acceptance{}, err
	}
	return acceptance(ctx, env, proposal)
}

func acceptance(ctx context.Context, env Env, proposal string) (plenty.Acceptance, error) {
	acc, err := env.Ledger.Acceptance(ctx, proposal)
	if err != nil {
		return acc, err
	}
	if acc.Decisions == nil {
		acc.Decisions = []plenty.Decision{} // served as [], as the schema says
	}
	return acc, err
}

// Receipt is a quantity that arrived, as sent: in unit, or the item's
// own unit when empty.
type Receipt struct {
	Quantity Decimal     `json:"quantity" validate:"required"`
	Unit     string      `json:"unit" validate:"max=16"`
	Faults   FieldErrors `json:"-"` // as Council.Faults
}

// quantity reads r as an amount of item; zero only when allowZero.
func (r Receipt) quantity(env Env, item string, allowZero bool) (plenty.Amount, error) {
	fe := append(r.Faults, Validate(&r)...)
	if err := fe.Err(); err != nil {
		return 0, err
	}
	var it plenty.Item
	if err := env.read(func(st *plenty.State) { it, _ = st.Item(item) }); err != nil {
		return 0, err
	}
	unit := r.Unit
	if unit == "" {
		unit = it.Unit
	}
	if allowZero {
		if a, err := plenty.ParseDecimal(string(r.Quantity)); err == nil && a == 0 {
			return 0, nil
		}
	}
	a, f := r.Quantity.Parse("quantity", unit, it.Dimension)
	fe.Add(f)
	return a, fe.Err()
}

// ConfirmReceipt records, for delegate d of the receiving council, that
// what in says arrived under agreement a: the transfer. Less than agreed
// gives the shortfall back to the need. The fold refuses a receipt by
// another council (EFORBIDDEN), of an agreement not active (ECONFLICT) or
// of more than agreed (EINVALID).
func ConfirmReceipt(ctx context.Context, env Env, d plenty.Delegate, a plenty.Agreement, in Receipt, key Key) (plenty.Transfer, error) {
	q, err := in.quantity(env, a.Item, false)
	if err != nil {
		return plenty.Transfer{}, err
	}
	if _, err := env.append(ctx, key, plenty.KindTransferRecorded, plenty.DelegateActor(d.ID),
		&plenty.TransferRecorded{Agreement: a.ID, Quantity: q}); err != nil {
		return plenty.Transfer{}, err
	}
	return env.Ledger.Transfer(ctx, plenty.TransferID(a.ID))
}

// Correct records that transfer tr should have recorded what in says
// (zero when nothing arrived). Nothing is edited: the correction is a new
// transfer of the difference, which it returns.
func Correct(ctx context.Context, env Env, d plenty.Delegate, tr plenty.Transfer, in Receipt, key Key) (plenty.Transfer, error) {
	q, err := in.quantity(env, tr.Item, true)
	if err != nil {
		return plenty.Transfer{}, err
	}
	ev, _, err := env.Ledger.Append(ctx, key, plenty.KindCorrectionRecorded, plenty.DelegateActor(d.ID),
		&plenty.CorrectionRecorded{Transfer: tr.ID, Quantity: q})
	if err != nil {
		return plenty.Transfer{}, err
	}
	return env.Ledger.Transfer(ctx, plenty.CorrectionID(ev.Seq))
}

// CancelAgreement withdraws active agreement a, by a delegate of either
// party: both reservations are released. The fold refuses it once the
// agreement is not active or while a volunteer carries it (ECONFLICT).
func CancelAgreement(ctx context.Context, env Env, d plenty.Delegate, a plenty.Agreement, key Key) (plenty.Agreement, error) {
	if _, err := env.append(ctx, key, plenty.KindAgreementCancelled, plenty.DelegateActor(d.ID),
		&plenty.AgreementCancellation{Agreement: a.ID, Reason: plenty.CancelWithdrawn}); err != nil {
		return plenty.Agreement{}, err
	}
	return env.Ledger.Agreement(ctx, a.ID)
}
