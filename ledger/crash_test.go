package ledger_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/ledger"
)

// The crash tests run this test binary as a child process that appends
// from many goroutines and prints a line for every acknowledged event,
// then SIGKILL it at a random moment.
func TestMain(m *testing.M) {
	if dir := os.Getenv("PLENTY_CRASH_CHILD"); dir != "" {
		os.Exit(crashChild(dir, os.Getenv("PLENTY_CRASH_TAG")))
	}
	os.Exit(m.Run())
}

func crashChild(dir, tag string) int {
	if d, err := time.ParseDuration(os.Getenv("PLENTY_CRASH_DELAY_COMMITS")); err == nil {
		ledger.DelayCommits(d)
	}
	every, _ := strconv.ParseInt(os.Getenv("PLENTY_CRASH_SNAPSHOT_EVERY"), 10, 64)
	l, err := ledger.Open(dir, ledger.Options{SnapshotEvery: every})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	acks := make(chan string, 1024)
	for w := 0; w < 32; w++ {
		go func(w int) {
			for i := 0; ; i++ {
				name := fmt.Sprintf("%s-%d", tag, w)
				ev, _, err := l.Append(context.Background(), councilRequest(name, i))
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(4)
				}
				acks <- fmt.Sprintf("%d c-%s-%d", ev.Seq, name, i)
			}
		}(w)
	}
	out := bufio.NewWriter(os.Stdout)
	for a := range acks {
		// Flush each line: an acknowledgement counts only once the parent
		// can have seen it.
		fmt.Fprintln(out, a)
		out.Flush()
	}
	return 0
}

// crashRound starts a child appending into dir, kills it with SIGKILL
// after a random delay, and returns the events it acknowledged: seq → the
// council id registered.
func crashRound(t *testing.T, dir, tag string, rng *rand.Rand, env ...string) map[int64]string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PLENTY_CRASH_CHILD="+dir, "PLENTY_CRASH_TAG="+tag)
	cmd.Env = append(cmd.Env, env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[int64]string{}
	var mu sync.Mutex
	first := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		once := sync.Once{}
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 2 {
				continue // a line torn by the kill was never a whole ack
			}
			seq, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				continue
			}
			mu.Lock()
			acked[seq] = f[1]
			mu.Unlock()
			once.Do(func() { close(first) })
		}
	}()
	select {
	case <-first:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("child acknowledged nothing: %s", stderr.String())
	}
	time.Sleep(time.Duration(50+rng.IntN(400)) * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, not by SIGKILL: %s", err, stderr.String())
	}
	if len(acked) == 0 {
		t.Fatal("no acknowledged events")
	}
	return acked
}

