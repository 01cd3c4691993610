package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/federation"
)

// copyDir copies a stopped hub's data folder.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		dst := filepath.Join(to, rel)
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(target, dst)
		}
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		info, _ := d.Info()
		return os.WriteFile(dst, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// addCheckpoint posts a tlog-witness request and returns the status and
// body.
func addCheckpoint(t *testing.T, url string, req *federation.AddCheckpoint) (int, string, string) {
	t.Helper()
	resp, err := http.Post(url+"/fed/v1/add-checkpoint", "text/plain", bytes.NewReader(req.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header.Get("Content-Type")
}

// consistencyProof asks a hub for a proof between two of its sizes.
func consistencyProof(t *testing.T, h *hubProc, old, size int64) tlog.TreeProof {
	t.Helper()
	var p struct{ Proof []string }
	getJSON(t, fmt.Sprintf("%s/open/proof/consistency?old=%d&size=%d", h.url, old, size), &p)
	var out tlog.TreeProof
	for _, s := range p.Proof {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tlog.Hash(b))
	}
	return out
}

// openCheckpoint checks a note against a log key and reads it.
func openCheckpoint(t *testing.T, signed, key string) plenty.Checkpoint {
	t.Helper()
	v, err := note.NewVerifier(key)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open([]byte(signed), note.VerifierList(v))
	if err != nil {
		t.Fatalf("the note does not verify under %s: %v\n%s", v.Name(), err, signed)
	}
	cp, err := plenty.ParseCheckpoint(n.Text)
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

// ownEvents reads every event of a hub's own log through its tiles.
func ownEvents(t *testing.T, h *hubProc) []plenty.Event {
	t.Helper()
	n := size(t, h)
	var out []plenty.Event
	for start := int64(0); start < n; start += federation.TileWidth {
		w := min(n-start, federation.TileWidth)
		tile := tlog.Tile{H: federation.TileHeight, L: -1, N: start / federation.TileWidth, W: int(w)}
		code, body := get(t, h.url+"/open/"+federation.TilePath(tile))
		if code != 200 {
			t.Fatalf("%s bundle %s: %d %s", h.name, federation.TilePath(tile), code, body)
		}
		bodies, err := federation.SplitBundle(body)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bodies {
			ev, err := plenty.DecodeEvent(b)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, ev)
		}
	}
	return out
}

// evidenceIn returns the federation.evidence events of a hub's log.
func evidenceIn(t *testing.T, h *hubProc) []plenty.FederationEvidence {
	t.Helper()
	var out []plenty.FederationEvidence
	for _, ev := range ownEvents(t, h) {
		if ev.Kind != plenty.KindFederationEvidence {
			continue
		}
		var d plenty.FederationEvidence
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// checkForkEvidence asserts that a witness recorded evidence of the kind
// whose two notes verify under the log key and are not consistent.
func checkForkEvidence(t *testing.T, w *hubProc, origin, logKey, kind string) plenty.FederationEvidence {
	t.Helper()
	var evs []plenty.FederationEvidence
	eventually(t, w.name+" records "+kind+" evidence", 30*time.Second, func() (bool, string) {
		evs = evidenceIn(t, w)
		return len(evs) > 0, fmt.Sprint(neighbourOf(t, w, origin))
	})
	if len(evs) != 1 {
		t.Fatalf("%s recorded %d pieces of evidence, want 1: %+v", w.name, len(evs), evs)
	}
	e := evs[0]
	if e.Kind != kind || e.Origin != origin || e.Log != logKey || len(e.Notes) != 2 {
		t.Fatalf("%s's evidence = %+v", w.name, e)
	}
	a, b := openCheckpoint(t, e.Notes[0], logKey), openCheckpoint(t, e.Notes[1], logKey)
	if a.Size == b.Size && a.Root == b.Root {
		t.Fatalf("the two notes are the same checkpoint: %+v", a)
	}
	nb := neighbourOf(t, w, origin)
	if want := map[string]string{"fork": "fork", "split-view": "fork", "rollback": "rollback"}[kind]; nb["status"] != want {
		t.Fatalf("%s's status of %s = %v, want %s", w.name, origin, nb["status"], want)
	}
	if int64(nb["size"].(float64)) != a.Size {
		t.Fatalf("%s's witnessed size of %s is %v, not the %d of the witnessed note in its evidence", w.name, origin, nb["size"], a.Size)
	}
	return e
}

func TestFederationFork(t *testing.T) {
	t.Parallel()
	tr := startTrio(t)
	growHub(t, tr.a, 3, "before")
	tr.cosignedBy(t, tr.quorum, size(t, tr.a))

	// A copy of A's data folder, taken while A is stopped.
	tr.a.stop()
	copyAt := filepath.Join(t.TempDir(), "a-copy")
	copyDir(t, tr.a.dir, copyAt)
	tr.a.start()

	// A grows and is cosigned by both witnesses.
	growHub(t, tr.a, 3, "honest")
	witnessed := size(t, tr.a)
	tr.cosignedBy(t, tr.quorum, witnessed)
	for _, w := range []*hubProc{tr.b, tr.c} {
		eventually(t, w.name+" witnessed A", 20*time.Second, func() (bool, string) {
			nb := neighbourOf(t, w, tr.aOrigin)
			return int64(nb["size"].(float64)) == witnessed, fmt.Sprint(nb)
		})
	}

	// A is replaced by its old copy, under the same key and URL, which
	// writes another history, longer than the one witnessed.
	// It is grown on another port first: served at A's URL with its old
	// checkpoint, the witnesses would see a rollback rather than a fork.
	tr.a.stop()
	port := tr.a.port
	tr.a.dir, tr.a.port = copyAt, freePort(t)
	tr.a.url = fmt.Sprintf("http://127.0.0.1:%d", tr.a.port)
	tr.a.start()
	growHub(t, tr.a, 6, "forked")
	forked := size(t, tr.a)
	// Its latest snapshot must cover the whole fork: served at A's URL, an
	// older one would show the witnesses a rollback.
	eventually(t, "the fork's snapshot", 20*time.Second, func() (bool, string) {
		_, cp := get(t, tr.a.url+"/open/checkpoint")
		return openCheckpoint(t, string(cp), tr.aLog).Size == forked, string(cp)
	})
	tr.a.stop()
	tr.a.port, tr.a.url = port, fmt.Sprintf("http://127.0.0.1:%d", port)
	tr.a.start()
	if forked <= witnessed {
		t.Fatalf("the fork has %d events, not more than the %d witnessed", forked, witnessed)
	}
	var cp []byte
	eventually(t, "the fork's checkpoint", 20*time.Second, func() (bool, string) {
		_, cp = get(t, tr.a.url+"/open/checkpoint")
		return openCheckpoint(t, string(cp), tr.aLog).Size == forked, string(cp)
	})

	// Its pushes: from an old size, 409 with the witnessed size; from the
	// witnessed size, no proof of its history verifies: 422.
	proof := consistencyProof(t, tr.a, witnessed, forked)
	for _, w := range []*hubProc{tr.b, tr.c} {
		code, body, ct := addCheckpoint(t, w.url, &federation.AddCheckpoint{Old: 0, Checkpoint: cp})
		if code != 409 || body != fmt.Sprintf("%d\n", witnessed) || ct != "text/x.tlog.size" {
			t.Fatalf("%s answered the push from old 0 with %d %q (%s), want 409 %d", w.name, code, body, ct, witnessed)
		}
		code, body, _ = addCheckpoint(t, w.url, &federation.AddCheckpoint{Old: witnessed, Proof: proof, Checkpoint: cp})
		if code != 422 {
			t.Fatalf("%s answered the push from old %d with %d %q, want 422", w.name, witnessed, code, body)
		}
	}

	// Both witnesses record the fork with the two notes, and stay where
	// they were.
	for _, w := range []*hubProc{tr.b, tr.c} {
		checkForkEvidence(t, w, tr.aOrigin, tr.aLog, plenty.EvidenceFork)
		if nb := neighbourOf(t, w, tr.aOrigin); int64(nb["size"].(float64)) != witnessed {
			t.Fatalf("%s moved to %v after the fork", w.name, nb["size"])
		}
		// No cosignature for the fork, even from the witnessed size.
		code, _, _ := addCheckpoint(t, w.url, &federation.AddCheckpoint{Old: witnessed, Proof: proof, Checkpoint: cp})
		if code != 422 {
			t.Fatalf("%s answered %d after recording the fork", w.name, code)
		}
	}
	code, out := runPlenty(t, "verify", tr.a.url, "--policy", tr.anyOne)
	if code != 1 || !strings.Contains(out, "no quorum") {
		t.Fatalf("verify of the fork with a policy: exit %d, want 1 for no quorum:\n%s", code, out)
	}
}
