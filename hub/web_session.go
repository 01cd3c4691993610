package hub

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
)

// Sign-in on the web: a delegate (or a volunteer) pastes its token once;
// the hub checks it and keeps a session in memory under a random id that
// the browser holds in an HttpOnly, SameSite=Strict cookie scoped to /desk
// (or /volunteer), Secure when the request came over TLS. The token itself
// is never stored: the session names the delegate, whose mandate is
// checked again on every request, so a recall or an expiry ends the
// session at once. Sessions are lost when the hub restarts; signing in
// again is all it takes.
//
// Every form POST carries a CSRF token in its body (never the query
// string or a header): the session's own (a synchronizer token) once
// signed in, and before that, on the sign-in forms, an HMAC of a random
// cookie under a key only this process knows (a signed double-submit
// cookie).

const (
	deskCookie      = "plenty_desk"
	volunteerCookie = "plenty_volunteer"
	preCookie       = "plenty_pre" // the sign-in forms' double-submit cookie
	csrfField       = "csrf"

	sessionTTL = 12 * time.Hour
	// maxActorSessions caps the live sessions of one delegate or volunteer
	// (a few browsers and devices); signing in once more ends that
	// actor's oldest session. The cap is per actor, not for the whole
	// hub, so nobody can fill the table and lock others out: the table
	// holds at most this many sessions per actor, and actors cost a
	// registration (limited per address) or a council's mandate.
	maxActorSessions = 8
)

// session is one signed-in browser.
type session struct {
	ID      string
	CSRF    string
	Kind    string // "desk" or "volunteer"
	Subject string // the delegate's or the volunteer's id
	Expires time.Time

	flash string // a message for the next page
	token string // a token issued just now, shown once on the next page
}

func (s *session) actor() string { return s.Kind + ":" + s.Subject }

type sessions struct {
	now func() time.Time
	key []byte // signs the sign-in forms' CSRF tokens

	mu      sync.Mutex
	byID    map[string]*session
	byActor map[string][]string // kind:subject → its session ids, oldest first
	sweepAt int                 // the table size at which expired sessions are swept next
}

func newSessions(now func() time.Time) *sessions {
	key := make([]byte, 32)
	rand.Read(key)
	return &sessions{now: now, key: key, byID: map[string]*session{}, byActor: map[string][]string{}, sweepAt: 1024}
}

func randomText() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// create starts a session for subject, ending at the earlier of the
// session's term and until. When the subject already has
// maxActorSessions live sessions, its oldest ends: other actors' sessions
// are never touched.
func (ss *sessions) create(kind, subject string, until time.Time) (*session, error) {
	now := ss.now()
	exp := now.Add(sessionTTL)
	if until.Before(exp) {
		exp = until
	}
	s := &session{ID: randomText(), CSRF: randomText(), Kind: kind, Subject: subject, Expires: exp}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.byID) >= ss.sweepAt {
		ss.sweep(now)
		ss.sweepAt = max(1024, 2*len(ss.byID))
	}
	actor := s.actor()
	ids := ss.byActor[actor]
	for len(ids) >= maxActorSessions {
		delete(ss.byID, ids[0])
		ids = ids[1:]
	}
	ss.byActor[actor] = append(ids, s.ID)
	ss.byID[s.ID] = s
	return s, nil
}

// sweep forgets the expired sessions.
func (ss *sessions) sweep(now time.Time) {
	for id, x := range ss.byID {
		if !now.Before(x.Expires) {
			ss.remove(id)
		}
	}
}

// remove forgets a session; the caller holds mu.
func (ss *sessions) remove(id string) {
	s := ss.byID[id]
	if s == nil {
		return
	}
	delete(ss.byID, id)
	actor := s.actor()
	ids := ss.byActor[actor]
	for i, x := range ids {
		if x == id {
			ids = append(ids[:i:i], ids[i+1:]...)
			break
		}
	}
	if len(ids) == 0 {
		delete(ss.byActor, actor)
	} else {
		ss.byActor[actor] = ids
	}
}

