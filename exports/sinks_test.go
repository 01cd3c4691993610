package exports

import (
	"errors"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// closingSink records its close and fails it with err.
type closingSink struct {
	closed *int
	err    error
}

func (s closingSink) write(arrow.RecordBatch) error { return nil }
func (s closingSink) close() error                  { *s.closed++; return s.err }

// closeSinks closes every sink, even after one fails, and returns the
// first failure.
func TestCloseSinksClosesEveryOne(t *testing.T) {
	first, second := errors.New("first"), errors.New("second")
	n := 0
	err := closeSinks([]sink{closingSink{&n, nil}, closingSink{&n, first}, closingSink{&n, second}})
	if err != first || n != 3 {
		t.Fatalf("closeSinks = %v after %d closes, want %v after 3", err, n, first)
	}
	n = 0
	if err := closeSinks([]sink{closingSink{&n, nil}, closingSink{&n, nil}}); err != nil || n != 2 {
		t.Fatalf("closeSinks = %v after %d closes, want nil after 2", err, n)
	}
}

// The resource of a table in a format is found by its name, the first
// when listed twice; none is nil.
func TestDataPackageResource(t *testing.T) {
	p := &DataPackage{Resources: []Resource{
		{Name: "events-arrow", Bytes: 1}, {Name: "offers-csv", Bytes: 2}, {Name: "offers-csv", Bytes: 3},
	}}
	if r := p.resource(offersTable, CSV); r == nil || r.Bytes != 2 {
		t.Errorf("resource(offers, csv) = %+v, want the one of 2 bytes", r)
	}
	if r := p.resource(eventsTable, Arrow); r == nil || r.Bytes != 1 {
		t.Errorf("resource(events, arrow) = %+v, want the one of 1 byte", r)
	}
	if r := p.resource(offersTable, Parquet); r != nil {
		t.Errorf("resource(offers, parquet) = %+v, want nil", r)
	}
}
