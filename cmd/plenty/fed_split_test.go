package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plentyhub/plenty"
)

// TestFederationSplitView: A shows B one history and, through a copy under
// the same key at another address, shows C another. Neither witness sees
// both from A; each finds the other's view inconsistent with its own.
func TestFederationSplitView(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	a := startHub(t, "a", filepath.Join(root, "a"), freePort(t), "--origin", "a.test/plenty")
	b := startHub(t, "b", filepath.Join(root, "b"), freePort(t), "--origin", "b.test/plenty")
	c := startHub(t, "c", filepath.Join(root, "c"), freePort(t), "--origin", "c.test/plenty")
	aOrigin, aLog, _ := fedKeys(t, a)
	_, _, bWitness := fedKeys(t, b)
	_, _, cWitness := fedKeys(t, c)
	for _, h := range []*hubProc{a, b, c} {
		h.stop()
	}
	aCopy := startHubStopped(t, "a-copy", filepath.Join(root, "a-copy"), freePort(t))

	// A lists both witnesses; B mirrors A at its address, C at the copy's.
	aPolicy := writeFile(t, filepath.Join(root, "a.neighbours"), fmt.Sprintf("witness b %s %s\nwitness c %s %s\n", bWitness, b.url, cWitness, c.url))
	a.args = append([]string{"--neighbours", aPolicy}, fedFlags...)
	b.args = append([]string{"--neighbours", writeFile(t, filepath.Join(root, "b.neighbours"), fmt.Sprintf("log %s %s\n", aLog, a.url))}, fedFlags...)
	c.args = append([]string{"--neighbours", writeFile(t, filepath.Join(root, "c.neighbours"), fmt.Sprintf("log %s %s\n", aLog, aCopy.url))}, fedFlags...)
	aCopy.args = a.args

	a.start()
	b.start()
	growHub(t, a, 3, "shared")
	shared := size(t, a)
	eventually(t, "B witnessed A", 20*time.Second, func() (bool, string) {
		nb := neighbourOf(t, b, aOrigin)
		return int64(nb["size"].(float64)) == shared && nb["status"] == "ok", fmt.Sprint(nb)
	})

	// The copy, under the same key, writes another history; C is fed
	// only by it and cosigns it on first use. A goes on with its own,
	// which B witnesses.
	a.stop()
	copyDir(t, a.dir, aCopy.dir)
	a.start()
	growHub(t, a, 1, "honest")
	honest := size(t, a)
	eventually(t, "B witnessed A", 20*time.Second, func() (bool, string) {
		nb := neighbourOf(t, b, aOrigin)
		return int64(nb["size"].(float64)) >= honest, fmt.Sprint(nb)
	})
	aCopy.start()
	growHub(t, aCopy, 5, "other")
	c.start()

	for _, w := range []*hubProc{b, c} {
		e := checkForkEvidence(t, w, aOrigin, aLog, plenty.EvidenceSplitView)
		if !strings.Contains(e.Message, "showed the witness at") {
			t.Errorf("%s's evidence message: %q", w.name, e.Message)
		}
	}
	if nb := neighbourOf(t, b, aOrigin); int64(nb["size"].(float64)) < honest {
		t.Fatalf("B went back to %v from %d", nb["size"], honest)
	}
	if nb := neighbourOf(t, c, aOrigin); int64(nb["size"].(float64)) <= shared {
		t.Fatalf("C witnessed %v: not the copy's history", nb["size"])
	}
}

// startHubStopped prepares a hub process without starting it.
func startHubStopped(t *testing.T, name, dir string, port int) *hubProc {
	h := &hubProc{t: t, name: name, dir: dir, port: port, url: fmt.Sprintf("http://127.0.0.1:%d", port)}
	t.Cleanup(h.kill)
	return h
}
