package hub

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/usecase"
)

// The public page of open offers and needs (/postings): what is on offer
// and needed near a council, filtered by item and place, sorted by
// distance from a chosen council, with the region's map. And the
// glossary, and the page where a council registers.

// openPosting is an open offer or need as /postings shows it.
type openPosting struct {
	ID, ItemName, Remaining string
	Council, CouncilName    string
	Place                   string
	Until                   time.Time
	Priority                int
	Km                      float64 // from the chosen council; -1 without one
}

type postingsData struct {
	Items         []plenty.Item
	Councils      []plenty.Council
	Item, Place   string // the filter as given
	From          string // council id
	FromName      string
	ItemError     string
	Offers, Needs []openPosting
	MoreOffers    int // beyond the rows shown
	MoreNeeds     int
	Map           regionMap
}

// postingsLimit bounds the rows of each table.
const postingsLimit = 100

func (w *web) postingsPage(c *fiber.Ctx) error {
	d := postingsData{Item: strings.TrimSpace(c.Query("item")), Place: strings.TrimSpace(c.Query("place")), From: c.Query("from")}
	w.s.read(func(st *plenty.State) error {
		d.Items = st.Items()
		sort.SliceStable(d.Items, func(i, j int) bool { return d.Items[i].Name < d.Items[j].Name })
		d.Councils = st.Councils()
		sort.SliceStable(d.Councils, func(i, j int) bool { return d.Councils[i].Name < d.Councils[j].Name })
		var item string
		if d.Item != "" {
			var ferr *plenty.FieldError
			if item, ferr = resolveItem(st, d.Item); ferr != nil {
				d.ItemError = ferr.Message
				item = "\x00" // matches nothing
			}
		}
		from, hasFrom := st.Council(d.From)
		if hasFrom {
			d.FromName = from.Name
		} else {
			d.From = ""
		}
		place := strings.ToLower(d.Place)
		counts := map[string]mapCounts{}
		row := func(id, council, itemCode string, remaining plenty.Amount, loc plenty.Location, until time.Time, prio int) (openPosting, bool) {
			cl, _ := st.Council(council)
			if item != "" && itemCode != item {
				return openPosting{}, false
			}
			if place != "" && !strings.Contains(strings.ToLower(cl.Place), place) && !strings.Contains(strings.ToLower(cl.Name), place) {
				return openPosting{}, false
			}
			it, _ := st.Item(itemCode)
			p := openPosting{ID: id, ItemName: it.Name, Remaining: amount(remaining, it.Unit), Council: council,
				CouncilName: cl.Name, Place: cl.Place, Until: until, Priority: prio, Km: -1}
			if hasFrom {
				p.Km = loc.DistanceKm(from.Location)
			}
			return p, true
		}
		now := w.s.now()
		st.OpenOffers(func(o plenty.Offer) bool {
			if o.Remaining <= 0 || (!o.ExpiresAt.IsZero() && !now.Before(o.ExpiresAt)) ||
				(!o.AvailableUntil.IsZero() && o.AvailableUntil.Before(now)) {
				return true
			}
			if p, ok := row(o.ID, o.Council, o.Item, o.Remaining, o.Location, o.AvailableUntil, 0); ok {
				d.Offers = append(d.Offers, p)
				n := counts[o.Council]
				n.Offers++
				counts[o.Council] = n
			}
			return true
		})
		st.OpenNeeds(func(n plenty.Need) bool {
			if n.Remaining <= 0 || (!n.ExpiresAt.IsZero() && !now.Before(n.ExpiresAt)) {
				return true
			}
			if p, ok := row(n.ID, n.Council, n.Item, n.Remaining, n.Location, n.NeededBy, n.Priority); ok {
				d.Needs = append(d.Needs, p)
				x := counts[n.Council]
				x.Needs++
				counts[n.Council] = x
			}
			return true
		})
		d.Map = drawMap(st.Councils(), counts, d.From)
		return nil
	})
	order := func(ps []openPosting, byPriority bool) {
		sort.SliceStable(ps, func(i, j int) bool {
			a, b := ps[i], ps[j]
			if a.Km != b.Km {
				return a.Km < b.Km
			}
			if byPriority && a.Priority != b.Priority {
				return a.Priority > b.Priority
			}
			if a.ItemName != b.ItemName {
				return a.ItemName < b.ItemName
			}
			return a.ID < b.ID
		})
	}
	order(d.Offers, false)
	order(d.Needs, true)
	if len(d.Offers) > postingsLimit {
		d.Offers, d.MoreOffers = d.Offers[:postingsLimit], len(d.Offers)-postingsLimit
	}
	if len(d.Needs) > postingsLimit {
		d.Needs, d.MoreNeeds = d.Needs[:postingsLimit], len(d.Needs)-postingsLimit
	}
	return w.render(c, fiber.StatusOK, "postings", view{Title: "Offers and needs", Nav: "postings", Data: d})
}

