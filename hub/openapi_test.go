package hub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/plentyhub/plenty/hub"
)

// openAPIDoc is the served document, decoded.
type openAPIDoc struct {
	raw   map[string]any
	paths map[string]*regexp.Regexp // template → pattern
}

func loadOpenAPI(t *testing.T, h *testHub) *openAPIDoc {
	t.Helper()
	r := h.do("GET", "/openapi.json", "", "").want(t, 200)
	d := &openAPIDoc{raw: r.Body, paths: map[string]*regexp.Regexp{}}
	if d.raw["openapi"] != "3.1.0" {
		t.Fatalf("openapi = %v", d.raw["openapi"])
	}
	param := regexp.MustCompile(`\{[^}]+\}`)
	for p := range d.raw["paths"].(map[string]any) {
		parts := param.Split(p, -1)
		for i := range parts {
			parts[i] = regexp.QuoteMeta(parts[i])
		}
		d.paths[p] = regexp.MustCompile("^" + strings.Join(parts, `[^/]+`) + "$")
	}
	return d
}

// operation finds the documented operation of a request.
func (d *openAPIDoc) operation(method, path string) (string, map[string]any) {
	path, _, _ = strings.Cut(path, "?")
	// A template without parameters wins over one with (/open/proof/inclusion
	// over /open/{size}/{name}).
	best := ""
	for tmpl, re := range d.paths {
		if re.MatchString(path) && (best == "" || strings.Count(tmpl, "{") < strings.Count(best, "{")) {
			best = tmpl
		}
	}
	if best == "" {
		return "", nil
	}
	op, _ := d.raw["paths"].(map[string]any)[best].(map[string]any)[strings.ToLower(method)].(map[string]any)
	return best, op
}

func (d *openAPIDoc) resolve(s map[string]any) map[string]any {
	for {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		s = d.raw["components"].(map[string]any)["schemas"].(map[string]any)[name].(map[string]any)
	}
}

// check validates v against a JSON Schema subset: $ref, type (one or a
// list), properties, required, additionalProperties false, items, enum,
// pattern, format date-time, minimum, maximum, exclusiveMinimum,
// minItems, maxItems, maxLength. It returns every violation.
func (d *openAPIDoc) check(s map[string]any, v any, at string) []string {
	s = d.resolve(s)
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }
	if t, ok := s["type"]; ok {
		var types []string
		switch x := t.(type) {
		case string:
			types = []string{x}
		case []any:
			for _, y := range x {
				types = append(types, y.(string))
			}
		}
		ok := false
		for _, ty := range types {
			ok = ok || hasType(ty, v)
		}
		if !ok {
			fail("is %T %v, want %v", v, v, types)
			return errs
		}
	}
	if enum, ok := s["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			found = found || e == v
		}
		if !found {
			fail("%v is not one of %v", v, enum)
		}
	}
	switch x := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for _, r := range asStrings(s["required"]) {
			if _, ok := x[r]; !ok {
				fail("lacks required %q", r)
			}
		}
		for k, val := range x {
			ps, ok := props[k].(map[string]any)
			if !ok {
				if s["additionalProperties"] == false {
					fail("has undocumented property %q", k)
				}
				continue
			}
			errs = append(errs, d.check(ps, val, at+"."+k)...)
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, e := range x {
				errs = append(errs, d.check(items, e, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
		if m, ok := s["minItems"].(float64); ok && float64(len(x)) < m {
			fail("has %d items, fewer than %v", len(x), m)
		}
		if m, ok := s["maxItems"].(float64); ok && float64(len(x)) > m {
			fail("has %d items, more than %v", len(x), m)
		}
	case string:
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(x) {
			fail("%q does not match %s", x, p)
		}
		if s["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, x); err != nil {
				fail("%q is not a date-time", x)
			}
		}
		if m, ok := s["maxLength"].(float64); ok && float64(utf8.RuneCountInString(x)) > m {
			fail("is longer than %v", m)
		}
	case float64:
		if m, ok := s["minimum"].(float64); ok && x < m {
			fail("%v is below %v", x, m)
		}
		if m, ok := s["maximum"].(float64); ok && x > m {
			fail("%v is above %v", x, m)
		}
		if m, ok := s["exclusiveMinimum"].(float64); ok && x <= m {
			fail("%v is not above %v", x, m)
		}
	}
	return errs
}

func hasType(t string, v any) bool {
	switch x := v.(type) {
	case nil:
		return t == "null"
	case bool:
		return t == "boolean"
	case string:
		return t == "string"
	case float64:
		return t == "number" || t == "integer" && x == math.Trunc(x)
	case []any:
		return t == "array"
	case map[string]any:
		return t == "object"
	}
	return false
}

func asStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		out = append(out, x.(string))
	}
	return out
}

