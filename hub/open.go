package hub

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/exports"
)

// openTables are the tables every snapshot holds, each in every format.
var openTables = []string{
	"events", "councils", "delegates", "items", "offers", "needs",
	"agreements", "transfers", "accounts",
}

// openMediaType returns the media type of a file a snapshot holds, and
// false for a name no snapshot has.
func openMediaType(name string) (string, bool) {
	switch name {
	case exports.CheckpointFile, exports.KeyFile:
		return "text/plain; charset=utf-8", true
	case exports.DataPackageFile:
		return fiber.MIMEApplicationJSON, true
	}
	table, ext, ok := strings.Cut(name, ".")
	if !ok {
		return "", false
	}
	f, err := exports.ParseFormat(ext)
	if err != nil {
		return "", false
	}
	for _, t := range openTables {
		if t == table {
			return f.MediaType(), true
		}
	}
	return "", false
}

// openData publishes the ledger's snapshots under DATA/open. One
// goroutine writes them (runOpenData): after the ledger grows, at most once
// per Config.OpenInterval. Requests only read what it published; a request
// that finds the snapshot older than the ledger wakes it, and one that
// finds none yet waits for the first.
type openData struct {
	dir       string
	start     sync.Once
	wake      chan struct{} // buffered, size 1
	mu        sync.Mutex    // guards the fields below
	lastWrite time.Time
	lastErr   error         // of the last attempt, nil once one succeeds
	published chan struct{} // closed and replaced after each attempt
}

func newOpenData(dir string) *openData {
	return &openData{dir: dir, wake: make(chan struct{}, 1), published: make(chan struct{})}
}

func (o *openData) poke() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// startOpenData starts the snapshot writer, once; it stops with the loops.
// Serve starts it, and so does the first request for open data of a
// server that is driven without Serve (tests, App).
func (s *Server) startOpenData() {
	s.open.start.Do(func() {
		s.loops.done.Add(1)
		go func() {
			defer s.loops.done.Done()
			s.runOpenData(s.loops.stop)
		}()
	})
}

// runOpenData writes a snapshot whenever the ledger has grown past the
// newest one and none was written within the interval, looking when woken
// and every interval. It does not look at once, so that a hub starting up
// is not slowed by a snapshot no one asked for yet.
func (s *Server) runOpenData(stop <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-stop; cancel() }()
	tick := time.NewTicker(s.cfg.OpenInterval)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-s.open.wake:
		case <-tick.C:
		}
		s.publishIfGrown(ctx)
	}
}

func (s *Server) publishIfGrown(ctx context.Context) {
	o := s.open
	size := s.ledger.Size()
	if size == 0 {
		return
	}
	_, latest, err := exports.Latest(o.dir)
	found := err == nil
	if found && latest >= size {
		return
	}
	o.mu.Lock()
	recent := !o.lastWrite.IsZero() && s.cfg.Now().Sub(o.lastWrite) < s.cfg.OpenInterval
	o.mu.Unlock()
	if found && recent {
		return
	}
	_, err = s.writeSnapshot(ctx)
	if err != nil && ctx.Err() == nil {
		s.log.Error("open data: writing a snapshot failed; serving the previous one", "err", err)
	}
	o.mu.Lock()
	o.lastErr = err
	close(o.published)
	o.published = make(chan struct{})
	o.mu.Unlock()
}

// firstSnapshotWait bounds how long a request waits for the first snapshot.
const firstSnapshotWait = 2 * time.Minute

// latestSnapshot returns the folder and tree size of the newest snapshot.
// It never writes one: when the ledger has grown past it, it wakes the
// writer and returns it as it is; when there is none yet, it waits for the
// writer's first.
func (s *Server) latestSnapshot(ctx context.Context) (string, int64, error) {
	o := s.open
	deadline := time.After(firstSnapshotWait)
	for {
		o.mu.Lock()
		published, lastErr := o.published, o.lastErr
		o.mu.Unlock()
		dir, size, err := exports.Latest(o.dir)
		if err == nil {
			if size < s.ledger.Size() {
				s.startOpenData()
				o.poke()
			}
			return dir, size, nil
		}
		if plenty.ErrorCode(err) != plenty.ENOTFOUND {
			return "", 0, err
		}
		if s.ledger.Size() == 0 {
			return "", 0, plenty.Errorf(plenty.ENOTFOUND, "the ledger is empty: there is no open data to publish yet")
		}
		if lastErr != nil {
			return "", 0, lastErr
		}
		s.startOpenData()
		o.poke()
		select {
		case <-published:
		case <-ctx.Done():
			return "", 0, ctx.Err()
		case <-s.loops.stop:
			return "", 0, plenty.Errorf(plenty.EUNAVAILABLE, "the hub is shutting down")
		case <-deadline:
			return "", 0, plenty.Errorf(plenty.EUNAVAILABLE, "the first open-data snapshot is still being written; try again shortly")
		}
	}
}

