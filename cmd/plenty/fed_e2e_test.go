package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/federation"
)

// fedFlags are the serve flags that make the loops fast for tests.
var fedFlags = []string{"--pull-interval", "200ms", "--open-interval", "100ms", "--register-rate", "1000"}

// federation is three hubs where B and C mirror and witness A.
type trio struct {
	a, b, c             *hubProc
	aOrigin, aLog       string
	bWitness, cWitness  string
	quorum, anyOne      string // policy files: both of B and C; either
	aPolicy, bPol, cPol string
}

// startTrio starts A, B and C once to make their keys, then again with
// their neighbours files.
func startTrio(t *testing.T) *trio {
	root := t.TempDir()
	tr := &trio{}
	ports := [3]int{freePort(t), freePort(t), freePort(t)}
	names := [3]string{"a", "b", "c"}
	procs := [3]*hubProc{}
	for i, n := range names {
		procs[i] = startHub(t, n, filepath.Join(root, n), ports[i], "--origin", n+".test/plenty")
	}
	tr.a, tr.b, tr.c = procs[0], procs[1], procs[2]
	var bLog, cLog string
	tr.aOrigin, tr.aLog, _ = fedKeys(t, tr.a)
	_, bLog, tr.bWitness = fedKeys(t, tr.b)
	_, cLog, tr.cWitness = fedKeys(t, tr.c)
	_, _ = bLog, cLog
	for _, p := range procs {
		p.stop()
	}
	tr.aPolicy = writeFile(t, filepath.Join(root, "a.neighbours"), fmt.Sprintf(
		"# A is witnessed by B and C\nwitness b %s %s\nwitness c %s %s\n", tr.bWitness, tr.b.url, tr.cWitness, tr.c.url))
	tr.bPol = writeFile(t, filepath.Join(root, "b.neighbours"), fmt.Sprintf("log %s %s\n", tr.aLog, tr.a.url))
	tr.cPol = writeFile(t, filepath.Join(root, "c.neighbours"), fmt.Sprintf("log %s %s\n", tr.aLog, tr.a.url))
	tr.quorum = writeFile(t, filepath.Join(root, "quorum.policy"), fmt.Sprintf(
		"log %s\nwitness b %s\nwitness c %s\ngroup both all b c\nquorum both\n", tr.aLog, tr.bWitness, tr.cWitness))
	tr.anyOne = writeFile(t, filepath.Join(root, "any.policy"), fmt.Sprintf(
		"log %s\nwitness b %s\nwitness c %s\ngroup either any b c\nquorum either\n", tr.aLog, tr.bWitness, tr.cWitness))
	tr.a.args = append(append([]string{"--neighbours", tr.aPolicy}, fedFlags...), tr.a.args...)
	tr.b.args = append(append([]string{"--neighbours", tr.bPol}, fedFlags...), tr.b.args...)
	tr.c.args = append(append([]string{"--neighbours", tr.cPol}, fedFlags...), tr.c.args...)
	for _, p := range procs {
		p.start()
	}
	return tr
}

// cosignedBy waits until A's /open/checkpoint covers at least size events
// and carries the cosignatures the policy file's quorum asks for.
func (tr *trio) cosignedBy(t *testing.T, policyFile string, size int64) *federation.Result {
	t.Helper()
	p := mustPolicy(t, policyFile)
	var res *federation.Result
	eventually(t, "A's checkpoint cosigned by the quorum", 30*time.Second, func() (bool, string) {
		_, cp := get(t, tr.a.url+"/open/checkpoint")
		r, err := p.Verify(cp, 0, time.Now())
		if err != nil {
			return false, err.Error()
		}
		if r.Checkpoint.Size < size {
			return false, fmt.Sprintf("cosigned size %d < %d", r.Checkpoint.Size, size)
		}
		res = r
		return true, ""
	})
	return res
}

