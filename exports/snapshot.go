package exports

import (
	"bufio"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/plentyhub/plenty"
	"golang.org/x/mod/sumdb/tlog"
)

// File names of a snapshot besides the tables.
const (
	CheckpointFile  = "checkpoint"       // the signed note covering events.*
	KeyFile         = "key"              // the note verifier key
	DataPackageFile = "datapackage.json" // Frictionless Data Package v2
	LatestLink      = "latest"           // symlink to the newest snapshot
)

// Snapshot is a published, immutable export: the folder DIR/SIZE.
type Snapshot struct {
	Dir        string
	Checkpoint Checkpoint
}

// Write exports the ledger at the size signed by checkpoint into the folder
// dir/SIZE and points dir/latest at it when it is the newest. The
// checkpoint must verify with verifierKey, and the events src yields must
// hash to its root; the projection tables are computed by replaying the
// events through plenty.State.
//
// Every file is written to a temporary folder, synced, then read back with
// Verify before the folder is renamed into place, so a reader never sees a
// partial or unverified snapshot. The read-back checks every leaf hash
// and the root, datapackage.json's sizes and hashes, and each table file
// against a digest of the rows written to it (Verify on its own computes
// the tables again from the events; the read-back need not, as the rows
// were computed from the events just now). A snapshot that already exists
// is left as it is (snapshots are immutable) and returned.
//
// After publishing, Write removes the older snapshots beyond the newest
// opts.Keep (DefaultKeep), never the one latest points to nor the one it
// just wrote. When only that removal fails, it returns the published
// snapshot together with the error.
//
// It returns an EINVALID error when the checkpoint does not verify or the
// events do not match it, and the source's, ctx's or the file system's
// error otherwise.
func Write(ctx context.Context, dir string, src EventSource, checkpoint []byte, verifierKey string, opts *Options) (*Snapshot, error) {
	cp, err := OpenCheckpoint(checkpoint, verifierKey)
	if err != nil {
		return nil, plenty.Errorf(plenty.EINVALID, "%v", err)
	}
	snap := &Snapshot{Dir: filepath.Join(dir, strconv.FormatInt(cp.Size, 10)), Checkpoint: cp}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if _, err := os.Stat(snap.Dir); err == nil {
		return snap, publishLatest(dir, cp.Size)
	}
	tmp, err := os.MkdirTemp(dir, ".snapshot-"+strconv.FormatInt(cp.Size, 10)+"-")
	if err != nil {
		return nil, err
	}
	published := false
	defer func() {
		if !published {
			os.RemoveAll(tmp)
		}
	}()
	back, err := writeFiles(ctx, dir, tmp, src, cp, checkpoint, verifierKey, opts, true)
	if err != nil && plenty.ErrorCode(err) == plenty.EINVALID {
		// The earlier snapshot's parts may be of another history (a
		// ledger started afresh under the same origin): write every part.
		if rerr := os.RemoveAll(tmp); rerr != nil {
			return nil, rerr
		}
		if rerr := os.Mkdir(tmp, 0o700); rerr != nil {
			return nil, rerr
		}
		back, err = writeFiles(ctx, dir, tmp, src, cp, checkpoint, verifierKey, opts, false)
	}
	if err != nil {
		return nil, err
	}
	if err := syncDir(tmp); err != nil {
		return nil, err
	}
	opts.step("reading back")
	if _, err := verify(ctx, tmp, &VerifyOptions{Key: verifierKey, Allocator: opts.alloc()}, back); err != nil {
		return nil, fmt.Errorf("reading back the export before publishing it: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, snap.Dir); err != nil {
		return nil, err
	}
	published = true
	if err := syncDir(dir); err != nil {
		return nil, err
	}
	if err := publishLatest(dir, cp.Size); err != nil {
		return nil, err
	}
	if err := prune(dir, opts.keep(), cp.Size); err != nil {
		return snap, fmt.Errorf("published snapshot %d, but could not remove the older ones: %w", cp.Size, err)
	}
	return snap, nil
}

// writeFiles writes every file of a snapshot into the folder tmp (the
// events parts it cannot reuse, the tables, datapackage.json, the
// checkpoint and the key), and returns what the read-back compares with.
// With reuse, the full parts of the newest earlier snapshot in dir are
// linked instead of written again.
func writeFiles(ctx context.Context, dir, tmp string, src EventSource, cp Checkpoint, checkpoint []byte, key string, opts *Options, reuse bool) (*readBack, error) {
	formats, err := opts.formats()
	if err != nil {
		return nil, err
	}
	size, err := opts.partEvents()
	if err != nil {
		return nil, err
	}
	var st *plenty.State
	var ents entities
	if opts != nil && opts.Projections != nil {
		ents = projectionEntities{opts.Projections, cp.Size}
	} else {
		st = plenty.NewState()
		ents = stateEntities{st: st, ids: watch(st)}
	}
	apply := func(ev plenty.Event) error {
		if st == nil {
			return nil
		}
		if err := st.Apply(ev); err != nil {
			return plenty.Errorf(plenty.EINVALID, "event %d does not follow from the ledger before it: %v", ev.Seq, err)
		}
		return nil
	}
	var lastTime time.Time
	each := func(ev plenty.Event) error {
		lastTime = ev.Time
		return apply(ev)
	}

	// The events: the full parts of the earlier snapshot are linked, and
	// their tree hashes make the tree up to where they end.
	parts := map[Format][]Part{}
	var prev *previousSnapshot
	if reuse {
		prev = findPrevious(dir, cp)
	}
	reused := reusableParts(prev, cp, formats, size)
	var tree plenty.Tree
	from := int64(0)
	if len(reused) > 0 {
		hashes := make([]tlog.Hash, len(reused))
		for i, rp := range reused {
			hashes[i] = rp.tree
			for _, f := range formats {
				p := rp.files[f]
				if err := linkFile(filepath.Join(rp.dir, p.Path), filepath.Join(tmp, p.Path)); err != nil {
					return nil, err
				}
				parts[f] = append(parts[f], p)
			}
		}
		from = reused[len(reused)-1].last + 1
		if err := tree.SetEdge(from, edgeOf(hashes)); err != nil {
			return nil, err
		}
		if st != nil {
			// The fold needs every event, written or not.
			if err := src(ctx, 0, from, each); err != nil {
				return nil, err
			}
		}
	}
	// Then the parts after them, each through every format at once.
	for first := from; first < cp.Size; first += size {
		last := min(first+size, cp.Size) - 1
		files, sinks, abort, err := openSinks(tmp, formats, func(f Format) string { return partPath(f, first, last) }, eventsTable, opts)
		if err != nil {
			return nil, err
		}
		var part plenty.Tree
		partOpts := opts
		if opts != nil && opts.Progress != nil {
			// Progress over all the events written, not this part's.
			o := *opts
			done := first - from
			o.Progress = func(n, _ int64) { opts.Progress(done+n, cp.Size-from) }
			partOpts = &o
		}
		err = streamEvents(ctx, src, first, last+1, sinks, partOpts, each, func(h tlog.Hash) {
			tree.Add(h)
			part.Add(h)
		})
		if cerr := closeSinks(sinks); err == nil {
			err = cerr
		}
		if err != nil {
			abort()
			return nil, err
		}
		for i, f := range formats {
			w, err := files[i].finish()
			if err != nil {
				abort()
				return nil, err
			}
			parts[f] = append(parts[f], Part{Path: partPath(f, first, last), Bytes: w.size, Hash: "sha256:" + w.sum,
				First: first, Last: last, TreeHash: HashText(part.Root())})
		}
	}
	if root := tree.Root(); root != cp.Root {
		return nil, plenty.Errorf(plenty.EINVALID, "the %d events hash to root %s, but the checkpoint signs %s",
			cp.Size, HashText(root), HashText(cp.Root))
	}
	if st != nil {
		lastTime = st.LastTime()
	} else if lastTime.IsZero() && cp.Size > 0 {
		if err := src(ctx, cp.Size-1, cp.Size, func(ev plenty.Event) error { lastTime = ev.Time; return nil }); err != nil {
			return nil, err
		}
	}
	var resources []Resource
	for _, f := range formats {
		resources = append(resources, newPartsResource(eventsTable, f, parts[f]))
	}

	// The projections: each row computed once, written to every format
	// and hashed for the read-back.
	opts.step("writing tables")
	back := &readBack{written: map[string]*tableDigest{}, linked: map[string]bool{}}
	if len(reused) > 0 {
		back.reused = reused[len(reused)-1].last + 1
	}
	var replay entities
	if st != nil {
		replay = ents
	}
	for _, t := range projections {
		if isPartitioned(t) {
			rs, d, linked, err := writeTableParts(ctx, t, formats, tmp, opts.projections(), replay, cp, size, prev, opts)
			if err != nil {
				return nil, err
			}
			resources = append(resources, rs...)
			back.written[t.name] = d
			for _, p := range linked {
				back.linked[p] = true
			}
			continue
		}
		files, sinks, abort, err := openSinks(tmp, formats, func(f Format) string { return fileName(t, f) }, t, opts)
		if err != nil {
			return nil, err
		}
		d := digestSinks(sinks)
		if err := writeTable(ctx, t, ents, sinks, opts.alloc(), opts.batchRows(), d.values.addBatch); err != nil {
			abort()
			return nil, err
		}
		d.finish()
		back.written[t.name] = d
		for i, f := range formats {
			w, err := files[i].finish()
			if err != nil {
				abort()
				return nil, err
			}
			resources = append(resources, newResource(t, f, w.size, w.sum))
		}
	}

	var lic *Licence
	if opts != nil {
		lic = opts.Licence
	}
	pkg, err := newDataPackage(cp, lastTime, lic, resources).marshal()
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{CheckpointFile, checkpoint}, {KeyFile, []byte(key + "\n")}, {DataPackageFile, pkg}} {
		if err := writeSmallFile(tmp, f.name, f.data); err != nil {
			return nil, err
		}
	}
	for _, t := range partitioned {
		for _, f := range formats {
			if err := syncDir(filepath.Join(tmp, t.name, string(f))); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
		}
	}
	return back, nil
}

