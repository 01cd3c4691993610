package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/plentyhub/plenty"
)

// Agreements, tasks and transfers that finished left the state (see
// closed.go); these pages merge the ones the state holds with the
// finished ones' final documents in DuckDB.

// AgreementLine is an agreement with what was received under it,
// corrections included, and its delivery task's status.
type AgreementLine struct {
	plenty.Agreement
	Received   plenty.Amount
	TaskStatus string
}

// AgreementLine returns the line of one agreement, under way or finished.
func (l *Ledger) AgreementLine(ctx context.Context, id string) (AgreementLine, error) {
	var line AgreementLine
	var held bool
	l.Read(func(st *plenty.State) error {
		line, held = lineOf(st, id)
		return nil
	})
	if held {
		return line, nil
	}
	a, err := l.Agreement(ctx, id)
	if err != nil {
		return line, err
	}
	lines, err := l.finishedLines(ctx, []plenty.Agreement{a})
	if err != nil {
		return line, err
	}
	return lines[0], nil
}

func lineOf(st *plenty.State, id string) (AgreementLine, bool) {
	a, ok := st.Agreement(id)
	if !ok {
		return AgreementLine{}, false
	}
	line := AgreementLine{Agreement: a, Received: st.AgreementReceived(id)}
	if t, ok := st.Task(plenty.TaskID(id)); ok {
		line.TaskStatus = t.Status
	}
	return line, true
}

// ListAgreements returns up to limit agreements council is party to (all
// when ""), older than before (from the newest when nil) in the order of
// plenty.AgreementKey, the newest first, and whether more follow.
func (l *Ledger) ListAgreements(ctx context.Context, council string, before *plenty.AgreementKey, limit int) ([]AgreementLine, bool, error) {
	party := func(a plenty.Agreement) bool { return council == "" || a.Provider == council || a.Receiver == council }
	var held []AgreementLine
	l.Read(func(st *plenty.State) error {
		for _, a := range st.AgreementsNewest(before, limit+1, party) {
			line, _ := lineOf(st, a.ID)
			held = append(held, line)
		}
		return nil
	})
	// The finished ones, from DuckDB, in the same order. A document is
	// kept only when the state no longer holds the agreement: DuckDB's
	// document of a held one may be older than the state's. One that is
	// active is always held, so those are not read; and when the state
	// fills the page, none older than its last is needed.
	var floor *plenty.AgreementKey
	if len(held) > limit {
		k := plenty.KeyOf(held[limit].Agreement)
		floor = &k
	}
	var finished []plenty.Agreement
	for after := before; len(finished) <= limit; {
		where := []string{"kind = 'agreement'"}
		var args []any
		if council != "" {
			where = append(where, "(json_extract_string(doc, '$.provider') = ? OR json_extract_string(doc, '$.receiver') = ?)")
			args = append(args, council, council)
		}
		q := `SELECT id, doc FROM (SELECT id, arg_max(doc, seq) AS doc,
	epoch_ns(CAST(json_extract_string(arg_max(doc, seq), '$.formed_at') AS TIMESTAMP_NS)) AS formed
	FROM projection_log WHERE ` + strings.Join(where, " AND ") + ` GROUP BY id)
	WHERE json_extract_string(doc, '$.status') <> 'active'`
		if after != nil {
			q += " AND (formed < ? OR (formed = ? AND id < ?))"
			args = append(args, after.FormedAt, after.FormedAt, after.ID)
		}
		if floor != nil {
			q += " AND (formed > ? OR (formed = ? AND id >= ?))"
			args = append(args, floor.FormedAt, floor.FormedAt, floor.ID)
		}
		q += " ORDER BY formed DESC, id DESC LIMIT ?"
		args = append(args, limit+1)
		ids, docs, err := l.queryDocs(ctx, q, args...)
		if err != nil {
			return nil, false, fmt.Errorf("list agreements: %w", err)
		}
		left, err := leftDocs[plenty.Agreement](l, "agreement", ids, docs)
		if err != nil {
			return nil, false, err
		}
		finished = append(finished, left...)
		if len(ids) <= limit {
			break
		}
		var last plenty.Agreement
		if err := json.Unmarshal([]byte(docs[len(docs)-1]), &last); err != nil {
			return nil, false, fmt.Errorf("projection of agreement %s: %w", ids[len(ids)-1], err)
		}
		k := plenty.KeyOf(last)
		after = &k
	}
	lines, err := l.finishedLines(ctx, finished)
	if err != nil {
		return nil, false, err
	}
	// An agreement held at the first read may have left and been
	// committed by the second: it is listed once, as the state had it.
	seen := map[string]bool{}
	all := held[:0:0]
	for _, line := range append(held, lines...) {
		if !seen[line.ID] {
			seen[line.ID] = true
			all = append(all, line)
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return plenty.KeyOf(all[j].Agreement).Older(plenty.KeyOf(all[i].Agreement)) })
	if len(all) > limit {
		return all[:limit], true, nil
	}
	return all, false, nil
}

