package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
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
	"github.com/plentyhub/plenty/exports"
)

// exportFixture writes an export of n item.defined events, signed by a
// fresh key, and returns the snapshot folder, the verifier key and a
// function signing the tree at any size.
func exportFixture(t *testing.T, n int) (dir, vkey string, sign func(size int) []byte) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, "plenty.test/cli")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	var events []plenty.Event
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		data, _ := plenty.CanonicalJSON(plenty.ItemDefinition{
			Code: fmt.Sprintf("item-%d", i), Name: "Item", Dimension: plenty.Mass, Unit: "kg"})
		ev, err := plenty.DecodeEvent(plenty.EncodeEvent(int64(i), at, plenty.KindItemDefined, plenty.ActorHub, data))
		if err != nil {
			t.Fatal(err)
		}
		hs, err := tlog.StoredHashes(int64(i), ev.Body, reader)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, hs...)
		events = append(events, ev)
	}
	sign = func(size int) []byte {
		root, err := tlog.TreeHash(int64(size), reader)
		if err != nil {
			t.Fatal(err)
		}
		text := exports.Checkpoint{Origin: "plenty.test/cli", Size: int64(size), Root: root}.String()
		msg, err := note.Sign(&note.Note{Text: text}, signer)
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}
	src := func(ctx context.Context, from, to int64, fn func(plenty.Event) error) error {
		for _, ev := range events[from:to] {
			if err := fn(ev); err != nil {
				return err
			}
		}
		return nil
	}
	snap, err := exports.Write(context.Background(), t.TempDir(), src, sign(n), vkey, nil)
	if err != nil {
		t.Fatal(err)
	}
	return snap.Dir, vkey, sign
}

func TestRunVerify(t *testing.T) {
	dir, vkey, sign := exportFixture(t, 5)
	tmp := t.TempDir()
	sinceFile := filepath.Join(tmp, "since")
	os.WriteFile(sinceFile, sign(3), 0o644)
	keyFile := filepath.Join(tmp, "key")
	os.WriteFile(keyFile, []byte(vkey+"\n"), 0o644)
	_, otherKey, _ := exportFixture(t, 1)

	srv := httptest.NewServer(http.StripPrefix("/open/", http.FileServer(http.Dir(dir))))
	defer srv.Close()

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"Folder", []string{dir}, 0, "ok: 5 events of plenty.test/cli", ""},
		{"KeyFromSourceNote", []string{dir}, 0, "note: the verifier key came from the source itself", ""},
		{"PinnedKey", []string{dir, "--key", vkey}, 0, "signed by plenty.test/cli", ""},
		{"KeyFileAndSince", []string{"--key", keyFile, "--since", sinceFile, dir}, 0, "extends the earlier checkpoint at size 3", ""},
		{"URL", []string{srv.URL, "--key", vkey}, 0, "ok: 28 files checked", ""},
		{"WrongKey", []string{dir, "--key", otherKey}, 1, "", "FAULT: key: the source's verifier key"},
		{"NoSource", []string{"--key", vkey}, 2, "", "give exactly one SOURCE"},
		{"TwoSources", []string{dir, dir}, 2, "", "give exactly one SOURCE"},
		{"UnknownFlag", []string{dir, "--nope"}, 2, "", "flag provided but not defined"},
		{"MissingSinceFile", []string{dir, "--since", filepath.Join(tmp, "absent")}, 2, "", "--since"},
		{"MissingFolder", []string{filepath.Join(tmp, "absent")}, 1, "", "plenty verify: source"},
		{"SingleFile", []string{filepath.Join(dir, "events", "arrow", "000000000000-000000000004.arrow"), "--checkpoint", filepath.Join(dir, "checkpoint"), "--key", vkey},
			0, "ok: 5 events of plenty.test/cli", ""},
		{"SingleParquetFileKeyFile", []string{"--key", keyFile, filepath.Join(dir, "events", "parquet", "000000000000-000000000004.parquet"), "--checkpoint", filepath.Join(dir, "checkpoint")},
			0, "ok: 1 file checked: events.parquet\n", ""},
		{"SingleFileOldCheckpoint", []string{filepath.Join(dir, "events", "arrow", "000000000000-000000000004.arrow"), "--checkpoint", sinceFile, "--key", vkey},
			1, "", "FAULT"},
		{"SingleFileNoCheckpoint", []string{filepath.Join(dir, "events", "arrow", "000000000000-000000000004.arrow"), "--key", vkey},
			2, "", "also give:\n  --checkpoint FILE, the signed checkpoint"},
		{"SingleFileNothing", []string{filepath.Join(dir, "events", "arrow", "000000000000-000000000004.arrow")},
			2, "", "HUB/open/checkpoint when you download the events file, so that they match)\n  --key KEY"},
		{"SingleFileNotEvents", []string{filepath.Join(dir, "events", "csv", "000000000000-000000000004.csv"), "--checkpoint", sinceFile, "--key", vkey},
			2, "", "neither an Arrow IPC file nor a Parquet file"},
		{"CheckpointWithFolder", []string{dir, "--checkpoint", sinceFile}, 2, "", "--checkpoint is for a single events file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runVerify(tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.stdout) || !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stdout %q, stderr %q; want them to contain %q and %q", stdout.String(), stderr.String(), tt.stdout, tt.stderr)
			}
		})
	}
}

func TestRunVerifyTamperedFolder(t *testing.T) {
	dir, vkey, _ := exportFixture(t, 5)
	b, err := os.ReadFile(filepath.Join(dir, "events", "csv", "000000000000-000000000004.csv"))
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(dir, "events", "csv", "000000000000-000000000004.csv"), 0o644)
	if err := os.WriteFile(filepath.Join(dir, "events", "csv", "000000000000-000000000004.csv"), bytes.Replace(b, []byte("item-3"), []byte("item-9"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := runVerify([]string{dir, "--key", vkey}, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d, want 1; stderr %s", code, stderr.String())
	}
	if want := "FAULT: events/csv/000000000000-000000000004.csv: has hash sha256:"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr %q, want it to contain %q", stderr.String(), want)
	}
}
