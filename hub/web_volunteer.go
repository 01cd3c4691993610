package hub

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/usecase"
)

// The volunteer board: register with a pseudonymous handle (a contact is
// optional and stays private), sign in with the token, see the open
// delivery tasks, offer to carry one (the hub draws among those who
// offered once the window closes), pick up and drop off.

type taskRow struct {
	plenty.Task
	ItemName, Amount                     string
	FromName, FromPlace, ToName, ToPlace string
	DrawAt                               time.Time
	Offered                              bool        // this volunteer offered to carry it
	PickupBy                             *time.Time  // when its claim lapses, once drawn
	Thread                               *threadPart // the agreement's thread, once drawn
}

type boardData struct {
	Volunteer plenty.Volunteer
	VouchedBy []string  // names of the councils that vouched
	Open      []taskRow // collecting volunteers
	Mine      []taskRow // drawn for this volunteer, not yet dropped off
	Done      []taskRow // delivered by this volunteer
	Idem      string
}

type volunteerSignInData struct {
	CSRF     string
	Register *form
	SignIn   *form
}

func (w *web) volunteerPage(c *fiber.Ctx) error {
	sess := w.sessions.get(c.Cookies(volunteerCookie), "volunteer")
	if sess == nil {
		return w.renderVolunteerSignIn(c, http.StatusOK, nil)
	}
	v, err := w.sessionVolunteer(c, sess)
	if err != nil {
		return w.renderVolunteerSignIn(c, http.StatusOK, func(d *volunteerSignInData) { d.SignIn.Error = plenty.ErrorMessage(err) })
	}
	return w.renderBoard(c, http.StatusOK, sess, v, "")
}

func (w *web) renderVolunteerSignIn(c *fiber.Ctx, status int, failed func(*volunteerSignInData)) error {
	d := volunteerSignInData{CSRF: w.sessions.preCSRF(c, "/volunteer"), Register: newForm(), SignIn: newForm()}
	d.Register.Values["handle"], d.Register.Values["contact"] = "", ""
	if failed != nil {
		failed(&d)
	}
	return w.render(c, status, "volunteer-signin", view{Title: "Volunteers: register or sign in", Nav: "volunteer", Data: d})
}

// boardDone is how many delivered tasks the board lists: the latest.
const boardDone = 50

func (w *web) renderBoard(c *fiber.Ctx, status int, sess *session, v plenty.Volunteer, pageErr string) error {
	flash, token := w.sessions.take(sess.ID)
	d := boardData{Volunteer: v, Idem: randomText()}
	// The tasks it delivered, the latest first: those that finished
	// are read from the ledger's store.
	done, err := w.s.ledger.RecentDeliveries(c.UserContext(), v.ID, boardDone)
	if err != nil {
		w.s.log.Error("board: reading delivered tasks", "err", err)
	}
	doneOf := map[string]plenty.Agreement{}
	for _, t := range done {
		if a, err := w.s.ledger.Agreement(c.UserContext(), t.Agreement); err == nil {
			doneOf[t.Agreement] = a
		}
	}
	w.s.read(func(st *plenty.State) error {
		if fresh, ok := st.Volunteer(v.ID); ok {
			for _, id := range fresh.VouchedBy {
				c, _ := st.Council(id)
				d.VouchedBy = append(d.VouchedBy, c.Name)
			}
		}
		row := func(t plenty.Task) taskRow {
			it, _ := st.Item(t.Item)
			r := taskRow{Task: t, ItemName: it.Name, Amount: amount(t.Quantity, it.Unit),
				DrawAt: t.ClosesAt, Offered: slices.Contains(t.Candidates, v.ID)}
			a, ok := st.Agreement(t.Agreement)
			if !ok {
				a, ok = doneOf[t.Agreement]
			}
			if ok {
				from, _ := st.Council(a.Provider)
				to, _ := st.Council(a.Receiver)
				r.FromName, r.FromPlace, r.ToName, r.ToPlace = from.Name, from.Place, to.Name, to.Place
			}
			return r
		}
		for _, t := range st.Tasks("") {
			switch {
			case t.Status == plenty.TaskOpen:
				d.Open = append(d.Open, row(t))
			case t.Assignee == v.ID && (t.Status == plenty.TaskAssigned || t.Status == plenty.TaskPickedUp):
				d.Mine = append(d.Mine, row(t))
			}
		}
		for _, t := range done {
			d.Done = append(d.Done, row(t))
		}
		return nil
	})
	w.boardThreads(c, v, &d, sess.CSRF)
	return w.render(c, status, "volunteer", view{Title: "Volunteer board", Nav: "volunteer", Session: sess,
		Flash: flash, Token: token, Error: pageErr, Data: d})
}

// volunteerRegister registers a volunteer and signs it in; the token is
// shown once, on the board.
func (w *web) volunteerRegister(c *fiber.Ctx) error {
	if err := w.sessions.checkPreCSRF(c); err != nil {
		return err
	}
	v, token, err := usecase.RegisterVolunteer(c.UserContext(), w.s.env(), usecase.Volunteer{
		Handle: strings.TrimSpace(c.FormValue("handle")), Contact: strings.TrimSpace(c.FormValue("contact"))}, formKey(c))
	if err != nil {
		if !isRefusal(err) {
			return err
		}
		return w.renderVolunteerSignIn(c, statusOfErr(err), func(d *volunteerSignInData) {
			d.Register.fill(c, "handle", "contact")
			d.Register.refuse(err, nil)
		})
	}
	if err := w.startVolunteerSession(c, v, token); err != nil {
		return err
	}
	return c.Redirect("/volunteer", http.StatusSeeOther)
}

