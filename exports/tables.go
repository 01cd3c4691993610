package exports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/plentyhub/plenty"
)

// entityIDs lists the ids of the entities of each published kind, so that
// a table can be written row by row in id order from plenty.State's
// single-entity accessors instead of from copies of every entity at once.
// It is fed by State.OnChange while the events are replayed.
type entityIDs struct {
	ids    map[string][]string // kind → ids, as touched; sorted and unique after done
	sorted bool
}

// tableKinds are the plenty.Change kinds that have a table.
var tableKinds = []string{"council", "delegate", "item", "offer", "need", "agreement", "transfer"}

// watch makes ids record every entity st creates or changes from now on.
func watch(st *plenty.State) *entityIDs {
	e := &entityIDs{ids: map[string][]string{}}
	for _, k := range tableKinds {
		e.ids[k] = nil
	}
	st.OnChange(func(c plenty.Change) {
		if ids, ok := e.ids[c.Kind]; ok {
			// An entity changed again just after is recorded once.
			if n := len(ids); n > 0 && ids[n-1] == c.ID {
				return
			}
			e.ids[c.Kind] = append(ids, c.ID)
		}
	})
	return e
}

// done sorts the ids of each kind and drops repeats. It is called once the
// replay is over.
func (e *entityIDs) done() {
	if e.sorted {
		return
	}
	for k, ids := range e.ids {
		slices.Sort(ids)
		e.ids[k] = slices.Clip(slices.Compact(ids))
	}
	e.sorted = true
}

// rowBuilder appends the cells of one row, left to right, to the builders
// of a record of one table.
type rowBuilder struct {
	rb  *array.RecordBuilder
	col int
}

func (b *rowBuilder) next() array.Builder {
	f := b.rb.Field(b.col)
	b.col++
	return f
}

func (b *rowBuilder) str(v string)    { b.next().(*array.StringBuilder).Append(v) }
func (b *rowBuilder) int(v int64)     { b.next().(*array.Int64Builder).Append(v) }
func (b *rowBuilder) float(v float64) { b.next().(*array.Float64Builder).Append(v) }
func (b *rowBuilder) amount(v plenty.Amount) {
	b.next().(*array.Decimal128Builder).Append(decimal128.FromI64(int64(v)))
}
func (b *rowBuilder) time(v time.Time) {
	b.next().(*array.TimestampBuilder).Append(arrow.Timestamp(v.UnixNano()))
}
func (b *rowBuilder) location(l plenty.Location) { b.float(l.Lat); b.float(l.Lon) }

func (b *rowBuilder) timeOrNull(v *time.Time) {
	tb := b.next().(*array.TimestampBuilder)
	if v == nil {
		tb.AppendNull()
		return
	}
	tb.Append(arrow.Timestamp(v.UnixNano()))
}

