package exports

import (
	"context"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/plentyhub/plenty"
)

// The verifier's replay keeps what is live, not the whole history. The
// fold lets an entity whose life is over leave its live maps; with
// OnChange set it keeps the last value of each one that left until it is
// taken (plenty.State.TakeClosed). Every drainEvents events or so, and
// once the replay is over, closedDrain takes them: it computes the rows
// they give to their tables, one last time, and adds them to the table's
// multiset (closedRows), and what they add to the accounts to the account
// lines; then it drops them from the state and their ids from entityIDs.
// A table is then checked against that multiset plus the rows of the
// entities still in the state: the same multiset as a table computed
// whole at the end, since an entity that left can change no more.

// drainEvents is the least number of events between two drains. A drain
// sorts the ids of the live entities, so the interval also grows with
// them: the sorting costs O(log n) an event, whatever the history.
var drainEvents int64 = 1 << 12

// closedRows is what the entities that left a replay's state add to the
// tables: the multiset of their rows by table name, and, by council and
// item, what their transfers add to the accounts (an agreement leaves
// only once it is no longer active, and so adds no commitment).
type closedRows struct {
	sums  map[string]*multiset
	lines map[[2]string]*plenty.AccountLine
}

// sum returns a copy of the multiset of the rows that the entities that
// left the state give to table t: empty when none did, or c is nil.
func (c *closedRows) sum(t *table) *multiset {
	if c == nil || c.sums[t.name] == nil {
		return &multiset{}
	}
	return &multiset{n: c.sums[t.name].n, sum: c.sums[t.name].sum}
}

// has reports whether entities that left the state gave rows to table t.
func (c *closedRows) has(t *table) bool {
	return c != nil && c.sums[t.name] != nil && c.sums[t.name].n > 0
}

// closedDrain takes the entities that left a replay's state, hands the
// rows they give to each table of tables to row, and drops them. When
// lines is not nil, what they add to the accounts is added to it.
type closedDrain struct {
	ctx    context.Context
	mem    memory.Allocator
	st     *plenty.State
	ids    *entityIDs
	tables []*table
	row    func(t *table, row []string) error
	lines  map[[2]string]*plenty.AccountLine
	next   int64 // the state's size at which to drain next
}

// entityTables lists the projection tables of one entity per row.
func entityTables() []*table {
	var out []*table
	for _, t := range projections {
		if t.kind != "" {
			out = append(out, t)
		}
	}
	return out
}

// sumClosed makes a drain of st add every row of the entities that leave
// it to the multiset of its table in closed, and what they add to the
// accounts to closed's lines.
func sumClosed(ctx context.Context, mem memory.Allocator, st *plenty.State, ids *entityIDs) (*closedDrain, *closedRows) {
	closed := &closedRows{sums: map[string]*multiset{}, lines: map[[2]string]*plenty.AccountLine{}}
	d := &closedDrain{ctx: ctx, mem: mem, st: st, ids: ids, tables: entityTables(), lines: closed.lines,
		row: func(t *table, row []string) error {
			m := closed.sums[t.name]
			if m == nil {
				m = &multiset{}
				closed.sums[t.name] = m
			}
			m.add(row)
			return nil
		}}
	return d, closed
}

// afterEvent drains once enough events passed since the last drain.
func (d *closedDrain) afterEvent() error {
	if d.st.Size() < d.next {
		return nil
	}
	if err := d.drain(); err != nil {
		return err
	}
	live := 0
	for _, ids := range d.ids.ids {
		live += len(ids)
	}
	d.next = d.st.Size() + max(drainEvents, int64(live))
	return nil
}

