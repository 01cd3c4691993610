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

// The council desk: a delegate signs in with its token, posts offers and
// needs, sees its council's proposals with their reasons, accepts,
// declines and co-signs, confirms receipts, and issues and recalls the
// council's delegates. Each form calls the same function as the JSON API.

var (
	offerFields    = []string{"item", "quantity", "unit", "available_until", "min_split", "max_distance_km", "note", "private.place", "private.hours", "private.contact"}
	needFields     = []string{"item", "quantity", "unit", "priority", "needed_by", "max_distance_km", "note", "private.place", "private.hours", "private.contact"}
	delegateFields = []string{"label", "mandate", "scopes", "cosign_above", "term_days"}
)

// deskData is the desk of a signed-in delegate.
type deskData struct {
	Delegate    delegateView
	Council     plenty.Council
	CanPost     bool
	CanAccept   bool
	CanDelegate bool
	Items       []plenty.Item
	Units       []string
	Scopes      []string
	Idem        string // the forms' idempotency key
	CSRF        string

	Offer, Need, NewDelegate *form
	Open                     string // the form to show opened: "offer", "need", "delegate"

	Confirm *confirmBox // an action that cannot be undone, to confirm
	Zone    string      // the hub's time zone, named beside dates

	Offers, Needs []postingRow
	Delegates     []delegateView
	Lifecycle     deskLifecycle
	Coordination  deskCoordination
	Error         string // a refusal shown above the desk
}

// signInData is the sign-in form.
type signInData struct {
	CSRF  string
	Error string
}

func (w *web) deskSession(c *fiber.Ctx) *session {
	return w.sessions.get(c.Cookies(deskCookie), "desk")
}

// deskPage shows the desk of the signed-in delegate, or the sign-in form.
func (w *web) deskPage(c *fiber.Ctx) error {
	sess := w.deskSession(c)
	if sess == nil {
		return w.render(c, fiber.StatusOK, "signin", view{Title: "Council desk: sign in", Nav: "desk",
			Data: signInData{CSRF: w.sessions.preCSRF(c, "/desk")}})
	}
	d, err := w.sessionDelegate(c, sess)
	if err != nil {
		return w.render(c, fiber.StatusOK, "signin", view{Title: "Council desk: sign in", Nav: "desk",
			Data: signInData{CSRF: w.sessions.preCSRF(c, "/desk"), Error: plenty.ErrorMessage(err)}})
	}
	return w.renderDesk(c, http.StatusOK, sess, d, nil)
}

// renderDesk renders the desk; failed, when set, is the form that was
// refused, shown again with its values and errors.
func (w *web) renderDesk(c *fiber.Ctx, status int, sess *session, d plenty.Delegate, failed func(*deskData)) error {
	flash, token := w.sessions.take(sess.ID)
	data := deskData{
		Delegate: w.s.viewDelegate(d), CanPost: d.HasScope(plenty.ScopePost),
		CanAccept: d.HasScope(plenty.ScopeAccept), CanDelegate: d.HasScope(plenty.ScopeDelegate),
		Scopes: plenty.AllScopes, Idem: randomText(), CSRF: sess.CSRF,
		Offer: newForm(), Need: newForm(), NewDelegate: newForm(),
	}
	data.NewDelegate.Values["term_days"] = "7"
	data.NewDelegate.Values["scopes"] = plenty.ScopePost
	data.Need.Values["priority"] = "3"
	units := map[string]bool{}
	w.s.read(func(st *plenty.State) error {
		data.Council, _ = st.Council(d.Council)
		data.Items = st.Items()
		for _, it := range data.Items {
			for _, u := range plenty.UnitCodes(it.Dimension) {
				units[u] = true
			}
		}
		data.Offers, data.Needs = councilPostings(st, d.Council, plenty.StatusOpen)
		for _, del := range st.CouncilDelegates(d.Council) {
			if del.Active(w.s.now()) {
				data.Delegates = append(data.Delegates, w.s.viewDelegate(del))
			}
		}
		return nil
	})
	for u := range units {
		data.Units = append(data.Units, u)
	}
	sort.Strings(data.Units)
	data.Lifecycle = w.deskLifecycle(d)
	data.Zone = zoneName(w.s.cfg.Location)
	if c.Method() == fiber.MethodGet {
		w.deskAsk(c, d, &data)
	}
	w.deskCoordination(c, d, &data, sess.CSRF)
	if failed != nil {
		failed(&data)
	}
	return w.render(c, status, "desk", view{Title: "Desk: " + data.Council.Name, Nav: "desk",
		Session: sess, Flash: flash, Token: token, Error: data.Error, Data: data})
}

