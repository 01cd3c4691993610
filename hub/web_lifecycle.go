package hub

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/usecase"
)

// The desk's part of the exchange lifecycle: proposals to accept, decline
// or co-sign, and agreements whose receipt to confirm. The forms call the
// same functions as the API (decide, confirmReceipt).

type deskLifecycle struct {
	Proposals  []deskProposal
	Agreements []deskAgreement
}

type decisionRow struct {
	Council, Delegate string
	Accepted          bool
	At                time.Time
}

type deskProposal struct {
	proposalView
	ItemName, Amount, ProviderName, ReceiverName string
	Role                                         string // "provider" or "receiver"
	Decisions                                    []decisionRow
	Todo                                         string // what this council still has to do
	AcceptLabel                                  string // what the accept button does, in words
	CanAccept, CanDecline, CanWithdraw           bool
}

type deskAgreement struct {
	agreementView
	ItemName, Amount, ReceivedAmount, ProviderName, ReceiverName string
	CanConfirm, CanCancel                                        bool
	Receipt                                                      *form
	Thread                                                       *threadPart // nil for a delegate outside the thread
}

// deskLifecycle gathers the proposals and agreements of d's council.
func (w *web) deskLifecycle(d plenty.Delegate) deskLifecycle {
	var out deskLifecycle
	props := w.s.proposalsFor(d.Council)
	ags, err := w.s.deskAgreements(context.Background(), d.Council)
	if err != nil {
		w.s.log.Error("desk: reading agreements", "err", err)
	}
	canAccept := d.HasScope(plenty.ScopeAccept)
	// The deciding delegates by label; one whose mandate ended is read
	// from the store, and one that cannot be read is shown by its id.
	labels := map[string]string{}
	for _, p := range props {
		for _, dec := range p.Decisions {
			if _, done := labels[dec.Delegate]; done {
				continue
			}
			labels[dec.Delegate] = dec.Delegate
			if del, err := w.s.ledger.Delegate(context.Background(), dec.Delegate); err == nil {
				labels[dec.Delegate] = del.Label + " (" + dec.Delegate + ")"
			}
		}
	}
	w.s.read(func(st *plenty.State) error {
		name := func(id string) string {
			c, ok := st.Council(id)
			if !ok {
				return id
			}
			return c.Name
		}
		for _, p := range props {
			it, _ := st.Item(p.Item)
			dp := deskProposal{proposalView: p, ItemName: it.Name, Amount: amount(p.Quantity, p.Unit),
				ProviderName: name(p.Provider), ReceiverName: name(p.Receiver), Role: "receiver"}
			if p.Provider == d.Council {
				dp.Role = "provider"
			}
			var mine, ours, inChain bool // this delegate accepted; another of the council accepted; in that one's chain of issue
			other := p.Receiver
			if dp.Role == "receiver" {
				other = p.Provider
			}
			for _, dec := range p.Decisions {
				dp.Decisions = append(dp.Decisions, decisionRow{Council: name(dec.Council), Delegate: labels[dec.Delegate],
					Accepted: dec.Accepted, At: dec.At})
				if dec.Council == d.Council && dec.Accepted {
					if dec.Delegate == d.ID {
						mine = true
					} else {
						ours = true
						inChain = inChain || st.InChain(dec.Delegate, d.ID)
					}
				}
			}
			waiting := slices.Contains(p.WaitingFor, d.Council)
			switch {
			case p.Agreement != "":
				dp.Todo = "Agreed as " + p.Agreement + "."
			case waiting && mine:
				dp.Todo = "You accepted; the quantity is above your co-signature threshold, so a second delegate of your council must also accept."
				dp.CanWithdraw = canAccept
			case waiting && ours && inChain:
				dp.Todo = "Another delegate of your council accepted, but you are in their chain of issue (one of you issued the other's mandate): the co-signature must come from a delegate outside it."
			case waiting && ours:
				dp.Todo = "Another delegate of your council accepted; your co-signature completes your council's consent."
				dp.CanAccept, dp.CanWithdraw = canAccept, canAccept
				dp.AcceptLabel = "Co-sign for " + name(d.Council)
			case waiting:
				dp.Todo = "Your council's answer is awaited."
				if otherAccepted(p.Decisions, other) {
					dp.Todo = name(other) + " accepted; your council's answer is awaited."
				}
				dp.CanAccept, dp.CanDecline = canAccept, canAccept
				dp.AcceptLabel = "Accept for " + name(d.Council)
			default:
				dp.Todo = "Your council accepted; waiting for " + name(other) + "."
				dp.CanWithdraw = canAccept
			}
			out.Proposals = append(out.Proposals, dp)
		}
		for _, a := range ags {
			if a.Status == plenty.AgreementCancelled {
				continue
			}
			it, _ := st.Item(a.Item)
			da := deskAgreement{agreementView: a, ItemName: it.Name, Amount: amount(a.Quantity, a.Unit),
				ReceivedAmount: amount(a.Received, a.Unit), ProviderName: name(a.Provider), ReceiverName: name(a.Receiver),
				Receipt: newForm()}
			da.CanConfirm = canAccept && a.Receiver == d.Council && a.Status == plenty.AgreementActive
			da.CanCancel = canAccept && a.Status == plenty.AgreementActive
			da.Receipt.Values["quantity"] = a.Quantity.String()
			out.Agreements = append(out.Agreements, da)
		}
		return nil
	})
	return out
}

