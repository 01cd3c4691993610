package hub

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
)

// The desk and the volunteer board show each agreement's private thread
// with a form to write in it; the desk also shows the reflections left for
// the council, its feed, and webhooks that were paused.

// threadPart is a thread as a page shows it, with its form.
type threadPart struct {
	threadView
	Action   string // where the form posts
	CSRF     string
	CanWrite bool   // the agreement is active
	Keep     string // how long it is kept after the agreement ends
}

// deskCoordination is the desk's part of the coordination.
type deskCoordination struct {
	Feed        string
	Paused      []webhookView
	Webhooks    int
	Reflections []reflection
}

// keepFor says a duration in days when it is whole days.
func keepFor(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		if n := d / (24 * time.Hour); n == 1 {
			return "1 day"
		} else {
			return fmt.Sprintf("%d days", n)
		}
	}
	return d.String()
}

// threadFor returns agreement a's thread for a page, or nil when it has
// none to show and the agreement ended.
func (w *web) threadFor(a plenty.Agreement, action, csrf string) *threadPart {
	var t thread
	if _, err := w.s.coord.store.Get(kindThreads, a.ID, &t); err != nil {
		w.s.log.Error("private store: reading a thread", "agreement", a.ID, "err", err)
		return nil
	}
	p := &threadPart{threadView: threadView{Agreement: a.ID, Pickup: t.Pickup, Dropoff: t.Dropoff, Messages: t.Messages, DeleteAt: t.DeleteAt},
		Action: action, CSRF: csrf, CanWrite: a.Status == plenty.AgreementActive && t.DeleteAt == nil, Keep: keepFor(w.s.cfg.MessageTTL)}
	if !p.CanWrite && len(p.Messages) == 0 && p.Pickup == nil && p.Dropoff == nil {
		return nil
	}
	return p
}

// deskCoordination fills the desk's threads, reflections and webhooks.
func (w *web) deskCoordination(c *fiber.Ctx, d plenty.Delegate, data *deskData, csrf string) {
	if err := w.s.coord.catchUp(c.UserContext(), false); err != nil {
		w.s.log.Error("coordination: following the ledger", "err", err)
	}
	for i := range data.Lifecycle.Agreements {
		da := &data.Lifecycle.Agreements[i]
		a, _, err := w.s.threadParticipant(da.ID, d, plenty.Volunteer{})
		if err != nil {
			continue
		}
		da.Thread = w.threadFor(a, "/desk/agreements/"+a.ID+"/messages", csrf)
	}
	data.Coordination.Feed = "/api/v1/councils/" + d.Council + "/feed.atom"
	hooks, err := w.s.councilWebhooks(d.Council)
	if err != nil {
		w.s.log.Error("private store: reading webhooks", "err", err)
	}
	data.Coordination.Webhooks = len(hooks)
	for _, h := range hooks {
		if h.Status == webhookPaused {
			data.Coordination.Paused = append(data.Coordination.Paused, h)
		}
	}
	if data.Coordination.Reflections, err = w.s.reflectionsFor(d.Council); err != nil {
		w.s.log.Error("private store: reading reflections", "err", err)
	}
}

// formDetails reads the private pickup or drop-off fields of the desk's
// offer and need forms; nil when all are empty.
func formDetails(c *fiber.Ctx) *details {
	d := &details{Place: strings.TrimSpace(c.FormValue("private.place")), Hours: strings.TrimSpace(c.FormValue("private.hours")),
		Contact: strings.TrimSpace(c.FormValue("private.contact"))}
	if d.Empty() {
		return nil
	}
	return d
}

// deskPostMessage writes in an agreement's thread from the desk.
func (w *web) deskPostMessage(c *fiber.Ctx, sess *session, d plenty.Delegate) error {
	a, p, err := w.s.threadParticipant(c.Params("id"), d, plenty.Volunteer{})
	if err == nil {
		_, err = w.s.addMessage(c, a, p, c.FormValue("text"))
	}
	if err != nil {
		if !isRefusal(err) {
			return err
		}
		return w.renderDeskError(c, sess, d, err)
	}
	w.sessions.tell(sess.ID, "Message added to the thread of agreement "+a.ID+".", "")
	return c.Redirect("/desk#agreement-"+a.ID, http.StatusSeeOther)
}

// boardThreads adds the threads of the volunteer's own tasks to the board.
func (w *web) boardThreads(c *fiber.Ctx, v plenty.Volunteer, d *boardData, csrf string) {
	if err := w.s.coord.catchUp(c.UserContext(), false); err != nil {
		w.s.log.Error("coordination: following the ledger", "err", err)
	}
	for i := range d.Mine {
		r := &d.Mine[i]
		a, _, err := w.s.threadParticipant(r.Agreement, plenty.Delegate{}, v)
		if err != nil {
			continue
		}
		r.Thread = w.threadFor(a, "/volunteer/agreements/"+a.ID+"/messages", csrf)
		if tv, err := w.s.viewTask(c.UserContext(), r.Task); err == nil {
			r.PickupBy = tv.PickupBy
		}
	}
}

// volunteerPostMessage writes in the thread of a task drawn for v.
func (w *web) volunteerPostMessage(c *fiber.Ctx, sess *session, v plenty.Volunteer) error {
	a, p, err := w.s.threadParticipant(c.Params("id"), plenty.Delegate{}, v)
	if err == nil {
		_, err = w.s.addMessage(c, a, p, c.FormValue("text"))
	}
	if err != nil {
		if !isRefusal(err) {
			return err
		}
		return w.renderBoard(c, statusOfErr(err), sess, v, plenty.ErrorMessage(err))
	}
	w.sessions.tell(sess.ID, "Message added to the thread.", "")
	return c.Redirect("/volunteer#task-"+plenty.TaskID(a.ID), http.StatusSeeOther)
}
