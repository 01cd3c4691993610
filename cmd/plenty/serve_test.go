package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// MustOpenMain starts the real hub on a free port with a data folder, and
// stops it when the test ends.
func MustOpenMain(t *testing.T, dir string, args ...string) (*Main, string) {
	t.Helper()
	m := &Main{}
	if err := m.ParseFlags(append([]string{"--data", dir, "--addr", "127.0.0.1:0"}, args...), io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := m.Open(slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	return m, "http://" + m.Listener().Addr().String()
}

// call sends one request and decodes the JSON answer.
func call(t *testing.T, method, url, token, body string, want int) map[string]any {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, url, res.StatusCode, want, raw)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %v: %s", method, url, err, raw)
	}
	return out
}

func field(m map[string]any, path ...string) any {
	var v any = m
	for _, k := range path {
		mm, _ := v.(map[string]any)
		v = mm[k]
	}
	return v
}

func TestServeEndToEnd(t *testing.T) {
	dir := t.TempDir()
	m, base := MustOpenMain(t, dir)
	api := base + "/api/v1"

	if h := call(t, "GET", base+"/healthz", "", "", 200); h["status"] != "ok" {
		t.Fatalf("healthz = %v", h)
	}
	reg := call(t, "POST", api+"/councils", "", `{"name": "Riverside Bakers", "sector": "food", "place": "Riverside",
		"location": {"lat": 51.4613, "lon": -0.1156}}`, 201)
	council := field(reg, "council", "id").(string)
	first := field(reg, "delegate", "token").(string)

	second := call(t, "POST", api+"/councils/"+council+"/delegates", first,
		`{"label": "Ana", "mandate": "post our flour surplus", "scopes": ["post"]}`, 201)
	secondID := field(second, "delegate", "id").(string)
	secondToken := field(second, "delegate", "token").(string)

	offer := call(t, "POST", api+"/offers", secondToken, `{"item": "wheat-flour", "quantity": "250", "unit": "kg",
		"available_until": "2099-12-20T00:00:00Z", "max_distance_km": 40, "note": "stone-milled"}`, 422)
	if field(offer, "errors") == nil {
		t.Fatalf("a window beyond a year was not named: %v", offer)
	}
	call(t, "POST", api+"/offers", secondToken, `{"item": "wheat-flour", "quantity": "250", "unit": "kg",
		"available_until": "2099-12-20T00:00:00Z", "expires_at": "2099-12-20T00:00:00Z"}`, 422)
	offer = call(t, "POST", api+"/offers", secondToken, `{"item": "wheat-flour", "quantity": "250", "unit": "kg",
		"max_distance_km": 40, "note": "stone-milled"}`, 201)
	offerID := field(offer, "offer", "id").(string)
	need := call(t, "POST", api+"/needs", secondToken, `{"item": "wheat-flour", "quantity": "80.5", "unit": "kg", "priority": 4}`, 201)
	if field(need, "need", "quantity") != "80.5" {
		t.Errorf("need = %v", need)
	}

	list := call(t, "GET", api+"/offers?council="+council+"&status=open", "", "", 200)
	if offers := list["offers"].([]any); len(offers) != 1 || offers[0].(map[string]any)["id"] != offerID {
		t.Fatalf("open offers = %v", list)
	}
	w := call(t, "POST", api+"/offers/"+offerID+"/withdraw", secondToken, "", 200)
	if field(w, "offer", "status") != "withdrawn" {
		t.Errorf("withdrawn = %v", w)
	}
	list = call(t, "GET", api+"/offers?council="+council+"&status=open", "", "", 200)
	if offers := list["offers"].([]any); len(offers) != 0 {
		t.Fatalf("open offers after withdrawal = %v", list)
	}

	call(t, "DELETE", api+"/councils/"+council+"/delegates/"+secondID, first, "", 200)
	call(t, "POST", api+"/needs", secondToken, `{"item": "wheat-flour", "quantity": "1", "unit": "kg"}`, 401)

	pub := call(t, "GET", api+"/councils/"+council, "", "", 200)
	if ds := pub["delegates"].([]any); len(ds) != 2 || ds[1].(map[string]any)["recalled_at"] == nil && ds[0].(map[string]any)["recalled_at"] == nil {
		t.Errorf("public record = %v", pub)
	}

	// Everything acknowledged survives a restart, with a final checkpoint.
	size := m.Ledger.Size()
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "checkpoint")); err != nil {
		t.Errorf("no final checkpoint: %v", err)
	}
	m2, base2 := MustOpenMain(t, dir)
	if m2.Ledger.Size() != size {
		t.Errorf("after restart the ledger holds %d events, want %d", m2.Ledger.Size(), size)
	}
	got := call(t, "GET", base2+"/api/v1/offers/"+offerID, "", "", 200)
	if field(got, "offer", "status") != "withdrawn" {
		t.Errorf("after restart: %v", got)
	}
}

