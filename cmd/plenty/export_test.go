package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/exports"
	"github.com/plentyhub/plenty/ledger"
)

func TestRunExport(t *testing.T) {
	data, out := t.TempDir(), t.TempDir()
	l, err := ledger.Open(data, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().UTC().Truncate(time.Second)
	for i := 0; i < 3; i++ {
		id := fmt.Sprintf("c%d", i)
		_, _, err := l.Append(context.Background(), ledger.Request{
			Kind: plenty.KindCouncilRegistered, Actor: plenty.ActorPublic,
			Data: plenty.CouncilRegistration{ID: id, Name: "Council " + id, Sector: "food", Place: "Riverside",
				Location: plenty.Location{Lat: 51.46, Lon: -0.11},
				Delegate: plenty.MandateGrant{ID: "d-" + id, Council: id, Label: "first", Mandate: "post our surplus",
					Scopes: plenty.AllScopes, ExpiresAt: t0.Add(6 * 24 * time.Hour)},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	vkey := l.VerifierKey()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	if code := runExport([]string{"--data", data, "--out", out, "--progress"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"\rexporting: 3/3 events (", "exporting: writing tables (", "exporting: reading back ("} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("progress %q lacks %q", stderr.String(), want)
		}
	}
	if want := "exported 3 events to " + filepath.Join(out, "3"); !strings.Contains(stdout.String(), want) {
		t.Errorf("stdout %q, want it to contain %q", stdout.String(), want)
	}
	dir, size, err := exports.Latest(out)
	if err != nil || size != 3 {
		t.Fatalf("Latest = %s, %d, %v", dir, size, err)
	}
	stdout.Reset()
	if code := runVerify([]string{filepath.Join(out, "latest"), "--key", vkey}, &stdout, &stderr); code != 0 {
		t.Fatalf("verify exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "ok: 3 events") {
		t.Errorf("verify said %q", stdout.String())
	}

	for _, args := range [][]string{{"--data", data}, {"--out", out, "extra"}, {"--out", out, "--keep", "0"}} {
		if code := runExport(args, &stdout, &stderr); code != 2 {
			t.Errorf("runExport(%q) = %d, want 2", args, code)
		}
	}
	if code := runExport([]string{"--data", filepath.Join(data, "absent"), "--out", out}, &stdout, &stderr); code != 1 {
		t.Errorf("export of a missing data folder = %d, want 1", code)
	}
}