// writeSnapshot writes a snapshot at the ledger's checkpoint. Its tables
// come from the ledger's projection documents when they are exact at that
// size, so that it writes only the events after the previous snapshot's
// full parts; otherwise from a replay of every event.
func (s *Server) writeSnapshot(ctx context.Context) (*exports.Snapshot, error) {
	start := time.Now()
	cp, err := s.ledger.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	c, err := exports.OpenCheckpoint(cp, s.ledger.VerifierKey())
	if err != nil {
		return nil, err
	}
	opts := &exports.Options{}
	if s.ledger.ProjectionsExact(c.Size) {
		opts.Projections = s.ledger
	}
	snap, err := exports.Write(ctx, s.open.dir, s.ledger.Events, cp, s.ledger.VerifierKey(), opts)
	s.open.mu.Lock()
	s.open.lastWrite = s.cfg.Now()
	s.open.mu.Unlock()
	if err != nil && snap == nil {
		return nil, err
	}
	if err != nil {
		// Published, but older snapshots are left behind: serve the new one.
		s.log.Warn("open data: snapshot published with a fault", "size", snap.Checkpoint.Size, "err", err)
	}
	s.log.Info("open data: snapshot published", "size", snap.Checkpoint.Size, "took", time.Since(start),
		"tables_from_projections", opts.Projections != nil)
	return snap, nil
}

// getOpenFile serves GET /open/{name}: a file of the latest snapshot, or
// with ?from= (and ?to=) the events of a range.
func (s *Server) getOpenFile(c *fiber.Ctx) error {
	name := c.Params("name")
	mt, ok := openMediaType(name)
	if !ok {
		return plenty.Errorf(plenty.ENOTFOUND, "no open data file %q; see /open/datapackage.json for the files published", name)
	}
	if table, ext, _ := strings.Cut(name, "."); table == "events" && (c.Query("from") != "" || c.Query("to") != "") {
		f, _ := exports.ParseFormat(ext)
		return s.streamEvents(c, f)
	}
	dir, _, err := s.latestSnapshot(c.UserContext())
	if err != nil {
		return err
	}
	if cp, ok := s.cosignedCheckpoint(dir, -1); ok && name == exports.CheckpointFile {
		return s.sendCosigned(c, cp)
	}
	// The latest snapshot changes as the ledger grows: caches revalidate.
	c.Set(fiber.HeaderCacheControl, "public, no-cache")
	return s.sendOpenFile(c, dir, name, mt)
}

// getOpenPart serves GET /open/{table}/{format}/{part}: a part file of a
// partitioned table (the events, councils, offers, …) of the latest
// snapshot.
func (s *Server) getOpenPart(c *fiber.Ctx) error {
	if !exports.Partitioned(c.Params("table")) {
		return c.Next() // such as /open/tile/…
	}
	name, mt, err := partName(c)
	if err != nil {
		return err
	}
	dir, _, err := s.latestSnapshot(c.UserContext())
	if err != nil {
		return err
	}
	// A part never changes once written, but the latest snapshot may no
	// longer hold it (the tail part is rewritten).
	c.Set(fiber.HeaderCacheControl, "public, no-cache")
	return s.sendOpenFile(c, dir, name, mt)
}

