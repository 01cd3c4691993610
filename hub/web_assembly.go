package hub

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/usecase"
)

// The assembly's page: a council's assembly signs in with its key and
// issues, renews and recalls the council's mandates, nothing else. A
// council whose every mandate lapsed or was recalled starts again here.

const (
	assemblyCookie = "plenty_assembly"
	// assemblySessionTTL is short: the key is the council's root.
	assemblySessionTTL = time.Hour
)

type assemblyData struct {
	CSRF        string // the sign-in form's, before a session
	Error       string
	Council     plenty.Council
	Mandates    []delegateView
	Scopes      []string
	Idem        string
	MaxDays     int
	NoneInForce bool
}

func (w *web) assemblyRoutes() {
	s := w.s
	limit := w.handle(s.limitAddr)
	s.app.Get("/assembly", w.handle(w.assemblyPage))
	s.app.Post("/assembly/signin", limit, w.handle(w.assemblySignIn))
	s.app.Post("/assembly/signout", limit, w.handle(w.asAssembly(w.assemblySignOut)))
	s.app.Post("/assembly/delegates", limit, w.handle(w.asAssembly(w.assemblyIssue)))
	s.app.Post("/assembly/delegates/:id/renew", limit, w.handle(w.asAssembly(w.assemblyRenew)))
	s.app.Post("/assembly/delegates/:id/recall", limit, w.handle(w.asAssembly(w.assemblyRecall)))
}

// assemblySession returns the signed-in assembly's council while its key
// still holds (a replaced key ends the session).
func (w *web) assemblySession(c *fiber.Ctx) (*session, string) {
	sess := w.sessions.get(c.Cookies(assemblyCookie), "assembly")
	if sess == nil {
		return nil, ""
	}
	council, hash, _ := strings.Cut(sess.Subject, "\x00")
	var holds bool
	w.s.read(func(st *plenty.State) error {
		c, ok := st.AssemblyByKey(hash)
		holds = ok && c == council
		return nil
	})
	if !holds {
		w.sessions.end(sess.ID)
		return nil, ""
	}
	return sess, council
}

func (w *web) assemblyPage(c *fiber.Ctx) error {
	sess, council := w.assemblySession(c)
	if sess == nil {
		return w.render(c, http.StatusOK, "assembly", view{Title: "Council assembly", Nav: "desk",
			Data: assemblyData{CSRF: w.sessions.preCSRF(c, "/assembly")}})
	}
	return w.renderAssembly(c, http.StatusOK, sess, council, "")
}

func (w *web) renderAssembly(c *fiber.Ctx, status int, sess *session, council, pageErr string) error {
	flash, token := w.sessions.take(sess.ID)
	d := assemblyData{Scopes: plenty.AllScopes, Idem: randomText(), MaxDays: int(plenty.MaxMandateTerm / (24 * time.Hour)), Error: pageErr}
	now := w.s.now()
	d.NoneInForce = true
	w.s.read(func(st *plenty.State) error {
		d.Council, _ = st.Council(council)
		return nil
	})
	mandates, err := w.s.ledger.CouncilDelegates(c.UserContext(), council, mandateHistory)
	if err != nil {
		return err
	}
	for _, m := range mandates {
		d.Mandates = append(d.Mandates, w.s.viewDelegate(m))
		if m.Active(now) {
			d.NoneInForce = false
		}
	}
	return w.render(c, status, "assembly", view{Title: "Assembly of " + d.Council.Name, Nav: "desk", Session: sess,
		Flash: flash, Token: token, Data: d})
}

func (w *web) assemblySignIn(c *fiber.Ctx) error {
	if err := w.sessions.checkPreCSRF(c); err != nil {
		return err
	}
	hash := plenty.HashToken(strings.TrimSpace(c.FormValue("key")))
	var council string
	var ok bool
	w.s.read(func(st *plenty.State) error { council, ok = st.AssemblyByKey(hash); return nil })
	if !ok {
		return w.render(c, http.StatusUnauthorized, "assembly", view{Title: "Council assembly", Nav: "desk",
			Data: assemblyData{CSRF: w.sessions.preCSRF(c, "/assembly"),
				Error: "That is not an assembly key in force. It was shown once, when the council registered (or when the key was last replaced); it starts with plenty_assembly_."}})
	}
	if old := c.Cookies(assemblyCookie); old != "" {
		w.sessions.end(old)
	}
	sess, err := w.sessions.create("assembly", council+"\x00"+hash, w.s.now().Add(assemblySessionTTL))
	if err != nil {
		return err
	}
	setCookie(c, assemblyCookie, sess.ID, "/assembly")
	return c.Redirect("/assembly", http.StatusSeeOther)
}

