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

// openData publishes the ledger's snapshots under DATA/open, writing a new
// one when the ledger has grown, one writer at a time and at most once per
// Config.OpenInterval.
type openData struct {
	dir       string
	write     sync.Mutex // held while a snapshot is being written
	mu        sync.Mutex // guards lastWrite
	lastWrite time.Time
}

// latestSnapshot returns the folder and tree size of the snapshot to serve,
// writing a newer one first when the ledger has grown and none was
// written within the interval. While another request writes, it serves
// the previous snapshot, or waits when there is none yet.
func (s *Server) latestSnapshot(ctx context.Context) (string, int64, error) {
	o := s.open
	dir, size, err := exports.Latest(o.dir)
	found := err == nil
	if err != nil && plenty.ErrorCode(err) != plenty.ENOTFOUND {
		return "", 0, err
	}
	if found && size >= s.ledger.Size() {
		return dir, size, nil
	}
	if found {
		o.mu.Lock()
		recent := s.cfg.Now().Sub(o.lastWrite) < s.cfg.OpenInterval
		o.mu.Unlock()
		if recent || !o.write.TryLock() {
			return dir, size, nil
		}
	} else {
		if s.ledger.Size() == 0 {
			return "", 0, plenty.Errorf(plenty.ENOTFOUND, "the ledger is empty: there is no open data to publish yet")
		}
		o.write.Lock()
		// Another request may have written the first snapshot meanwhile.
		if dir, size, err := exports.Latest(o.dir); err == nil {
			o.write.Unlock()
			return dir, size, nil
		}
	}
	defer o.write.Unlock()
	snap, err := s.writeSnapshot(context.WithoutCancel(ctx))
	if err != nil {
		if found {
			s.log.Error("open data: writing a snapshot failed; serving the previous one", "err", err)
			return dir, size, nil
		}
		return "", 0, err
	}
	return snap.Dir, snap.Checkpoint.Size, nil
}

func (s *Server) writeSnapshot(ctx context.Context) (*exports.Snapshot, error) {
	start := time.Now()
	cp, err := s.ledger.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	snap, err := exports.Write(ctx, s.open.dir, s.ledger.Events, cp, s.ledger.VerifierKey(), nil)
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
	s.log.Info("open data: snapshot published", "size", snap.Checkpoint.Size, "took", time.Since(start))
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
	if _, err := os.Stat(dir); err != nil {
		return plenty.Errorf(plenty.ENOTFOUND, "no snapshot of tree size %d has been published", size)
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	return s.sendOpenFile(c, dir, name, mt)
}

// sendOpenFile answers with the file dir/name: a strong ETag (the file of
// a snapshot never changes), 304 on If-None-Match, and byte ranges.
func (s *Server) sendOpenFile(c *fiber.Ctx, dir, name, mediaType string) error {
	path := filepath.Join(dir, name)
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return plenty.Errorf(plenty.ENOTFOUND, "the snapshot %s has no file %s", filepath.Base(dir), name)
	}
	if err != nil {
		return err
	}
	etag := fmt.Sprintf(`"%s-%s-%x-%x"`, filepath.Base(dir), name, fi.Size(), fi.ModTime().UnixNano())
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
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	}
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