// getOpenSnapshotPart serves GET /open/{size}/{table}/{format}/{part}.
func (s *Server) getOpenSnapshotPart(c *fiber.Ctx) error {
	if !exports.Partitioned(c.Params("table")) {
		return c.Next()
	}
	name, mt, err := partName(c)
	if err != nil {
		return err
	}
	dir, err := s.snapshotDir(c.Params("size"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	return s.sendOpenFile(c, dir, name, mt)
}

// partName reads the path of a part from the route's :table, :format and
// :part, and its media type.
func partName(c *fiber.Ctx) (string, string, error) {
	name := c.Params("table") + "/" + c.Params("format") + "/" + c.Params("part")
	f, err := exports.ParseFormat(c.Params("format"))
	if err != nil || !exports.IsPartPath(name) {
		return "", "", plenty.Errorf(plenty.ENOTFOUND, "no part %q; see /open/datapackage.json for the parts published", name)
	}
	return name, f.MediaType(), nil
}

// snapshotDir returns the folder of the published snapshot named size.
func (s *Server) snapshotDir(name string) (string, error) {
	size, err := strconv.ParseInt(name, 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != name {
		return "", plenty.Errorf(plenty.ENOTFOUND, "no snapshot %q: snapshots are named by their tree size", name)
	}
	dir := filepath.Join(s.open.dir, name)
	if _, err := os.Stat(dir); err != nil {
		return "", plenty.Errorf(plenty.ENOTFOUND, "no snapshot of tree size %d has been published", size)
	}
	return dir, nil
}

// getOpenSnapshotFile serves GET /open/{size}/{name}: a file of the
// immutable snapshot of that tree size.
func (s *Server) getOpenSnapshotFile(c *fiber.Ctx) error {
	name := c.Params("name")
	mt, ok := openMediaType(name)
	if !ok {
		return plenty.Errorf(plenty.ENOTFOUND, "no open data file %q; see /open/datapackage.json for the files published", name)
	}
	size, err := strconv.ParseInt(c.Params("size"), 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != c.Params("size") {
		return plenty.Errorf(plenty.ENOTFOUND, "no snapshot %q: snapshots are named by their tree size", c.Params("size"))
	}
	dir := filepath.Join(s.open.dir, strconv.FormatInt(size, 10))
	if cp, ok := s.cosignedCheckpoint(dir, size); ok && name == exports.CheckpointFile {
		return s.sendCosigned(c, cp)
	}
	if _, err := s.snapshotDir(c.Params("size")); err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	return s.sendOpenFile(c, dir, name, mt)
}

// sendOpenFile answers with the file dir/name: a strong ETag (the file of
// a snapshot never changes), 304 on If-None-Match, and byte ranges.
func (s *Server) sendOpenFile(c *fiber.Ctx, dir, name, mediaType string) error {
	if table, ext, _ := strings.Cut(name, "."); exports.Partitioned(table) && !strings.Contains(name, "/") {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			f, _ := exports.ParseFormat(ext)
			return sendJoined(c, dir, table, f)
		}
	}
	path := filepath.Join(dir, filepath.FromSlash(name))
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return plenty.Errorf(plenty.ENOTFOUND, "the snapshot %s has no file %s", filepath.Base(dir), name)
	}
	if err != nil {
		return err
	}
	etag := fmt.Sprintf(`"%s-%s-%x-%x"`, filepath.Base(dir), strings.ReplaceAll(name, "/", "-"), fi.Size(), fi.ModTime().UnixNano())
	if matchETag(c.Get(fiber.HeaderIfNoneMatch), etag) {
		c.Set(fiber.HeaderETag, etag)
		c.Status(fiber.StatusNotModified)
		c.Response().ResetBody()
		return nil
	}
	cacheControl := string(c.Response().Header.Peek(fiber.HeaderCacheControl))
	if err := c.SendFile(path); err != nil {
		return err
	}
	c.Set(fiber.HeaderETag, etag)
	c.Set(fiber.HeaderContentType, mediaType)
	c.Set(fiber.HeaderAcceptRanges, "bytes")
	if cacheControl != "" {
		c.Set(fiber.HeaderCacheControl, cacheControl)
	}
	if name == exports.DataPackageFile || strings.HasSuffix(name, ".csv") {
		c.Set(fiber.HeaderContentDisposition, "inline")
	} else {
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+filepath.Base(name)+`"`)
	}
	return nil
}

// sendJoined answers events.arrow, offers.parquet, … of a snapshot whose
// table is in parts: the parts joined into one file as the answer is sent
// (exports.JoinTable). Nothing is written and the ledger is not read; the
// answer has a strong ETag (a snapshot never changes) but no byte ranges,
// which the part files have.
func sendJoined(c *fiber.Ctx, dir, table string, f exports.Format) error {
	if _, err := os.Stat(filepath.Join(dir, table, string(f))); err != nil {
		return plenty.Errorf(plenty.ENOTFOUND, "the snapshot %s has no %s in %s", filepath.Base(dir), table, f)
	}
	etag := fmt.Sprintf(`"%s-%s.%s-joined"`, filepath.Base(dir), table, f)
	c.Set(fiber.HeaderETag, etag)
	if matchETag(c.Get(fiber.HeaderIfNoneMatch), etag) {
		c.Status(fiber.StatusNotModified)
		c.Response().ResetBody()
		return nil
	}
	c.Set(fiber.HeaderContentType, f.MediaType())
	if f == exports.CSV {
		c.Set(fiber.HeaderContentDisposition, "inline")
	} else {
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+table+`.`+string(f)+`"`)
	}
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		if err := exports.JoinTable(context.Background(), w, table, f, dir, nil); err != nil {
			// The status is sent: the client sees a cut-off file, which no
			// reader of the format accepts.
			return
		}
		w.Flush()
	})
	return nil
}