func (w *web) glossaryPage(c *fiber.Ctx) error {
	return w.render(c, fiber.StatusOK, "glossary", view{Title: "What the words and figures mean", Nav: "glossary"})
}

// registerData is the registration form.
type registerData struct {
	CSRF string
	Idem string
	Form *form
}

var registerFields = []string{"name", "sector", "place", "lat", "lon"}

func (w *web) registerPage(c *fiber.Ctx) error {
	return w.renderRegister(c, http.StatusOK, newForm())
}

func (w *web) renderRegister(c *fiber.Ctx, status int, f *form) error {
	return w.render(c, status, "register", view{Title: "Register a council", Nav: "register",
		Data: registerData{CSRF: w.sessions.preCSRF(c, "/register"), Idem: randomText(), Form: f}})
}

// registerCouncil registers a council from the web form, as POST
// /api/v1/councils does, signs its first delegate in on the desk and
// shows the token there, once.
func (w *web) registerCouncil(c *fiber.Ctx) error {
	if err := w.sessions.checkPreCSRF(c); err != nil {
		return err
	}
	var fe fieldErrors
	in := usecase.Council{Name: strings.TrimSpace(c.FormValue("name")), Sector: strings.TrimSpace(c.FormValue("sector")),
		Place: strings.TrimSpace(c.FormValue("place"))}
	lat := formFloat(&fe, "lat", c.FormValue("lat"), "a latitude in degrees such as 53.48")
	lon := formFloat(&fe, "lon", c.FormValue("lon"), "a longitude in degrees such as -2.24")
	if lat == nil && !fe.Has("lat") {
		fe.Addf("lat", "is required: the latitude of the workplace, in degrees such as 53.48")
	}
	if lon == nil && !fe.Has("lon") {
		fe.Addf("lon", "is required: the longitude of the workplace, in degrees such as -2.24 (west is negative)")
	}
	in.Location = &usecase.Location{Lat: lat, Lon: lon}
	for _, t := range usecase.Validate(&in) {
		switch t.Field {
		case "location.lat":
			t.Field = "lat"
		case "location.lon":
			t.Field = "lon"
		}
		if !fe.Has(t.Field) {
			fe = append(fe, t)
		}
	}
	refused := func(err error) error {
		f := newForm()
		f.fill(c, registerFields...)
		f.refuse(err, nil)
		return w.renderRegister(c, statusOfErr(err), f)
	}
	if err := fe.Err(); err != nil {
		return refused(err)
	}
	r, err := usecase.RegisterCouncil(c.UserContext(), w.s.env(), in, formKey(c))
	if err != nil {
		if !isRefusal(err) {
			return err
		}
		return refused(err)
	}
	if r.Replay {
		return refused(plenty.Errorf(plenty.ECONFLICT, "this form was already sent and the council registered; its token was shown then"))
	}
	d := r.Delegate
	if old := c.Cookies(deskCookie); old != "" {
		w.sessions.end(old)
	}
	sess, err := w.sessions.create("desk", d.ID, d.ExpiresAt)
	if err != nil {
		return err
	}
	setCookie(c, deskCookie, sess.ID, "/desk")
	w.sessions.tell(sess.ID, fmt.Sprintf("%s is registered, and you are signed in as its first delegate until %s. "+
		"Keep the token below: it is how you sign in again, and the hub shows it only now. "+
		"Give the council's assembly its key, also shown only now: %s. With it the assembly issues, renews and recalls mandates, "+
		"so the council is never locked out when every mandate has run out. "+
		"From the desk you can post offers and needs and issue delegates for your assembly's mandates.",
		r.Council.Name, formatDateTime(d.ExpiresAt, w.s.cfg.Location), r.AssemblyKey), r.Token)
	return c.Redirect("/desk#token", http.StatusSeeOther)
}