// asAssembly runs h for a form POST of a signed-in assembly, after
// checking the form's CSRF token.
func (w *web) asAssembly(h func(*fiber.Ctx, *session, usecase.Authority) error) fiber.Handler {
	return func(c *fiber.Ctx) error {
		sess, council := w.assemblySession(c)
		if sess == nil {
			return notSignedIn("assembly")
		}
		if err := checkCSRF(c, sess); err != nil {
			return err
		}
		return h(c, sess, usecase.ByAssembly(council))
	}
}

func (w *web) assemblySignOut(c *fiber.Ctx, sess *session, _ usecase.Authority) error {
	w.sessions.end(sess.ID)
	clearCookie(c, assemblyCookie, "/assembly")
	return c.Redirect("/assembly", http.StatusSeeOther)
}

// refusedOn shows the assembly's page again with a refusal, or passes on
// an unexpected error.
func (w *web) refusedOn(c *fiber.Ctx, sess *session, by usecase.Authority, err error) error {
	if !isRefusal(err) {
		return err
	}
	return w.renderAssembly(c, statusOfErr(err), sess, by.Council, plenty.ErrorMessageWithFields(err))
}

// termDays reads a term in whole days (1 to 7) from the form.
func termDays(c *fiber.Ctx, now time.Time) (time.Time, error) {
	days, err := strconv.Atoi(strings.TrimSpace(c.FormValue("term_days")))
	if err != nil || days < 1 || days > 7 {
		return time.Time{}, plenty.Invalid("term_days", "must be a whole number of days from 1 to 7")
	}
	return now.Add(time.Duration(days) * 24 * time.Hour), nil
}

func (w *web) assemblyIssue(c *fiber.Ctx, sess *session, by usecase.Authority) error {
	expires, err := termDays(c, w.s.now())
	if err != nil {
		return w.refusedOn(c, sess, by, err)
	}
	in := usecase.Mandate{Label: strings.TrimSpace(c.FormValue("label")), Mandate: strings.TrimSpace(c.FormValue("mandate")),
		Scopes: formScopes(c), CosignAbove: usecase.Decimal(strings.TrimSpace(c.FormValue("cosign_above"))),
		ExpiresAt: usecase.Timestamp(expires.Format(time.RFC3339))}
	is, err := usecase.IssueDelegate(c.UserContext(), w.s.env(), by, in, formKey(c))
	if err != nil {
		return w.refusedOn(c, sess, by, err)
	}
	w.sessions.tell(sess.ID, fmt.Sprintf("Mandate %s (%s) issued until %s. Give the delegate the token below: it is shown only now.",
		is.Delegate.Label, is.Delegate.ID, formatDateTime(is.Delegate.ExpiresAt, w.s.cfg.Location)), is.Token)
	return c.Redirect("/assembly#token", http.StatusSeeOther)
}

func (w *web) assemblyRenew(c *fiber.Ctx, sess *session, by usecase.Authority) error {
	expires, err := termDays(c, w.s.now())
	if err == nil {
		_, err = usecase.RenewDelegate(c.UserContext(), w.s.env(), by, c.Params("id"),
			usecase.Renewal{ExpiresAt: usecase.Timestamp(expires.Format(time.RFC3339Nano))}, formKey(c))
	}
	if err != nil {
		return w.refusedOn(c, sess, by, err)
	}
	w.sessions.tell(sess.ID, fmt.Sprintf("Mandate %s renewed until %s.", c.Params("id"), formatDateTime(expires, w.s.cfg.Location)), "")
	return c.Redirect("/assembly#mandates", http.StatusSeeOther)
}

func (w *web) assemblyRecall(c *fiber.Ctx, sess *session, by usecase.Authority) error {
	if c.FormValue("confirm") != "yes" {
		return w.refusedOn(c, sess, by, plenty.Invalid("confirm",
			"must be ticked: a recall ends the mandate and every mandate issued under it, at once, and cannot be undone"))
	}
	d, err := usecase.RecallDelegate(c.UserContext(), w.s.env(), by, c.Params("id"), formKey(c))
	if err != nil {
		return w.refusedOn(c, sess, by, err)
	}
	w.sessions.tell(sess.ID, fmt.Sprintf("Mandate %s (%s) recalled, with every mandate issued under it.", d.Label, d.ID), "")
	return c.Redirect("/assembly#mandates", http.StatusSeeOther)
}