// matchETag reports whether an If-None-Match header names etag.
func matchETag(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// streamEvents answers the incremental download: the events with
// from <= seq < to (to defaults to the ledger's size) in format f.
func (s *Server) streamEvents(c *fiber.Ctx, f exports.Format) error {
	size := s.ledger.Size()
	from, err := queryInt(c, "from", 0)
	if err != nil {
		return err
	}
	to, err := queryInt(c, "to", size)
	if err != nil {
		return err
	}
	switch {
	case to > size:
		return plenty.Invalid("to", fmt.Sprintf("must be at most the ledger's size, %d", size))
	case from > to:
		return plenty.Invalid("from", fmt.Sprintf("must be at most to (%d)", to))
	}
	c.Set(fiber.HeaderContentType, f.MediaType())
	c.Set(fiber.HeaderCacheControl, "public, no-cache")
	c.Set(fiber.HeaderContentDisposition,
		fmt.Sprintf(`attachment; filename="events-%d-%d.%s"`, from, to, f))
	src := s.ledger.Events
	log := s.log
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		if err := exports.WriteEvents(context.Background(), w, f, src, from, to, nil); err != nil {
			log.Error("open data: streaming events failed", "from", from, "to", to, "format", f, "err", err)
			return
		}
		w.Flush()
	})
	return nil
}

// queryInt reads a non-negative integer query parameter, def when absent.
func queryInt(c *fiber.Ctx, name string, def int64) (int64, error) {
	v := c.Query(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, plenty.Invalid(name, "must be a non-negative integer")
	}
	return n, nil
}

// InclusionProof is the answer of GET /open/proof/inclusion. Hashes are
// base64, as in checkpoints.
type InclusionProof struct {
	Seq      int64    `json:"seq"`
	Size     int64    `json:"size"`
	LeafHash string   `json:"leaf_hash"`
	Proof    []string `json:"proof"`
	Root     string   `json:"root"`
}

// ConsistencyProof is the answer of GET /open/proof/consistency.
type ConsistencyProof struct {
	Old     int64    `json:"old"`
	Size    int64    `json:"size"`
	Proof   []string `json:"proof"`
	OldRoot string   `json:"old_root"`
	Root    string   `json:"root"`
}

func hashTexts(hs []tlog.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = exports.HashText(h)
	}
	return out
}

// requiredInt reads a required non-negative integer query parameter, or
// def when def >= 0 and the parameter is absent.
func requiredInt(c *fiber.Ctx, name string, def int64) (int64, error) {
	if c.Query(name) == "" && def < 0 {
		return 0, plenty.Invalid(name, "is required: a non-negative integer")
	}
	return queryInt(c, name, def)
}

func (s *Server) getInclusionProof(c *fiber.Ctx) error {
	ctx := c.UserContext()
	seq, err := requiredInt(c, "seq", -1)
	if err != nil {
		return err
	}
	size, err := requiredInt(c, "size", s.ledger.Size())
	if err != nil {
		return err
	}
	proof, err := s.ledger.InclusionProof(ctx, seq, size)
	if err != nil {
		return err
	}
	var leaf tlog.Hash
	found := false
	if err := s.ledger.Events(ctx, seq, seq+1, func(ev plenty.Event) error {
		leaf, found = tlog.RecordHash(ev.Body), true
		return nil
	}); err != nil {
		return err
	}
	if !found {
		return plenty.Errorf(plenty.ENOTFOUND, "no event %d in the ledger", seq)
	}
	root, err := s.ledger.TreeHash(ctx, size)
	if err != nil {
		return err
	}
	return c.JSON(InclusionProof{Seq: seq, Size: size, LeafHash: exports.HashText(leaf), Proof: hashTexts(proof), Root: exports.HashText(root)})
}

func (s *Server) getConsistencyProof(c *fiber.Ctx) error {
	ctx := c.UserContext()
	old, err := requiredInt(c, "old", -1)
	if err != nil {
		return err
	}
	size, err := requiredInt(c, "size", s.ledger.Size())
	if err != nil {
		return err
	}
	if old > size {
		return plenty.Invalid("old", fmt.Sprintf("must be at most size (%d)", size))
	}
	proof, err := s.ledger.ConsistencyProof(ctx, old, size)
	if err != nil {
		return err
	}
	oldRoot, err := s.ledger.TreeHash(ctx, old)
	if err != nil {
		return err
	}
	root, err := s.ledger.TreeHash(ctx, size)
	if err != nil {
		return err
	}
	return c.JSON(ConsistencyProof{Old: old, Size: size, Proof: hashTexts(proof), OldRoot: exports.HashText(oldRoot), Root: exports.HashText(root)})
}