// startVolunteerSession signs v in; after a registration, token is shown
// once on the board.
func (w *web) startVolunteerSession(c *fiber.Ctx, v plenty.Volunteer, token ...string) error {
	if old := c.Cookies(volunteerCookie); old != "" {
		w.sessions.end(old)
	}
	sess, err := w.sessions.create("volunteer", v.ID, w.s.now().Add(sessionTTL))
	if err != nil {
		return err
	}
	setCookie(c, volunteerCookie, sess.ID, "/volunteer")
	msg := fmt.Sprintf("Signed in as %s.", v.Handle)
	tok := ""
	if len(token) > 0 && token[0] != "" {
		msg = fmt.Sprintf("Welcome, %s. Keep the token below to sign in again; it is shown only now.", v.Handle)
		tok = token[0]
	}
	w.sessions.tell(sess.ID, msg, tok)
	return nil
}

func (w *web) volunteerSignIn(c *fiber.Ctx) error {
	if err := w.sessions.checkPreCSRF(c); err != nil {
		return err
	}
	v, err := w.s.volunteerByToken(c.FormValue("token"))
	if err != nil {
		if plenty.ErrorCode(err) == plenty.ERATELIMIT {
			return err
		}
		return w.renderVolunteerSignIn(c, http.StatusUnauthorized, func(d *volunteerSignInData) {
			d.SignIn.Error = "the token is not a volunteer's; register below, or check that you pasted all of it"
		})
	}
	if err := w.startVolunteerSession(c, v); err != nil {
		return err
	}
	return c.Redirect("/volunteer", http.StatusSeeOther)
}

func (w *web) volunteerSignOut(c *fiber.Ctx, sess *session, _ plenty.Volunteer) error {
	w.sessions.end(sess.ID)
	clearCookie(c, volunteerCookie, "/volunteer")
	return c.Redirect("/volunteer", http.StatusSeeOther)
}

var taskDone = map[string]string{
	"volunteer": "You offered to carry task %s; the hub draws among the volunteers when its window closes.",
	"pickup":    "Task %s picked up. Drop it off at the receiving council and press “Dropped off”.",
	"dropoff":   "Task %s dropped off. Thank you! The receiving council confirms the receipt.",
}

func (w *web) volunteerTaskAct(c *fiber.Ctx, sess *session, v plenty.Volunteer) error {
	action, id := c.Params("action"), c.Params("id")
	if _, ok := taskDone[action]; !ok {
		return plenty.Errorf(plenty.ENOTFOUND, "no such action: %s; volunteer, pickup or dropoff", action)
	}
	if _, err := usecase.ActOnTask(c.UserContext(), w.s.env(), v, id, action, formKey(c)); err != nil {
		if !isRefusal(err) {
			return err
		}
		return w.renderBoard(c, statusOfErr(err), sess, v, plenty.ErrorMessage(err))
	}
	msg := fmt.Sprintf(taskDone[action], id)
	if action == "volunteer" {
		var t plenty.Task
		w.s.read(func(st *plenty.State) error { t, _ = st.Task(id); return nil })
		if t.Status == plenty.TaskOpen {
			at := t.OpenedAt.Add(w.s.cfg.LotteryWindow)
			msg = fmt.Sprintf("You offered to carry task %s. The hub draws among the volunteers who offered when its window closes, at %s (in %s); come back then.",
				id, formatDateTime(at, w.s.cfg.Location), naturalDuration(max(0, at.Sub(w.s.now()))))
		}
	}
	w.sessions.tell(sess.ID, msg, "")
	return c.Redirect("/volunteer", http.StatusSeeOther)
}

// asVolunteer runs h for a form POST of a signed-in volunteer, after
// checking the form's CSRF token.
func (w *web) asVolunteer(h func(*fiber.Ctx, *session, plenty.Volunteer) error) fiber.Handler {
	return func(c *fiber.Ctx) error {
		sess := w.sessions.get(c.Cookies(volunteerCookie), "volunteer")
		if sess == nil {
			return notSignedIn("volunteer")
		}
		if err := checkCSRF(c, sess); err != nil {
			return err
		}
		v, err := w.sessionVolunteer(c, sess)
		if err != nil {
			return err
		}
		if wait, ok := w.s.tokenLimit.allow(v.TokenHash); !ok {
			return &rateLimited{retryAfter: wait,
				err: plenty.Errorf(plenty.ERATELIMIT, "this volunteer sent more than %g writes per second; retry after %d s", w.s.cfg.WriteRate, wait)}
		}
		return h(c, sess, v)
	}
}

func (w *web) sessionVolunteer(c *fiber.Ctx, sess *session) (plenty.Volunteer, error) {
	var v plenty.Volunteer
	var ok bool
	w.s.read(func(st *plenty.State) error { v, ok = st.Volunteer(sess.Subject); return nil })
	if !ok {
		w.sessions.end(sess.ID)
		clearCookie(c, volunteerCookie, "/volunteer")
		return v, plenty.Errorf(plenty.EUNAUTHORIZED, "this session's volunteer does not exist; sign in again")
	}
	return v, nil
}