func mustPolicy(t *testing.T, path string) *federation.Policy {
	t.Helper()
	data := readFile(t, path)
	p, err := federation.ParsePolicy([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFederationEndToEnd(t *testing.T) {
	t.Parallel()
	tr := startTrio(t)
	growHub(t, tr.a, 5, "first")
	n := size(t, tr.a)
	res := tr.cosignedBy(t, tr.quorum, n)
	if len(res.Cosigners) != 2 {
		t.Fatalf("cosigners = %v", res.Cosigners)
	}

	// B's mirror of A verifies with A's key alone.
	nb := neighbourOf(t, tr.b, tr.aOrigin)
	if nb["status"] != "ok" || int64(nb["size"].(float64)) < n {
		t.Fatalf("B's view of A = %v", nb)
	}
	mirror := nb["mirror"].(string)
	if !strings.HasPrefix(mirror, tr.b.url+"/fed/v1/mirror/"+federation.OriginHash(tr.aOrigin)) {
		t.Fatalf("mirror = %q", mirror)
	}
	keyFile := writeFile(t, filepath.Join(t.TempDir(), "a.key"), tr.aLog+"\n")
	if code, out := runPlenty(t, "verify", mirror, "--key", keyFile); code != 0 || !strings.Contains(out, "ok: ") {
		t.Fatalf("verify B's mirror of A: exit %d\n%s", code, out)
	}
	// The entry bundles of the mirror are A's, byte for byte.
	codeA, bundleA := get(t, tr.a.url+"/open/tile/entries/000.p/"+fmt.Sprint(min(n, 255)))
	codeB, bundleB := get(t, mirror+"/open/tile/entries/000.p/"+fmt.Sprint(min(n, 255)))
	if codeA != 200 || codeB != 200 || string(bundleA) != string(bundleB) || len(bundleA) == 0 {
		t.Fatalf("entry bundles differ: A %d (%d bytes), B %d (%d bytes)", codeA, len(bundleA), codeB, len(bundleB))
	}

	// The public page shows the neighbour and its status.
	if code, page := get(t, tr.b.url+"/neighbours"); code != 200 || !strings.Contains(string(page), tr.aOrigin) || !strings.Contains(string(page), "<strong>ok</strong>") {
		t.Fatalf("B's neighbours page: %d\n%s", code, page)
	}

	// A verifies with the quorum policy.
	if code, out := runPlenty(t, "verify", tr.a.url, "--policy", tr.quorum, "--max-age", "1h"); code != 0 || !strings.Contains(out, "cosigned by 2 witnesses") {
		t.Fatalf("verify A --policy: exit %d\n%s", code, out)
	}

	// B is killed while A grows; restarted, it fetches only the new events.
	var before int64
	eventually(t, "B witnessed A", 20*time.Second, func() (bool, string) {
		nb := neighbourOf(t, tr.b, tr.aOrigin)
		before = int64(nb["size"].(float64))
		return before == size(t, tr.a), fmt.Sprint(nb)
	})
	tr.b.kill()
	growHub(t, tr.a, 4, "second")
	grown := size(t, tr.a)
	tr.cosignedBy(t, tr.anyOne, grown) // C alone keeps cosigning
	tr.b.start()
	eventually(t, "B caught up", 30*time.Second, func() (bool, string) {
		nb := neighbourOf(t, tr.b, tr.aOrigin)
		return int64(nb["size"].(float64)) == grown && nb["status"] == "ok", fmt.Sprint(nb)
	})
	want := fmt.Sprintf("from=%d to=%d", before, grown)
	if log := tr.b.log.String(); !strings.Contains(log, want) || strings.Contains(log, "from=0 ") {
		t.Fatalf("B's catch-up after the restart: want one %q and none from 0:\n%s", want, log)
	}
	tr.cosignedBy(t, tr.quorum, grown)

	// The checkpoint of the first size keeps its cosignatures after A moved
	// on, whether or not its snapshot is still published.
	code, old := get(t, fmt.Sprintf("%s/open/%d/checkpoint", tr.a.url, res.Checkpoint.Size))
	if r, err := mustPolicy(t, tr.quorum).Verify(old, 0, time.Now()); code != 200 || err != nil || r.Checkpoint.Size != res.Checkpoint.Size {
		t.Fatalf("/open/%d/checkpoint: %d %v\n%s", res.Checkpoint.Size, code, err, old)
	}

	// Each hub recorded its neighbours once, restarts included.
	for _, h := range []*hubProc{tr.a, tr.b} {
		var recorded []plenty.FederationNeighbours
		for _, ev := range ownEvents(t, h) {
			if ev.Kind == plenty.KindFederationNeighbours {
				var d plenty.FederationNeighbours
				if err := json.Unmarshal(ev.Data, &d); err != nil {
					t.Fatal(err)
				}
				recorded = append(recorded, d)
			}
		}
		if len(recorded) != 1 {
			t.Fatalf("%s recorded its neighbours %d times: %+v", h.name, len(recorded), recorded)
		}
		if h == tr.a && (len(recorded[0].Witnesses) != 2 || recorded[0].Witnesses[0].Key != tr.bWitness || len(recorded[0].Logs) != 0) {
			t.Fatalf("A recorded %+v", recorded[0])
		}
	}
	// A shows its witnesses' cosignatures.
	var an struct {
		Witnesses []map[string]any `json:"witnesses"`
	}
	eventually(t, "A's witnesses shown as ok", 20*time.Second, func() (bool, string) {
		getJSON(t, tr.a.url+"/fed/v1/neighbours", &an)
		ok := len(an.Witnesses) == 2
		for _, w := range an.Witnesses {
			ok = ok && w["status"] == "ok" && int64(w["size"].(float64)) >= grown && w["cosigned_at"] != nil
		}
		return ok, fmt.Sprint(an)
	})

	// A's machine is lost: its keys, kept apart, and B's mirror rebuild it,
	// and the witnesses go on cosigning it.
	tr.a.kill()
	lost := tr.a.dir
	tr.a.dir = filepath.Join(t.TempDir(), "a-restored")
	if err := os.MkdirAll(tr.a.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"hub.key", "hub.pub", "witness.key", "witness.pub"} {
		writeFile(t, filepath.Join(tr.a.dir, name), readFile(t, filepath.Join(lost, name)))
	}
	args := tr.a.args
	tr.a.args = append(append([]string{}, args...), "--restore-from", mirror)
	tr.a.start()
	tr.a.args = args
	if got := size(t, tr.a); got != grown {
		t.Fatalf("the restored hub holds %d events, want %d", got, grown)
	}
	if !strings.Contains(tr.a.log.String(), "rebuilt the data folder from a mirror") {
		t.Fatalf("A's log: %s", tr.a.log)
	}
	growHub(t, tr.a, 1, "after the restore")
	tr.cosignedBy(t, tr.quorum, size(t, tr.a))
	for _, w := range []*hubProc{tr.b, tr.c} {
		if nb := neighbourOf(t, w, tr.aOrigin); nb["evidence"] != nil {
			t.Fatalf("%s recorded evidence against the restored hub: %v", w.name, nb)
		}
	}
}