// checkAcked reopens the ledger and checks that every acknowledged event
// is there with its body, seq is contiguous and the root recomputes.
func checkAcked(t *testing.T, l *ledger.Ledger, acked map[int64]string) {
	t.Helper()
	ctx := context.Background()
	found := map[int64]string{}
	var leaves [][32]byte
	err := l.Events(ctx, 0, -1, func(ev plenty.Event) error {
		if ev.Seq != int64(len(leaves)) {
			return fmt.Errorf("seq %d after %d events", ev.Seq, len(leaves))
		}
		leaves = append(leaves, tlog.RecordHash(ev.Body))
		if ev.Kind == plenty.KindCouncilRegistered {
			id := string(ev.Data)
			if i := strings.Index(id, `"id":"`); i >= 0 {
				id = id[i+6:]
				id = id[:strings.IndexByte(id, '"')]
			}
			found[ev.Seq] = id
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for seq, id := range acked {
		if found[seq] != id {
			t.Fatalf("acknowledged event %d (%s) is lost; found %q", seq, id, found[seq])
		}
	}
	root, err := l.TreeHash(ctx, l.Size())
	if err != nil {
		t.Fatal(err)
	}
	if want := rfc6962Root(leaves); root != tlog.Hash(want) {
		t.Fatalf("stored root %x, recomputed %x", root, want)
	}
}

func TestCrashLosesNoAcknowledgedEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("crash rounds take seconds")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	all := map[int64]string{}
	for round := 0; round < 5; round++ {
		acked := crashRound(t, dir, fmt.Sprintf("r%d", round), rng)
		for k, v := range acked {
			all[k] = v
		}
		l, err := ledger.Open(dir, ledger.Options{})
		if err != nil {
			t.Fatalf("round %d: reopen after SIGKILL: %v", round, err)
		}
		checkAcked(t, l, all)
		t.Logf("round %d: %d acknowledged, ledger holds %d", round, len(acked), l.Size())
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := ledger.Check(context.Background(), dir); err != nil {
			t.Fatalf("round %d: check: %v", round, err)
		}
	}
}

// TestCrashBetweenJournalAndDuckDB kills the process while acknowledged
// events are durable in the journal but not yet committed to DuckDB (the
// committer is held back before each commit), under load from 32
// goroutines, and checks that reopening commits every one of them. From
// the second round on, reopening starts from the snapshot the previous
// round wrote after reopening, and reads the journal from where it says;
// the child writes snapshots too (every 500 events) while it is killed.
func TestCrashBetweenJournalAndDuckDB(t *testing.T) {
	if testing.Short() {
		t.Skip("crash rounds take seconds")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(4, uint64(time.Now().UnixNano())))
	all := map[int64]string{}
	for round := 0; round < 3; round++ {
		acked := crashRound(t, dir, fmt.Sprintf("j%d", round), rng, "PLENTY_CRASH_DELAY_COMMITS=150ms", "PLENTY_CRASH_SNAPSHOT_EVERY=500")
		var last int64
		for k, v := range acked {
			all[k] = v
			last = max(last, k)
		}
		// Before reopening: the database lacks acknowledged events that
		// the journal holds, so the kill fell where this test means it to.
		_, err := ledger.Check(context.Background(), dir)
		var inDB int64
		if err == nil || !strings.Contains(err.Error(), "beyond the database") {
			t.Fatalf("round %d: expected the journal to hold acknowledged events beyond the database (last acknowledged %d), check says %v", round, last, err)
		}
		if _, serr := fmt.Sscanf(err.Error()[strings.Index(err.Error(), "database's "):], "database's %d", &inDB); serr != nil || last < inDB {
			t.Fatalf("round %d: the database holds %d events (%v), the last acknowledged is %d: no acknowledged event was in the journal only", round, inDB, serr, last)
		}
		t.Logf("round %d: %d acknowledged up to seq %d; before reopening: %v", round, len(acked), last, err)
		l, logs := openLogged(t, dir, -1)
		if round > 0 && (!strings.Contains(logs.String(), "from_snapshot=") || strings.Contains(logs.String(), "from_snapshot=0 ")) {
			t.Errorf("round %d: did not start from a snapshot:\n%s", round, logs)
		}
		checkAcked(t, l, all)
		// The next round's reopening starts from this snapshot.
		if _, err := l.Snapshot(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := ledger.Check(context.Background(), dir); err != nil {
			t.Fatalf("round %d: check after reopening: %v", round, err)
		}
	}
}

// damageWAL crashes a child, then lets damage alter the write-ahead log,
// and returns what the child acknowledged.
func damageWAL(t *testing.T, damage func(wal []byte) []byte) (string, map[int64]string) {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(2, 3))
	acked := crashRound(t, dir, "w", rng)
	wal := filepath.Join(dir, ledger.DatabaseFile+".wal")
	b, err := os.ReadFile(wal)
	if err != nil || len(b) < 1024 {
		t.Fatalf("expected a write-ahead log after a crash: %d bytes, %v", len(b), err)
	}
	if err := os.WriteFile(wal, damage(b), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, acked
}

func TestTruncatedWAL(t *testing.T) {
	if testing.Short() {
		t.Skip("crash rounds take seconds")
	}
	dir, acked := damageWAL(t, func(b []byte) []byte { return b[:len(b)/2] })
	l, err := ledger.Open(dir, ledger.Options{})
	if err != nil {
		t.Fatalf("open with a truncated WAL: %v", err)
	}
	checkAcked(t, l, acked)
	l.Close()
	if _, err := ledger.Check(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptedWAL(t *testing.T) {
	if testing.Short() {
		t.Skip("crash rounds take seconds")
	}
	dir, acked := damageWAL(t, func(b []byte) []byte {
		for i := len(b) / 3; i < len(b)/3+64; i++ {
			b[i] ^= 0x5a
		}
		return b
	})
	l, err := ledger.Open(dir, ledger.Options{})
	if err != nil {
		// The hub must say what happened and how to recover.
		var oe *ledger.OpenError
		msg := err.Error()
		if !errors.As(err, &oe) || !strings.Contains(msg, "plenty recover --data "+dir) {
			t.Fatalf("open with a corrupted WAL failed without a recovery path: %v", err)
		}
		t.Logf("open refused as expected:\n%s", msg)
		n, aside, err := ledger.Recover(context.Background(), dir, ledger.Options{})
		if err != nil {
			t.Fatalf("recover: %v", err)
		}
		if _, err := os.Stat(filepath.Join(aside, ledger.DatabaseFile)); err != nil {
			t.Fatalf("damaged database not kept in %s: %v", aside, err)
		}
		t.Logf("recovered %d events", n)
		if l, err = ledger.Open(dir, ledger.Options{}); err != nil {
			t.Fatalf("open after recover: %v", err)
		}
	} else {
		t.Log("DuckDB opened the corrupted WAL; the journal supplied what it lost")
	}
	checkAcked(t, l, acked)
	l.Close()
	if _, err := ledger.Check(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
}
