package hub_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/plentyhub/plenty/exports"
	"github.com/plentyhub/plenty/hub"
	"github.com/plentyhub/plenty/ledger"
)

// openCheckpoint fetches /open/checkpoint and /open/key and opens the
// checkpoint with the key.
func (h *testHub) openCheckpoint(t *testing.T, prefix string) exports.Checkpoint {
	t.Helper()
	cp := h.do("GET", prefix+"checkpoint", "", "").want(t, 200)
	key := h.do("GET", prefix+"key", "", "").want(t, 200)
	c, err := exports.OpenCheckpoint(cp.Raw, strings.TrimSpace(string(key.Raw)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// eventuallyCheckpoint fetches the checkpoint under prefix until it covers
// size events: snapshots are written in the background, not by requests.
func (h *testHub) eventuallyCheckpoint(t *testing.T, prefix string, size int64) exports.Checkpoint {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		cp := h.openCheckpoint(t, prefix)
		if cp.Size >= size || time.Now().After(deadline) {
			return cp
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestOpenFiles(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	h.register("Riverside Bakers")
	h.register("Hill Farm")
	size := h.ledger.Size()

	want := map[string]string{
		"events.arrow":     "application/vnd.apache.arrow.file",
		"events.parquet":   "application/vnd.apache.parquet",
		"events.csv":       "text/csv; charset=utf-8; header=present",
		"councils.arrow":   "application/vnd.apache.arrow.file",
		"accounts.csv":     "text/csv; charset=utf-8; header=present",
		"datapackage.json": "application/json",
		"checkpoint":       "text/plain; charset=utf-8",
		"key":              "text/plain; charset=utf-8",
	}
	for name, mt := range want {
		r := h.do("GET", "/open/"+name, "", "").want(t, 200)
		if got := r.Header.Get("Content-Type"); got != mt {
			t.Errorf("%s: Content-Type %q, want %q", name, got, mt)
		}
		if etag := r.Header.Get("ETag"); !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) {
			t.Errorf("%s: ETag %q is not a strong ETag", name, etag)
		}
		if len(r.Raw) == 0 {
			t.Errorf("%s: empty", name)
		}
	}
	if cp := h.openCheckpoint(t, "/open/"); cp.Size != size {
		t.Fatalf("checkpoint size %d, want %d", cp.Size, size)
	}

	// ETag and 304.
	full := h.do("GET", "/open/events.arrow", "", "").want(t, 200)
	if !strings.HasPrefix(string(full.Raw), "ARROW1") {
		t.Fatalf("events.arrow does not start with the Arrow magic")
	}
	etag := full.Header.Get("ETag")
	nm := h.do("GET", "/open/events.arrow", "", "", "If-None-Match", etag).want(t, 304)
	if len(nm.Raw) != 0 || nm.Header.Get("ETag") != etag {
		t.Fatalf("304: body %d bytes, ETag %q", len(nm.Raw), nm.Header.Get("ETag"))
	}
	h.do("GET", "/open/events.arrow", "", "", "If-None-Match", `"other"`).want(t, 200)

	// The events are part files; one part here. events.arrow is it,
	// joined (the same batches), and the part has byte ranges.
	partPath := fmt.Sprintf("/open/events/arrow/000000000000-%012d.arrow", size-1)
	whole := h.do("GET", partPath, "", "").want(t, 200)
	if !strings.HasPrefix(string(whole.Raw), "ARROW1") {
		t.Fatalf("%s does not start with the Arrow magic", partPath)
	}
	part := h.do("GET", partPath, "", "", "Range", "bytes=2-9").want(t, 206)
	if string(part.Raw) != string(whole.Raw[2:10]) {
		t.Fatalf("range 2-9: %q, want %q", part.Raw, whole.Raw[2:10])
	}
	if cr := part.Header.Get("Content-Range"); cr != "bytes 2-9/"+strconv.Itoa(len(whole.Raw)) {
		t.Fatalf("Content-Range %q", cr)
	}
	if got := part.Header.Get("Content-Type"); got != want["events.arrow"] {
		t.Fatalf("206 Content-Type %q", got)
	}
	h.do("GET", "/open/"+strconv.FormatInt(size, 10)+partPath[len("/open"):], "", "").want(t, 200)
	for _, bad := range []string{"/open/events/arrow/0-1.arrow", "/open/events/xlsx/000000000000-000000000001.xlsx",
		"/open/events/arrow/000000000000-000000000001.parquet", "/open/events/arrow/..%2F..%2Fkey"} {
		h.do("GET", bad, "", "").want(t, 404)
	}

	// Immutable snapshots by size.
	n := strconv.FormatInt(size, 10)
	snap := h.do("GET", "/open/"+n+"/events.arrow", "", "").want(t, 200)
	if string(snap.Raw) != string(full.Raw) {
		t.Fatal("the snapshot by size differs from the latest")
	}
	if cc := snap.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Fatalf("Cache-Control %q, want immutable", cc)
	}
	if got := snap.Header.Get("Content-Type"); got != want["events.arrow"] {
		t.Fatalf("Content-Type %q", got)
	}
	h.do("GET", "/open/"+n+"/checkpoint", "", "").want(t, 200)

	for _, path := range []string{
		"/open/nope.arrow", "/open/events.xlsx", "/open/events", "/open/..%2Fevents.arrow",
		"/open/999/events.arrow", "/open/x/events.arrow", "/open/" + n + "/nope", "/open/0" + n + "/key",
	} {
		r := h.do("GET", path, "", "").want(t, 404)
		if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s: Content-Type %q", path, ct)
		}
	}
}

func TestOpenSnapshotsFollowTheLedger(t *testing.T) {
	h := MustOpenHub(t, hub.Config{OpenInterval: time.Minute})
	h.register("Riverside Bakers")
	first := h.openCheckpoint(t, "/open/")

	h.register("Hill Farm")
	// Within the interval the previous snapshot is served.
	if cp := h.openCheckpoint(t, "/open/"); cp.Size != first.Size {
		t.Fatalf("within the interval: size %d, want %d", cp.Size, first.Size)
	}
	h.clock.Add(2 * time.Minute)
	second := h.eventuallyCheckpoint(t, "/open/", h.ledger.Size())
	if second.Size != h.ledger.Size() || second.Size <= first.Size {
		t.Fatalf("after the interval: size %d, want %d", second.Size, h.ledger.Size())
	}
	// The earlier snapshot stays, and its checkpoint and key are its own.
	if cp := h.openCheckpoint(t, "/open/"+strconv.FormatInt(first.Size, 10)+"/"); cp != first {
		t.Fatalf("old snapshot checkpoint %+v, want %+v", cp, first)
	}

	// Concurrent requests while the ledger grows all get a whole snapshot.
	h.register("Valley Mill")
	h.clock.Add(2 * time.Minute)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := h.do("GET", "/open/events.csv", "", "")
			if r.Status != 200 {
				t.Errorf("status %d: %s", r.Status, r.Raw)
			}
		}()
	}
	wg.Wait()
	if cp := h.eventuallyCheckpoint(t, "/open/", h.ledger.Size()); cp.Size != h.ledger.Size() {
		t.Fatalf("size %d, want %d", cp.Size, h.ledger.Size())
	}
}