// queryDocs runs a query of two columns, an entity's id and its document.
func (l *Ledger) queryDocs(ctx context.Context, q string, args ...any) (ids, docs []string, err error) {
	rows, err := l.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, doc string
		if err := rows.Scan(&id, &doc); err != nil {
			return nil, nil, err
		}
		ids, docs = append(ids, id), append(docs, doc)
	}
	return ids, docs, rows.Err()
}

// leftDocs decodes the documents (docs[i], of ids[i]) of the entities of
// kind that left the state. DuckDB's document of an entity the state still
// holds may be older than the state's, so those are skipped: the caller
// has them from the state.
func leftDocs[T any](l *Ledger, kind string, ids, docs []string) ([]T, error) {
	var keep []bool
	if err := l.Read(func(st *plenty.State) error {
		for _, id := range ids {
			keep = append(keep, st.Gone(kind, id) && !st.Holds(kind, id))
		}
		return nil
	}); err != nil {
		return nil, err
	}
	var out []T
	for i := range ids {
		if !keep[i] {
			continue
		}
		var v T
		if err := json.Unmarshal([]byte(docs[i]), &v); err != nil {
			return nil, fmt.Errorf("projection of %s %s: %w", kind, ids[i], err)
		}
		out = append(out, v)
	}
	return out, nil
}

// finishedLines adds to finished agreements what was received under each
// and their task's final status, from DuckDB.
func (l *Ledger) finishedLines(ctx context.Context, as []plenty.Agreement) ([]AgreementLine, error) {
	out := make([]AgreementLine, len(as))
	if len(as) == 0 {
		return out, nil
	}
	at := map[string]int{}
	tasks := map[string]int{}
	var ids, taskIDs []any
	for i, a := range as {
		out[i].Agreement = a
		at[a.ID] = i
		tasks[plenty.TaskID(a.ID)] = i
		ids = append(ids, a.ID)
		taskIDs = append(taskIDs, plenty.TaskID(a.ID))
	}
	marks := strings.TrimSuffix(strings.Repeat("?,", len(as)), ",")
	rows, err := l.db.QueryContext(ctx, `SELECT arg_max(doc, seq) FROM projection_log WHERE kind = 'transfer' AND json_extract_string(doc, '$.agreement') IN (`+marks+`) GROUP BY id`, ids...)
	if err != nil {
		return nil, fmt.Errorf("read transfers: %w", err)
	}
	for rows.Next() {
		var doc string
		var tr plenty.Transfer
		if err := rows.Scan(&doc); err != nil {
			rows.Close()
			return nil, err
		}
		if err := json.Unmarshal([]byte(doc), &tr); err != nil {
			rows.Close()
			return nil, fmt.Errorf("projection of a transfer: %w", err)
		}
		out[at[tr.Agreement]].Received += tr.Quantity
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = l.db.QueryContext(ctx, `SELECT id, json_extract_string(arg_max(doc, seq), '$.status') FROM projection_log WHERE kind = 'task' AND id IN (`+marks+`) GROUP BY id`, taskIDs...)
	if err != nil {
		return nil, fmt.Errorf("read tasks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, status string
		if err := rows.Scan(&id, &status); err != nil {
			return nil, err
		}
		out[tasks[id]].TaskStatus = status
	}
	return out, rows.Err()
}

// TaskFilter selects delivery tasks: of one status (all when ""), of one
// volunteer (a candidate or the assignee; all when ""), drawn for one
// volunteer (Assignee; all when ""), after an id.
type TaskFilter struct {
	Status, Volunteer, Assignee, After string
	Limit                              int
}

func (f TaskFilter) keeps(t plenty.Task) bool {
	return (f.Status == "" || t.Status == f.Status) &&
		(f.Volunteer == "" || t.Assignee == f.Volunteer || slices.Contains(t.Candidates, f.Volunteer)) &&
		(f.Assignee == "" || t.Assignee == f.Assignee)
}

// ListTasks returns one page of the tasks f selects, ordered by id, and
// whether more follow: those the state holds merged with the ended ones
// that left it, from DuckDB. A task under way is always in the state, so
// a listing of open, assigned or picked-up tasks reads the state alone.
func (l *Ledger) ListTasks(ctx context.Context, f TaskFilter) ([]plenty.Task, bool, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	var held []plenty.Task
	l.Read(func(st *plenty.State) error {
		held = st.TasksAfter(f.After, f.Limit+1, f.keeps)
		return nil
	})
	more := len(held) > f.Limit
	if more {
		held = held[:f.Limit]
	}
	switch f.Status {
	case plenty.TaskOpen, plenty.TaskAssigned, plenty.TaskPickedUp:
		return held, more, nil
	}
	upTo := ""
	if more {
		upTo = held[len(held)-1].ID
	}
	var ended []plenty.Task
	for after := f.After; len(ended) <= f.Limit; {
		// A task under way is held: only ended ones are read, and those
		// the filter keeps by their newest document where SQL can tell.
		q := `SELECT id, doc FROM (SELECT id, arg_max(doc, seq) AS doc FROM projection_log WHERE kind = 'task' AND id > ?`
		args := []any{after}
		if upTo != "" {
			q += " AND id <= ?"
			args = append(args, upTo)
		}
		q += ` GROUP BY id) WHERE json_extract_string(doc, '$.status') IN ('delivered', 'closed', 'cancelled')`
		if f.Status != "" {
			q += " AND json_extract_string(doc, '$.status') = ?"
			args = append(args, f.Status)
		}
		if f.Assignee != "" {
			q += " AND json_extract_string(doc, '$.assignee') = ?"
			args = append(args, f.Assignee)
		}
		q += " ORDER BY id LIMIT ?"
		args = append(args, f.Limit+1)
		ids, docs, err := l.queryDocs(ctx, q, args...)
		if err != nil {
			return nil, false, fmt.Errorf("list tasks: %w", err)
		}
		left, err := leftDocs[plenty.Task](l, "task", ids, docs)
		if err != nil {
			return nil, false, err
		}
		for _, t := range left {
			if f.keeps(t) {
				ended = append(ended, t)
			}
		}
		if len(ids) <= f.Limit {
			break
		}
		after = ids[len(ids)-1]
	}
	seen := map[string]bool{}
	page := held[:0:0]
	for _, t := range append(held, ended...) {
		if !seen[t.ID] {
			seen[t.ID] = true
			page = append(page, t)
		}
	}
	sort.Slice(page, func(i, j int) bool { return page[i].ID < page[j].ID })
	if len(page) > f.Limit {
		return page[:f.Limit], true, nil
	}
	return page, more, nil
}

// RecentTransfers returns up to n transfers council took part in (all
// when ""), the newest first: the newest documents in DuckDB, with those
// the state holds that DuckDB may not have committed yet. A transfer never
// changes, so its one document is final.
func (l *Ledger) RecentTransfers(ctx context.Context, council string, n int) ([]plenty.Transfer, error) {
	party := func(t plenty.Transfer) bool { return council == "" || t.Provider == council || t.Receiver == council }
	var out []plenty.Transfer
	l.Read(func(st *plenty.State) error { out = st.NewestTransfers(n, party); return nil })
	q := `SELECT id, doc FROM projection_log WHERE kind = 'transfer'`
	var args []any
	if council != "" {
		q += " AND (json_extract_string(doc, '$.provider') = ? OR json_extract_string(doc, '$.receiver') = ?)"
		args = append(args, council, council)
	}
	q += " ORDER BY seq DESC LIMIT ?"
	args = append(args, n)
	ids, docs, err := l.queryDocs(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("recent transfers: %w", err)
	}
	out, err = addDocs(out, "transfer", ids, docs, func(t plenty.Transfer) string { return t.ID })
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].RecordedAt.Equal(out[j].RecordedAt) {
			return out[i].RecordedAt.After(out[j].RecordedAt)
		}
		return out[i].ID < out[j].ID
	})
	if len(out) > n {
		out = out[:n]
	}
	return out, nil
}

