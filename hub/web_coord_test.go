package hub_test

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plentyhub/plenty/hub"
)

// The desk and the board show an agreement's private thread with its
// details, say who reads it and for how long, and take messages by form;
// the desk says when a webhook was paused.
func TestWebThread(t *testing.T) {
	h := MustServeHub(t, hub.Config{WebhookPrivate: true, WebhookTimeout: 100 * time.Millisecond, WebhookRetryBase: time.Millisecond,
		WebhookRetryMax: 2 * time.Millisecond, WebhookRetryFor: 3 * time.Millisecond})
	x := h.agree()
	// A webhook to a port where nothing listens fails and is paused.
	h.call("POST", "/api/v1/councils/"+x.mill.ID+"/webhooks", x.mill.Token, `{"url": "http://127.0.0.1:1/", "events": ["*"]}`).want(t, 201)
	vid, vt := h.volunteer("Ada", "", x.mill)
	drawn, _ := h.draw(x, vol{vid, vt})

	b := h.browser()
	desk := b.signIn(t, x.mill.Token)
	thread := desk.textOf(t, "thread-"+x.agreement)
	for _, want := range []string{pickupPlace, "Mon-Fri 8-12", dropoffWho, "Only the delegates of the two councils and the volunteer drawn", "deleted 14 days after the agreement ends"} {
		if !strings.Contains(thread, want) {
			t.Errorf("desk thread lacks %q: %s", want, thread)
		}
	}
	action := "/desk/agreements/" + x.agreement + "/messages"
	after := b.post(action, url.Values{"csrf": {desk.value(t, action, "csrf")}, "text": {"Back gate after 9, please"}}).want(t, 200)
	if got := after.textOf(t, "thread-"+x.agreement); !strings.Contains(got, "Mill") || !strings.Contains(got, "Back gate after 9, please") {
		t.Fatalf("thread after posting: %s", got)
	}
	if r := h.call("GET", "/api/v1/agreements/"+x.agreement+"/messages", drawn, "").want(t, 200); r.str("messages.0.text") != "Back gate after 9, please" {
		t.Fatalf("the API reads %s", r.Raw)
	}
	refused := b.post(action, url.Values{"csrf": {desk.value(t, action, "csrf")}, "text": {"  "}}).want(t, 422)
	if !strings.Contains(text(refused.Doc), "text must not be empty") {
		t.Fatalf("an empty message was not refused clearly: %s", text(refused.Doc))
	}

	// The volunteer's board shows the thread and the pickup deadline.
	v := h.browser()
	signin := v.get("/volunteer").want(t, 200)
	board := v.post("/volunteer/signin", url.Values{"csrf": {signin.value(t, "/volunteer/signin", "csrf")}, "token": {drawn}}).want(t, 200)
	task := board.textOf(t, "task-"+x.task)
	for _, want := range []string{pickupPlace, dropoffWho, "Back gate after 9, please", "pick it up by"} {
		if !strings.Contains(task, want) {
			t.Errorf("board task lacks %q: %s", want, task)
		}
	}
	vaction := "/volunteer/agreements/" + x.agreement + "/messages"
	board = v.post(vaction, url.Values{"csrf": {board.value(t, vaction, "csrf")}, "text": {"On my way at 10"}}).want(t, 200)
	if got := board.textOf(t, "thread-"+x.agreement); !strings.Contains(got, "Ada") || !strings.Contains(got, "On my way at 10") {
		t.Fatalf("board thread after posting: %s", got)
	}

	// The desk's offer form takes private pickup details, which reach the
	// thread of the agreement and no public answer.
	offerAction := "/desk/offers"
	posted := b.post(offerAction, url.Values{"csrf": {desk.value(t, offerAction, "csrf")}, "idem": {desk.value(t, offerAction, "idem")},
		"item": {"wheat-flour"}, "quantity": {"5"}, "unit": {"kg"}, "private.place": {"side door-44aa"}, "private.hours": {"noon"}}).want(t, 200)
	if strings.Contains(text(posted.Doc), "side door-44aa") {
		t.Fatalf("the desk shows a posting's private details outside a thread")
	}
	if r := h.call("GET", "/api/v1/offers?council="+x.mill.ID, "", "").want(t, 200); strings.Contains(string(r.Raw), "44aa") {
		t.Fatalf("the offers list shows private details: %s", r.Raw)
	}
	if found := grepTree(t, filepath.Join(h.ledger.Dir(), "private", "postings"), "side door-44aa"); len(found) != 1 {
		t.Fatalf("the private details are in %v, want one posting record", found)
	}

	// The paused webhook is on the desk.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if r := h.call("GET", "/api/v1/councils/"+x.mill.ID+"/webhooks", x.mill.Token, "").want(t, 200); r.str("webhooks.0.status") == "paused" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the webhook to a closed port was not paused")
		}
	}
	desk = b.get("/desk").want(t, 200)
	if got := text(desk.Doc); !strings.Contains(got, "is paused since") || !strings.Contains(got, "127.0.0.1:1") {
		t.Fatalf("the desk does not say the webhook is paused: %s", got)
	}

	if got := b.get("/open").want(t, 200).textOf(t, "not-published"); !strings.Contains(got, "private thread") || !strings.Contains(got, "deleted 14 days after the agreement ends") {
		t.Fatalf("the open-data page says of what is private: %s", got)
	}
}