// outFile is a file being written: buffered, hashed and counted.
type outFile struct {
	f  *os.File
	bw *bufio.Writer
	h  hash.Hash
	n  int64
}

type written struct {
	size int64
	sum  string // hex SHA-256
}

// openSinks creates, under tmp, the file path names for each format (its
// folder too) and a sink of table t writing into it. abort closes them all;
// on an error none is left open.
func openSinks(tmp string, formats []Format, path func(Format) string, t *table, opts *Options) ([]*outFile, []sink, func(), error) {
	var files []*outFile
	var sinks []sink
	abort := func() {
		for _, f := range files {
			f.abort()
		}
	}
	for _, f := range formats {
		p := path(f)
		if err := os.MkdirAll(filepath.Dir(filepath.Join(tmp, p)), 0o755); err != nil {
			abort()
			return nil, nil, nil, err
		}
		of, err := createFile(tmp, p)
		if err != nil {
			abort()
			return nil, nil, nil, err
		}
		files = append(files, of)
		s, err := newSink(f, of, t, opts.alloc())
		if err != nil {
			abort()
			return nil, nil, nil, err
		}
		sinks = append(sinks, s)
	}
	return files, sinks, abort, nil
}

func createFile(dir, name string) (*outFile, error) {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	return &outFile{f: f, bw: bufio.NewWriterSize(f, 1<<20), h: sha256.New()}, nil
}

