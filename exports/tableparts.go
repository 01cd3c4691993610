package exports

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/plentyhub/plenty"
)

// The projection tables (but accounts) are partitioned too, so that a
// snapshot rewrites only what changed: the part k of a table holds the
// entities whose first document the ledger stamped with a seq in
// [k·P, (k+1)·P), P the part size, in id order. An entity's first stamp
// never changes, so it stays in its part for good; the part is written
// again only when one of its entities changed since the previous snapshot
// (Projections.Changed says which) or when its range was not yet closed
// then. The rest are linked, as full events parts are. In a ledger where
// entities close (postings withdrawn, fulfilled or expired, agreements
// done), the parts of old ranges stop changing.
//
// A snapshot without Projections (a replay) writes each table as one part
// over the whole range, in id order. Either way, plenty verify compares a
// table with the fold as a multiset of rows, so the partition is the
// writer's choice.

// partEntities reads the entities of a Projections at a size, part by
// part: before the first row of each part of its own kind, it calls
// switchTo with the part's index.
type partEntities struct {
	p        Projections
	size     int64
	part     int64   // part size; size+1 for one part
	parts    []int64 // the parts wanted; nil for all
	kind     string
	switchTo func(k int64) error
}

func (e partEntities) each(ctx context.Context, kind string, fn func(id string, get func(v any) error) error) error {
	cur := int64(-1)
	part, parts := e.part, e.parts
	if kind != e.kind {
		part, parts = e.size+1, nil
	}
	return e.p.Documents(ctx, kind, e.size, part, parts, func(id string, first int64, doc []byte) error {
		if k := first / part; kind == e.kind && k != cur && e.switchTo != nil {
			if err := e.switchTo(k); err != nil {
				return err
			}
			cur = k
		}
		return fn(id, func(v any) error {
			if err := json.Unmarshal(doc, v); err != nil {
				return plenty.Errorf(plenty.EINVALID, "%s %s: reading its document: %v", kind, id, err)
			}
			return nil
		})
	})
}

// partWriter writes the rows of one table into part files, one part at a
// time, in every format, and digests them for the read-back.
type partWriter struct {
	t       *table
	formats []Format
	tmp     string
	mem     memory.Allocator
	batch   int
	rb      *array.RecordBuilder
	rows    int // in rb
	digest  *tableDigest
	parts   map[Format][]Part

	// The part being written.
	open        bool
	first, last int64
	files       []*outFile
	sinks       []sink
	batches     int
	partRows    int64
}

func newPartWriter(t *table, formats []Format, tmp string, mem memory.Allocator, batch int) *partWriter {
	w := &partWriter{t: t, formats: formats, tmp: tmp, mem: mem, batch: batch,
		rb: array.NewRecordBuilder(mem, t.schema()), parts: map[Format][]Part{}, digest: &tableDigest{values: newRowDigest()}}
	for _, f := range formats {
		if f == CSV {
			w.digest.text = newRowDigest()
		}
	}
	return w
}

// start opens the files of the part first..last.
func (w *partWriter) start(first, last int64) error {
	if err := w.end(); err != nil {
		return err
	}
	for _, f := range w.formats {
		path := tablePartPath(w.t, f, first, last)
		if err := os.MkdirAll(filepath.Dir(filepath.Join(w.tmp, path)), 0o755); err != nil {
			return err
		}
		of, err := createFile(w.tmp, path)
		if err != nil {
			return err
		}
		w.files = append(w.files, of)
		s, err := newSink(f, of, w.t, w.mem)
		if err != nil {
			return err
		}
		if cs, ok := s.(*csvSink); ok {
			cs.digest = w.digest.text
		}
		w.sinks = append(w.sinks, s)
	}
	w.open, w.first, w.last, w.batches, w.partRows = true, first, last, 0, 0
	return nil
}

func (w *partWriter) endRow() error {
	w.rows++
	w.partRows++
	if w.rows >= w.batch {
		return w.flush()
	}
	return nil
}

func (w *partWriter) flush() error {
	rec := w.rb.NewRecordBatch()
	defer rec.Release()
	w.rows = 0
	w.batches++
	for _, s := range w.sinks {
		if err := s.write(rec); err != nil {
			return err
		}
	}
	return w.digest.values.addBatch(rec)
}

// end closes the part being written, if any, and lists it.
func (w *partWriter) end() error {
	if !w.open {
		return nil
	}
	w.open = false
	// An empty part still gets one (empty) batch, so that every reader
	// sees its schema the same way.
	if w.rows > 0 || w.batches == 0 {
		if err := w.flush(); err != nil {
			return err
		}
	}
	if err := closeSinks(w.sinks); err != nil {
		return err
	}
	for i, f := range w.formats {
		r, err := w.files[i].finish()
		if err != nil {
			return err
		}
		rows := w.partRows
		w.parts[f] = append(w.parts[f], Part{Path: tablePartPath(w.t, f, w.first, w.last), Bytes: r.size,
			Hash: "sha256:" + r.sum, First: w.first, Last: w.last, Rows: &rows})
	}
	w.files, w.sinks = nil, nil
	return nil
}

// abort closes every file left open and releases the builder.
func (w *partWriter) abort() {
	for _, f := range w.files {
		f.abort()
	}
	w.rb.Release()
}

// previousSnapshot is the newest snapshot in a folder no larger than the
// one being written, as its datapackage.json describes it.
type previousSnapshot struct {
	dir  string
	size int64
	pkg  DataPackage
}

