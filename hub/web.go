package hub

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
)

// The web pages are server-rendered from templates embedded in the binary.
// They need no JavaScript: every action is a form POST answered by a
// redirect (or by the same page with the errors at the fields), and the
// charts are inline SVG drawn on the server. Nothing is fetched from
// elsewhere at run time.
//
//go:embed web
var webFiles embed.FS

// web holds the pages' templates and the sign-in sessions of the desk and
// the volunteer board.
type web struct {
	s        *Server
	pages    map[string]*template.Template
	sessions *sessions
	home     homeCache
}

// webRoutes lays out the web pages: the public pages, the council desk and
// the volunteer board.
func (s *Server) webRoutes() {
	w := &web{s: s, pages: parsePages(s.cfg.Location), sessions: newSessions(s.now)}
	static, err := fs.Sub(webFiles, "web/static")
	if err != nil {
		panic(err) // the folder is embedded at build time
	}
	s.app.Get("/static/:name", w.serveStatic(static))

	s.app.Get("/", w.handle(w.homePage))
	s.app.Get("/items", w.handle(w.itemsPage))
	s.app.Get("/councils/:id", w.handle(w.councilPage))
	s.app.Get("/open", w.handle(w.openPage))
	s.app.Get("/glossary", w.handle(w.glossaryPage))
	s.app.Get("/postings", w.handle(w.postingsPage))
	s.app.Get("/register", w.handle(w.registerPage))
	s.app.Post("/register", w.handle(s.limitAddr), w.handle(s.limitRegister), w.handle(w.registerCouncil))
	s.app.Get("/neighbours", w.handle(w.neighboursPage))

	// Writes are limited per address as the API's are, answered as a page.
	limit := w.handle(s.limitAddr)
	s.app.Get("/desk", w.handle(w.deskPage))
	w.assemblyRoutes()
	s.app.Post("/desk/signin", limit, w.handle(w.deskSignIn))
	s.app.Post("/desk/signout", limit, w.handle(w.asDelegate(w.deskSignOut)))
	s.app.Post("/desk/offers", limit, w.handle(w.asDelegate(w.deskPostOffer)))
	s.app.Post("/desk/needs", limit, w.handle(w.asDelegate(w.deskPostNeed)))
	s.app.Post("/desk/delegates", limit, w.handle(w.asDelegate(w.deskIssueDelegate)))
	s.app.Post("/desk/delegates/:id/recall", limit, w.handle(w.asDelegate(w.deskRecallDelegate)))
	s.app.Post("/desk/volunteers/vouch", limit, w.handle(w.asDelegate(w.deskVouch)))
	s.app.Post("/desk/offers/:id/withdraw", limit, w.handle(w.asDelegate(w.deskWithdraw(plenty.KindOfferWithdrawn, "offer"))))
	s.app.Post("/desk/needs/:id/withdraw", limit, w.handle(w.asDelegate(w.deskWithdraw(plenty.KindNeedWithdrawn, "need"))))
	s.app.Post("/desk/proposals/:id/withdraw-acceptance", limit, w.handle(w.asDelegate(w.deskWithdrawAcceptance)))
	s.app.Post("/desk/proposals/:id/:decision", limit, w.handle(w.asDelegate(w.deskDecide)))
	s.app.Post("/desk/agreements/:id/receipt", limit, w.handle(w.asDelegate(w.deskConfirmReceipt)))
	s.app.Post("/desk/agreements/:id/cancel", limit, w.handle(w.asDelegate(w.deskCancelAgreement)))
	s.app.Post("/desk/agreements/:id/messages", limit, w.handle(w.asDelegate(w.deskPostMessage)))

	s.app.Get("/volunteer", w.handle(w.volunteerPage))
	s.app.Post("/volunteer/register", limit, w.handle(s.limitRegister), w.handle(w.volunteerRegister))
	s.app.Post("/volunteer/signin", limit, w.handle(w.volunteerSignIn))
	s.app.Post("/volunteer/signout", limit, w.handle(w.asVolunteer(w.volunteerSignOut)))
	s.app.Post("/volunteer/tasks/:id/:action", limit, w.handle(w.asVolunteer(w.volunteerTaskAct)))
	s.app.Post("/volunteer/agreements/:id/messages", limit, w.handle(w.asVolunteer(w.volunteerPostMessage)))
}

// parsePages parses each page with the shared layout.
func parsePages(loc *time.Location) map[string]*template.Template {
	funcs := template.FuncMap{
		"date":     func(t time.Time) string { return formatDate(t, loc) },
		"datetime": func(t time.Time) string { return formatDateTime(t, loc) },
		"day":      func(t time.Time) string { return t.In(loc).Format("2006-01-02") },
		"zone":     func() string { return zoneName(loc) },
		"plural":   plural,
		"hours":    func(h float64) string { return naturalDuration(time.Duration(h * float64(time.Hour))) },
		"days":     func(d float64) string { return naturalDuration(time.Duration(d * 24 * float64(time.Hour))) },
		"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"pct":      func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
		"num":      func(f float64) string { return trimFloat(f) },
		"join":     strings.Join,
		"has":      func(xs []string, x string) bool { return slices.Contains(xs, x) },
		"fields":   strings.Fields,
		"list":     func(xs ...string) []string { return xs },
		"input":    fieldOf,
	}
	layout := template.Must(template.New("layout").Funcs(funcs).ParseFS(webFiles, "web/templates/layout.html", "web/templates/*.part.html"))
	names, err := fs.Glob(webFiles, "web/templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, name := range names {
		base := strings.TrimSuffix(name[len("web/templates/"):], ".html")
		if base == "layout" || strings.HasSuffix(base, ".part") {
			continue
		}
		pages[base] = template.Must(template.Must(layout.Clone()).ParseFS(webFiles, name))
	}
	return pages
}