func TestOpenEmptyLedger(t *testing.T) {
	l, err := ledger.Open(t.TempDir(), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	h := &testHub{t: t, srv: hub.New(l, hub.Config{}), ledger: l}
	r := h.do("GET", "/open/events.arrow", "", "").want(t, 404)
	if r.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(r.str("detail"), "empty") {
		t.Fatalf("%s %s", r.Header.Get("Content-Type"), r.Raw)
	}
}

func TestOpenIncrementalEvents(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	h.register("Riverside Bakers")
	h.register("Hill Farm")
	size := h.ledger.Size()

	r := h.do("GET", "/open/events.csv?from=1&to=3", "", "").want(t, 200)
	if ct := r.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8; header=present" {
		t.Fatalf("Content-Type %q", ct)
	}
	lines := strings.Split(strings.TrimSpace(string(r.Raw)), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "seq,") || !strings.HasPrefix(lines[1], "1,") || !strings.HasPrefix(lines[2], "2,") {
		t.Fatalf("events 1..3:\n%s", r.Raw)
	}
	r = h.do("GET", "/open/events.csv?from="+strconv.FormatInt(size-1, 10), "", "").want(t, 200)
	if lines := strings.Split(strings.TrimSpace(string(r.Raw)), "\n"); len(lines) != 2 {
		t.Fatalf("events from %d:\n%s", size-1, r.Raw)
	}
	r = h.do("GET", "/open/events.arrow?from=0", "", "").want(t, 200)
	if !strings.HasPrefix(string(r.Raw), "ARROW1") || r.Header.Get("Content-Type") != "application/vnd.apache.arrow.file" {
		t.Fatalf("events.arrow?from=0: %q", r.Header.Get("Content-Type"))
	}
	h.do("GET", "/open/events.parquet?from=2&to=4", "", "").want(t, 200)

	for _, q := range []string{"from=x", "from=-1", "from=3&to=2", "to=" + strconv.FormatInt(size+1, 10), "from=1&to=1.5"} {
		r := h.do("GET", "/open/events.csv?"+q, "", "").want(t, 422)
		if r.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %s", q, r.Header.Get("Content-Type"))
		}
	}
	// Range downloads are only for the whole events files.
	h.do("GET", "/open/councils.csv?from=1", "", "").want(t, 200)
}

