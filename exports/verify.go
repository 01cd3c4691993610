package exports

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// VerifyOptions tune Verify. The zero value trusts the source's own key
// file and checks no earlier checkpoint.
type VerifyOptions struct {
	// Key pins the note verifier key the checkpoint must be signed with.
	// When empty, the source's key file is used, which proves only that
	// the export is consistent with itself.
	Key string
	// Since is an earlier signed checkpoint of the same log; the source
	// must extend it, not rewrite it.
	Since []byte
	// Allocator for Arrow buffers; memory.DefaultAllocator when nil.
	Allocator memory.Allocator
	// HTTPClient for URL sources; http.DefaultClient when nil.
	HTTPClient *http.Client
	// CheckCheckpoint, when set, is given the signed checkpoint as read
	// from the source (with any cosignatures), after its signature was
	// checked; an error from it is the verification's fault. plenty verify
	// --policy checks the witnesses' quorum with it.
	CheckCheckpoint func(signed []byte) error
}

// Report says what Verify checked.
type Report struct {
	Checkpoint    Checkpoint
	KeyName       string
	KeyFromSource bool        // no key was pinned: the source's own was trusted
	Since         *Checkpoint // the earlier checkpoint the source extends
	Files         []string    // every file checked, in order
}

// Fault is the first way in which the open data does not hold. File names
// the file at fault (its URL for a hub), or is empty.
type Fault struct {
	File string
	Msg  string
}

func (f *Fault) Error() string {
	if f.File == "" {
		return f.Msg
	}
	return f.File + ": " + f.Msg
}

func faultf(file, format string, args ...any) *Fault {
	return &Fault{File: file, Msg: fmt.Sprintf(format, args...)}
}

// Verify checks an export folder or a hub (an http(s) URL: the hub's root,
// whose /open/ serves the files, or any folder URL that holds them): every
// leaf hash, the Merkle root against the signed checkpoint, the signature
// against the key, consistency with an earlier checkpoint when one is
// given, datapackage.json's sizes and hashes, and that every table present
// agrees with a replay of the events. events.arrow or events.parquet,
// checkpoint and key (or opts.Key) are required.
//
// It returns a *Fault naming the first fault found, or another error when
// the source cannot be read at all (a network failure, a missing folder).
func Verify(ctx context.Context, source string, opts *VerifyOptions) (*Report, error) {
	return verify(ctx, source, opts, nil)
}

// verify is Verify; when back is not nil (the read-back of a snapshot
// just written), each table file is compared with the digest of the rows
// written to it, by table name, instead of with a replay of the events,
// the events files are checked for their hashes and columns only, and the
// parts reused from an earlier snapshot for their sizes only.
func verify(ctx context.Context, source string, opts *VerifyOptions, back *readBack) (*Report, error) {
	if opts == nil {
		opts = &VerifyOptions{}
	}
	src, err := openSource(source, opts.HTTPClient)
	if err != nil {
		return nil, err
	}
	defer src.close()
	mem := opts.Allocator
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	v := &verifier{ctx: ctx, src: src, opts: opts, mem: mem, rep: &Report{}, back: back}
	if err := v.run(); err != nil {
		return nil, err
	}
	return v.rep, nil
}

type verifier struct {
	ctx    context.Context
	src    source
	opts   *VerifyOptions
	mem    memory.Allocator
	rep    *Report
	cp     Checkpoint
	since  *Checkpoint
	ents   entities              // the replay's entities, the tables are checked against
	listed map[string]listedFile // datapackage.json's files by path; nil without one
	parts  map[Format][]Part     // the events' part files by format, as datapackage.json lists them
	// tableParts holds the part files of the partitioned projection
	// tables, by table name and format.
	tableParts map[string]map[Format][]Part
	seen       map[string]bool
	// back is set for the read-back of a snapshot just written; nil when
	// everything is checked against a replay.
	back *readBack
	// replayed names the events file (or parts) the replay read: read
	// again to name a table's row at fault (replayAgain).
	replayed *replayedEvents
}

// listedFile is a file's size and hash as datapackage.json lists them.
type listedFile struct {
	bytes int64
	hash  string
}

