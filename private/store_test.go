package private_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/plentyhub/plenty/private"
)

type note struct {
	Text string `json:"text"`
}

func mustOpen(t *testing.T) *private.Store {
	t.Helper()
	s, err := private.Open(filepath.Join(t.TempDir(), "private"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPutGetDelete(t *testing.T) {
	s := mustOpen(t)
	if err := s.Put("threads", "ag_1", note{"back gate"}); err != nil {
		t.Fatal(err)
	}
	var n note
	if ok, err := s.Get("threads", "ag_1", &n); !ok || err != nil || n.Text != "back gate" {
		t.Fatalf("Get = %v, %v, %+v", ok, err, n)
	}
	fi, err := os.Stat(filepath.Join(s.Dir(), "threads", "ag_1.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("record file: %v, %v; want mode 0600", fi, err)
	}
	if fi, err := os.Stat(filepath.Join(s.Dir(), "threads")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("kind folder: %v, %v; want mode 0700", fi, err)
	}
	if keys, err := s.Keys("threads"); err != nil || !reflect.DeepEqual(keys, []string{"ag_1"}) {
		t.Fatalf("Keys = %v, %v", keys, err)
	}
	if err := s.Delete("threads", "ag_1"); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Get("threads", "ag_1", &n); ok || err != nil {
		t.Fatalf("after Delete: Get = %v, %v", ok, err)
	}
	entries, _ := os.ReadDir(filepath.Join(s.Dir(), "threads"))
	if len(entries) != 0 {
		t.Fatalf("folder after Delete holds %v", entries)
	}
	if err := s.Delete("threads", "ag_1"); err != nil {
		t.Fatalf("deleting a missing record: %v", err)
	}
}

func TestUpdate(t *testing.T) {
	s := mustOpen(t)
	var n note
	err := s.Update("threads", "a", &n, func(found bool) (bool, error) {
		if found {
			t.Fatal("found a record never written")
		}
		n.Text = "one"
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	refused := errors.New("no")
	err = s.Update("threads", "a", &n, func(found bool) (bool, error) {
		n.Text = "two"
		return true, refused
	})
	if err != refused {
		t.Fatalf("Update = %v, want fn's error", err)
	}
	var got note
	if s.Get("threads", "a", &got); got.Text != "one" {
		t.Fatalf("a refused update wrote %q", got.Text)
	}
}

func TestBadKeys(t *testing.T) {
	s := mustOpen(t)
	for _, k := range []string{"", "../x", "a/b", ".hidden", "x.tmp", "a b"} {
		if err := s.Put("threads", k, note{}); err != private.ErrBadKey {
			t.Errorf("Put(%q) = %v, want ErrBadKey", k, err)
		}
	}
}

// A write a crash interrupted leaves a temporary file; Open removes it
// and the record it would have replaced stands whole.
func TestOpenRemovesInterruptedWrites(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "private")
	s, err := private.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Put("threads", "a", note{"kept"})
	tmp := filepath.Join(dir, "threads", "a.json.123.tmp")
	if err := os.WriteFile(tmp, []byte(`{"text": "half`), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = private.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("temporary file still there: %v", err)
	}
	var n note
	if s.Get("threads", "a", &n); n.Text != "kept" {
		t.Fatalf("record = %q", n.Text)
	}
}

func FuzzKeys(f *testing.F) {
	for _, k := range []string{"ag_1", "../x", ".a", "a.tmp", "é"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		s := mustOpen(t)
		if err := s.Put("k", key, note{key}); err != nil {
			return
		}
		keys, err := s.Keys("k")
		if err != nil || len(keys) != 1 || keys[0] != key {
			t.Fatalf("Put(%q) then Keys = %v, %v: a key must name exactly its own file", key, keys, err)
		}
	})
}
