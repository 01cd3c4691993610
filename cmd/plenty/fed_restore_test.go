package main

import (
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
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

// TestRestoreRefusesStaleMirror: a mirror that holds less than a witness
// cosigned, or another history, is refused, and the data folder is left
// with its keys only.
func TestRestoreRefusesStaleMirror(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	skey, vkey, err := note.GenerateKey(rand.Reader, "lost.test/plenty")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	writeFile(t, filepath.Join(dir, "hub.key"), skey+"\n")
	writeFile(t, filepath.Join(dir, "hub.pub"), vkey+"\n")
	cos, err := federation.LoadOrCreateCosigner(t.TempDir(), "w.test/plenty", nil)
	if err != nil {
		t.Fatal(err)
	}

	// A log of 10 valid events (neighbours records by the hub).
	var bodies [][]byte
	var hashes []tlog.Hash
	hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = hashes[x]
		}
		return out, nil
	})
	data, _ := plenty.CanonicalJSON(plenty.FederationNeighbours{Logs: []plenty.NeighbourLog{}, Witnesses: []plenty.NeighbourWitness{}})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for seq := int64(0); seq < 10; seq++ {
		body := plenty.EncodeEvent(seq, t0.Add(time.Duration(seq)*time.Second), plenty.KindFederationNeighbours, plenty.ActorHub, data)
		hs, _ := tlog.StoredHashes(seq, body, hr)
		bodies, hashes = append(bodies, body), append(hashes, hs...)
	}
	checkpoint := func(size int64, cosigned bool) []byte {
		root, _ := tlog.TreeHash(size, hr)
		text := plenty.Checkpoint{Origin: "lost.test/plenty", Size: size, Root: root}.String()
		if cosigned {
			signed, _ := note.Sign(&note.Note{Text: text}, signer, cos)
			return signed
		}
		signed, _ := note.Sign(&note.Note{Text: text}, signer)
		return signed
	}
	// The mirror serves the first 6 events; the witness cosigned 10.
	mirror := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/m/open/checkpoint":
			w.Write(checkpoint(6, true))
		case "/m/open/tile/entries/000.p/6":
			var b []byte
			for _, body := range bodies[:6] {
				b, _ = federation.AppendBundleEntry(b, body)
			}
			w.Write(b)
		default:
			http.NotFound(w, r)
		}
	}))
	defer mirror.Close()
	witness := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fed/v1/witness/"+federation.OriginHash("lost.test/plenty")+"/checkpoint" {
			w.Write(checkpoint(10, true))
			return
		}
		http.NotFound(w, r)
	}))
	defer witness.Close()
	policy := writeFile(t, filepath.Join(t.TempDir(), "neighbours"), fmt.Sprintf("witness w %s %s\n", cos.VerifierKey(), witness.URL))

	m := &Main{}
	if err := m.ParseFlags([]string{"--data", dir, "--addr", "127.0.0.1:0", "--neighbours", policy, "--restore-from", mirror.URL + "/m"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	err = m.Open(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		m.Close(t.Context())
		t.Fatal("restored from a mirror that holds less than the witness cosigned")
	}
	if !strings.Contains(err.Error(), "witness w cosigned 10 events but the mirror holds 6") {
		t.Fatalf("error: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "hub.key hub.pub" {
		t.Fatalf("the data folder holds %v after the refusal", names)
	}
}

// TestServeBadNeighbours: a neighbours file with a bad line stops serve
// with a message naming the line, before anything is written.
func TestServeBadNeighbours(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	bad := writeFile(t, filepath.Join(t.TempDir(), "neighbours"), "# ok\nlog not-a-key http://127.0.0.1:1\n")
	m := &Main{}
	if err := m.ParseFlags([]string{"--data", dir, "--addr", "127.0.0.1:0", "--neighbours", bad}, io.Discard); err != nil {
		t.Fatal(err)
	}
	err := m.Open(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		m.Close(t.Context())
		t.Fatal("served with a bad neighbours file")
	}
	if !strings.Contains(err.Error(), "policy line 2:") || !strings.Contains(err.Error(), "not-a-key") {
		t.Fatalf("error: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the data folder was made: %v", err)
	}
}
