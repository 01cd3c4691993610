package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `plenty serve` on a data folder whose hub.key was deleted stops, says
// which file is missing and how to restore it, and leaves hub.pub as it was.
func TestServeRefusesWithoutItsKey(t *testing.T) {
	dir := t.TempDir()
	m, base := MustOpenMain(t, dir)
	call(t, "POST", base+"/api/v1/councils", "", `{"name": "Riverside Bakers", "sector": "food", "place": "Riverside",
		"location": {"lat": 51.46, "lon": -0.11}}`, 201)
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(filepath.Join(dir, "hub.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "hub.key")); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run([]string{"serve", "--data", dir, "--addr", "127.0.0.1:0"}, strings.NewReader(""), &stdout, &stderr)
	if code == 0 {
		t.Fatal("plenty serve started without its signing key")
	}
	for _, want := range []string{filepath.Join(dir, "hub.key") + " is missing", "copy hub.key from your backup"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr.String())
		}
	}
	if after, err := os.ReadFile(filepath.Join(dir, "hub.pub")); err != nil || !bytes.Equal(after, pub) {
		t.Errorf("hub.pub changed: %q, %v; was %q", after, err, pub)
	}
	if _, err := os.Stat(filepath.Join(dir, "hub.key")); err == nil {
		t.Error("plenty serve made a new hub.key")
	}
}
