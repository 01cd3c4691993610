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
	written, err := writeFiles(ctx, tmp, src, cp, checkpoint, verifierKey, opts)
	if err != nil {
		return nil, err
	}
	if err := syncDir(tmp); err != nil {
		return nil, err
	}
	opts.step("reading back")
	if _, err := verify(ctx, tmp, &VerifyOptions{Key: verifierKey, Allocator: opts.alloc()}, written); err != nil {
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

// writeFiles writes every file of a snapshot into the folder tmp, and
// returns the digest of the rows written to each projection table, by
// table name, for the read-back.
func writeFiles(ctx context.Context, tmp string, src EventSource, cp Checkpoint, checkpoint []byte, key string, opts *Options) (map[string]*tableDigest, error) {
	formats, err := opts.formats()
	if err != nil {
		return nil, err
	}
	var resources []Resource
	st := plenty.NewState()
	ids := watch(st)

	var files []*outFile
	defer func() {
		for _, f := range files {
			f.abort()
		}
	}()
	// open creates the files of table t, one per format, and their sinks.
	open := func(t *table) ([]sink, error) {
		var sinks []sink
		for _, f := range formats {
			of, err := createFile(tmp, fileName(t, f))
			if err != nil {
				return nil, err
			}
			files = append(files, of)
			s, err := newSink(f, of, t, opts.alloc())
			if err != nil {
				return nil, err
			}
			sinks = append(sinks, s)
		}
		return sinks, nil
	}
	// finish syncs and closes them, and lists them in datapackage.json.
	finish := func(t *table) error {
		for i, f := range formats {
			r, err := files[i].finish()
			if err != nil {
				return err
			}
			resources = append(resources, newResource(t, f, r.size, r.sum))
		}
		files = nil
		return nil
	}

	// The events: one pass over the source feeds every format, the Merkle
	// tree and the state.
	sinks, err := open(eventsTable)
	if err != nil {
		return nil, err
	}
	err = streamEvents(ctx, src, 0, cp.Size, sinks, opts, func(ev plenty.Event) error {
		if err := st.Apply(ev); err != nil {
			return plenty.Errorf(plenty.EINVALID, "event %d does not follow from the ledger before it: %v", ev.Seq, err)
		}
		return nil
	}, func(tlog.Hash) {})
	if err != nil {
		return nil, err
	}
	if root := st.Root(); root != cp.Root {
		return nil, plenty.Errorf(plenty.EINVALID, "the %d events hash to root %s, but the checkpoint signs %s",
			cp.Size, HashText(root), HashText(cp.Root))
	}
	for _, s := range sinks {
		if err := s.close(); err != nil {
			return nil, err
		}
	}
	if err := finish(eventsTable); err != nil {
		return nil, err
	}

	// The projections: each row computed once, written to every format
	// and hashed for the read-back.
	opts.step("writing tables")
	written := map[string]*tableDigest{}
	for _, t := range projections {
		sinks, err := open(t)
		if err != nil {
			return nil, err
		}
		d := digestSinks(sinks)
		if err := writeTable(t, st, ids, sinks, opts.alloc(), opts.batchRows(), d.values.addBatch); err != nil {
			return nil, err
		}
		d.finish()
		written[t.name] = d
		if err := finish(t); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}

	var lic *Licence
	if opts != nil {
		lic = opts.Licence
	}
	pkg, err := newDataPackage(cp, st.LastTime(), lic, resources).marshal()
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
	return written, nil
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