func findPrevious(dir string, cp Checkpoint) *previousSnapshot {
	sizes, err := snapshotSizes(dir)
	if err != nil {
		return nil
	}
	for _, s := range sizes {
		if s > cp.Size {
			continue
		}
		prev := filepath.Join(dir, strconv.FormatInt(s, 10))
		data, err := os.ReadFile(filepath.Join(prev, DataPackageFile))
		if err != nil {
			return nil
		}
		p := &previousSnapshot{dir: prev, size: s}
		if json.Unmarshal(data, &p.pkg) != nil || p.pkg.Checkpoint.Origin != cp.Origin || p.pkg.Checkpoint.TreeSize != s {
			return nil
		}
		return p
	}
	return nil
}

// tableParts returns the parts of table t in format f the snapshot lists
// when they came from projections with part size size; nil otherwise.
func (p *previousSnapshot) tableParts(t *table, f Format, size int64) ([]Part, bool) {
	if p == nil {
		return nil, false
	}
	if r := p.pkg.resource(t, f); r != nil && r.RowsFrom == "projections" && r.PartEvents == size {
		return r.Parts, true
	}
	return nil, false
}

// partAt returns the part of table t in format f starting at first.
func (p *previousSnapshot) partAt(t *table, f Format, first int64) (Part, bool) {
	if r := p.pkg.resource(t, f); r != nil {
		for _, part := range r.Parts {
			if part.First == first {
				return part, true
			}
		}
	}
	return Part{}, false
}

// writeTableParts writes projection table t in parts from src (or, with
// st set, from a replay: one part), linking the parts of the previous
// snapshot none of whose entities changed since. It returns the table's
// resources, one per format, the digest of the rows it wrote and the paths
// it linked.
func writeTableParts(ctx context.Context, t *table, formats []Format, tmp string, src Projections, replay entities,
	cp Checkpoint, size int64, prev *previousSnapshot, opts *Options) ([]Resource, *tableDigest, []string, error) {
	w := newPartWriter(t, formats, tmp, opts.alloc(), opts.batchRows())
	defer w.abort()
	var linked []string
	if replay != nil || src == nil {
		if cp.Size > 0 {
			if err := w.start(0, cp.Size-1); err != nil {
				return nil, nil, nil, err
			}
		}
		if err := tableRows(ctx, t, replay, w.rb, w.endRow); err != nil {
			return nil, nil, nil, err
		}
	} else {
		// Which parts of the previous snapshot still hold: those whose
		// range was closed then and none of whose entities changed since.
		reusable := map[int64]map[Format]Part{}
		closed := int64(0) // the parts below were closed ranges in prev
		changed := map[int64]bool{}
		if prev != nil {
			byFormat := map[Format][]Part{}
			ok := true
			for _, f := range formats {
				parts, found := prev.tableParts(t, f, size)
				ok = ok && found
				byFormat[f] = parts
			}
			if ok {
				closed = prev.size / size
				for _, f := range formats {
					for _, p := range byFormat[f] {
						k := p.First / size
						if p.First != k*size || p.Last != p.First+size-1 || k >= closed {
							continue
						}
						if reusable[k] == nil {
							reusable[k] = map[Format]Part{}
						}
						reusable[k][f] = p
					}
				}
				if err := src.Changed(ctx, t.kind, prev.size, cp.Size, func(first int64) error {
					changed[first/size] = true
					return nil
				}); err != nil {
					return nil, nil, nil, err
				}
				for k := range reusable {
					if changed[k] || len(reusable[k]) != len(formats) {
						delete(reusable, k)
					}
				}
			}
		}
		// The parts to compute: every one the first time; then the
		// changed ones, those without a complete previous part, and the
		// ranges that were not closed. A closed range with no part and no
		// change has no entity.
		var wanted []int64
		if closed > 0 {
			for k := int64(0); k*size < cp.Size; k++ {
				if reusable[k] != nil {
					continue
				}
				if k < closed && !changed[k] {
					if _, had := prev.partAt(t, formats[0], k*size); !had {
						continue
					}
				}
				wanted = append(wanted, k)
			}
		}
		// Rows arrive by part, then id; a part is written as its first
		// row comes, and the reused parts are linked in their place.
		nextLinked := int64(0)
		link := func(upTo int64) error {
			for ; nextLinked < upTo; nextLinked++ {
				files := reusable[nextLinked]
				if files == nil {
					continue
				}
				if err := w.end(); err != nil {
					return err
				}
				for _, f := range formats {
					p := files[f]
					if err := linkFile(filepath.Join(prev.dir, p.Path), filepath.Join(tmp, p.Path)); err != nil {
						return err
					}
					w.parts[f] = append(w.parts[f], p)
					linked = append(linked, p.Path)
				}
			}
			return nil
		}
		ents := partEntities{p: src, size: cp.Size, part: size, parts: wanted, kind: t.kind, switchTo: func(k int64) error {
			if err := link(k); err != nil {
				return err
			}
			nextLinked = k + 1
			return w.start(k*size, min((k+1)*size, cp.Size)-1)
		}}
		if err := tableRows(ctx, t, ents, w.rb, w.endRow); err != nil {
			return nil, nil, nil, err
		}
		if err := link(closed); err != nil {
			return nil, nil, nil, err
		}
	}
	if err := w.end(); err != nil {
		return nil, nil, nil, err
	}
	if len(w.parts[formats[0]]) == 0 && cp.Size > 0 {
		// No entity at all: one empty part, so that the table has files.
		if err := w.start(0, cp.Size-1); err != nil {
			return nil, nil, nil, err
		}
		if err := w.end(); err != nil {
			return nil, nil, nil, err
		}
	}
	w.digest.finish()
	var out []Resource
	for _, f := range formats {
		r := newPartsResource(t, f, w.parts[f])
		if src != nil && replay == nil {
			r.RowsFrom, r.PartEvents = "projections", size
		} else {
			r.RowsFrom = "replay"
		}
		out = append(out, r)
	}
	return out, w.digest, linked, nil
}