func decodeHash(t *testing.T, s string) tlog.Hash {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != tlog.HashSize {
		t.Fatalf("hash %q: %v", s, err)
	}
	return tlog.Hash(b)
}

func decodeHashes(t *testing.T, ss []string) []tlog.Hash {
	out := make([]tlog.Hash, len(ss))
	for i, s := range ss {
		out[i] = decodeHash(t, s)
	}
	return out
}

func TestOpenProofs(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	h.register("Riverside Bakers")
	old := h.openCheckpoint(t, "/open/")
	h.register("Hill Farm")
	h.register("Valley Mill")
	h.clock.Add(time.Minute)
	cp := h.eventuallyCheckpoint(t, "/open/", h.ledger.Size())
	if cp.Size <= old.Size {
		t.Fatalf("sizes %d, %d", old.Size, cp.Size)
	}

	for seq := int64(0); seq < cp.Size; seq++ {
		r := h.do("GET", "/open/proof/inclusion?seq="+strconv.FormatInt(seq, 10)+"&size="+strconv.FormatInt(cp.Size, 10), "", "").want(t, 200)
		var p hub.InclusionProof
		if err := json.Unmarshal(r.Raw, &p); err != nil {
			t.Fatal(err)
		}
		if p.Seq != seq || p.Size != cp.Size || decodeHash(t, p.Root) != cp.Root {
			t.Fatalf("seq %d: %+v", seq, p)
		}
		if err := tlog.CheckRecord(decodeHashes(t, p.Proof), cp.Size, cp.Root, seq, decodeHash(t, p.LeafHash)); err != nil {
			t.Fatalf("seq %d: %v", seq, err)
		}
	}
	// The size defaults to the ledger's.
	r := h.do("GET", "/open/proof/inclusion?seq=0", "", "").want(t, 200)
	if r.get("size") != float64(h.ledger.Size()) {
		t.Fatalf("default size: %s", r.Raw)
	}

	r = h.do("GET", "/open/proof/consistency?old="+strconv.FormatInt(old.Size, 10)+"&size="+strconv.FormatInt(cp.Size, 10), "", "").want(t, 200)
	var p hub.ConsistencyProof
	if err := json.Unmarshal(r.Raw, &p); err != nil {
		t.Fatal(err)
	}
	if decodeHash(t, p.OldRoot) != old.Root || decodeHash(t, p.Root) != cp.Root {
		t.Fatalf("roots %+v", p)
	}
	if err := tlog.CheckTree(decodeHashes(t, p.Proof), cp.Size, cp.Root, old.Size, old.Root); err != nil {
		t.Fatal(err)
	}

	n := strconv.FormatInt(h.ledger.Size(), 10)
	for _, q := range []string{"seq=0&size=" + n + "1", "seq=" + n + "1", "seq=3&size=3"} {
		h.do("GET", "/open/proof/inclusion?"+q, "", "").want(t, 404)
	}
	for _, q := range []string{"", "seq=x", "seq=-1", "seq=1&size=y"} {
		h.do("GET", "/open/proof/inclusion?"+q, "", "").want(t, 422)
	}
	h.do("GET", "/open/proof/consistency?old=1&size="+n+"1", "", "").want(t, 404)
	for _, q := range []string{"", "old=x", "old=-2", "old=4&size=3"} {
		h.do("GET", "/open/proof/consistency?"+q, "", "").want(t, 422)
	}
}