// deskDecide accepts (or co-signs) or declines a proposal for the
// delegate's council.
func (w *web) deskDecide(c *fiber.Ctx, sess *session, d plenty.Delegate) error {
	var accept bool
	switch c.Params("decision") {
	case "accept":
		accept = true
	case "decline":
	default:
		return plenty.Errorf(plenty.ENOTFOUND, "no such decision: %s; accept or decline", c.Params("decision"))
	}
	id := c.Params("id")
	refused := func(err error) error {
		if !isRefusal(err) {
			return err
		}
		return w.renderDeskError(c, sess, d, err)
	}
	acc, err := w.s.decide(c.UserContext(), d, id, accept, formKey(c))
	if err != nil {
		return refused(err)
	}
	var msg string
	w.s.read(func(st *plenty.State) error {
		switch {
		case !accept:
			msg = fmt.Sprintf("Proposal %s declined for your council.", id)
		case acc.Agreement != "":
			msg = fmt.Sprintf("Both councils accepted: agreement %s formed; the quantity is reserved and the delivery goes to the volunteers.", acc.Agreement)
		case st.Consents(acc, d.Council, w.s.now()):
			msg = fmt.Sprintf("Proposal %s accepted for your council; waiting for the other council.", id)
		default:
			msg = fmt.Sprintf("Proposal %s accepted by you; a second delegate of your council must co-sign.", id)
		}
		return nil
	})
	w.sessions.tell(sess.ID, msg, "")
	return c.Redirect("/desk#proposals", http.StatusSeeOther)
}

// renderDeskError shows the desk again with a refusal above it.
func (w *web) renderDeskError(c *fiber.Ctx, sess *session, d plenty.Delegate, err error) error {
	return w.renderDesk(c, statusOfErr(err), sess, d, func(data *deskData) { data.Error = plenty.ErrorMessage(err) })
}

// deskConfirmReceipt records, for the receiving council, what arrived
// under an agreement: the transfer.
func (w *web) deskConfirmReceipt(c *fiber.Ctx, sess *session, d plenty.Delegate) error {
	id := c.Params("id")
	a, err := w.s.ledger.Agreement(c.UserContext(), id)
	if err != nil {
		return w.renderDeskError(c, sess, d, err)
	}
	refused := func(err error) error {
		if !isRefusal(err) {
			return err
		}
		return w.renderDesk(c, statusOfErr(err), sess, d, func(data *deskData) {
			for i := range data.Lifecycle.Agreements {
				if da := &data.Lifecycle.Agreements[i]; da.ID == id {
					da.Receipt.fill(c, "quantity")
					da.Receipt.refuse(err, nil)
					return
				}
			}
			data.Error = plenty.ErrorMessage(err)
		})
	}
	in := usecase.Receipt{}
	in.Quantity = formDecimal(&in.Faults, "quantity", c.FormValue("quantity"))
	tr, err := usecase.ConfirmReceipt(c.UserContext(), w.s.env(), d, a, in, formKey(c))
	if err != nil {
		return refused(err)
	}
	var unit string
	w.s.read(func(st *plenty.State) error { it, _ := st.Item(a.Item); unit = it.Unit; return nil })
	w.sessions.tell(sess.ID, fmt.Sprintf("Receipt confirmed: transfer %s of %s recorded.", tr.ID, amount(tr.Quantity, unit)), "")
	return c.Redirect("/desk#agreements", http.StatusSeeOther)
}

// otherAccepted reports whether council accepted among the decisions.
func otherAccepted(ds []plenty.Decision, council string) bool {
	for _, d := range ds {
		if d.Council == council && d.Accepted {
			return true
		}
	}
	return false
}
