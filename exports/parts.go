package exports

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/plentyhub/plenty"
	"golang.org/x/mod/sumdb/tlog"
)

// The events of a snapshot are part files, one folder per format:
//
//	events/arrow/000000000000-000000065535.arrow
//	events/arrow/000000065536-000000131071.arrow
//	events/arrow/000000131072-000000140000.arrow   (the tail: the rest)
//	events/parquet/…parquet, events/csv/…csv       (the same ranges)
//
// Every part but the last holds DefaultPartEvents events (Options.PartEvents),
// a power of two, so a full part is a complete subtree of the Merkle tree.
// A full part never changes: the next snapshot hard-links it instead of
// writing it again, and writes only the tail and the parts after it. Each
// folder reads as one dataset (DuckDB read_parquet('events/parquet/*.parquet'),
// an Arrow or Spark dataset over the folder), and the names sort in seq
// order. There is no key=value in the names, on purpose: a reader that
// infers Hive partitions would add a second "seq" column.

// DefaultPartEvents is the number of events in a full part file: 2^16.
const DefaultPartEvents = 1 << 16

// seqDigits is the width of the seq numbers in part names: a trillion
// events, so that the names sort as numbers.
const seqDigits = 12

// partPath returns the path, inside a snapshot, of the part of format f
// holding the events first..last.
func partPath(f Format, first, last int64) string { return tablePartPath(eventsTable, f, first, last) }

// tablePartPath returns the path of the part of table t in format f
// holding the range first..last.
func tablePartPath(t *table, f Format, first, last int64) string {
	return fmt.Sprintf("%s/%s/%0*d-%0*d.%s", t.name, f, seqDigits, first, seqDigits, last, f)
}

// partitioned lists the tables published in parts: the events, and every
// projection but the accounts (one row per council and item, rewritten
// whole).
var partitioned = []*table{eventsTable, councilsTable, delegatesTable, itemsTable, offersTable, needsTable, agreementsTable, transfersTable}

func isPartitioned(t *table) bool { return slices.Contains(partitioned, t) }

// Partitioned reports whether the table of that name (events, councils,
// offers, …) is published in part files.
func Partitioned(name string) bool {
	return slices.ContainsFunc(partitioned, func(t *table) bool { return t.name == name })
}

func (o *Options) partEvents() (int64, error) {
	if o == nil || o.PartEvents == 0 {
		return DefaultPartEvents, nil
	}
	n := o.PartEvents
	if n < 1 || n&(n-1) != 0 {
		return 0, plenty.Errorf(plenty.EINVALID, "part size %d is not a power of two", n)
	}
	return n, nil
}

// reusedPart is a full part of an earlier snapshot, in every format.
type reusedPart struct {
	first, last int64
	tree        tlog.Hash
	files       map[Format]Part
	dir         string // the earlier snapshot's folder
}

// reusableParts returns the full parts, from seq 0 on, that the earlier
// snapshot prev (see findPrevious) holds in every format of formats with
// the part size size. They are trusted as its datapackage.json lists them
// (it was read back before it was published); only their sizes on disk
// are checked here, and the tree they make is checked against the new
// checkpoint by the caller. None when prev is nil.
func reusableParts(prev *previousSnapshot, cp Checkpoint, formats []Format, size int64) []reusedPart {
	if prev == nil {
		return nil
	}
	byFormat := map[Format][]Part{}
	for _, f := range formats {
		if r := prev.pkg.resource(eventsTable, f); r != nil {
			byFormat[f] = r.Parts
		}
	}
	var out []reusedPart
	for i := 0; ; i++ {
		first := int64(i) * size
		rp := reusedPart{first: first, last: first + size - 1, files: map[Format]Part{}, dir: prev.dir}
		for _, f := range formats {
			parts := byFormat[f]
			if i >= len(parts) || parts[i].First != rp.first || parts[i].Last != rp.last ||
				parts[i].Path != partPath(f, rp.first, rp.last) {
				return out
			}
			fi, err := os.Stat(filepath.Join(prev.dir, parts[i].Path))
			if err != nil || fi.Size() != parts[i].Bytes {
				return out
			}
			h, err := ParseHashText(parts[i].TreeHash)
			if err != nil || (len(rp.files) > 0 && h != rp.tree) {
				return out
			}
			rp.tree = h
			rp.files[f] = parts[i]
		}
		if rp.last >= cp.Size || len(rp.files) == 0 {
			return out
		}
		out = append(out, rp)
	}
}