// TestOpenVerify runs the verifier against the hub over a real listener,
// as `plenty verify http://host` does.
func TestOpenVerify(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	h.register("Riverside Bakers")
	h.register("Hill Farm")
	base := h.serve()
	ctx := context.Background()
	rep, err := exports.Verify(ctx, base, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Checkpoint.Size != h.ledger.Size() {
		t.Fatalf("verified size %d, want %d", rep.Checkpoint.Size, h.ledger.Size())
	}
	if len(rep.Files) < 3 {
		t.Fatalf("files checked: %v", rep.Files)
	}
	// And a snapshot by size, pinned to the hub's key.
	url := base + "/open/" + strconv.FormatInt(rep.Checkpoint.Size, 10) + "/"
	if _, err := exports.Verify(ctx, url, &exports.VerifyOptions{Key: h.ledger.VerifierKey()}); err != nil {
		t.Fatal(err)
	}
}

// openFiles lists every file under the hub's open-data folder with its
// size and modification time.
func openFiles(t *testing.T, h *testHub) map[string]string {
	t.Helper()
	out := map[string]string{}
	root := filepath.Join(h.ledger.Dir(), "open")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		out[path] = fmt.Sprint(fi.Size(), fi.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOpenGetWritesNothing: with the background writer stopped, GETs of
// every open-data file of a ledger that has grown past its snapshot serve
// the snapshot as it is and write nothing; only the writer writes.
func TestOpenGetWritesNothing(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	h.register("Riverside Bakers")
	first := h.openCheckpoint(t, "/open/")
	if err := h.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.register("Hill Farm")
	before := openFiles(t, h)
	n := strconv.FormatInt(first.Size, 10)
	part := fmt.Sprintf("events/parquet/000000000000-%012d.parquet", first.Size-1)
	for _, name := range []string{"checkpoint", "key", "datapackage.json", "events.arrow", "events.parquet", "events.csv",
		"offers.parquet", "accounts.csv", part, n + "/events.arrow", n + "/" + part, "events.csv?from=1"} {
		r := h.do("GET", "/open/"+name, "", "").want(t, 200)
		if len(r.Raw) == 0 {
			t.Errorf("%s: empty", name)
		}
	}
	if cp := h.openCheckpoint(t, "/open/"); cp != first {
		t.Fatalf("served checkpoint %+v, want the snapshot's %+v", cp, first)
	}
	after := openFiles(t, h)
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("GETs changed the open-data folder:\nbefore %v\nafter  %v", before, after)
	}
	if h.ledger.Size() <= first.Size {
		t.Fatal("the ledger did not grow")
	}
}