// drain takes every entity that left the state so far.
func (d *closedDrain) drain() error {
	return d.st.TakeClosed(d.st.Size(), func(left []plenty.Change) error {
		d.ids.drop(left)
		byKind := &entityIDs{ids: map[string][]string{}}
		for _, c := range left {
			byKind.ids[c.Kind] = append(byKind.ids[c.Kind], c.ID)
		}
		if len(byKind.ids["item"]) > 0 {
			return fmt.Errorf("item %s left the state", byKind.ids["item"][0])
		}
		// The rows of postings, agreements and transfers read their
		// item's unit: every item, live, is listed with them.
		byKind.ids["item"] = d.ids.ids["item"]
		byKind.done()
		src := stateEntities{st: d.st, ids: byKind}
		for _, t := range d.tables {
			if t.kind == "item" || len(byKind.ids[t.kind]) == 0 {
				continue
			}
			if err := d.rows(t, src); err != nil {
				return err
			}
		}
		if d.lines != nil {
			return addAccountLines(d.ctx, src, d.lines)
		}
		return nil
	})
}

// rows hands the rows src gives to table t to d.row, as text.
func (d *closedDrain) rows(t *table, src entities) error {
	row := make([]string, len(t.cols))
	return writeTable(d.ctx, t, src, nil, d.mem, 1<<12, func(rec arrow.RecordBatch) error {
		for i := 0; i < int(rec.NumRows()); i++ {
			for j, col := range rec.Columns() {
				s, err := cellText(col, i)
				if err != nil {
					return err
				}
				row[j] = s
			}
			if err := d.row(t, row); err != nil {
				return err
			}
		}
		return nil
	})
}

// drop removes the ids of the entities in left from e and each repeat of
// an id, so that e lists each entity the state still holds once. Items
// never leave the state: their ids are kept, sorted.
func (e *entityIDs) drop(left []plenty.Change) {
	gone := make(map[plenty.Change]struct{}, len(left))
	for _, c := range left {
		gone[c] = struct{}{}
	}
	for k, ids := range e.ids {
		slices.Sort(ids)
		ids = slices.Compact(ids)
		ids = slices.DeleteFunc(ids, func(id string) bool {
			_, ok := gone[plenty.Change{Kind: k, ID: id}]
			return ok
		})
		if cap(ids) > 2*len(ids)+64 {
			// Let the room of the ids dropped go.
			ids = append([]string(nil), ids...)
		}
		e.ids[k] = ids
	}
	e.sorted = false
}

// replayedEvents names the events the verifier replayed: the file of
// format f holding every event, or its parts.
type replayedEvents struct {
	f     Format
	parts []Part // nil for the one file
}

// replayAgain replays the events the verifier replayed, handing row each
// row that the entities leaving the state give to table t, and returns
// the entities still in the state at the end. Only the naming of a row at
// fault needs it, once a table was found not to agree: the first replay
// kept only the digest of those rows.
func (v *verifier) replayAgain(t *table, row func([]string)) (stateEntities, error) {
	if v.replayed == nil {
		return stateEntities{}, faultf("", "no events were replayed")
	}
	c := &eventChecker{cp: v.cp, st: plenty.NewState()}
	c.ids = watch(c.st)
	c.drain = &closedDrain{ctx: v.ctx, mem: v.mem, st: c.st, ids: c.ids, tables: []*table{t},
		row: func(_ *table, r []string) error { row(r); return nil }}
	names := []string{fileName(eventsTable, v.replayed.f)}
	if v.replayed.parts != nil {
		names = names[:0]
		for _, p := range v.replayed.parts {
			names = append(names, p.Path)
		}
	}
	for _, name := range names {
		file, err := v.openChecked(name)
		if err != nil {
			return stateEntities{}, err
		}
		err = c.file(v, v.replayed.f, file)
		file.Close()
		if err != nil {
			return stateEntities{}, v.fileFault(name, err)
		}
	}
	// The same events as the first time: they hash to the signed root.
	if err := c.end(); err != nil {
		return stateEntities{}, v.fileFault(names[len(names)-1], err)
	}
	if err := c.drain.drain(); err != nil {
		return stateEntities{}, err
	}
	return stateEntities{st: c.st, ids: c.ids}, nil
}