// linkFile makes dst the same file as src: a hard link, so that the
// snapshots sharing a part share its bytes on disk and removing one
// snapshot leaves the others' parts in place; a copy where the file system
// has no hard links.
func linkFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// edgeOf returns the right edge of the Merkle tree over the leaves of
// full parts whose subtree hashes are given in order: the parts are
// complete subtrees of the same height, so they merge as leaves do, one
// level up.
func edgeOf(parts []tlog.Hash) []tlog.Hash {
	var t plenty.Tree
	for _, h := range parts {
		t.Add(h)
	}
	return t.Edge()
}

// IsPartPath reports whether p names a part of a partitioned table as a
// snapshot does, such as events/arrow/000000000000-000000065535.arrow or
// offers/parquet/000000000000-000000065535.parquet.
func IsPartPath(p string) bool {
	name, rest, ok := strings.Cut(p, "/")
	if !ok {
		return false
	}
	i := slices.IndexFunc(partitioned, func(t *table) bool { return t.name == name })
	if i < 0 {
		return false
	}
	f, file, ok := strings.Cut(rest, "/")
	if !ok {
		return false
	}
	if _, err := ParseFormat(f); err != nil {
		return false
	}
	var first, last int64
	n, err := fmt.Sscanf(file, "%12d-%12d.", &first, &last)
	return err == nil && n == 2 && first <= last && tablePartPath(partitioned[i], Format(f), first, last) == p
}

// JoinEvents writes the events of the snapshot in the folder dir as one
// file in format f, from its parts in order: the file events.F that tools
// wanting a single file download. Arrow and Parquet parts are read batch
// by batch into one writer, CSV parts are joined under one header; memory
// is a batch or two, whatever the size. It returns ENOTFOUND when the
// snapshot has no events in format f.
func JoinEvents(ctx context.Context, w io.Writer, f Format, dir string, mem memory.Allocator) error {
	return JoinTable(ctx, w, "events", f, dir, mem)
}

// JoinTable is JoinEvents for any partitioned table, by name (events,
// councils, offers, …).
func JoinTable(ctx context.Context, w io.Writer, name string, f Format, dir string, mem memory.Allocator) error {
	i := slices.IndexFunc(partitioned, func(t *table) bool { return t.name == name })
	if i < 0 {
		return plenty.Errorf(plenty.ENOTFOUND, "%s is not published in parts", name)
	}
	t := partitioned[i]
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	data, err := os.ReadFile(filepath.Join(dir, DataPackageFile))
	if err != nil {
		return err
	}
	var p DataPackage
	if err := json.Unmarshal(data, &p); err != nil {
		return fmt.Errorf("%s: %v", DataPackageFile, err)
	}
	r := p.resource(t, f)
	if r == nil || r.Parts == nil {
		return plenty.Errorf(plenty.ENOTFOUND, "the snapshot has no %s in %s", t.name, f)
	}
	parts := r.Parts
	if f == CSV {
		for i, part := range parts {
			if err := copyCSV(w, filepath.Join(dir, part.Path), i > 0); err != nil {
				return err
			}
		}
		return nil
	}
	s, err := newSink(f, w, t, mem)
	if err != nil {
		return err
	}
	for _, part := range parts {
		file, err := os.Open(filepath.Join(dir, part.Path))
		if err != nil {
			s.close()
			return err
		}
		err = readBatches(ctx, f, file, t, mem, func(rec arrow.RecordBatch) error {
			// A Parquet reader's batches carry the file's metadata in
			// their schema: write the columns under the table's.
			out := array.NewRecordBatch(t.schema(), rec.Columns(), rec.NumRows())
			defer out.Release()
			return s.write(out)
		})
		file.Close()
		if err != nil {
			s.close()
			return fmt.Errorf("%s: %w", part.Path, err)
		}
	}
	return s.close()
}

// copyCSV copies a CSV file to w, without its header row when skipHeader.
func copyCSV(w io.Writer, path string, skipHeader bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<16)
	if skipHeader {
		if _, err := r.ReadSlice('\n'); err != nil {
			return fmt.Errorf("%s: no header row: %w", path, err)
		}
	}
	_, err = io.Copy(w, r)
	return err
}
