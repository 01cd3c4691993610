package hub

import (
	"fmt"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/usecase"
)

// The desk's second thoughts: withdrawing or changing an offer or a need,
// taking back an acceptance before the agreement forms, cancelling an
// agreement, and recalling a delegate. Changing a posting withdraws it and
// posts the changed one under a new id (the ledger records facts; nothing
// is edited in place), so the form to change one is the form to post one,
// filled in. Cancelling and recalling cannot be undone: each asks first,
// on a page of its own (/desk?cancel=ID, /desk?recall=ID), and the forms
// act only with confirm=yes.

// confirmBox asks before an action that cannot be undone.
type confirmBox struct {
	Heading, Text string
	Action        string // the form's action
	Button        string // what the button does, in words
	Back          string // where "keep it" leads
}

// deskAsk prepares the desk for a confirmation or a change asked for by
// the query: recall=ID, cancel=AGREEMENT, change=offer:ID or need:ID.
func (w *web) deskAsk(c *fiber.Ctx, d plenty.Delegate, data *deskData) {
	loc := w.s.cfg.Location
	w.s.read(func(st *plenty.State) error {
		if id := c.Query("recall"); id != "" {
			del, ok := st.Delegate(id)
			if ok && del.Council == d.Council && id != d.ID && del.Active(w.s.now()) && data.CanDelegate {
				data.Confirm = &confirmBox{
					Heading: fmt.Sprintf("Recall %s (%s)?", del.Label, del.ID),
					Text: fmt.Sprintf("Their token stops working at once, and the recall is public on your council's page. "+
						"Their mandate would have run until %s. A recall cannot be undone: to give the seat back, issue a new delegate.",
						formatDateTime(del.ExpiresAt, loc)),
					Action: "/desk/delegates/" + del.ID + "/recall",
					Button: "Yes, recall " + del.Label,
					Back:   "/desk#delegate-" + del.ID,
				}
			}
		}
		if id := c.Query("cancel"); id != "" {
			a, ok := st.Agreement(id)
			if ok && (a.Provider == d.Council || a.Receiver == d.Council) && a.Status == plenty.AgreementActive && data.CanAccept {
				it, _ := st.Item(a.Item)
				data.Confirm = &confirmBox{
					Heading: fmt.Sprintf("Cancel agreement %s?", a.ID),
					Text: fmt.Sprintf("The agreement to move %s of %s ends: the offer and the need get the quantity back, "+
						"the delivery task is called off, and the other council sees it at once. It cannot be undone, "+
						"and the engine will not propose this offer for this need again; each may still be matched with others.",
						amount(a.Quantity, it.Unit), it.Name),
					Action: "/desk/agreements/" + a.ID + "/cancel",
					Button: "Yes, cancel the agreement",
					Back:   "/desk#agreement-" + a.ID,
				}
			}
		}
		if ch := c.Query("change"); ch != "" && data.CanPost {
			w.fillChange(st, d, ch, data)
		}
		return nil
	})
}

// fillChange fills the posting form with an open offer or need of the
// council, to post it changed.
func (w *web) fillChange(st *plenty.State, d plenty.Delegate, ch string, data *deskData) {
	loc := w.s.cfg.Location
	day := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(loc).Format("2006-01-02")
	}
	km := func(v float64) string {
		if v == 0 || v == plenty.DefaultMaxKm {
			return ""
		}
		return trimFloat(v)
	}
	switch kind, id := cutKind(ch); kind {
	case "offer":
		o, ok := st.Offer(id)
		if !ok || o.Council != d.Council || o.Status != plenty.StatusOpen {
			return
		}
		it, _ := st.Item(o.Item)
		v := data.Offer.Values
		v["item"], v["quantity"], v["unit"], v["note"] = it.Name, o.Remaining.String(), it.Unit, o.Note
		v["available_until"], v["max_distance_km"], v["replaces"] = day(o.AvailableUntil), km(o.MaxDistanceKm), o.ID
		if o.MinSplit > 0 {
			v["min_split"] = o.MinSplit.String()
		}
		data.Open = "offer"
	case "need":
		n, ok := st.Need(id)
		if !ok || n.Council != d.Council || n.Status != plenty.StatusOpen {
			return
		}
		it, _ := st.Item(n.Item)
		v := data.Need.Values
		v["item"], v["quantity"], v["unit"], v["note"] = it.Name, n.Remaining.String(), it.Unit, n.Note
		v["needed_by"], v["max_distance_km"], v["replaces"] = day(n.NeededBy), km(n.MaxDistanceKm), n.ID
		v["priority"] = fmt.Sprint(n.Priority)
		data.Open = "need"
	}
}

