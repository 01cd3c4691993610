package exports

import (
	"encoding/csv"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Format is a file format of the open data.
type Format string

// The formats every table is published in. The file of table T in format F
// is named T.F, such as events.arrow.
const (
	Arrow   Format = "arrow"   // Arrow IPC file format
	Parquet Format = "parquet" // Apache Parquet, Snappy-compressed
	CSV     Format = "csv"     // RFC 4180 with a header row
)

// Formats lists the formats in the order they are written and preferred by
// the verifier.
var Formats = []Format{Arrow, Parquet, CSV}

// MediaType returns the IANA media type of files in the format.
func (f Format) MediaType() string {
	switch f {
	case Arrow:
		return "application/vnd.apache.arrow.file"
	case Parquet:
		return "application/vnd.apache.parquet"
	case CSV:
		return "text/csv; charset=utf-8; header=present"
	}
	return "application/octet-stream"
}

// ParseFormat reads a format name: arrow, parquet or csv.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown format %q: use arrow, parquet or csv", s)
}

// sink writes record batches of one table to one file in one format.
type sink interface {
	write(rec arrow.RecordBatch) error
	// close writes the trailer (Arrow footer, Parquet metadata, CSV
	// buffer); it does not close the underlying writer.
	close() error
}

func newSink(f Format, w io.Writer, t *table, mem memory.Allocator) (sink, error) {
	switch f {
	case Arrow:
		fw, err := ipc.NewFileWriter(w, ipc.WithSchema(t.schema()), ipc.WithAllocator(mem))
		if err != nil {
			return nil, err
		}
		return arrowSink{fw}, nil
	case Parquet:
		props := parquet.NewWriterProperties(
			parquet.WithAllocator(mem),
			parquet.WithCompression(compress.Codecs.Snappy),
			parquet.WithCreatedBy("plenty"),
			parquet.WithMaxRowGroupLength(1<<20),
		)
		pw, err := pqarrow.NewFileWriter(t.schema(), nopCloser{w}, props,
			pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(mem)))
		if err != nil {
			return nil, err
		}
		return parquetSink{pw}, nil
	case CSV:
		cw := csv.NewWriter(w)
		header := make([]string, len(t.cols))
		for i, c := range t.cols {
			header[i] = c.name
		}
		if err := cw.Write(header); err != nil {
			return nil, err
		}
		return &csvSink{w: cw, row: make([]string, len(t.cols))}, nil
	}
	return nil, fmt.Errorf("unknown format %q", f)
}

// closeSinks closes every sink, even after one fails, and returns the
// first error.
func closeSinks(sinks []sink) error {
	var err error
	for _, s := range sinks {
		if cerr := s.close(); err == nil {
			err = cerr
		}
	}
	return err
}

type arrowSink struct{ w *ipc.FileWriter }

func (s arrowSink) write(rec arrow.RecordBatch) error { return s.w.Write(rec) }
func (s arrowSink) close() error                      { return s.w.Close() }

type parquetSink struct{ w *pqarrow.FileWriter }

func (s parquetSink) write(rec arrow.RecordBatch) error { return s.w.Write(rec) }
func (s parquetSink) close() error                      { return s.w.Close() }

// nopCloser keeps pqarrow's Close from closing the file: the caller syncs
// and closes it.
type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

type csvSink struct {
	w      *csv.Writer
	row    []string
	digest *rowDigest // when not nil, fed every row written
}

func (s *csvSink) write(rec arrow.RecordBatch) error {
	cols := rec.Columns()
	for i := 0; i < int(rec.NumRows()); i++ {
		for j, c := range cols {
			v, err := cellText(c, i)
			if err != nil {
				return fmt.Errorf("row %d column %s: %w", i, rec.ColumnName(j), err)
			}
			s.row[j] = v
		}
		if err := s.w.Write(s.row); err != nil {
			return err
		}
		if s.digest != nil {
			s.digest.addRow(s.row)
		}
	}
	return nil
}

func (s *csvSink) close() error {
	s.w.Flush()
	return s.w.Error()
}
