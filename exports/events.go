package exports

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/plentyhub/plenty"
	"golang.org/x/mod/sumdb/tlog"
)

// EventSource yields the ledger's events with from <= seq < to, in seq
// order, calling fn for each; it stops and returns fn's error when fn fails.
// Each event carries Body, the exact hashed bytes, and the fields read from
// it. (*ledger.Ledger).Events has this shape.
type EventSource func(ctx context.Context, from, to int64, fn func(plenty.Event) error) error

// Options tune an export. The zero value is ready to use.
type Options struct {
	// Allocator for Arrow buffers; memory.DefaultAllocator when nil.
	Allocator memory.Allocator
	// BatchRows is the number of rows per record batch (and Parquet row
	// group); 16384 when zero. Memory grows with it: three batches are in
	// flight at a time.
	BatchRows int
	// Progress, when set, is called after each batch of events with the
	// number of events written so far and the number to write.
	Progress func(done, total int64)
	// Licence of the data in datapackage.json; CC0 1.0 when empty.
	Licence *Licence
	// Step, when set, is called as a snapshot moves on from writing the
	// events to "writing tables" and then "reading back".
	Step func(step string)
	// Keep is the number of snapshots Write keeps in its folder, the
	// newest ones; older ones are removed after a new one is published.
	// DefaultKeep when zero.
	Keep int
	// Formats a snapshot is written in; every format when nil. It must
	// hold Arrow or Parquet, which the verifier reads the events from.
	Formats []Format
	// PartEvents is the number of events in each full part file of a
	// snapshot's events, a power of two; DefaultPartEvents when zero.
	PartEvents int64
	// Projections, when set, is where a snapshot reads its tables from
	// (the ledger's projection documents), so that it reads only the
	// events it writes. When nil, every event is replayed through
	// plenty.State to compute them.
	Projections Projections
}

// DefaultKeep is the number of snapshots kept when Options.Keep is zero.
const DefaultKeep = 3

func (o *Options) keep() int {
	if o == nil || o.Keep <= 0 {
		return DefaultKeep
	}
	return o.Keep
}

func (o *Options) step(s string) {
	if o != nil && o.Step != nil {
		o.Step(s)
	}
}

// formats returns the formats of a snapshot, in the order of Formats.
func (o *Options) formats() ([]Format, error) {
	if o == nil || o.Formats == nil {
		return Formats, nil
	}
	var out []Format
	for _, f := range Formats {
		if slices.Contains(o.Formats, f) {
			out = append(out, f)
		}
	}
	if !slices.Contains(out, Arrow) && !slices.Contains(out, Parquet) {
		return nil, plenty.Errorf(plenty.EINVALID, "a snapshot needs the events in arrow or parquet, which the verifier reads; formats %v have neither", o.Formats)
	}
	return out, nil
}

func (o *Options) projections() Projections {
	if o == nil {
		return nil
	}
	return o.Projections
}

func (o *Options) alloc() memory.Allocator {
	if o == nil || o.Allocator == nil {
		return memory.DefaultAllocator
	}
	return o.Allocator
}

func (o *Options) batchRows() int {
	if o == nil || o.BatchRows <= 0 {
		return 1 << 14
	}
	return o.BatchRows
}

// eventBatch builds record batches of the events table in two stages, so
// that two cores share the work: the source's goroutine appends every
// column but leaf_hash; a second goroutine hashes the bodies, adds the
// leaf_hash column and writes the batch to the sinks.
type eventBatch struct {
	rb   *array.RecordBuilder
	seq  *array.Int64Builder
	time *array.TimestampBuilder
	kind *array.StringBuilder
	act  *array.StringBuilder
	body *array.BinaryBuilder
	rows int
	data int // body bytes of the last batch, to reserve as much again
}

// eventColumns is the events schema without leaf_hash: what the first
// stage builds.
var eventColumns = arrow.NewSchema(eventsTable.schema().Fields()[:5], nil)

func newEventBatch(mem memory.Allocator) *eventBatch {
	rb := array.NewRecordBuilder(mem, eventColumns)
	return &eventBatch{
		rb:   rb,
		seq:  rb.Field(0).(*array.Int64Builder),
		time: rb.Field(1).(*array.TimestampBuilder),
		kind: rb.Field(2).(*array.StringBuilder),
		act:  rb.Field(3).(*array.StringBuilder),
		body: rb.Field(4).(*array.BinaryBuilder),
	}
}

func (b *eventBatch) append(ev plenty.Event) {
	b.seq.Append(ev.Seq)
	b.time.Append(arrow.Timestamp(ev.Time.UnixNano()))
	b.kind.Append(ev.Kind)
	b.act.Append(ev.Actor)
	b.body.Append(ev.Body)
	b.rows++
}