// deskSignIn checks a pasted token and starts a session for its delegate.
func (w *web) deskSignIn(c *fiber.Ctx) error {
	if err := w.sessions.checkPreCSRF(c); err != nil {
		return err
	}
	d, err := w.s.delegateByToken(c.UserContext(), strings.TrimSpace(c.FormValue("token")))
	if err != nil {
		if plenty.ErrorCode(err) == plenty.ERATELIMIT {
			return err
		}
		return w.render(c, http.StatusUnauthorized, "signin", view{Title: "Council desk: sign in", Nav: "desk",
			Data: signInData{CSRF: w.sessions.preCSRF(c, "/desk"), Error: plenty.ErrorMessage(err)}})
	}
	// A fresh session id at every sign-in: a cookie planted before it is
	// worth nothing after.
	if old := c.Cookies(deskCookie); old != "" {
		w.sessions.end(old)
	}
	sess, err := w.sessions.create("desk", d.ID, d.ExpiresAt)
	if err != nil {
		return err
	}
	setCookie(c, deskCookie, sess.ID, "/desk")
	w.sessions.tell(sess.ID, fmt.Sprintf("Signed in as %s (%s).", d.Label, d.ID), "")
	return c.Redirect("/desk", http.StatusSeeOther)
}

func (w *web) deskSignOut(c *fiber.Ctx, sess *session, _ plenty.Delegate) error {
	w.sessions.end(sess.ID)
	clearCookie(c, deskCookie, "/desk")
	return c.Redirect("/desk", http.StatusSeeOther)
}

// postingItem reads the item field of a posting form (a name or a code)
// and the unit, which defaults to the item's own. An unknown item is the
// only refusal then shown: it decides the unit and the quantity.
func (w *web) postingItem(c *fiber.Ctx) (code, unit string, ferr *plenty.FieldError) {
	var it plenty.Item
	w.s.read(func(st *plenty.State) error {
		if code, ferr = resolveItem(st, c.FormValue("item")); ferr == nil {
			it, _ = st.Item(code)
		}
		return nil
	})
	unit = strings.TrimSpace(c.FormValue("unit"))
	if unit == "" {
		unit = it.Unit
	}
	return code, unit, ferr
}

// deskPostOffer posts an offer from the desk's form. With "replaces" (the
// form to change an offer), the changed offer is posted first and the old
// one withdrawn after.
func (w *web) deskPostOffer(c *fiber.Ctx, sess *session, d plenty.Delegate) error {
	return w.deskPost(c, sess, d, "offer", func(fe fieldErrors, code, unit string) (posted, error) {
		in := usecase.Offer{
			Item: code, Quantity: formDecimal(&fe, "quantity", c.FormValue("quantity")),
			Unit: unit, Note: c.FormValue("note"), MinSplit: formDecimal(&fe, "min_split", c.FormValue("min_split")),
			MaxDistanceKm: formFloat(&fe, "max_distance_km", c.FormValue("max_distance_km"), "a number of kilometres such as 40"),
			Private:       formDetails(c),
		}
		if v := c.FormValue("available_until"); v != "" {
			in.AvailableUntil = formTime(v, w.s.cfg.Location)
		}
		in.Faults = fe
		o, err := usecase.PostOffer(c.UserContext(), w.s.env(), d, in, formKey(c))
		return posted{o.ID, o.Item, o.Quantity}, err
	})
}