// webPage reports whether a route serves the web pages (web.go): HTML for
// people, not the API that /openapi.json describes.
func webPage(path string) bool {
	switch path {
	case "/", "/items", "/councils/:id", "/open", "/desk", "/volunteer", "/postings", "/glossary", "/register", "/neighbours", "/assembly":
		return true
	}
	return strings.HasPrefix(path, "/desk/") || strings.HasPrefix(path, "/volunteer/") || strings.HasPrefix(path, "/static/") ||
		strings.HasPrefix(path, "/assembly/")
}

// TestOpenAPI sends real requests of every operation and checks each
// request body, status and answer against the served document, and that
// every route the server has is documented.
func TestOpenAPI(t *testing.T) {
	h := MustOpenHub(t, hub.Config{WebhookPrivate: true})
	doc := loadOpenAPI(t, h)

	for _, r := range h.srv.App().GetRoutes(true) {
		if r.Method == "HEAD" || r.Method == "USE" || webPage(r.Path) {
			continue
		}
		if _, op := doc.operation(r.Method, strings.NewReplacer(":id", "x", ":delegate", "y", ":code", "z").Replace(r.Path)); op == nil {
			t.Errorf("route %s %s is not in /openapi.json", r.Method, r.Path)
		}
	}

	exercised := map[string]bool{}
	try := func(method, path, token, body string, status int) response {
		t.Helper()
		r := h.do(method, path, token, body).want(t, status)
		tmpl, op := doc.operation(method, path)
		if op == nil {
			t.Fatalf("%s %s is not documented", method, path)
		}
		exercised[method+" "+tmpl] = true
		if body != "" && status < 300 {
			var v any
			json.Unmarshal([]byte(body), &v)
			s := op["requestBody"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)
			for _, e := range doc.check(s, v, "request") {
				t.Errorf("%s %s: %s", method, tmpl, e)
			}
		}
		resp, ok := op["responses"].(map[string]any)[fmt.Sprint(status)].(map[string]any)
		if !ok {
			t.Errorf("%s %s: status %d is not documented", method, tmpl, status)
			return r
		}
		ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
		media, ok := resp["content"].(map[string]any)[ct].(map[string]any)
		if !ok {
			t.Errorf("%s %s %d: content type %q is not documented", method, tmpl, status, ct)
			return r
		}
		if ct == "text/plain" || ct == "application/atom+xml" {
			return r
		}
		var v any
		json.Unmarshal(r.Raw, &v)
		for _, e := range doc.check(media["schema"].(map[string]any), v, "response") {
			t.Errorf("%s %s %d: %s", method, tmpl, status, e)
		}
		return r
	}

	try("GET", "/healthz", "", "", 200)
	try("GET", "/openapi.json", "", "", 200)
	// Federation, without neighbours (the federation tests run it between hubs).
	if err := h.srv.Federate(context.Background(), hub.FedConfig{}); err != nil {
		t.Fatal(err)
	}
	try("GET", "/fed/v1/keys", "", "", 200)
	try("GET", "/fed/v1/neighbours", "", "", 200)
	try("POST", "/fed/v1/add-checkpoint", "", "old 0\n\nx.test/plenty\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", 404)
	try("POST", "/fed/v1/add-checkpoint", "", "old x\n", 400)
	try("GET", "/fed/v1/witness/00/checkpoint", "", "", 404)
	try("GET", "/fed/v1/mirror/00/open/checkpoint", "", "", 404)
	try("GET", "/fed/v1/mirror/00/open/tile/x", "", "", 404)
	try("GET", "/fed/v1/mirror/00/open/events/arrow/000000000000-000000000001.arrow", "", "", 404)
	try("GET", "/open/tile/x", "", "", 404)
	try("GET", "/open/neighbours", "", "", 200)
	reg := try("POST", "/api/v1/councils", "", riverside, 201)
	a := council{ID: reg.str("council.id"), Token: reg.str("delegate.token")}
	try("POST", "/api/v1/councils", "", `{"name": "x"}`, 422)
	try("POST", "/api/v1/councils", "", `{"name": "x"`, 400)
	try("GET", "/api/v1/councils", "", "", 200)
	try("GET", "/api/v1/councils/"+a.ID, "", "", 200)
	try("GET", "/api/v1/councils/nope", "", "", 404)
	try("GET", "/api/v1/councils/"+a.ID+"/account", "", "", 200)
	try("GET", "/api/v1/councils/nope/account", "", "", 404)
	d := try("POST", "/api/v1/councils/"+a.ID+"/delegates", a.Token,
		`{"label": "Ana", "mandate": "post flour", "scopes": ["post"], "cosign_above": "100", "expires_at": "2026-11-25T00:00:00Z"}`, 201)
	try("POST", "/api/v1/councils/"+a.ID+"/delegates", d.str("delegate.token"), `{"label": "x", "mandate": "y", "scopes": ["post"]}`, 403)
	try("POST", "/api/v1/councils/"+a.ID+"/delegates", "", `{"label": "x", "mandate": "y", "scopes": ["post"]}`, 401)
	assembly := reg.str("assembly.key")
	try("POST", "/api/v1/councils/"+a.ID+"/delegates/"+d.str("delegate.id")+"/renew", d.str("delegate.token"), `{"expires_at": "2026-11-26T00:00:00Z"}`, 403)
	try("POST", "/api/v1/councils/"+a.ID+"/delegates/"+d.str("delegate.id")+"/renew", assembly, `{"expires_at": "2026-11-29T00:00:00Z"}`, 422)
	try("POST", "/api/v1/councils/"+a.ID+"/delegates/"+d.str("delegate.id")+"/renew", assembly, `{"expires_at": "2026-11-26T00:00:00Z"}`, 200)
	try("POST", "/api/v1/councils/"+a.ID+"/delegates/nope/renew", assembly, "", 404)
	try("DELETE", "/api/v1/councils/"+a.ID+"/delegates/"+d.str("delegate.id"), a.Token, "", 200)
	try("DELETE", "/api/v1/councils/"+a.ID+"/delegates/"+d.str("delegate.id"), a.Token, "", 409)
	fresh := try("POST", "/api/v1/councils/"+a.ID+"/assembly/key", assembly, "", 201).str("assembly.key")
	try("POST", "/api/v1/councils/"+a.ID+"/assembly/key", assembly, "", 401)
	try("POST", "/api/v1/councils/"+a.ID+"/assembly/key", a.Token, "", 403)
	try("POST", "/api/v1/councils/nope/assembly/key", fresh, "", 404)
	try("GET", "/api/v1/items", "", "", 200)
	try("GET", "/api/v1/items/wheat-flour", "", "", 200)
	try("GET", "/api/v1/items/nope", "", "", 404)
	try("POST", "/api/v1/items", a.Token, `{"code": "rye-bread", "name": "Rye bread", "dimension": "count", "unit": "dozen"}`, 201)
	try("POST", "/api/v1/items", a.Token, `{"code": "rye-bread", "name": "Rye bread", "dimension": "count"}`, 409)
	for _, k := range []struct{ kind, body string }{{"offer", flourOffer}, {"need", flourNeed}} {
		o := try("POST", "/api/v1/"+k.kind+"s", a.Token, k.body, 201)
		try("POST", "/api/v1/"+k.kind+"s", a.Token, `{"item": "wheat-flour", "quantity": "1", "unit": "l"}`, 422)
		try("GET", "/api/v1/"+k.kind+"s?item=wheat-flour&limit=1", "", "", 200)
		try("GET", "/api/v1/"+k.kind+"s?status=lost", "", "", 422)
		try("GET", "/api/v1/"+k.kind+"s/"+o.str(k.kind+".id"), "", "", 200)
		try("GET", "/api/v1/"+k.kind+"s/nope", "", "", 404)
		try("POST", "/api/v1/"+k.kind+"s/"+o.str(k.kind+".id")+"/withdraw", a.Token, "", 200)
		try("POST", "/api/v1/"+k.kind+"s/"+o.str(k.kind+".id")+"/withdraw", a.Token, "", 409)
	}
	// The lifecycle: proposals, decisions, agreement, delivery, receipt.
	b := h.register("Bakers")
	try("POST", "/api/v1/offers", a.Token, flourOffer, 201)
	try("POST", "/api/v1/needs", b.Token, flourNeed, 201)
	try("POST", "/api/v1/needs", b.Token, strings.Replace(flourNeed, `"priority": 4`, `"priority": 2`, 1), 201)
	if err := h.srv.RunMatching(context.Background()); err != nil {
		t.Fatal(err)
	}
	props := try("GET", "/api/v1/proposals?council="+b.ID, "", "", 200)
	try("GET", "/api/v1/proposals?council=nope", "", "", 404)
	p0, p1 := props.str("proposals.0.id"), props.str("proposals.1.id")
	try("POST", "/api/v1/proposals/"+p1+"/decline", b.Token, "", 200)
	try("POST", "/api/v1/proposals/"+p0+"/accept", a.Token, "", 200)
	try("POST", "/api/v1/proposals/"+p0+"/withdraw-acceptance", a.Token, "", 200)
	try("POST", "/api/v1/proposals/"+p0+"/withdraw-acceptance", a.Token, "", 409)
	try("POST", "/api/v1/proposals/nope/withdraw-acceptance", a.Token, "", 404)
	try("POST", "/api/v1/proposals/"+p0+"/accept", a.Token, "", 200)
	try("POST", "/api/v1/proposals/"+p0+"/accept", "", "", 401)
	try("POST", "/api/v1/proposals/nope/accept", b.Token, "", 404)
	ag := try("POST", "/api/v1/proposals/"+p0+"/accept", b.Token, "", 200).str("agreement.id")
	try("GET", "/api/v1/agreements?council="+a.ID, "", "", 200)
	try("GET", "/api/v1/agreements/"+ag, "", "", 200)
	try("GET", "/api/v1/agreements/nope", "", "", 404)
	try("POST", "/api/v1/agreements/"+ag+"/messages", b.Token, `{"text": "back gate, ring the bell"}`, 201)
	try("POST", "/api/v1/agreements/"+ag+"/messages", b.Token, `{"text": ""}`, 422)
	try("POST", "/api/v1/agreements/"+ag+"/messages", "", `{"text": "x"}`, 401)
	try("GET", "/api/v1/agreements/"+ag+"/messages", a.Token, "", 200)
	try("GET", "/api/v1/agreements/nope/messages", a.Token, "", 404)
	try("POST", "/api/v1/agreements/"+ag+"/reflection", b.Token, `{"text": "too early"}`, 409)
	vol := try("POST", "/api/v1/volunteers", "", `{"handle": "Ada", "contact": "by the mill"}`, 201)
	try("POST", "/api/v1/volunteers", "", `{"handle": "Ada"}`, 409)
	try("POST", "/api/v1/volunteers", "", `{"handle": ""}`, 422)
	task := try("GET", "/api/v1/tasks?status=open", "", "", 200).str("tasks.0.id")
	try("GET", "/api/v1/tasks?status=lost", "", "", 422)
	try("GET", "/api/v1/tasks/"+task, "", "", 200)
	try("GET", "/api/v1/tasks/nope", "", "", 404)
	vt := vol.str("volunteer.token")
	try("POST", "/api/v1/tasks/"+task+"/volunteer", vt, "", 409) // not vouched for yet
	try("POST", "/api/v1/volunteers/"+vol.str("volunteer.id")+"/vouch", "", "", 401)
	try("POST", "/api/v1/volunteers/"+vol.str("volunteer.id")+"/vouch", b.Token, "", 200)
	try("POST", "/api/v1/volunteers/"+vol.str("volunteer.id")+"/vouch", b.Token, "", 409)
	try("POST", "/api/v1/volunteers/nope/vouch", b.Token, "", 404)
	try("POST", "/api/v1/tasks/"+task+"/volunteer", vt, "", 200)
	try("GET", "/api/v1/agreements/"+ag+"/messages", vt, "", 403)
	try("GET", "/api/v1/tasks?volunteer=me", vt, "", 200)
	try("GET", "/api/v1/tasks?volunteer=me", "", "", 401)
	try("GET", "/api/v1/volunteers/"+vol.str("volunteer.id")+"/feed.atom", "", "", 200)
	try("GET", "/api/v1/volunteers/nope/feed.atom", "", "", 404)
	try("POST", "/api/v1/tasks/"+task+"/volunteer", vt, "", 409)
	try("POST", "/api/v1/tasks/"+task+"/pickup", vt, "", 403)
	h.clock.Add(time.Hour)
	if err := h.srv.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	try("POST", "/api/v1/tasks/"+task+"/pickup", vt, "", 200)
	try("POST", "/api/v1/tasks/"+task+"/dropoff", vt, "", 200)
	try("POST", "/api/v1/tasks/"+task+"/dropoff", a.Token, "", 401)
	try("POST", "/api/v1/agreements/"+ag+"/receipt", b.Token, `{"quantity": "x"}`, 422)
	try("POST", "/api/v1/agreements/"+ag+"/receipt", a.Token, `{"quantity": "80"}`, 403)
	tr := try("POST", "/api/v1/agreements/"+ag+"/receipt", b.Token, `{"quantity": "80"}`, 201)
	try("POST", "/api/v1/transfers/"+tr.str("transfer.id")+"/correction", b.Token, `{"quantity": "79.5", "unit": "kg"}`, 201)
	try("POST", "/api/v1/transfers/nope/correction", b.Token, `{"quantity": "1"}`, 404)
	try("POST", "/api/v1/agreements/"+ag+"/cancel", a.Token, "", 409)
	try("POST", "/api/v1/agreements/"+ag+"/reflection", b.Token, `{"text": "well packed"}`, 201)
	try("POST", "/api/v1/agreements/"+ag+"/reflection", b.Token, `{"text": "again"}`, 409)
	try("GET", "/api/v1/councils/"+a.ID+"/reflections", a.Token, "", 200)
	try("GET", "/api/v1/councils/"+a.ID+"/reflections", b.Token, "", 403)
	try("GET", "/api/v1/councils/"+a.ID+"/reflections", "", "", 401)
	try("GET", "/api/v1/councils/nope/reflections", a.Token, "", 404)
	try("GET", "/api/v1/councils/"+a.ID+"/feed.atom", "", "", 200)
	try("GET", "/api/v1/councils/nope/feed.atom", "", "", 404)
	wh := try("POST", "/api/v1/councils/"+a.ID+"/webhooks", a.Token, `{"url": "http://127.0.0.1:9/plenty", "events": ["agreement.formed"]}`, 201)
	try("POST", "/api/v1/councils/"+a.ID+"/webhooks", a.Token, `{"url": "ftp://x", "events": ["agreement.formed"]}`, 422)
	try("POST", "/api/v1/councils/"+a.ID+"/webhooks", b.Token, `{"url": "http://127.0.0.1:9/", "events": ["*"]}`, 403)
	try("GET", "/api/v1/councils/"+a.ID+"/webhooks", a.Token, "", 200)
	try("GET", "/api/v1/councils/"+a.ID+"/webhooks", "", "", 401)
	try("DELETE", "/api/v1/councils/"+a.ID+"/webhooks/"+wh.str("webhook.id"), a.Token, "", 200)
	try("DELETE", "/api/v1/councils/"+a.ID+"/webhooks/"+wh.str("webhook.id"), a.Token, "", 404)
	try("GET", "/api/v1/figures", "", "", 200)
	try("GET", "/metrics", "", "", 200)

	cp := try("GET", "/open/checkpoint", "", "", 200)
	size := strings.Split(string(cp.Raw), "\n")[1]
	try("GET", "/open/datapackage.json", "", "", 200)
	try("GET", "/open/nope.txt", "", "", 404)
	try("GET", "/open/events.csv?from=x", "", "", 422)
	try("GET", "/open/"+size+"/key", "", "", 200)
	last, _ := strconv.ParseInt(size, 10, 64)
	part := fmt.Sprintf("events/arrow/000000000000-%012d.arrow", last-1)
	try("GET", "/open/"+part, "", "", 200)
	try("GET", "/open/events/arrow/nope.arrow", "", "", 404)
	try("GET", "/open/"+size+"/"+part, "", "", 200)
	try("GET", "/open/999999/"+part, "", "", 404)
	try("GET", "/open/999999/key", "", "", 404)
	try("GET", "/open/proof/inclusion?seq=0&size="+size, "", "", 200)
	try("GET", "/open/proof/inclusion?seq=0&size=999999", "", "", 404)
	try("GET", "/open/proof/inclusion?seq=-1", "", "", 422)
	try("GET", "/open/proof/consistency?old=1&size="+size, "", "", 200)
	try("GET", "/open/proof/consistency?old=1&size=999999", "", "", 404)
	try("GET", "/open/proof/consistency", "", "", 422)

	for tmpl, item := range doc.raw["paths"].(map[string]any) {
		for method := range item.(map[string]any) {
			if !exercised[strings.ToUpper(method)+" "+tmpl] {
				t.Errorf("%s %s is documented but not exercised", strings.ToUpper(method), tmpl)
			}
		}
	}
}

// TestSchemaCheckerRefuses makes sure the checker above can fail.
func TestSchemaCheckerRefuses(t *testing.T) {
	h := MustOpenHub(t, hub.Config{WebhookPrivate: true})
	doc := loadOpenAPI(t, h)
	offer := map[string]any{"$ref": "#/components/schemas/Offer"}
	var v any
	json.Unmarshal([]byte(`{"id": 1, "quantity": "1.2345", "status": "lost", "posted_at": "yesterday", "extra": true}`), &v)
	errs := strings.Join(doc.check(offer, v, "offer"), "\n")
	for _, want := range []string{"offer.id: is float64", `"1.2345" does not match`, "lost is not one of", `"yesterday" is not a date-time`, `undocumented property "extra"`, `lacks required "council"`} {
		if !strings.Contains(errs, want) {
			t.Errorf("checker missed %q; said:\n%s", want, errs)
		}
	}
}