// reserve sizes the builders for a batch like the last, so that appending
// does not copy the buffers over and over as they grow.
func (b *eventBatch) reserve(rows int) {
	b.rb.Reserve(rows)
	if b.data > 0 {
		b.body.ReserveData(b.data + b.data/8)
	}
}

// take returns the rows built so far as a record without leaf_hash.
func (b *eventBatch) take() arrow.RecordBatch {
	b.data = b.body.DataLen()
	b.rows = 0
	return b.rb.NewRecordBatch()
}

// addLeaves hashes the bodies of rec and returns the full events record,
// calling onLeaf with each leaf hash in order.
func addLeaves(rec arrow.RecordBatch, mem memory.Allocator, onLeaf func(tlog.Hash)) arrow.RecordBatch {
	bodies := rec.Column(4).(*array.Binary)
	lb := array.NewFixedSizeBinaryBuilder(mem, eventsTable.cols[5].typ.arrow().(*arrow.FixedSizeBinaryType))
	defer lb.Release()
	lb.Reserve(bodies.Len())
	for i := 0; i < bodies.Len(); i++ {
		h := tlog.RecordHash(bodies.Value(i))
		lb.Append(h[:])
		if onLeaf != nil {
			onLeaf(h)
		}
	}
	leaves := lb.NewArray()
	defer leaves.Release()
	cols := append(rec.Columns()[:5:5], leaves)
	return array.NewRecordBatch(eventsTable.schema(), cols, rec.NumRows())
}

// streamEvents writes the events [from, to) of src to the sinks in
// batches. each (when not nil) is called for every event on the source's
// goroutine; onLeaf (when not nil) with every leaf hash, in order, on
// another. It fails when the source skips or repeats a seq, or ends early.
func streamEvents(ctx context.Context, src EventSource, from, to int64, sinks []sink, opts *Options,
	each func(plenty.Event) error, onLeaf func(tlog.Hash)) error {
	mem := opts.alloc()
	b := newEventBatch(mem)
	defer b.rb.Release()
	batch := opts.batchRows()
	b.reserve(batch)

	// The second stage: hash, write. It drains the channel even after a
	// failure, so that every batch is released and the first stage never
	// blocks.
	batches := make(chan arrow.RecordBatch, 1)
	var written atomic.Int64
	var stageErr atomic.Pointer[error]
	done := make(chan struct{})
	go func() {
		defer close(done)
		for rec := range batches {
			if stageErr.Load() == nil {
				full := addLeaves(rec, mem, onLeaf)
				for _, s := range sinks {
					if err := s.write(full); err != nil {
						stageErr.Store(&err)
						break
					}
				}
				full.Release()
				n := written.Add(rec.NumRows())
				if opts != nil && opts.Progress != nil {
					opts.Progress(n, to-from)
				}
			}
			rec.Release()
		}
	}()
	send := func() error {
		if p := stageErr.Load(); p != nil {
			return *p
		}
		batches <- b.take()
		b.reserve(batch)
		return ctx.Err()
	}

	next := from
	err := src(ctx, from, to, func(ev plenty.Event) error {
		if ev.Seq != next {
			return fmt.Errorf("event source yielded seq %d where %d was expected", ev.Seq, next)
		}
		b.append(ev)
		next++
		if each != nil {
			if err := each(ev); err != nil {
				return err
			}
		}
		if b.rows >= batch {
			return send()
		}
		return nil
	})
	if err == nil && next != to {
		err = fmt.Errorf("event source ended at seq %d, before %d", next, to)
	}
	if err == nil && (b.rows > 0 || next == from) {
		err = send()
	}
	close(batches)
	<-done
	if err != nil {
		return err
	}
	if p := stageErr.Load(); p != nil {
		return *p
	}
	return nil
}

// WriteEvents writes the events with from <= seq < to as one file in format
// f to w: the incremental download "events from seq on". The file has the
// same schema as events.arrow (or .parquet, .csv) in a snapshot. It
// returns the source's error, ctx's error, or a write error of w.
func WriteEvents(ctx context.Context, w io.Writer, f Format, src EventSource, from, to int64, opts *Options) error {
	if from < 0 || to < from {
		return plenty.Errorf(plenty.EINVALID, "events range [%d, %d) is empty or negative", from, to)
	}
	s, err := newSink(f, w, eventsTable, opts.alloc())
	if err != nil {
		return err
	}
	if err := streamEvents(ctx, src, from, to, []sink{s}, opts, nil, nil); err != nil {
		s.close()
		return err
	}
	return s.close()
}