// RecentDeliveries returns the newest n tasks volunteer dropped off, the
// latest drop-off first: those the state holds and, once they left it
// with their agreement, from DuckDB (a delivered task changes no more, so
// its delivered document is its last).
func (l *Ledger) RecentDeliveries(ctx context.Context, volunteer string, n int) ([]plenty.Task, error) {
	var out []plenty.Task
	mine := func(t plenty.Task) bool { return t.Status == plenty.TaskDelivered && t.Assignee == volunteer }
	if err := l.Read(func(st *plenty.State) error {
		out = st.TasksAfter("", math.MaxInt, mine)
		return nil
	}); err != nil {
		return nil, err
	}
	ids, docs, err := l.queryDocs(ctx, `SELECT id, doc FROM projection_log WHERE kind = 'task'
	AND json_extract_string(doc, '$.status') = 'delivered' AND json_extract_string(doc, '$.assignee') = ?
	ORDER BY seq DESC, CAST(json_extract_string(doc, '$.dropped_off_at') AS TIMESTAMP_NS) DESC, id LIMIT ?`, volunteer, n+len(out))
	if err != nil {
		return nil, fmt.Errorf("recent deliveries: %w", err)
	}
	out, err = addDocs(out, "task", ids, docs, func(t plenty.Task) string { return t.ID })
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].DroppedOffAt, out[j].DroppedOffAt
		if a != nil && b != nil && !a.Equal(*b) {
			return a.After(*b)
		}
		return out[i].ID < out[j].ID
	})
	return out[:min(len(out), n)], nil
}

// addDocs adds to the entities of kind read from the state the documents
// (docs[i], of ids[i]) of those it does not list already, each once: the
// state's are the newer when both have one.
func addDocs[T any](out []T, kind string, ids, docs []string, idOf func(T) string) ([]T, error) {
	seen := make(map[string]bool, len(out))
	for _, v := range out {
		seen[idOf(v)] = true
	}
	for i, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		var v T
		if err := json.Unmarshal([]byte(docs[i]), &v); err != nil {
			return nil, fmt.Errorf("projection of %s %s: %w", kind, id, err)
		}
		out = append(out, v)
	}
	return out, nil
}
