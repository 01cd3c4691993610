package hub_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/hub"
)

// settleDuckDB writes an event (a volunteer's registration: what fell
// due by the clock retires at it), waits for DuckDB to commit it, and
// writes one more, whose batch lets the state drop what DuckDB now holds.
func (h *testHub) settleDuckDB(handle string) {
	h.t.Helper()
	for _, suffix := range []string{"-a", "-b"} {
		h.do("POST", "/api/v1/volunteers", "", `{"handle": "`+handle+suffix+`"}`).want(h.t, 201)
		if _, err := h.ledger.TreeHash(context.Background(), h.ledger.Size()); err != nil {
			h.t.Fatal(err)
		}
	}
}

// TestFinishedAgreementsOverHTTP: a cancelled agreement leaves the state
// at once, a received one when its receipt turns final (30 days on); both
// are still read, listed and refused over HTTP from DuckDB.
func TestFinishedAgreementsOverHTTP(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	kept := agreeFlour(t, h, "50")
	h.do("POST", "/api/v1/agreements/"+kept.id+"/receipt", kept.receiver, `{"quantity": "48"}`).want(t, 201)
	h.clock.Add(time.Second)
	// A second agreement between the same councils, cancelled.
	need := h.do("POST", "/api/v1/needs", kept.receiver, `{"item": "wheat-flour", "quantity": "20", "unit": "kg", "priority": 3}`).want(t, 201).str("need.id")
	if err := h.srv.RunMatching(context.Background()); err != nil {
		t.Fatal(err)
	}
	var proposal string
	for _, p := range h.do("GET", "/api/v1/proposals?council="+kept.bakers.ID, "", "").want(t, 200).get("proposals").([]any) {
		if p.(map[string]any)["need"] == need {
			proposal = p.(map[string]any)["id"].(string)
		}
	}
	h.do("POST", "/api/v1/proposals/"+proposal+"/accept", kept.provider, "").want(t, 200)
	gone := kept
	gone.id = h.do("POST", "/api/v1/proposals/"+proposal+"/accept", kept.receiver, "").want(t, 200).str("agreement.id")
	h.do("POST", "/api/v1/agreements/"+gone.id+"/cancel", gone.provider, "").want(t, 200)
	// At once, before DuckDB has it, the lists still show it.
	if got := len(h.do("GET", "/api/v1/agreements", "", "").want(t, 200).get("agreements").([]any)); got != 2 {
		t.Errorf("right after the cancellation, %d agreements listed, want 2", got)
	}
	if got := len(h.do("GET", "/api/v1/tasks", "", "").want(t, 200).get("tasks").([]any)); got != 2 {
		t.Errorf("right after the cancellation, %d tasks listed, want 2", got)
	}
	h.settleDuckDB("first")

	held := func(kind, id string) (holds, left bool) {
		h.ledger.Read(func(st *plenty.State) error { holds, left = st.Holds(kind, id), st.Gone(kind, id); return nil })
		return
	}
	if holds, left := held("agreement", gone.id); holds || !left {
		t.Fatalf("cancelled agreement: held %v, gone %v; want it gone", holds, left)
	}
	if holds, _ := held("agreement", kept.id); !holds {
		t.Fatal("the received agreement left before its receipt turned final")
	}
	r := h.do("GET", "/api/v1/agreements/"+gone.id, "", "").want(t, 200)
	if r.str("agreement.status") != "cancelled" || r.str("agreement.unit") != "kg" || r.str("agreement.task_status") != "cancelled" {
		t.Errorf("GET of a cancelled agreement = %s", r.Raw)
	}
	if r := h.do("GET", "/api/v1/tasks/"+plenty.TaskID(gone.id), "", "").want(t, 200); r.str("task.status") != "cancelled" || r.str("task.provider.name") != "Mill" {
		t.Errorf("GET of its task = %s", r.Raw)
	}
	if r := h.do("POST", "/api/v1/agreements/"+gone.id+"/cancel", gone.receiver, "").want(t, 409); !strings.Contains(string(r.Raw), "cancelled, not active") {
		t.Errorf("second cancel: %s", r.Raw)
	}
	h.do("POST", "/api/v1/agreements/"+gone.id+"/receipt", gone.receiver, `{"quantity": "1"}`).want(t, 409)

	// A month on, the receipt is final: it cannot be corrected, and the
	// agreement, its task and its transfer are read from DuckDB.
	h.clock.Add(plenty.DefaultCorrectionWindow + time.Minute)
	receipt := plenty.TransferID(kept.id)
	h.settleDuckDB("second")
	if holds, left := held("agreement", kept.id); holds || !left {
		t.Fatalf("received agreement a month on: held %v, gone %v; want it gone", holds, left)
	}
	if holds, left := held("transfer", receipt); holds || !left {
		t.Fatalf("its receipt: held %v, gone %v; want it gone", holds, left)
	}
	r = h.do("GET", "/api/v1/agreements/"+kept.id, "", "").want(t, 200)
	if r.str("agreement.status") != "received" || r.str("agreement.received") != "48" || r.str("agreement.task_status") != "closed" {
		t.Errorf("GET of a finished agreement = %s", r.Raw)
	}
	// A delegate in force (the first ones' mandates ran out meanwhile).
	fresh := h.do("POST", "/api/v1/councils/"+kept.bakers.ID+"/delegates", kept.bakers.Assembly,
		`{"label": "later", "mandate": "confirm receipts", "scopes": ["accept"]}`).want(t, 201).str("delegate.token")
	if r := h.do("POST", "/api/v1/transfers/"+receipt+"/correction", fresh, `{"quantity": "50"}`).want(t, 409); !strings.Contains(string(r.Raw), "is final") {
		t.Errorf("late correction: %s", r.Raw)
	}
	if n := h.kinds()[plenty.KindCorrectionRecorded]; n != 0 {
		t.Errorf("a refused correction wrote %d events", n)
	}

	// Lists page through both, newest first, from the state and DuckDB.
	var seen []string
	cursor := ""
	for page := 0; page < 5; page++ {
		r := h.do("GET", "/api/v1/agreements?limit=1&cursor="+cursor, "", "").want(t, 200)
		for _, a := range r.get("agreements").([]any) {
			seen = append(seen, a.(map[string]any)["id"].(string)+":"+a.(map[string]any)["status"].(string))
		}
		if cursor = r.str("next_cursor"); cursor == "" {
			break
		}
	}
	if got, want := strings.Join(seen, ","), gone.id+":cancelled,"+kept.id+":received"; got != want {
		t.Errorf("agreements: %s, want %s", got, want)
	}
	tasks := h.do("GET", "/api/v1/tasks", "", "").want(t, 200).get("tasks").([]any)
	if len(tasks) != 2 {
		t.Errorf("tasks: %d, want both ended ones", len(tasks))
	}
	if open := h.do("GET", "/api/v1/tasks?status=open", "", "").want(t, 200).get("tasks").([]any); len(open) != 0 {
		t.Errorf("open tasks: %v", open)
	}
	h.do("GET", "/api/v1/agreements?cursor=x", "", "").want(t, 422)
	h.do("GET", "/api/v1/agreements/ag_nope", "", "").want(t, 404)

	// The public pages still show the final transfer and the flow.
	home := h.do("GET", "/", "", "").want(t, 200)
	if !strings.Contains(string(home.Raw), "48 kg") {
		t.Errorf("the home page lost the final transfer")
	}
}