func TestServeDemo(t *testing.T) {
	dir := t.TempDir()
	m, base := MustOpenMain(t, dir, "--demo")
	cs := call(t, "GET", base+"/api/v1/councils", "", "", 200)
	if n := len(cs["councils"].([]any)); n < 36 {
		t.Errorf("demo has %d councils", n)
	}
	needs := call(t, "GET", base+"/api/v1/needs?item=wheat-flour&status=open", "", "", 200)
	if len(needs["needs"].([]any)) == 0 {
		t.Error("demo has no open needs of wheat-flour")
	}
	tokens, err := os.ReadFile(filepath.Join(dir, "demo-tokens.txt"))
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Split(string(tokens), "\n")[1]
	cols := strings.Split(line, "\t")
	call(t, "POST", base+"/api/v1/offers", cols[2], `{"item": "oats", "quantity": "5", "unit": "kg"}`, 201)
	if m.LotteryWindow != 10*time.Minute {
		t.Errorf("--lottery-window default %v", m.LotteryWindow)
	}
	if m.MessageTTL != 336*time.Hour {
		t.Errorf("--message-ttl default %v", m.MessageTTL)
	}
	// The history shows in the figures.
	f := call(t, "GET", base+"/api/v1/figures", "", "", 200)
	if d, _ := field(f, "figures", "deliveries").(float64); d == 0 {
		t.Errorf("figures of a demo hub show no deliveries: %v", f["figures"])
	}
	// The hub's timers may still record what falls due while it runs: the
	// size that counts is the one it closed at.
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	size := m.Ledger.Size()

	// Restarted with --demo while the tokens hold: nothing is written.
	m2, _ := MustOpenMain(t, dir, "--demo")
	if m2.Ledger.Size() != size {
		t.Errorf("a restart with valid demo tokens wrote %d events", m2.Ledger.Size()-size)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "demo-tokens.txt")); string(again) != string(tokens) {
		t.Error("a restart with valid demo tokens rewrote demo-tokens.txt")
	}
	m2.Close(context.Background())

	// Eight days later the old tokens have expired: the hub renews them.
	m3 := &Main{Now: func() time.Time { return time.Now().Add(8 * 24 * time.Hour) }}
	if err := m3.ParseFlags([]string{"--data", dir, "--addr", "127.0.0.1:0", "--demo"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := m3.Open(slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	defer m3.Close(context.Background())
	renewed, _ := os.ReadFile(filepath.Join(dir, "demo-tokens.txt"))
	cols3 := strings.Split(strings.Split(string(renewed), "\n")[1], "\t")
	if cols3[2] == cols[2] || cols3[0] != cols[0] {
		t.Fatalf("after a week the demo tokens were not renewed: %q", strings.Split(string(renewed), "\n")[1])
	}
	base3 := "http://" + m3.Listener().Addr().String()
	call(t, "POST", base3+"/api/v1/offers", cols3[2], `{"item": "oats", "quantity": "5", "unit": "kg"}`, 201)
	call(t, "POST", base3+"/api/v1/offers", cols[2], `{"item": "oats", "quantity": "5", "unit": "kg"}`, 401)
}

// --message-ttl sets how long an agreement's private thread outlives the
// agreement: a thread is gone from the data folder one hour after the
// receipt with --message-ttl 1h.
func TestServeMessageTTL(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	now := time.Now().UTC()
	m := &Main{Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }}
	if err := m.ParseFlags([]string{"--data", dir, "--addr", "127.0.0.1:0", "--message-ttl", "1h"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if m.MessageTTL != time.Hour {
		t.Fatalf("--message-ttl 1h read as %v", m.MessageTTL)
	}
	if err := m.Open(slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	api := "http://" + m.Listener().Addr().String() + "/api/v1"
	register := func(name string) (string, string) {
		r := call(t, "POST", api+"/councils", "", `{"name": "`+name+`", "sector": "food", "place": "Riverside",
			"location": {"lat": 51.4613, "lon": -0.1156}}`, 201)
		return field(r, "council", "id").(string), field(r, "delegate", "token").(string)
	}
	_, mill := register("Mill")
	bakersID, bakers := register("Bakers")
	call(t, "POST", api+"/offers", mill, `{"item": "wheat-flour", "quantity": "10", "unit": "kg", "private": {"place": "yard-3f9e"}}`, 201)
	call(t, "POST", api+"/needs", bakers, `{"item": "wheat-flour", "quantity": "10", "unit": "kg"}`, 201)
	var proposal string
	for deadline := time.Now().Add(20 * time.Second); proposal == ""; time.Sleep(10 * time.Millisecond) {
		ps := call(t, "GET", api+"/proposals?council="+bakersID, "", "", 200)["proposals"].([]any)
		if len(ps) > 0 {
			proposal = ps[0].(map[string]any)["id"].(string)
		}
		if time.Now().After(deadline) {
			t.Fatal("no proposal within 20 s")
		}
	}
	call(t, "POST", api+"/proposals/"+proposal+"/accept", mill, "", 200)
	ag := field(call(t, "POST", api+"/proposals/"+proposal+"/accept", bakers, "", 200), "agreement", "id").(string)
	call(t, "POST", api+"/agreements/"+ag+"/messages", bakers, `{"text": "kitchen door-3f9e"}`, 201)
	call(t, "POST", api+"/agreements/"+ag+"/receipt", bakers, `{"quantity": "10"}`, 201)
	file := filepath.Join(dir, "private", "threads", ag+".json")
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("thread file: %v", err)
	}
	mu.Lock()
	now = now.Add(59 * time.Minute)
	mu.Unlock()
	if err := m.Server.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("thread deleted before its hour: %v", err)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	if err := m.Server.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("thread file an hour after the receipt: %v", err)
	}
	if th := call(t, "GET", api+"/agreements/"+ag+"/messages", bakers, "", 200); len(th["messages"].([]any)) != 0 || th["pickup"] != nil {
		t.Fatalf("thread after its time = %v", th)
	}
}

func TestServeTimezoneFlag(t *testing.T) {
	m := &Main{}
	if err := m.ParseFlags([]string{"--timezone", "Europe/London"}, io.Discard); err != nil || m.Location.String() != "Europe/London" {
		t.Fatalf("--timezone Europe/London: %v, %v", m.Location, err)
	}
	if err := m.ParseFlags(nil, io.Discard); err != nil || m.Location != time.Local {
		t.Fatalf("no --timezone: %v, %v; want the machine's", m.Location, err)
	}
	var stderr strings.Builder
	if err := m.ParseFlags([]string{"--timezone", "Mars/Olympus"}, &stderr); err == nil ||
		!strings.Contains(stderr.String(), `--timezone "Mars/Olympus": not a time zone name such as Europe/London`) {
		t.Fatalf("a wrong zone: %v, %q", err, stderr.String())
	}
	if code := run([]string{"serve", "--timezone", "Mars/Olympus"}, nil, io.Discard, io.Discard); code != 2 {
		t.Errorf("serve with a wrong zone exits %d, want 2", code)
	}
}

func TestTrustedProxyFlag(t *testing.T) {
	var m Main
	if err := m.ParseFlags([]string{"--trusted-proxy", "10.0.0.5", "--trusted-proxy", "192.168.7.0/24", "--trusted-proxy", "::ffff:10.1.2.3"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if m.CorrectionWindow != 30*24*time.Hour {
		t.Errorf("default correction window %s, want 720h", m.CorrectionWindow)
	}
	var got []string
	for _, p := range m.TrustedProxies {
		got = append(got, p.String())
	}
	if want := "10.0.0.5/32 192.168.7.0/24 10.1.2.3/32"; strings.Join(got, " ") != want {
		t.Errorf("trusted proxies %v, want %s", got, want)
	}
	var stderr strings.Builder
	if err := (&Main{}).ParseFlags([]string{"--trusted-proxy", "proxy.local"}, &stderr); err == nil || !strings.Contains(stderr.String(), "neither an address") {
		t.Errorf("a name is accepted as a proxy: %v, %q", err, stderr.String())
	}
}
