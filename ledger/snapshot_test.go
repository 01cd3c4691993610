package ledger_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/ledger"
)

// logBuffer collects a ledger's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *logBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *logBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func openLogged(t *testing.T, dir string, every int64) (*ledger.Ledger, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	l, err := ledger.Open(dir, ledger.Options{SnapshotEvery: every, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return l, logs
}

func snapshotFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "state-*.snapshot"))
	if err != nil {
		t.Fatal(err)
	}
	return files // sorted by name: by size, oldest first
}

// councils lists the councils the state holds.
func councils(t *testing.T, l *ledger.Ledger) string {
	t.Helper()
	var ids []string
	l.Read(func(s *plenty.State) error {
		for _, c := range s.Councils() {
			ids = append(ids, c.ID)
		}
		return nil
	})
	return strings.Join(ids, ",")
}

func TestStartFromSnapshot(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, firstLogs := openLogged(t, dir, -1)
	for i := 0; i < 120; i++ {
		if _, _, err := l.Append(ctx, councilRequest("s", i)); err != nil {
			t.Fatal(err)
		}
		if i == 29 || i == 59 {
			if size, err := l.Snapshot(ctx); err != nil || size != int64(i+1) {
				t.Fatalf("snapshot at %d: %d, %v", i+1, size, err)
			}
		}
	}
	if _, err := l.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	want := councils(t, l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	files := snapshotFiles(t, dir)
	if len(files) != 2 || !strings.HasSuffix(files[0], "state-00000000000000000060.snapshot") || !strings.HasSuffix(files[1], "state-00000000000000000120.snapshot") {
		t.Fatalf("snapshot files %v, want the two newest, the last at 120\n%s", files, firstLogs)
	}
	older := strings.TrimSuffix(filepath.Base(files[0]), ".snapshot")
	if _, err := ledger.Check(ctx, dir); err != nil {
		t.Fatalf("check with snapshots: %v", err)
	}

	t.Run("Newest", func(t *testing.T) {
		l, logs := openLogged(t, dir, -1)
		defer l.Close()
		if !strings.Contains(logs.String(), `msg="opened the ledger" events=120 from_snapshot=120 folded=0`) {
			t.Fatalf("did not start from the snapshot at 120:\n%s", logs)
		}
		if got := councils(t, l); got != want || l.Size() != 120 {
			t.Fatalf("state after start: size %d, councils %s", l.Size(), got)
		}
		// It goes on from there: the next event follows.
		if ev, _, err := l.Append(ctx, councilRequest("s", 120)); err != nil || ev.Seq != 120 {
			t.Fatalf("append after start: %d, %v", ev.Seq, err)
		}
	})

	t.Run("DamagedFallsBack", func(t *testing.T) {
		newest := snapshotFiles(t, dir)[1]
		b, err := os.ReadFile(newest)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0xff
		if err := os.WriteFile(newest, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := ledger.Check(ctx, dir); err == nil || !strings.Contains(err.Error(), "damaged") {
			t.Fatalf("check with a damaged snapshot: %v", err)
		}
		l, logs := openLogged(t, dir, -1)
		defer l.Close()
		if !strings.Contains(logs.String(), "ignoring a state snapshot: it is damaged") ||
			!strings.Contains(logs.String(), "from_snapshot="+strings.TrimLeft(strings.TrimPrefix(older, "state-"), "0")+" ") {
			t.Fatalf("damaged snapshot not ignored for the older one:\n%s", logs)
		}
		if got := councils(t, l); len(strings.Split(got, ",")) != 121 || !strings.Contains(got, "c-s-120,") || l.Size() != 121 {
			t.Fatalf("state after start: size %d, councils %s", l.Size(), got)
		}
		// The tokens granted before the snapshot and after it both work:
		// only the credentials of the events folded again are read.
		for _, id := range []string{"c-s-10", "c-s-100"} {
			l.Read(func(s *plenty.State) error {
				if d, ok := s.DelegateByToken(fmt.Sprintf("%x", sha256.Sum256([]byte(id)))); !ok || d.ID != "d-"+id {
					t.Errorf("the token of %s names %q after a start from the older snapshot", id, d.ID)
				}
				return nil
			})
		}
		if err := os.Remove(newest); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ForeignIgnored", func(t *testing.T) {
		// A snapshot from another ledger at the same size: its root differs.
		other := t.TempDir()
		o, _ := openLogged(t, other, -1)
		for i := 0; i < 121; i++ {
			if _, _, err := o.Append(ctx, councilRequest("x", i)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := o.Snapshot(ctx); err != nil {
			t.Fatal(err)
		}
		o.Close()
		foreign := snapshotFiles(t, other)
		b, err := os.ReadFile(foreign[len(foreign)-1])
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(dir, filepath.Base(foreign[len(foreign)-1]))
		if err := os.WriteFile(name, b, 0o600); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(name)
		l, logs := openLogged(t, dir, -1)
		if !strings.Contains(logs.String(), "ignoring a state snapshot: it is of another history") {
			t.Fatalf("foreign snapshot not ignored:\n%s", logs)
		}
		if got := councils(t, l); strings.Contains(got, "c-x-") || l.Size() != 121 {
			t.Fatalf("state after start: size %d, councils %s", l.Size(), got)
		}
		l.Close()
		// Alone, it decodes but is ignored all the same, and nothing of it
		// stays: every event is folded from the empty state.
		var aside []string
		for _, p := range snapshotFiles(t, dir) {
			if p != name {
				if err := os.Rename(p, p+".aside"); err != nil {
					t.Fatal(err)
				}
				aside = append(aside, p)
			}
		}
		l, logs = openLogged(t, dir, -1)
		if !strings.Contains(logs.String(), "it is of another history") || !strings.Contains(logs.String(), "from_snapshot=0") {
			t.Fatalf("the foreign snapshot alone was not ignored:\n%s", logs)
		}
		if got := councils(t, l); strings.Contains(got, "c-x-") || l.Size() != 121 || !strings.Contains(got, "c-s-") {
			t.Fatalf("state after a start past the foreign snapshot alone: size %d, councils %s", l.Size(), got)
		}
		l.Close()
		for _, p := range snapshotFiles(t, dir) {
			if p != name {
				os.Remove(p)
			}
		}
		for _, p := range aside {
			if err := os.Rename(p+".aside", p); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("CheckFindsWrongState", func(t *testing.T) {
		// A well-formed snapshot whose state is not the replay's: the
		// state of 121 events filed under the older size and its root.
		l, _ := openLogged(t, dir, -1)
		if _, err := l.Snapshot(ctx); err != nil {
			t.Fatal(err)
		}
		l.Close()
		files := snapshotFiles(t, dir)
		good, err := os.ReadFile(files[0])
		if err != nil {
			t.Fatal(err)
		}
		newer, err := os.ReadFile(files[len(files)-1])
		if err != nil {
			t.Fatal(err)
		}
		head := len("plenty-ledger-snapshot/1\n") + 8 + 32
		forged := append([]byte{}, good[:head]...)
		state := newer[head+8 : len(newer)-sha256.Size]
		forged = append(forged, newer[head:head+8]...)
		forged = append(forged, state...)
		sum := sha256.Sum256(forged)
		forged = append(forged, sum[:]...)
		if err := os.WriteFile(files[0], forged, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err = ledger.Check(ctx, dir)
		if err == nil || !strings.Contains(err.Error(), "differs from the state replayed") {
			t.Fatalf("check with a wrong snapshot: %v", err)
		}
	})
}

func snapshotName(dir string, size int64) string {
	return filepath.Join(dir, fmt.Sprintf("state-%020d.snapshot", size))
}

// TestSnapshotEvery checks that the ledger writes snapshots by itself as
// it grows, keeping the two newest.
func TestSnapshotEvery(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, logs := openLogged(t, dir, 20)
	for i := 0; i < 200; i++ {
		if _, _, err := l.Append(ctx, councilRequest("e", i)); err != nil {
			t.Fatal(err)
		}
		if i%20 == 19 {
			// Wait for DuckDB to hold the events: a commit is what starts
			// a background snapshot.
			if _, err := l.TreeHash(ctx, l.Size()); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The background snapshots run on their own: wait (bounded) for one.
	for deadline := time.Now().Add(10 * time.Second); strings.Count(logs.String(), "wrote a state snapshot") == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "wrote a state snapshot"); n < 2 {
		t.Fatalf("%d snapshots written for 200 events every 20:\n%s", n, logs)
	}
	files := snapshotFiles(t, dir)
	if len(files) != 2 || files[1] < snapshotName(dir, 180) {
		t.Fatalf("snapshot files %v: want two, the newest within 20 events of 200", files)
	}
	if _, err := ledger.Check(ctx, dir); err != nil {
		t.Fatal(err)
	}
}

// A snapshot written from the live state at a clean stop equals the state
// a replay reaches, even after the timers looked at the next deadline (an
// index only the live state builds): plenty check accepts it.
func TestCloseSnapshotMatchesReplay(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, _ := openLogged(t, dir, -1)
	for i := 0; i < 30; i++ {
		if _, _, err := l.Append(ctx, councilRequest("live", i)); err != nil {
			t.Fatal(err)
		}
		if i == 10 {
			l.Read(func(st *plenty.State) error { st.NextDeadline(time.Now()); return nil })
		}
	}
	if _, err := l.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if len(snapshotFiles(t, dir)) == 0 {
		t.Fatal("no snapshot written")
	}
	if _, err := ledger.Check(ctx, dir); err != nil {
		t.Fatal(err)
	}
}