func cutKind(s string) (string, string) {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return s[:i], s[i+1:]
		}
	}
	return "", s
}

// replacePosting withdraws the posting the form replaces, after the
// changed one was posted, and says what happened, for the flash.
func (w *web) replacePosting(c *fiber.Ctx, d plenty.Delegate, kind, what string) string {
	id := c.FormValue("replaces")
	if id == "" {
		return ""
	}
	if err := w.withdrawPosting(c, d, kind, id, "replaces"); err != nil {
		return fmt.Sprintf(" The old %s %s was not withdrawn: %s", what, id, plenty.ErrorMessage(err))
	}
	return fmt.Sprintf(" It replaces %s %s, now withdrawn.", what, id)
}

// withdrawPosting withdraws an open offer or need of d's council; the
// fold refuses one that is not open or not the council's, or a mandate
// without the post scope.
func (w *web) withdrawPosting(c *fiber.Ctx, d plenty.Delegate, kind, id string, step ...string) error {
	return usecase.Withdraw(c.UserContext(), w.s.env(), d, kind, id, formKey(c, step...))
}

// deskWithdraw withdraws an offer or a need from the desk.
func (w *web) deskWithdraw(kind, what string) func(*fiber.Ctx, *session, plenty.Delegate) error {
	return func(c *fiber.Ctx, sess *session, d plenty.Delegate) error {
		id := c.Params("id")
		if err := w.withdrawPosting(c, d, kind, id); err != nil {
			if !isRefusal(err) {
				return err
			}
			return w.renderDeskError(c, sess, d, err)
		}
		w.sessions.tell(sess.ID, fmt.Sprintf("The %s %s is withdrawn: it is no longer matched, and agreements already made stand.", what, id), "")
		return c.Redirect("/desk#flash", http.StatusSeeOther)
	}
}

// deskWithdrawAcceptance takes back the council's acceptance of a proposal
// whose agreement has not formed.
func (w *web) deskWithdrawAcceptance(c *fiber.Ctx, sess *session, d plenty.Delegate) error {
	id := c.Params("id")
	if _, err := usecase.WithdrawAcceptance(c.UserContext(), w.s.env(), d, id, formKey(c)); err != nil {
		if !isRefusal(err) {
			return err
		}
		return w.renderDeskError(c, sess, d, err)
	}
	w.sessions.tell(sess.ID, fmt.Sprintf("Your council's acceptance of proposal %s is taken back; nothing was agreed.", id), "")
	return c.Redirect("/desk#flash", http.StatusSeeOther)
}

// deskCancelAgreement cancels an agreement of the council, once confirmed.
func (w *web) deskCancelAgreement(c *fiber.Ctx, sess *session, d plenty.Delegate) error {
	id := c.Params("id")
	if c.FormValue("confirm") != "yes" {
		return c.Redirect("/desk?cancel="+id+"#confirm", http.StatusSeeOther)
	}
	a, err := w.s.ledger.Agreement(c.UserContext(), id)
	if err == nil {
		_, err = usecase.CancelAgreement(c.UserContext(), w.s.env(), d, a, formKey(c))
	}
	if err != nil {
		if !isRefusal(err) {
			return err
		}
		return w.renderDeskError(c, sess, d, err)
	}
	w.sessions.tell(sess.ID, fmt.Sprintf("Agreement %s is cancelled: the quantities are released and the delivery is called off.", id), "")
	return c.Redirect("/desk#flash", http.StatusSeeOther)
}
