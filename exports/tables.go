package exports

import (
	"bytes"
	"context"
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

// entities yields the projected entities the tables are computed from:
// the state of a replay (stateEntities), or a store's projection
// documents (projectionEntities).
type entities interface {
	// each calls fn for every entity of kind, in id order. get fills v,
	// a pointer to the entity's type (or to a struct that embeds it and
	// reads its document's fields), with the entity.
	each(ctx context.Context, kind string, fn func(id string, get func(v any) error) error) error
}

// stateEntities reads the entities of a replay's state, as ids lists them.
// closed, when not nil, is what the entities that left the state during
// the replay, and were dropped from it and from ids, add to the tables
// (closedDrain).
type stateEntities struct {
	st     *plenty.State
	ids    *entityIDs
	closed *closedRows
}

func (s stateEntities) each(ctx context.Context, kind string, fn func(id string, get func(v any) error) error) error {
	s.ids.done()
	for _, id := range s.ids.ids[kind] {
		err := fn(id, func(v any) error {
			ok := false
			switch v := v.(type) {
			case *plenty.Council:
				*v, ok = s.st.Council(id)
			case *plenty.Delegate:
				*v, ok = s.st.Delegate(id)
			case *plenty.Item:
				*v, ok = s.st.Item(id)
			case *plenty.Offer:
				*v, ok = s.st.Offer(id)
			case *plenty.Need:
				*v, ok = s.st.Need(id)
			default:
				// plenty.State has no single-entity accessor for the
				// others, and copying them all at once would hold the
				// whole table in memory: read its document.
				var doc []byte
				if doc, ok = s.st.Doc(plenty.Change{Kind: kind, ID: id}); ok {
					if err := json.Unmarshal(doc, v); err != nil {
						return fmt.Errorf("%s %s: reading its document: %v", kind, id, err)
					}
				}
			}
			if !ok {
				return fmt.Errorf("%s %s changed during the replay but the state has none", kind, id)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

// Projections is a store of the ledger's projection documents: the JSON
// document of every entity (plenty.State.Doc) as each commit left it,
// stamped with a seq. (*ledger.Ledger) is one. A snapshot computes its
// tables from it, one entity at a time, instead of replaying the whole
// history, and partitions them by each entity's first stamp.
type Projections interface {
	// Documents calls fn with the id, the first stamp and the document of
	// every entity of kind ("council", "delegate", "item", "offer",
	// "need", "agreement", "transfer") as it stood after the first size
	// events, ordered by first stamp / part, then by id; with parts not
	// nil, only the entities whose first stamp / part is in parts. It
	// stops with fn's error when fn fails; doc is valid only during the
	// call. It returns EINVALID when the documents are not exact at size,
	// and the store's error otherwise.
	Documents(ctx context.Context, kind string, size, part int64, parts []int64, fn func(id string, first int64, doc []byte) error) error
	// Changed calls fn with the first stamp of every entity of kind whose
	// newest document before size is stamped at since or later: those
	// created or changed by the events from since on.
	Changed(ctx context.Context, kind string, since, size int64, fn func(first int64) error) error
}

// projectionEntities reads the entities from a Projections at a size, in
// id order.
type projectionEntities struct {
	p    Projections
	size int64
}

func (s projectionEntities) each(ctx context.Context, kind string, fn func(id string, get func(v any) error) error) error {
	return partEntities{p: s.p, size: s.size, part: s.size + 1}.each(ctx, kind, fn)
}

// tableRows appends each row of t, as src gives it, to rb in primary key
// order, calling endRow after each. Only the accounts table, one row per
// council and item, is computed whole; every other table holds one entity
// at a time.
func tableRows(ctx context.Context, t *table, src entities, rb *array.RecordBuilder, endRow func() error) error {
	units := map[string]string{}
	if t != councilsTable && t != delegatesTable && t != itemsTable {
		err := src.each(ctx, "item", func(code string, get func(any) error) error {
			var it plenty.Item
			if err := get(&it); err != nil {
				return err
			}
			units[it.Code] = it.Unit
			return nil
		})
		if err != nil {
			return err
		}
	}
	b := &rowBuilder{rb: rb}
	each := func(kind string, row func(get func(any) error) error) error {
		return src.each(ctx, kind, func(id string, get func(any) error) error {
			b.col = 0
			if err := row(get); err != nil {
				return err
			}
			if b.col != len(t.cols) {
				return fmt.Errorf("table %s: row %s has %d cells, want %d", t.name, id, b.col, len(t.cols))
			}
			return endRow()
		})
	}
	switch t {
	case councilsTable:
		return each("council", func(get func(any) error) error {
			var c plenty.Council
			if err := get(&c); err != nil {
				return err
			}
			b.str(c.ID)
			b.str(c.Name)
			b.str(c.Sector)
			b.str(c.Place)
			b.location(c.Location)
			b.time(c.RegisteredAt)
			return nil
		})
	case delegatesTable:
		// Never the label (it may name a person) nor the token hash.
		return each("delegate", func(get func(any) error) error {
			var d plenty.Delegate
			if err := get(&d); err != nil {
				return err
			}
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
			return nil
		})
	case itemsTable:
		return each("item", func(get func(any) error) error {
			var it plenty.Item
			if err := get(&it); err != nil {
				return err
			}
			b.str(it.Code)
			b.str(it.Name)
			b.str(string(it.Dimension))
			b.str(it.Unit)
			b.str(it.DefinedBy)
			return nil
		})
	case offersTable:
		return each("offer", func(get func(any) error) error {
			var o plenty.Offer
			if err := get(&o); err != nil {
				return err
			}
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
			return nil
		})
	case needsTable:
		return each("need", func(get func(any) error) error {
			var n plenty.Need
			if err := get(&n); err != nil {
				return err
			}
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
			return nil
		})
	case agreementsTable:
		return each("agreement", func(get func(any) error) error {
			var doc agreementDoc
			if err := get(&doc); err != nil {
				return err
			}
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
			return nil
		})
	case transfersTable:
		return each("transfer", func(get func(any) error) error {
			var doc transferDoc
			if err := get(&doc); err != nil {
				return err
			}
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
			return nil
		})
	case accountsTable:
		lines, err := accountLines(ctx, src)
		if err != nil {
			return err
		}
		for _, l := range lines {
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

// agreementDoc and transferDoc read an agreement's and a transfer's
// document, whose quantity may be negative (a correction's transfer).
type agreementDoc struct {
	plenty.Agreement
	Quantity signedAmount `json:"quantity"`
}

type transferDoc struct {
	plenty.Transfer
	Quantity signedAmount `json:"quantity"`
}

// accountLines computes each council's standing per item, as
// plenty.State.Accounts does, from the transfers and the active
// agreements src yields: given and received from transfers, committed
// from active agreements. It holds one line per council and item.
// When src is a replay's state that dropped the entities that left it,
// the lines start from what those added (closedRows.lines).
func accountLines(ctx context.Context, src entities) ([]plenty.AccountLine, error) {
	lines := map[[2]string]*plenty.AccountLine{}
	if s, ok := src.(stateEntities); ok && s.closed != nil {
		for k, l := range s.closed.lines {
			c := *l
			lines[k] = &c
		}
	}
	if err := addAccountLines(ctx, src, lines); err != nil {
		return nil, err
	}
	out := make([]plenty.AccountLine, 0, len(lines))
	for _, l := range lines {
		out = append(out, *l)
	}
	slices.SortFunc(out, func(a, b plenty.AccountLine) int {
		if c := strings.Compare(a.Council, b.Council); c != 0 {
			return c
		}
		return strings.Compare(a.Item, b.Item)
	})
	return out, nil
}

// addAccountLines adds to lines, by council and item, what the transfers
// and the active agreements of src add to each account line.
func addAccountLines(ctx context.Context, src entities, lines map[[2]string]*plenty.AccountLine) error {
	line := func(council, item string) *plenty.AccountLine {
		k := [2]string{council, item}
		if lines[k] == nil {
			lines[k] = &plenty.AccountLine{Council: council, Item: item}
		}
		return lines[k]
	}
	err := src.each(ctx, "transfer", func(_ string, get func(any) error) error {
		var doc transferDoc
		if err := get(&doc); err != nil {
			return err
		}
		q := plenty.Amount(doc.Quantity)
		line(doc.Provider, doc.Item).Given += q
		line(doc.Receiver, doc.Item).Received += q
		return nil
	})
	if err != nil {
		return err
	}
	return src.each(ctx, "agreement", func(_ string, get func(any) error) error {
		var doc agreementDoc
		if err := get(&doc); err != nil {
			return err
		}
		if doc.Status == plenty.AgreementActive {
			q := plenty.Amount(doc.Quantity)
			line(doc.Provider, doc.Item).Committed += q
			line(doc.Receiver, doc.Item).Committed += q
		}
		return nil
	})
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

// writeTable writes table t, computed from src, to the sinks in batches of
// batch rows, calling onBatch (when not nil) with each batch as well.
// Memory is one batch, whatever the table's size.
func writeTable(ctx context.Context, t *table, src entities, sinks []sink, mem memory.Allocator, batch int, onBatch func(arrow.RecordBatch) error) error {
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
	err := tableRows(ctx, t, src, rb, func() error {
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
	return closeSinks(sinks)
}
