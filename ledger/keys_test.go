package ledger_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plentyhub/plenty/ledger"
)

// TestMissingKeyRefuses deletes hub.key from a folder with signed history,
// then more of what shows the history: every time Open refuses, names the
// missing file and how to restore it, makes no new key and leaves hub.pub
// and the journal byte for byte as they were.
func TestMissingKeyRefuses(t *testing.T) {
	dir := t.TempDir()
	l, err := ledger.Open(dir, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, _, err := l.Append(context.Background(), councilRequest("k", i)); err != nil {
			t.Fatal(err)
		}
	}
	name := strings.SplitN(l.VerifierKey(), "+", 2)[0]
	if err := l.Close(); err != nil { // signs a checkpoint of the 3 events
		t.Fatal(err)
	}
	read := func(f string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	pub, journal := read(ledger.VerifierFile), read(ledger.JournalFile)
	if len(read(ledger.CheckpointFile)) == 0 {
		t.Fatal("closing the ledger wrote no checkpoint")
	}

	for _, tc := range []struct {
		name   string
		remove []string
		found  []string
	}{
		{"KeyMissing", []string{ledger.SignerKeyFile}, []string{ledger.VerifierFile, ledger.CheckpointFile, ledger.DatabaseFile, ledger.JournalFile}},
		{"KeyAndCheckpointMissing", []string{ledger.CheckpointFile}, []string{ledger.VerifierFile, ledger.DatabaseFile, ledger.JournalFile}},
		{"OnlyTheDatabaseLeft", []string{ledger.VerifierFile, ledger.JournalFile}, []string{ledger.DatabaseFile}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, f := range tc.remove {
				if err := os.Remove(filepath.Join(dir, f)); err != nil {
					t.Fatal(err)
				}
			}
			l, err := ledger.Open(dir, ledger.Options{})
			if err == nil {
				l.Close()
				t.Fatal("the ledger opened without its signing key")
			}
			var ke *ledger.KeyMissingError
			if !errors.As(err, &ke) || strings.Join(ke.Found, ",") != strings.Join(tc.found, ",") {
				t.Fatalf("Open: %v; want a KeyMissingError that found %v", err, tc.found)
			}
			msg := err.Error()
			for _, want := range []string{filepath.Join(dir, ledger.SignerKeyFile) + " is missing", "copy hub.key from your backup into " + dir} {
				if !strings.Contains(msg, want) {
					t.Errorf("the refusal does not say %q:\n%s", want, msg)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, ledger.SignerKeyFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a refused Open made a new hub.key: %v", err)
			}
			if b, err := os.ReadFile(filepath.Join(dir, ledger.VerifierFile)); err == nil && !bytes.Equal(b, pub) {
				t.Errorf("hub.pub changed:\n%s\nwas\n%s", b, pub)
			}
			if b, err := os.ReadFile(filepath.Join(dir, ledger.JournalFile)); err == nil && !bytes.Equal(b, journal) {
				t.Error("a refused Open changed the journal")
			}
		})
	}
	if t.Failed() {
		return
	}
	// With hub.pub there, the refusal names the key to restore.
	if err := os.WriteFile(filepath.Join(dir, ledger.VerifierFile), pub, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ledger.Open(dir, ledger.Options{})
	if err == nil || !strings.Contains(err.Error(), `the key named "`+name+`"`) {
		t.Fatalf("Open: %v; want the name %s of the key to restore", err, name)
	}
}

// TestFreshFolderMakesKey: a folder that never had a key gets one, and
// hub.pub is written once; a second Open keeps both.
func TestFreshFolderMakesKey(t *testing.T) {
	dir := t.TempDir()
	l, err := ledger.Open(dir, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	vkey := l.VerifierKey()
	l.Close()
	pub, err := os.ReadFile(filepath.Join(dir, ledger.VerifierFile))
	if err != nil || strings.TrimSpace(string(pub)) != vkey {
		t.Fatalf("hub.pub = %q, %v; want %q", pub, err, vkey)
	}
	l = MustOpen(t, dir)
	if l.VerifierKey() != vkey {
		t.Fatalf("reopened with key %q, want %q", l.VerifierKey(), vkey)
	}
}