// deskPostNeed posts a need from the desk's form, as deskPostOffer an
// offer.
func (w *web) deskPostNeed(c *fiber.Ctx, sess *session, d plenty.Delegate) error {
	return w.deskPost(c, sess, d, "need", func(fe fieldErrors, code, unit string) (posted, error) {
		in := usecase.Need{
			Item: code, Quantity: formDecimal(&fe, "quantity", c.FormValue("quantity")),
			Unit: unit, Note: c.FormValue("note"),
			Priority:      formInt(&fe, "priority", c.FormValue("priority"), "a whole number from 1 to 5"),
			MaxDistanceKm: formFloat(&fe, "max_distance_km", c.FormValue("max_distance_km"), "a number of kilometres such as 40"),
			Private:       formDetails(c),
		}
		if v := c.FormValue("needed_by"); v != "" {
			in.NeededBy = formTime(v, w.s.cfg.Location)
		}
		in.Faults = fe
		n, err := usecase.PostNeed(c.UserContext(), w.s.env(), d, in, formKey(c))
		return posted{n.ID, n.Item, n.Quantity}, err
	})
}

// posted is what the desk says of a posting it posted.
type posted struct {
	id, item string
	quantity plenty.Amount
}

// deskPost posts what post reads from the desk's form of what ("offer"
// or "need") with the item and unit the form names; a refusal shows the
// form again with its fields filled and its faults named. The posting the
// form replaces is withdrawn after.
func (w *web) deskPost(c *fiber.Ctx, sess *session, d plenty.Delegate, what string,
	post func(fe fieldErrors, code, unit string) (posted, error)) error {
	code, unit, ferr := w.postingItem(c)
	var p posted
	err := fieldError(ferr)
	if err == nil {
		p, err = post(nil, code, unit)
	}
	offer := what == "offer"
	if err != nil {
		if !isRefusal(err) {
			return err
		}
		return w.renderDesk(c, statusOfErr(err), sess, d, func(data *deskData) {
			f, fields := data.Need, needFields
			if offer {
				f, fields = data.Offer, offerFields
			}
			f.fill(c, fields...)
			f.Values["replaces"] = c.FormValue("replaces")
			f.refuse(err, nil)
			data.Open = what
		})
	}
	msg := fmt.Sprintf("%s %s posted: %s of %s.", strings.ToUpper(what[:1])+what[1:], p.id, amount(p.quantity, unit), w.itemName(p.item))
	withdrawn := plenty.KindNeedWithdrawn
	if offer {
		withdrawn = plenty.KindOfferWithdrawn
	}
	msg += w.replacePosting(c, d, withdrawn, what)
	w.sessions.tell(sess.ID, msg, "")
	return c.Redirect("/desk#flash", http.StatusSeeOther)
}

// itemName returns the item's name, or its code when it has none.
func (w *web) itemName(code string) string {
	var it plenty.Item
	w.s.read(func(st *plenty.State) error { it, _ = st.Item(code); return nil })
	if it.Name == "" {
		return code
	}
	return it.Name
}