// readBack is what the read-back of a snapshot just written compares
// with: the digest of the rows written to each table, by table name, and
// the parts carried over from the earlier snapshot, which are checked for
// their size only (they were read back when first written).
type readBack struct {
	written map[string]*tableDigest
	reused  int64           // events in the reused parts, from seq 0
	linked  map[string]bool // the table parts linked from the earlier snapshot
}

// readSmall reads a small file whole; found is false when it is absent.
// datapackage.json may be up to 64 MiB (it lists every part: about 250
// bytes each, a few thousand at 100M events); the others up to 1 MiB.
func (v *verifier) readSmall(name string) (data []byte, found bool, err error) {
	limit := 1 << 20
	if name == DataPackageFile {
		limit = 64 << 20
	}
	f, err := v.src.open(v.ctx, name)
	if err == errNotFound {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	data, err = io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, false, err
	}
	if len(data) > limit {
		return nil, false, faultf(v.src.where(name), "is larger than %d MiB", limit>>20)
	}
	return data, true, nil
}

func (v *verifier) run() error {
	if err := v.checkSignature(); err != nil {
		return err
	}
	if err := v.readPackage(); err != nil {
		return err
	}
	v.seen = map[string]bool{}
	primary := true
	for _, f := range Formats {
		var err error
		if parts, ok := v.parts[f]; ok {
			err = v.checkEventParts(f, parts, primary && v.back == nil)
		} else {
			name := fileName(eventsTable, f)
			var file *os.File
			file, err = v.openChecked(name)
			if err == errNotFound {
				if f == Parquet && primary {
					return faultf("", "the source has neither events.arrow nor events.parquet, nor their parts: nothing to verify")
				}
				continue
			}
			if err != nil {
				return err
			}
			err = v.checkEvents(f, file, primary && v.back == nil)
			file.Close()
			if err != nil {
				err = v.fileFault(name, err)
			}
		}
		if err != nil {
			return err
		}
		if f != CSV {
			primary = false
		}
	}
	for _, t := range projections {
		if err := v.checkProjection(t); err != nil {
			return err
		}
	}
	// Anything else datapackage.json lists must be there and match.
	for path := range v.listed {
		if v.seen[path] {
			continue
		}
		if strings.ContainsAny(path, `/\`) || path == ".." || path == "." {
			return faultf(DataPackageFile, "resource path %q is not a file name in the same folder", path)
		}
		file, err := v.openChecked(path)
		if err != nil {
			return err
		}
		file.Close()
	}
	return nil
}

// fileFault turns an error met while checking a file into a Fault naming
// it, unless it is the context's.
func (v *verifier) fileFault(name string, err error) error {
	var f *Fault
	if errors.As(err, &f) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return faultf(v.src.where(name), "%v", err)
}

// checkSignature reads the key and the checkpoint, and the --since
// checkpoint, and checks their signatures.
func (v *verifier) checkSignature() error {
	keyData, found, err := v.readSmall(KeyFile)
	if err != nil {
		return err
	}
	key := strings.TrimSpace(v.opts.Key)
	switch {
	case key == "" && !found:
		return faultf("", "the source has no key file and no --key was given: cannot check the checkpoint's signature")
	case key == "":
		key = trimKey(keyData)
		v.rep.KeyFromSource = true
	case found && trimKey(keyData) != key:
		return faultf(v.src.where(KeyFile), "the source's verifier key %q is not the key given (%q): the hub's key changed or this is another log",
			trimKey(keyData), key)
	}
	signed, found, err := v.readSmall(CheckpointFile)
	if err != nil {
		return err
	}
	if !found {
		return faultf("", "the source has no checkpoint file")
	}
	if v.cp, err = OpenCheckpoint(signed, key); err != nil {
		return faultf(v.src.where(CheckpointFile), "%v", err)
	}
	if v.opts.CheckCheckpoint != nil {
		if err := v.opts.CheckCheckpoint(signed); err != nil {
			return faultf(v.src.where(CheckpointFile), "%v", err)
		}
	}
	v.rep.Checkpoint = v.cp
	v.rep.KeyName = v.cp.Origin
	if name, _, ok := strings.Cut(key, "+"); ok {
		v.rep.KeyName = name
	}
	if v.opts.Since != nil {
		since, err := OpenCheckpoint(v.opts.Since, key)
		if err != nil {
			return faultf("--since", "the earlier checkpoint does not verify with the key in use: %v (the hub's key changed, or the log was re-signed)", err)
		}
		if since.Origin != v.cp.Origin {
			return faultf("--since", "the earlier checkpoint is of log %q, the source's of %q", since.Origin, v.cp.Origin)
		}
		if since.Size > v.cp.Size {
			return faultf(v.src.where(CheckpointFile), "covers %d events, fewer than the %d of the earlier checkpoint: the log went backwards",
				v.cp.Size, since.Size)
		}
		v.since = &since
		v.rep.Since = &since
	}
	return nil
}

// readPackage reads datapackage.json when present and checks that it
// describes the signed tree.
func (v *verifier) readPackage() error {
	data, found, err := v.readSmall(DataPackageFile)
	if err != nil || !found {
		return err
	}
	where := v.src.where(DataPackageFile)
	var p DataPackage
	if err := json.Unmarshal(data, &p); err != nil {
		return faultf(where, "is not valid JSON: %v", err)
	}
	if p.Checkpoint.TreeSize != v.cp.Size || p.Checkpoint.RootHash != HashText(v.cp.Root) {
		return faultf(where, "describes tree size %d with root %s, but the checkpoint signs size %d with root %s",
			p.Checkpoint.TreeSize, p.Checkpoint.RootHash, v.cp.Size, HashText(v.cp.Root))
	}
	v.listed = map[string]listedFile{}
	v.parts = map[Format][]Part{}
	v.tableParts = map[string]map[Format][]Part{}
	for _, r := range p.Resources {
		// A table in no parts (a snapshot of no events) reads back with
		// an empty path and no parts: plenty:parts is left out when empty.
		if r.Parts == nil && len(r.Path) > 0 {
			// One file (an export written before the parts, or the
			// accounts).
			if len(r.Path) != 1 {
				return faultf(where, "resource %s has %d paths but no parts", r.Name, len(r.Path))
			}
			v.listed[r.Path[0]] = listedFile{r.Bytes, r.Hash}
			continue
		}
		f, err := ParseFormat(r.Format)
		var t *table
		for _, pt := range partitioned {
			if r.Name == resourceName(pt, Format(r.Format)) {
				t = pt
			}
		}
		if err != nil || t == nil {
			return faultf(where, "resource %s lists parts; only the events and the entity tables are in parts", r.Name)
		}
		if _, twice := v.partsOf(t)[f]; twice {
			return faultf(where, "resource %s lists the parts of the %s in %s a second time", r.Name, t.name, f)
		}
		if t == eventsTable {
			err = checkPartList(f, r, v.cp.Size)
		} else {
			err = checkTablePartList(t, f, r, v.cp.Size)
		}
		if err != nil {
			return faultf(where, "resource %s: %v", r.Name, err)
		}
		for _, part := range r.Parts {
			v.listed[part.Path] = listedFile{part.Bytes, part.Hash}
		}
		if t == eventsTable {
			v.parts[f] = r.Parts
		} else {
			if v.tableParts[t.name] == nil {
				v.tableParts[t.name] = map[Format][]Part{}
			}
			v.tableParts[t.name][f] = r.Parts
		}
	}
	// A table is either whole or in parts, never both: the tables are
	// read from their parts, so a whole file beside them would be
	// checked for its hash only, and a reader could take it for the table.
	for _, r := range p.Resources {
		if r.Parts != nil || len(r.Path) != 1 {
			continue
		}
		for _, t := range partitioned {
			for _, f := range Formats {
				_, inParts := v.partsOf(t)[f]
				if inParts && (r.Name == resourceName(t, f) || r.Path[0] == fileName(t, f)) {
					return faultf(where, "resource %s (%s) is the whole %s table in %s, beside its parts: a table is either whole or in parts, never both",
						r.Name, r.Path[0], t.name, f)
				}
			}
		}
	}
	v.rep.Files = append(v.rep.Files, DataPackageFile)
	return nil
}

// partsOf returns the part lists of partitioned table t that
// datapackage.json gives, by format.
func (v *verifier) partsOf(t *table) map[Format][]Part {
	if t == eventsTable {
		return v.parts
	}
	return v.tableParts[t.name]
}

// openChecked opens a file and, when datapackage.json lists it, checks its
// size and SHA-256 hash. It returns errNotFound when the file is absent and
// not listed.
func (v *verifier) openChecked(name string) (*os.File, error) {
	where := v.src.where(name)
	v.seen[name] = true
	r, listed := v.listed[name]
	f, err := v.src.open(v.ctx, name)
	if err == errNotFound {
		if listed {
			return nil, faultf(where, "is listed in datapackage.json, but the source does not have it")
		}
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	if v.listed != nil && !listed {
		f.Close()
		return nil, faultf(where, "is not listed in datapackage.json")
	}
	if listed {
		h := sha256.New()
		n, err := io.Copy(h, f)
		if err == nil {
			_, err = f.Seek(0, io.SeekStart)
		}
		if err != nil {
			f.Close()
			return nil, err
		}
		if n != r.bytes {
			f.Close()
			return nil, faultf(where, "has %d bytes, but datapackage.json says %d (truncated or altered)", n, r.bytes)
		}
		if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != r.hash {
			f.Close()
			return nil, faultf(where, "has hash %s, but datapackage.json says %s (altered)", got, r.hash)
		}
	}
	v.rep.Files = append(v.rep.Files, name)
	return f, nil
}

// statChecked checks that a listed file is there with the size listed,
// without reading it.
func (v *verifier) statChecked(name string) error {
	where := v.src.where(name)
	v.seen[name] = true
	f, err := v.src.open(v.ctx, name)
	if err == errNotFound {
		return faultf(where, "is listed in datapackage.json, but the source does not have it")
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if r := v.listed[name]; fi.Size() != r.bytes {
		return faultf(where, "has %d bytes, but datapackage.json says %d (truncated or altered)", fi.Size(), r.bytes)
	}
	v.rep.Files = append(v.rep.Files, name)
	return nil
}

// rowKey names a row by its primary key, for messages.
func rowKey(t *table, row []string) string {
	var parts []string
	for _, k := range t.primaryKey {
		for j, c := range t.cols {
			if c.name == k {
				parts = append(parts, k+" "+row[j])
			}
		}
	}
	return strings.Join(parts, ", ")
}

// rowStream yields the rows of a table as the replay gives them, computed
// batch by batch on another goroutine while a file is read, so that
// checking a table holds two batches of it, not the whole table.
type rowStream struct {
	batches chan arrow.RecordBatch
	stop    chan struct{}
	result  chan error
	cur     arrow.RecordBatch
	i       int
	row     []string
	rows    int  // rows yielded so far
	ended   bool // the last batch was taken
	closed  bool
	err     error // the computation's, once closed
}

var errStopped = errors.New("stopped")

// streamRows starts computing table t from src. The caller closes the
// stream.
func streamRows(ctx context.Context, t *table, src entities, mem memory.Allocator) *rowStream {
	s := &rowStream{batches: make(chan arrow.RecordBatch, 1), stop: make(chan struct{}), result: make(chan error, 1),
		row: make([]string, len(t.cols))}
	go func() {
		err := writeTable(ctx, t, src, nil, mem, 1<<14, func(rec arrow.RecordBatch) error {
			rec.Retain()
			select {
			case s.batches <- rec:
				return nil
			case <-s.stop:
				rec.Release()
				return errStopped
			}
		})
		close(s.batches)
		s.result <- err
	}()
	return s
}

// next returns the text of the next row, or nil after the last.
func (s *rowStream) next() ([]string, error) {
	for s.cur == nil || s.i >= int(s.cur.NumRows()) {
		if s.cur != nil {
			s.cur.Release()
			s.cur = nil
		}
		if s.ended {
			return nil, nil
		}
		rec, ok := <-s.batches
		if !ok {
			s.ended = true
			return nil, s.close()
		}
		s.cur, s.i = rec, 0
	}
	for j, col := range s.cur.Columns() {
		v, err := cellText(col, s.i)
		if err != nil {
			return nil, err
		}
		s.row[j] = v
	}
	s.i++
	s.rows++
	return s.row, nil
}

// close stops the computation, releases every batch and returns its
// error. It may be called more than once.
func (s *rowStream) close() error {
	if s.cur != nil {
		s.cur.Release()
		s.cur = nil
	}
	if !s.closed {
		s.closed = true
		close(s.stop)
		for rec := range s.batches {
			rec.Release()
		}
		if s.err = <-s.result; s.err == errStopped {
			s.err = nil
		}
	}
	return s.err
}
