package exports

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// readAtSeeker is what the Arrow and Parquet readers need of a file.
type readAtSeeker interface {
	io.Reader
	io.ReaderAt
	io.Seeker
}

// unreadable reports a file that cannot be parsed in its format, as
// opposed to a fault in the values it holds.
func unreadable(f Format, err error) error {
	what := map[Format]string{Arrow: "Arrow IPC file", Parquet: "Parquet file", CSV: "CSV file"}[f]
	return fmt.Errorf("not a readable %s (truncated or corrupt?): %v", what, err)
}

// recoverUnreadable turns a panic of a third-party reader on malformed
// input into an error: a corrupt download must produce a message, not a
// crash.
func recoverUnreadable(f Format, err *error) {
	if r := recover(); r != nil {
		*err = unreadable(f, fmt.Errorf("reader failed: %v", r))
	}
}

// checkSchema compares a file's schema with the table's, by column names
// and types.
func checkSchema(t *table, s *arrow.Schema) error {
	want := t.schema()
	if s.NumFields() != want.NumFields() {
		return fmt.Errorf("has %d columns, expected %d (%s)", s.NumFields(), want.NumFields(), columnNames(want))
	}
	for i, f := range s.Fields() {
		w := want.Field(i)
		if f.Name != w.Name {
			return fmt.Errorf("column %d is %q, expected %q", i+1, f.Name, w.Name)
		}
		if !arrow.TypeEqual(f.Type, w.Type) {
			return fmt.Errorf("column %s has type %s, expected %s", f.Name, f.Type, w.Type)
		}
	}
	return nil
}

func columnNames(s *arrow.Schema) string {
	names := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// readBatches reads an Arrow IPC or Parquet file of table t and calls fn
// with each record batch, which fn must not keep. Every buffer is released
// before it returns.
func readBatches(ctx context.Context, f Format, r readAtSeeker, t *table, mem memory.Allocator, fn func(arrow.RecordBatch) error) (err error) {
	defer recoverUnreadable(f, &err)
	switch f {
	case Arrow:
		fr, err := ipc.NewFileReader(r, ipc.WithAllocator(mem))
		if err != nil {
			return unreadable(f, err)
		}
		defer fr.Close()
		if err := checkSchema(t, fr.Schema()); err != nil {
			return err
		}
		for i := 0; i < fr.NumRecords(); i++ {
			rec, err := fr.RecordBatchAt(i)
			if err != nil {
				return unreadable(f, err)
			}
			err = validateBatch(f, rec)
			if err == nil {
				err = fn(rec)
			}
			rec.Release()
			if err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		return nil
	case Parquet:
		pf, err := file.NewParquetReader(r, file.WithReadProps(parquet.NewReaderProperties(mem)))
		if err != nil {
			return unreadable(f, err)
		}
		defer pf.Close()
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1 << 16}, mem)
		if err != nil {
			return unreadable(f, err)
		}
		s, err := fr.Schema()
		if err != nil {
			return unreadable(f, err)
		}
		if err := checkSchema(t, s); err != nil {
			return err
		}
		rr, err := fr.GetRecordReader(ctx, nil, nil)
		if err != nil {
			return unreadable(f, err)
		}
		defer rr.Release()
		for rr.Next() {
			rec := rr.RecordBatch()
			if err := validateBatch(f, rec); err != nil {
				return err
			}
			if err := fn(rec); err != nil {
				return err
			}
		}
		if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
			return unreadable(f, err)
		}
		return nil
	}
	return fmt.Errorf("format %s has no record batches", f)
}

// validateBatch checks a batch's buffers before its values are read, so
// that a corrupt file is reported rather than read out of bounds.
func validateBatch(f Format, rec arrow.RecordBatch) error {
	if err := array.ValidateRecordFull(rec); err != nil {
		return unreadable(f, err)
	}
	return nil
}

// readCSV reads a CSV file of table t and calls fn with each row after the
// header; fn must not keep the slice.
func readCSV(ctx context.Context, r io.Reader, t *table, fn func(row []string) error) error {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<20))
	cr.ReuseRecord = true
	cr.FieldsPerRecord = len(t.cols)
	header, err := cr.Read()
	if err == io.EOF {
		return unreadable(CSV, errors.New("the file is empty: no header row"))
	}
	if err != nil {
		return unreadable(CSV, err)
	}
	for i, c := range t.cols {
		if header[i] != c.name {
			return fmt.Errorf("column %d is %q, expected %q", i+1, header[i], c.name)
		}
	}
	for n := 0; ; n++ {
		row, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return unreadable(CSV, err)
		}
		if err := fn(row); err != nil {
			return err
		}
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
}