// TestRecentDeliveriesLatestFirst: a volunteer's board lists the tasks it
// dropped off, the latest first, those whose agreement finished and left
// the state read from DuckDB.
func TestRecentDeliveriesLatestFirst(t *testing.T) {
	h := MustOpenHub(t, hub.Config{CorrectionWindow: time.Hour})
	mill, bakers := h.register("Mill"), h.register("Bakers")
	vid, vtok := h.volunteer("Ada", "", mill)
	var tasks []string
	for i := 0; i < 3; i++ {
		h.do("POST", "/api/v1/offers", mill.Token, flourOffer).want(t, 201)
		need := h.do("POST", "/api/v1/needs", bakers.Token, `{"item": "wheat-flour", "quantity": "10", "unit": "kg", "priority": 3}`).want(t, 201).str("need.id")
		if err := h.srv.RunMatching(context.Background()); err != nil {
			t.Fatal(err)
		}
		var p string
		for _, x := range h.do("GET", "/api/v1/proposals?council="+bakers.ID, "", "").want(t, 200).get("proposals").([]any) {
			if x.(map[string]any)["need"] == need {
				p = x.(map[string]any)["id"].(string)
			}
		}
		h.do("POST", "/api/v1/proposals/"+p+"/accept", mill.Token, "").want(t, 200)
		ag := h.do("POST", "/api/v1/proposals/"+p+"/accept", bakers.Token, "").want(t, 200).str("agreement.id")
		x := exchange{mill: mill, bakers: bakers, agreement: ag, task: plenty.TaskID(ag)}
		drawn, _ := h.draw(x, vol{vid, vtok})
		h.do("POST", "/api/v1/tasks/"+x.task+"/pickup", drawn, "").want(t, 200)
		h.clock.Add(time.Minute)
		h.do("POST", "/api/v1/tasks/"+x.task+"/dropoff", drawn, "").want(t, 200)
		h.do("POST", "/api/v1/agreements/"+ag+"/receipt", bakers.Token, `{"quantity": "10"}`).want(t, 201)
		tasks = append(tasks, x.task)
		if i == 0 {
			// The first one's receipt turns final: it leaves the state.
			h.clock.Add(2 * time.Hour)
		}
	}
	h.settleDuckDB("later")
	var held bool
	h.ledger.Read(func(st *plenty.State) error { held = st.Holds("task", tasks[0]); return nil })
	if held {
		t.Fatal("the first task is still held after its receipt turned final")
	}
	ctx := context.Background()
	for _, tc := range []struct {
		n    int
		want []string
	}{{2, []string{tasks[2], tasks[1]}}, {5, []string{tasks[2], tasks[1], tasks[0]}}, {0, nil}} {
		got, err := h.ledger.RecentDeliveries(ctx, vid, tc.n)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, x := range got {
			ids = append(ids, x.ID)
		}
		if !slices.Equal(ids, tc.want) {
			t.Errorf("RecentDeliveries(%d) = %v, want %v", tc.n, ids, tc.want)
		}
	}
	if got, _ := h.ledger.RecentDeliveries(ctx, "v_nobody", 5); len(got) != 0 {
		t.Errorf("a volunteer who delivered nothing has %d deliveries", len(got))
	}
}