func (o *outFile) Write(p []byte) (int, error) {
	o.h.Write(p)
	o.n += int64(len(p))
	return o.bw.Write(p)
}

// finish flushes, syncs and closes the file.
func (o *outFile) finish() (written, error) {
	err := o.bw.Flush()
	if err == nil {
		err = o.f.Sync()
	}
	if cerr := o.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return written{}, fmt.Errorf("writing %s: %w", o.f.Name(), err)
	}
	return written{size: o.n, sum: hex.EncodeToString(o.h.Sum(nil))}, nil
}

func (o *outFile) abort() { o.f.Close() }

func writeSmallFile(dir, name string, data []byte) error {
	of, err := createFile(dir, name)
	if err != nil {
		return err
	}
	if _, err := of.Write(data); err != nil {
		of.abort()
		return err
	}
	_, err = of.finish()
	return err
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

// Latest returns the folder of the newest snapshot in dir and its tree
// size. It returns ENOTFOUND when dir holds no snapshot yet.
func Latest(dir string) (string, int64, error) {
	target, err := os.Readlink(filepath.Join(dir, LatestLink))
	if errors.Is(err, fs.ErrNotExist) {
		return "", 0, plenty.Errorf(plenty.ENOTFOUND, "no export has been published in %s yet", dir)
	}
	if err != nil {
		return "", 0, err
	}
	size, err := strconv.ParseInt(target, 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("%s points to %q, not to a snapshot", filepath.Join(dir, LatestLink), target)
	}
	return filepath.Join(dir, target), size, nil
}

// publishLatest points dir/latest at the snapshot of the given size unless
// it already points at a larger one. The link is replaced atomically.
func publishLatest(dir string, size int64) error {
	if _, cur, err := Latest(dir); err == nil && cur >= size {
		return nil
	}
	tmp := filepath.Join(dir, ".latest-"+strconv.FormatInt(size, 10))
	os.Remove(tmp)
	if err := os.Symlink(strconv.FormatInt(size, 10), tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, LatestLink)); err != nil {
		return err
	}
	return syncDir(dir)
}

// snapshotSizes returns the tree sizes of the snapshots in dir, largest
// first.
func snapshotSizes(dir string) ([]int64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var sizes []int64
	for _, e := range entries {
		n, err := strconv.ParseInt(e.Name(), 10, 64)
		if err != nil || !e.IsDir() || strconv.FormatInt(n, 10) != e.Name() {
			continue
		}
		sizes = append(sizes, n)
	}
	slices.SortFunc(sizes, func(a, b int64) int { return cmp.Compare(b, a) })
	return sizes, nil
}

// prune removes all but the keep largest snapshots in dir, and never the
// one latest points to nor the one of size just (just written; -1 for
// none). A reader that has a file of a removed snapshot open keeps reading
// it; new requests for it find nothing.
func prune(dir string, keep int, just int64) error {
	sizes, err := snapshotSizes(dir)
	if err != nil {
		return err
	}
	_, latest, err := Latest(dir)
	if err != nil {
		return err
	}
	removed := false
	for i, size := range sizes {
		if i < keep || size == latest || size == just {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, strconv.FormatInt(size, 10))); err != nil {
			return fmt.Errorf("removing the old snapshot %d: %w", size, err)
		}
		removed = true
	}
	if removed {
		return syncDir(dir)
	}
	return nil
}
