package exports

import (
	"context"
	"fmt"
	"io"

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
	// group); 65536 when zero. Memory grows with it.
	BatchRows int
	// Progress, when set, is called after each batch of events with the
	// number of events written so far and the number to write.
	Progress func(done, total int64)
	// Licence of the data in datapackage.json; CC0 1.0 when empty.
	Licence *Licence
}

func (o *Options) alloc() memory.Allocator {
	if o == nil || o.Allocator == nil {
		return memory.DefaultAllocator
	}
	return o.Allocator
}

func (o *Options) batchRows() int {
	if o == nil || o.BatchRows <= 0 {
		return 1 << 16
	}
	return o.BatchRows
}

// eventBatch builds record batches of the events table.
type eventBatch struct {
	rb   *array.RecordBuilder
	seq  *array.Int64Builder
	time *array.TimestampBuilder
	kind *array.StringBuilder
	act  *array.StringBuilder
	body *array.BinaryBuilder
	leaf *array.FixedSizeBinaryBuilder
	rows int
}

func newEventBatch(mem memory.Allocator) *eventBatch {
	rb := array.NewRecordBuilder(mem, eventsTable.schema())
	return &eventBatch{
		rb:   rb,
		seq:  rb.Field(0).(*array.Int64Builder),
		time: rb.Field(1).(*array.TimestampBuilder),
		kind: rb.Field(2).(*array.StringBuilder),
		act:  rb.Field(3).(*array.StringBuilder),
		body: rb.Field(4).(*array.BinaryBuilder),
		leaf: rb.Field(5).(*array.FixedSizeBinaryBuilder),
	}
}

func (b *eventBatch) append(ev plenty.Event, leaf tlog.Hash) {
	b.seq.Append(ev.Seq)
	b.time.Append(arrow.Timestamp(ev.Time.UnixNano()))
	b.kind.Append(ev.Kind)
	b.act.Append(ev.Actor)
	b.body.Append(ev.Body)
	b.leaf.Append(leaf[:])
	b.rows++
}

// flush writes the rows built so far to every sink.
func (b *eventBatch) flush(sinks []sink) error {
	if b.rows == 0 {
		return nil
	}
	rec := b.rb.NewRecordBatch()
	defer rec.Release()
	b.rows = 0
	for _, s := range sinks {
		if err := s.write(rec); err != nil {
			return err
		}
	}
	return nil
}

// streamEvents writes the events [from, to) of src to the sinks, in batches,
// calling each (when not nil) for every event after it is buffered. It
// fails when the source skips or repeats a seq, or ends early.
func streamEvents(ctx context.Context, src EventSource, from, to int64, sinks []sink, opts *Options, each func(plenty.Event, tlog.Hash) error) error {
	b := newEventBatch(opts.alloc())
	defer b.rb.Release()
	batch := opts.batchRows()
	next := from
	err := src(ctx, from, to, func(ev plenty.Event) error {
		if ev.Seq != next {
			return fmt.Errorf("event source yielded seq %d where %d was expected", ev.Seq, next)
		}
		leaf := tlog.RecordHash(ev.Body)
		b.append(ev, leaf)
		next++
		if each != nil {
			if err := each(ev, leaf); err != nil {
				return err
			}
		}
		if b.rows >= batch {
			if err := b.flush(sinks); err != nil {
				return err
			}
			if opts != nil && opts.Progress != nil {
				opts.Progress(next-from, to-from)
			}
			return ctx.Err()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if next != to {
		return fmt.Errorf("event source ended at seq %d, before %d", next, to)
	}
	if err := b.flush(sinks); err != nil {
		return err
	}
	if opts != nil && opts.Progress != nil {
		opts.Progress(to-from, to-from)
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
	if err := streamEvents(ctx, src, from, to, []sink{s}, opts, nil); err != nil {
		s.close()
		return err
	}
	return s.close()
}

// writeTable writes a projection table computed from st to one sink.
func writeTable(t *table, st *plenty.State, s sink, mem memory.Allocator, batch int) error {
	rb := array.NewRecordBuilder(mem, t.schema())
	defer rb.Release()
	rows, batches := 0, 0
	flush := func() error {
		rec := rb.NewRecordBatch()
		defer rec.Release()
		rows = 0
		batches++
		return s.write(rec)
	}
	err := projectionRows(t, st, func(row []any) error {
		appendRow(rb, t, row)
		rows++
		if rows >= batch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	// An empty table still gets one (empty) batch, so that every reader
	// sees its schema the same way.
	if rows > 0 || batches == 0 {
		if err := flush(); err != nil {
			return err
		}
	}
	return s.close()
}
