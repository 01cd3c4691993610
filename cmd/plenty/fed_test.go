package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The federation tests run real `plenty serve` processes: the binary is
// built once into a temporary folder.
var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func plentyBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "plenty-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "plenty")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// freePort returns a port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// lockedBuffer collects a process's log.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// hubProc is one `plenty serve` process on 127.0.0.1.
type hubProc struct {
	t    *testing.T
	name string
	dir  string
	port int
	url  string
	args []string
	cmd  *exec.Cmd
	log  *lockedBuffer
	done chan struct{}
}

// startHub starts `plenty serve` on the data folder dir and waits until it
// answers.
func startHub(t *testing.T, name, dir string, port int, args ...string) *hubProc {
	t.Helper()
	h := &hubProc{t: t, name: name, dir: dir, port: port, url: fmt.Sprintf("http://127.0.0.1:%d", port), args: args}
	h.start()
	t.Cleanup(h.kill)
	return h
}

func (h *hubProc) start() {
	h.t.Helper()
	args := append([]string{"serve", "--data", h.dir, "--addr", fmt.Sprintf("127.0.0.1:%d", h.port)}, h.args...)
	h.cmd = exec.Command(plentyBinary(h.t), args...)
	h.log = &lockedBuffer{}
	h.cmd.Stdout, h.cmd.Stderr = h.log, h.log
	if err := h.cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.done = make(chan struct{})
	go func() { h.cmd.Wait(); close(h.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(h.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case <-h.done:
			h.t.Fatalf("%s exited at start: %s", h.name, h.log)
		default:
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s did not answer within 30 s: %s", h.name, h.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the process with SIGTERM and waits for it.
func (h *hubProc) stop() {
	h.t.Helper()
	h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.done:
	case <-time.After(20 * time.Second):
		h.cmd.Process.Kill()
		<-h.done
		h.t.Fatalf("%s did not stop on SIGTERM", h.name)
	}
}

// kill ends the process with SIGKILL, as a crash would.
func (h *hubProc) kill() {
	if h.cmd == nil || h.cmd.Process == nil {
		return
	}
	select {
	case <-h.done:
		return
	default:
	}
	h.cmd.Process.Kill()
	<-h.done
}

// get fetches a URL and returns the status and body.
func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	code, body := get(t, url)
	if code != 200 {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, body)
	}
}

// fedKeys reads a hub's keys.
func fedKeys(t *testing.T, h *hubProc) (origin, logKey, witness string) {
	t.Helper()
	var k struct{ Origin, Log, Witness string }
	getJSON(t, h.url+"/fed/v1/keys", &k)
	if k.Origin == "" || k.Log == "" || k.Witness == "" {
		t.Fatalf("%s keys = %+v", h.name, k)
	}
	return k.Origin, k.Log, k.Witness
}

// eventually polls cond until it holds or the time is up.
func eventually(t *testing.T, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last: %s", what, timeout, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runPlenty runs the binary and returns its exit code and output.
func runPlenty(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(plentyBinary(t), args...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

// neighbourOf returns a hub's status of its neighbour of the given origin.
func neighbourOf(t *testing.T, h *hubProc, origin string) map[string]any {
	t.Helper()
	var ns struct {
		Neighbours []map[string]any `json:"neighbours"`
	}
	getJSON(t, h.url+"/fed/v1/neighbours", &ns)
	for _, n := range ns.Neighbours {
		if n["origin"] == origin {
			return n
		}
	}
	t.Fatalf("%s has no neighbour %s: %v", h.name, origin, ns)
	return nil
}

// writeFile writes a test file.
func writeFile(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// postJSON posts a body and checks the status.
func postJSON(t *testing.T, url, token, body string, want int) map[string]any {
	t.Helper()
	return call(t, "POST", url, token, body, want)
}

// growHub registers councils with offers on a hub: 1 + 2 events each.
func growHub(t *testing.T, h *hubProc, councils int, tag string) {
	t.Helper()
	for i := 0; i < councils; i++ {
		reg := postJSON(t, h.url+"/api/v1/councils", "", fmt.Sprintf(`{"name": "Council %s %d", "sector": "food", "place": "Riverside",
			"location": {"lat": 51.46, "lon": -0.11}}`, tag, i), 201)
		token := field(reg, "delegate", "token").(string)
		postJSON(t, h.url+"/api/v1/offers", token, `{"item": "wheat-flour", "quantity": "25", "unit": "kg"}`, 201)
	}
}

// size returns a hub's ledger size.
func size(t *testing.T, h *hubProc) int64 {
	t.Helper()
	var hz struct{ Events int64 }
	getJSON(t, h.url+"/healthz", &hz)
	return hz.Events
}

var _ = strings.TrimSpace

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