// tableRows appends each row of t, as st gives it, to rb in primary key
// order, calling endRow after each. ids must list st's entities (done).
// Only the accounts table, one row per council and item, is computed
// whole; every other table holds one entity at a time.
func tableRows(t *table, st *plenty.State, ids *entityIDs, rb *array.RecordBuilder, endRow func() error) error {
	ids.done()
	units := map[string]string{}
	for _, code := range ids.ids["item"] {
		if it, ok := st.Item(code); ok {
			units[it.Code] = it.Unit
		}
	}
	b := &rowBuilder{rb: rb}
	each := func(kind string, row func(id string) (bool, error)) error {
		for _, id := range ids.ids[kind] {
			b.col = 0
			ok, err := row(id)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("%s %s changed during the replay but the state has none", kind, id)
			}
			if b.col != len(t.cols) {
				return fmt.Errorf("table %s: row %s has %d cells, want %d", t.name, id, b.col, len(t.cols))
			}
			if err := endRow(); err != nil {
				return err
			}
		}
		return nil
	}
	switch t {
	case councilsTable:
		return each("council", func(id string) (bool, error) {
			c, ok := st.Council(id)
			b.str(c.ID)
			b.str(c.Name)
			b.str(c.Sector)
			b.str(c.Place)
			b.location(c.Location)
			b.time(c.RegisteredAt)
			return ok, nil
		})
	case delegatesTable:
		// Never the label (it may name a person) nor the token hash.
		return each("delegate", func(id string) (bool, error) {
			d, ok := st.Delegate(id)
			b.str(d.ID)
			b.str(d.Council)
			b.str(d.Mandate)
			b.str(strings.Join(d.Scopes, " "))
			b.amount(d.CosignAbove)
			b.str(d.IssuedBy)
			b.time(d.IssuedAt)
			b.time(d.ExpiresAt)
			b.timeOrNull(d.RecalledAt)
			b.str(d.RecalledBy)
			b.str(d.RecallOf)
			return ok, nil
		})
	case itemsTable:
		return each("item", func(code string) (bool, error) {
			it, ok := st.Item(code)
			b.str(it.Code)
			b.str(it.Name)
			b.str(string(it.Dimension))
			b.str(it.Unit)
			b.str(it.DefinedBy)
			return ok, nil
		})
	case offersTable:
		return each("offer", func(id string) (bool, error) {
			o, ok := st.Offer(id)
			b.str(o.ID)
			b.str(o.Council)
			b.str(o.Item)
			b.amount(o.Quantity)
			b.amount(o.Remaining)
			b.str(units[o.Item])
			b.location(o.Location)
			b.float(o.MaxDistanceKm)
			b.str(o.Note)
			b.time(o.ExpiresAt)
			b.str(o.Status)
			b.str(o.PostedBy)
			b.time(o.PostedAt)
			b.time(o.AvailableFrom)
			b.time(o.AvailableUntil)
			b.amount(o.MinSplit)
			return ok, nil
		})
	case needsTable:
		return each("need", func(id string) (bool, error) {
			n, ok := st.Need(id)
			b.str(n.ID)
			b.str(n.Council)
			b.str(n.Item)
			b.amount(n.Quantity)
			b.amount(n.Remaining)
			b.str(units[n.Item])
			b.location(n.Location)
			b.float(n.MaxDistanceKm)
			b.str(n.Note)
			b.time(n.ExpiresAt)
			b.str(n.Status)
			b.str(n.PostedBy)
			b.time(n.PostedAt)
			b.time(n.NeededBy)
			b.int(int64(n.Priority))
			return ok, nil
		})
	case agreementsTable:
		return each("agreement", func(id string) (bool, error) {
			var doc struct {
				plenty.Agreement
				Quantity signedAmount `json:"quantity"`
			}
			ok, err := entity(st, "agreement", id, &doc)
			a := doc.Agreement
			a.Quantity = plenty.Amount(doc.Quantity)
			b.str(a.ID)
			b.str(a.Proposal)
			b.str(a.Offer)
			b.str(a.Need)
			b.str(a.Item)
			b.str(a.Provider)
			b.str(a.Receiver)
			b.amount(a.Quantity)
			b.str(units[a.Item])
			b.float(a.DistanceKm)
			b.str(a.Status)
			b.time(a.FormedAt)
			return ok, err
		})
	case transfersTable:
		return each("transfer", func(id string) (bool, error) {
			var doc struct {
				plenty.Transfer
				Quantity signedAmount `json:"quantity"` // a correction's is negative
			}
			ok, err := entity(st, "transfer", id, &doc)
			x := doc.Transfer
			x.Quantity = plenty.Amount(doc.Quantity)
			b.str(x.ID)
			b.str(x.Agreement)
			b.str(x.Item)
			b.str(x.Provider)
			b.str(x.Receiver)
			b.amount(x.Quantity)
			b.str(units[x.Item])
			b.time(x.RecordedAt)
			b.str(x.Corrects)
			return ok, err
		})
	case accountsTable:
		for _, l := range st.Accounts() {
			b.col = 0
			b.str(l.Council)
			b.str(l.Item)
			b.str(units[l.Item])
			b.amount(l.Given)
			b.amount(l.Received)
			b.amount(l.Committed)
			if err := endRow(); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("table %s has no rows defined", t.name)
}

// entity reads one agreement or transfer from st through its JSON
// document: plenty.State has no single-entity accessor for these, and
// copying them all at once (Agreements, Transfers) would hold the whole
// table in memory.
func entity(st *plenty.State, kind, id string, v any) (bool, error) {
	doc, ok := st.Doc(plenty.Change{Kind: kind, ID: id})
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(doc, v); err != nil {
		return false, fmt.Errorf("%s %s: reading its document: %v", kind, id, err)
	}
	return true, nil
}

// signedAmount reads an amount as the state's documents write it, sign
// included: plenty.Amount's own decoder refuses negative amounts, which
// only the fold produces (a correction's transfer).
type signedAmount plenty.Amount

func (a *signedAmount) UnmarshalJSON(b []byte) error {
	neg := bytes.HasPrefix(b, []byte(`"-`))
	if neg {
		b = append([]byte{'"'}, b[2:]...)
	}
	var v plenty.Amount
	if err := v.UnmarshalJSON(b); err != nil {
		return err
	}
	if neg {
		v = -v
	}
	*a = signedAmount(v)
	return nil
}

// writeTable writes table t, computed from st, to the sinks in batches of
// batch rows, calling onBatch (when not nil) with each batch as well.
// Memory is one batch, whatever the table's size.
func writeTable(t *table, st *plenty.State, ids *entityIDs, sinks []sink, mem memory.Allocator, batch int, onBatch func(arrow.RecordBatch) error) error {
	rb := array.NewRecordBuilder(mem, t.schema())
	defer rb.Release()
	rows, batches := 0, 0
	flush := func() error {
		rec := rb.NewRecordBatch()
		defer rec.Release()
		rows = 0
		batches++
		for _, s := range sinks {
			if err := s.write(rec); err != nil {
				return err
			}
		}
		if onBatch != nil {
			return onBatch(rec)
		}
		return nil
	}
	err := tableRows(t, st, ids, rb, func() error {
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
	for _, s := range sinks {
		if err := s.close(); err != nil {
			return err
		}
	}
	return nil
}
