package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plentyhub/plenty/exports"
)

// plenty export URL copies a hub's newest snapshot, verified, without
// touching the hub's folder; a snapshot that does not verify is not kept.
func TestRunExportURL(t *testing.T) {
	snap, vkey, _ := exportFixture(t, 5)
	_, otherKey, _ := exportFixture(t, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/open/datapackage.json", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(snap, exports.DataPackageFile))
	})
	mux.Handle("/open/", http.StripPrefix("/open/", http.FileServer(http.Dir(filepath.Dir(snap)))))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	out := filepath.Join(t.TempDir(), "copy")
	var stdout, stderr bytes.Buffer
	if code := runExport([]string{srv.URL, "--out", out, "--key", vkey}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if want := "exported 5 events from " + srv.URL + "/open/ to " + filepath.Join(out, "5"); !strings.Contains(stdout.String(), want) {
		t.Errorf("stdout %q, want %q", stdout.String(), want)
	}
	if dir, size, err := exports.Latest(out); err != nil || size != 5 || dir != filepath.Join(out, "5") {
		t.Fatalf("latest = %s, %d, %v", dir, size, err)
	}
	if _, err := exports.Verify(t.Context(), filepath.Join(out, "5"), &exports.VerifyOptions{Key: vkey}); err != nil {
		t.Fatalf("the copy does not verify: %v", err)
	}

	// Flags first, the URL last; the same snapshot again is not copied twice.
	stdout.Reset()
	if code := runExport([]string{"--out", out, srv.URL}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "already holds") {
		t.Fatalf("exit %d, stdout %q", code, stdout.String())
	}

	// Another hub's key: nothing is kept.
	other := filepath.Join(t.TempDir(), "other")
	stderr.Reset()
	if code := runExport([]string{srv.URL, "--out", other, "--key", otherKey}, &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "does not verify, nothing kept") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	if entries, _ := os.ReadDir(other); len(entries) != 0 {
		t.Errorf("a snapshot that does not verify left %d entries in %s", len(entries), other)
	}
}