// deskIssueDelegate issues a delegate of the council from the desk's
// form; the new token is shown once, on the next page.
func (w *web) deskIssueDelegate(c *fiber.Ctx, sess *session, by plenty.Delegate) error {
	refused := func(err error) error {
		if !isRefusal(err) {
			return err
		}
		return w.renderDesk(c, statusOfErr(err), sess, by, func(data *deskData) {
			data.NewDelegate.fill(c, delegateFields...)
			data.NewDelegate.Values["scopes"] = strings.Join(formScopes(c), " ")
			data.NewDelegate.refuse(err, map[string]string{"expires_at": "term_days"})
			data.Open = "delegate"
		})
	}
	if !by.HasScope(plenty.ScopeDelegate) {
		return refused(plenty.Errorf(plenty.EFORBIDDEN, "delegate %s's mandate does not include the %q scope", by.ID, plenty.ScopeDelegate))
	}
	var fe fieldErrors
	in := usecase.Mandate{Label: strings.TrimSpace(c.FormValue("label")), Mandate: strings.TrimSpace(c.FormValue("mandate")),
		Scopes: formScopes(c), CosignAbove: usecase.Decimal(strings.TrimSpace(c.FormValue("cosign_above")))}
	if days := formInt(&fe, "term_days", c.FormValue("term_days"), "a whole number of days from 1 to 7"); days != nil {
		if *days < 1 || *days > 7 {
			fe.Addf("term_days", "must be a whole number of days from 1 to 7")
		} else if *days < 7 {
			in.ExpiresAt = usecase.Timestamp(w.s.now().Add(time.Duration(*days) * 24 * time.Hour).Format(time.RFC3339))
		}
	}
	in.Faults = fe
	is, err := usecase.IssueDelegate(c.UserContext(), w.s.env(), usecase.ByDelegate(by), in, formKey(c))
	if err != nil {
		return refused(err)
	}
	nd := is.Delegate
	msg := fmt.Sprintf("Delegate %s (%s) issued, until %s. Give them the token below; it is shown only now.",
		nd.Label, nd.ID, formatDateTime(nd.ExpiresAt, w.s.cfg.Location))
	if is.Token == "" {
		msg = fmt.Sprintf("Delegate %s (%s) was already issued by this form; its token was shown then.", nd.Label, nd.ID)
	}
	w.sessions.tell(sess.ID, msg, is.Token)
	// Land on the token, shown once at the top of the page.
	return c.Redirect("/desk#token", http.StatusSeeOther)
}

func formScopes(c *fiber.Ctx) []string {
	var out []string
	c.Context().PostArgs().VisitAll(func(k, v []byte) {
		if string(k) == "scopes" {
			out = append(out, string(v))
		}
	})
	return out
}

// deskRecallDelegate recalls a delegate of the council at once.
func (w *web) deskRecallDelegate(c *fiber.Ctx, sess *session, by plenty.Delegate) error {
	if !by.HasScope(plenty.ScopeDelegate) {
		return plenty.Errorf(plenty.EFORBIDDEN, "delegate %s's mandate does not include the %q scope", by.ID, plenty.ScopeDelegate)
	}
	if c.FormValue("confirm") != "yes" {
		// A recall cannot be undone: ask first.
		return c.Redirect("/desk?recall="+c.Params("id")+"#confirm", http.StatusSeeOther)
	}
	d, err := usecase.RecallDelegate(c.UserContext(), w.s.env(), usecase.ByDelegate(by), c.Params("id"), formKey(c))
	if err != nil {
		return err
	}
	w.sessions.tell(sess.ID, fmt.Sprintf("Delegate %s (%s) recalled.", d.Label, d.ID), "")
	if d.ID == by.ID {
		// Recalling oneself ends one's own session.
		return c.Redirect("/desk", http.StatusSeeOther)
	}
	return c.Redirect("/desk#flash", http.StatusSeeOther)
}

// deskVouch vouches, for the delegate's council, for the volunteer with
// the handle given.
func (w *web) deskVouch(c *fiber.Ctx, sess *session, by plenty.Delegate) error {
	handle := strings.TrimSpace(c.FormValue("handle"))
	var v plenty.Volunteer
	var ok bool
	if err := w.s.read(func(st *plenty.State) error { v, ok = st.VolunteerByHandle(handle); return nil }); err != nil {
		return err
	}
	if !ok {
		return plenty.Invalid("handle", fmt.Sprintf("no volunteer has the handle %q; check the spelling with them", handle))
	}
	if _, err := usecase.Vouch(c.UserContext(), w.s.env(), by, v.ID, formKey(c)); err != nil {
		return err
	}
	w.sessions.tell(sess.ID, fmt.Sprintf("Your council vouches for %s: they may now offer to carry deliveries.", v.Handle), "")
	return c.Redirect("/desk#vouch", http.StatusSeeOther)
}
