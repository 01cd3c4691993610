// Package private keeps what people say and arrange to carry out an
// exchange, outside the ledger: coordination threads, pickup and drop-off
// details, reflections, webhook registrations with their secrets.
//
// It owns one folder of the hub's data folder. Each record is one JSON file
// (mode 0600, folders 0700), written atomically: a temporary file in the
// same folder, synced, closed, renamed over the old one, and the folder
// synced. Deleting a record removes its file and syncs the folder, so what
// was deleted is gone from the folder's files. The package never writes to
// the ledger, the open data or a log, and imports nothing of the project.
package private

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Store is a folder of JSON records grouped by kind ("threads",
// "webhooks", …), each named by a key. It is safe for concurrent use;
// writes of one store are serialised.
type Store struct {
	dir string
	mu  sync.Mutex
}

// tmpSuffix marks files being written; Open removes those a crash left.
const tmpSuffix = ".tmp"

// Open returns the store in dir, creating it (0700) when missing, and
// removes the temporary files of writes a crash interrupted. On an error
// it still returns the store, whose reads and writes report their own.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return &Store{dir: dir}, err
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, tmpSuffix) {
			return os.Remove(path)
		}
		return nil
	})
	if err != nil {
		return &Store{dir: dir}, fmt.Errorf("private store: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Dir returns the store's folder.
func (s *Store) Dir() string { return s.dir }

// ErrBadKey is returned for a kind or key that is not a plain name of
// letters, digits, '_', '-' and '.' (not starting with '.').
var ErrBadKey = errors.New("private store: a kind or key must be letters, digits, '_', '-' or '.'")

func validName(k string) bool {
	if k == "" || len(k) > 200 || k[0] == '.' || strings.HasSuffix(k, tmpSuffix) {
		return false
	}
	for _, c := range k {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-', c == '.':
		default:
			return false
		}
	}
	return true
}

func (s *Store) path(kind, key string) (string, error) {
	if !validName(kind) || !validName(key) {
		return "", ErrBadKey
	}
	return filepath.Join(s.dir, kind, key+".json"), nil
}

// Get reads the record kind/key into v. It reports false, with no error,
// when there is none.
func (s *Store) Get(kind, key string, v any) (bool, error) {
	p, err := s.path(kind, key)
	if err != nil {
		return false, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("private store: %s/%s: %w", kind, key, err)
	}
	return true, nil
}

// Put writes v as the record kind/key, replacing any earlier one
// atomically: a reader sees the old record or the new one, and after a
// crash the folder holds one of them whole.
func (s *Store) Put(kind, key string, v any) error {
	p, err := s.path(kind, key)
	if err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return writeAtomic(p, b)
}

// Update reads the record kind/key into v (found reports whether it
// existed), calls fn, and writes v back when fn returns true, all under
// the store's lock so that no other write of the store interleaves. fn's
// error is returned and nothing is written.
func (s *Store) Update(kind, key string, v any, fn func(found bool) (write bool, err error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	found, err := s.Get(kind, key, v)
	if err != nil {
		return err
	}
	write, err := fn(found)
	if err != nil || !write {
		return err
	}
	p, _ := s.path(kind, key)
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeAtomic(p, b)
}

// Delete removes the record kind/key and syncs its folder; a missing
// record is no error.
func (s *Store) Delete(kind, key string) error {
	p, err := s.path(kind, key)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.Remove(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return syncDir(filepath.Dir(p))
}

// Keys returns the keys of kind's records, sorted.
func (s *Store) Keys(kind string) ([]string, error) {
	if !validName(kind) {
		return nil, ErrBadKey
	}
	entries, err := os.ReadDir(filepath.Join(s.dir, kind))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok && !e.IsDir() && validName(name) {
			keys = append(keys, name)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// writeAtomic writes b to path through a synced temporary file renamed
// over it, then syncs the folder so that the rename is durable.
func writeAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return WriteFile(path, b, 0o600)
}

// WriteFile replaces the file at path with data, atomically and durably:
// written to a temporary file in the same folder, synced, renamed over
// path, and the folder synced. A crash leaves the old file or the new one,
// never a mix; the temporary file of an interrupted write ends in ".tmp"
// (Open removes those in the store's folders). The ledger and federation
// write their key and checkpoint files with it too.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".*"+tmpSuffix)
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