// get returns a copy of the live session of kind with the id, or nil.
func (ss *sessions) get(id, kind string) *session {
	if id == "" {
		return nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.byID[id]
	if s == nil || s.Kind != kind {
		return nil
	}
	if !ss.now().Before(s.Expires) {
		ss.remove(id)
		return nil
	}
	c := *s
	return &c
}

// take returns the session's flash message and once-shown token, and
// forgets them.
func (ss *sessions) take(id string) (flash, token string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if s := ss.byID[id]; s != nil {
		flash, token = s.flash, s.token
		s.flash, s.token = "", ""
	}
	return flash, token
}

// tell leaves a message (and a token to show once) for the next page.
func (ss *sessions) tell(id, flash, token string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if s := ss.byID[id]; s != nil {
		s.flash, s.token = flash, token
	}
}

func (ss *sessions) end(id string) {
	ss.mu.Lock()
	ss.remove(id)
	ss.mu.Unlock()
}

// setCookie sends a session cookie: HttpOnly, SameSite=Strict, Secure
// over TLS, scoped to the section's path. It carries no expiry of its
// own: the browser forgets it when closed, and the hub ends the session
// at its term (by the hub's clock, not the browser's).
func setCookie(c *fiber.Ctx, name, value, path string) {
	c.Cookie(&fiber.Cookie{
		Name: name, Value: value, Path: path,
		HTTPOnly: true, Secure: c.Secure(), SameSite: fiber.CookieSameSiteStrictMode,
	})
}

func clearCookie(c *fiber.Ctx, name, path string) {
	c.Cookie(&fiber.Cookie{
		Name: name, Value: "", Path: path, Expires: time.Unix(0, 0), MaxAge: -1,
		HTTPOnly: true, Secure: c.Secure(), SameSite: fiber.CookieSameSiteStrictMode,
	})
}

// preCSRF returns the CSRF token for a sign-in form, setting the
// double-submit cookie it is bound to when the browser has none.
func (ss *sessions) preCSRF(c *fiber.Ctx, path string) string {
	v := c.Cookies(preCookie)
	if len(v) != 43 {
		v = randomText()
		setCookie(c, preCookie, v, path)
	}
	return ss.sign(v)
}

func (ss *sessions) sign(v string) string {
	m := hmac.New(sha256.New, ss.key)
	m.Write([]byte(v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkPreCSRF checks a sign-in form's CSRF token against its cookie.
func (ss *sessions) checkPreCSRF(c *fiber.Ctx) error {
	v := c.Cookies(preCookie)
	if v == "" || !equalText(postedValue(c, csrfField), ss.sign(v)) {
		return csrfRefusal()
	}
	return nil
}

// checkCSRF checks a signed-in form's CSRF token against the session's.
func checkCSRF(c *fiber.Ctx, s *session) error {
	if !equalText(postedValue(c, csrfField), s.CSRF) {
		return csrfRefusal()
	}
	return nil
}

// postedValue returns a field of the form's body, URL-encoded or
// multipart, and never one of the query string (c.FormValue reads both):
// a CSRF token in a URL leaks through logs, history and Referer headers,
// and a link could carry one.
func postedValue(c *fiber.Ctx, name string) string {
	if v := c.Request().PostArgs().Peek(name); len(v) > 0 {
		return string(v)
	}
	if mf, err := c.MultipartForm(); err == nil && len(mf.Value[name]) > 0 {
		return mf.Value[name][0]
	}
	return ""
}

func csrfRefusal() error {
	return &statusError{http.StatusForbidden, plenty.Errorf(plenty.EFORBIDDEN,
		"this form could not be checked as coming from this hub's own page (its CSRF token is missing or stale); nothing was done. Reload the page and try again.")}
}

func equalText(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// asDelegate runs h for a form POST of a signed-in delegate whose mandate
// is in force, after checking the form's CSRF token.
func (w *web) asDelegate(h func(*fiber.Ctx, *session, plenty.Delegate) error) fiber.Handler {
	return func(c *fiber.Ctx) error {
		sess := w.sessions.get(c.Cookies(deskCookie), "desk")
		if sess == nil {
			return notSignedIn("desk")
		}
		if err := checkCSRF(c, sess); err != nil {
			return err
		}
		d, err := w.sessionDelegate(c, sess)
		if err != nil {
			return err
		}
		if wait, ok := w.s.tokenLimit.allow(d.TokenHash); !ok {
			return &rateLimited{retryAfter: wait,
				err: plenty.Errorf(plenty.ERATELIMIT, "this delegate sent more than %g writes per second; retry after %d s", w.s.cfg.WriteRate, wait)}
		}
		return h(c, sess, d)
	}
}

func notSignedIn(section string) error {
	return &statusError{http.StatusUnauthorized, plenty.Errorf(plenty.EUNAUTHORIZED,
		"you are not signed in, or your session ended; nothing was done. Sign in on the %s page and try again.", section)}
}

// sessionDelegate returns the session's delegate while its mandate is in
// force; once it is not, it ends the session and returns EUNAUTHORIZED.
func (w *web) sessionDelegate(c *fiber.Ctx, sess *session) (plenty.Delegate, error) {
	// A delegate whose mandate ended may be read from the store.
	d, err := w.s.ledger.Delegate(c.UserContext(), sess.Subject)
	switch {
	case plenty.ErrorCode(err) == plenty.ENOTFOUND:
		err = plenty.Errorf(plenty.EUNAUTHORIZED, "this session's delegate does not exist; sign in again")
	case err == nil:
		err = w.s.inForce(d)
	}
	if err != nil {
		w.sessions.end(sess.ID)
		clearCookie(c, deskCookie, "/desk")
		return d, err
	}
	return d, nil
}