// fieldArgs is one form field for the "field" template.
type fieldArgs struct {
	Form                                    *form
	ID, Name, Label, Type, Hint, List, Mode string
	Required                                bool
}

// fieldOf describes a field of f; its id is prefix-name.
func fieldOf(f *form, prefix, name, label, typ, hint string, required bool, list, mode string) fieldArgs {
	return fieldArgs{Form: f, ID: prefix + "-" + name, Name: name, Label: label, Type: typ, Hint: hint,
		Required: required, List: list, Mode: mode}
}

// formatDate shows a day in the hub's zone, such as "20 Dec 2026"; the
// zero time, which means "no limit", as "—".
func formatDate(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(loc).Format("2 Jan 2006")
}

// formatDateTime shows a moment in the hub's zone with the zone named,
// such as "20 Dec 2026, 14:05 GMT".
func formatDateTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(loc).Format("2 Jan 2006, 15:04 MST")
}

// zoneName names the hub's zone for people: its IANA name, or for the
// machine's zone its abbreviation now.
func zoneName(loc *time.Location) string {
	if name := loc.String(); name != "Local" {
		return name
	}
	return time.Now().In(loc).Format("MST")
}

// plural counts n things, such as "1 delivery" or "2 deliveries".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// naturalDuration says how long d is as people do: "3 days", "1 day and
// 5 hours", "7 hours", "40 minutes", "less than a minute".
func naturalDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "less than a minute"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute", "minutes")
	case d < 24*time.Hour:
		h := int((d + 30*time.Minute) / time.Hour)
		return plural(h, "hour", "hours")
	case d < 3*24*time.Hour:
		days, hours := int(d/(24*time.Hour)), int((d%(24*time.Hour)+30*time.Minute)/time.Hour)
		if hours == 24 {
			days, hours = days+1, 0
		}
		if hours == 0 {
			return plural(days, "day", "days")
		}
		return plural(days, "day", "days") + " and " + plural(hours, "hour", "hours")
	}
	return plural(int((d+12*time.Hour)/(24*time.Hour)), "day", "days")
}

// trimFloat formats f with at most one decimal, without a trailing ".0".
func trimFloat(f float64) string {
	s := fmt.Sprintf("%.1f", f)
	return strings.TrimSuffix(s, ".0")
}

// view is what every page gets: its title and, on the desk and the
// board, the session (for the sign-out form and its CSRF token).
type view struct {
	Title   string
	Nav     string // the section the page belongs to, to mark in the menu
	Session *session
	Flash   string
	Token   string // a token issued just now, shown once
	Error   string // a page-level refusal
	Data    any
}

// render answers with the page rendered, in full or not at all.
func (w *web) render(c *fiber.Ctx, status int, page string, v view) error {
	t, ok := w.pages[page]
	if !ok {
		return fmt.Errorf("no template for page %q", page)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("render %s: %w", page, err)
	}
	setPageHeaders(c)
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(status).Send(buf.Bytes())
}

// setPageHeaders forbids scripts, framing and third-party loads: the
// pages need none.
func setPageHeaders(c *fiber.Ctx) {
	c.Set("Content-Security-Policy",
		"default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Referrer-Policy", "same-origin")
	c.Set(fiber.HeaderCacheControl, "no-store")
}

// handle answers a page's errors as an HTML page rather than the API's
// problem documents.
func (w *web) handle(h fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		err := h(c)
		if err == nil {
			return nil
		}
		return w.errorPage(c, err)
	}
}

func (w *web) errorPage(c *fiber.Ctx, err error) error {
	status, pe := w.s.refusal(c, err)
	msg := pe.Message
	if pe.Code == plenty.EINTERNAL {
		msg = "Something went wrong on the hub's side. It has been logged; please try again later."
	}
	return w.render(c, status, "error", view{Title: http.StatusText(status), Error: msg,
		Data: struct{ Status int }{status}})
}

// serveStatic serves the embedded stylesheet and icons.
func (w *web) serveStatic(static fs.FS) fiber.Handler {
	return func(c *fiber.Ctx) error {
		name := c.Params("name")
		b, err := fs.ReadFile(static, name)
		if err != nil {
			return plenty.Errorf(plenty.ENOTFOUND, "no such file: /static/%s", name)
		}
		switch {
		case strings.HasSuffix(name, ".css"):
			c.Set(fiber.HeaderContentType, "text/css; charset=utf-8")
		case strings.HasSuffix(name, ".svg"):
			c.Set(fiber.HeaderContentType, "image/svg+xml")
		default:
			c.Set(fiber.HeaderContentType, fiber.MIMEOctetStream)
		}
		c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
		c.Set("X-Content-Type-Options", "nosniff")
		return c.Send(b)
	}
}

// amount formats a quantity with its unit, such as "80.5 kg".
func amount(a plenty.Amount, unit string) string {
	if unit == "" {
		return a.String()
	}
	return a.String() + " " + unit
}
