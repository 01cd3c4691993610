package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/plentyhub/plenty"
)

// Reading what left the state. The fold lets an entity go once it ended
// and nothing can change it: a closed posting, a finished agreement with
// its task, acceptance and transfers (see the root package's closed.go and
// retire.go); its last document is in DuckDB's projections. The state keeps
// it until DuckDB has committed that document (the committer lags the
// journal), so a reader always finds an entity in one of the two: in the
// state under the read lock, or, once the state dropped it, in DuckDB,
// where it is final.

// Offer returns the offer with the given id, open or closed. It returns
// ENOTFOUND when no offer has it.
func (l *Ledger) Offer(ctx context.Context, id string) (plenty.Offer, error) {
	var o plenty.Offer
	err := l.entity(ctx, "offer", id, &o, func(st *plenty.State) (ok bool) { o, ok = st.Offer(id); return ok })
	return o, err
}

// Need returns the need with the given id, open or closed. It returns
// ENOTFOUND when no need has it.
func (l *Ledger) Need(ctx context.Context, id string) (plenty.Need, error) {
	var n plenty.Need
	err := l.entity(ctx, "need", id, &n, func(st *plenty.State) (ok bool) { n, ok = st.Need(id); return ok })
	return n, err
}

// Agreement returns the agreement with the given id, under way or
// finished. It returns ENOTFOUND when there is none.
func (l *Ledger) Agreement(ctx context.Context, id string) (plenty.Agreement, error) {
	var a plenty.Agreement
	err := l.entity(ctx, "agreement", id, &a, func(st *plenty.State) (ok bool) { a, ok = st.Agreement(id); return ok })
	return a, err
}

// Task returns the delivery task with the given id, under way or ended.
func (l *Ledger) Task(ctx context.Context, id string) (plenty.Task, error) {
	var t plenty.Task
	err := l.entity(ctx, "task", id, &t, func(st *plenty.State) (ok bool) { t, ok = st.Task(id); return ok })
	return t, err
}

// Transfer returns the transfer with the given id, open to correction or
// final.
func (l *Ledger) Transfer(ctx context.Context, id string) (plenty.Transfer, error) {
	var tr plenty.Transfer
	err := l.entity(ctx, "transfer", id, &tr, func(st *plenty.State) (ok bool) { tr, ok = st.Transfer(id); return ok })
	return tr, err
}

// Acceptance returns what the councils decided on a proposal, whether or
// not its agreement finished. It returns ENOTFOUND when nobody decided it.
func (l *Ledger) Acceptance(ctx context.Context, proposal string) (plenty.Acceptance, error) {
	var acc plenty.Acceptance
	err := l.entity(ctx, "acceptance", proposal, &acc, func(st *plenty.State) (ok bool) { acc, ok = st.Acceptance(proposal); return ok })
	return acc, err
}

// Delegate returns the delegate with the given id, its mandate in force
// or ended (one whose mandate ended leaves the state once every mandate it
// issued did). The token hash is set only while the state holds it. It
// returns ENOTFOUND when no delegate has the id.
func (l *Ledger) Delegate(ctx context.Context, id string) (plenty.Delegate, error) {
	var d plenty.Delegate
	err := l.entity(ctx, "delegate", id, &d, func(st *plenty.State) (ok bool) { d, ok = st.Delegate(id); return ok })
	return d, err
}

// DelegateByToken returns the delegate whose token hashes to hash, with
// TokenHash set, its mandate in force or ended: the hub tells a recalled
// delegate so rather than that its token is unknown. It returns
// ENOTFOUND when the hash is no delegate's token.
func (l *Ledger) DelegateByToken(ctx context.Context, hash string) (plenty.Delegate, error) {
	var d plenty.Delegate
	var id string
	var held bool
	if err := l.Read(func(st *plenty.State) error {
		d, held = st.DelegateByToken(hash)
		id = st.TokenDelegate(hash)
		return nil
	}); err != nil {
		return d, err
	}
	if held {
		return d, nil
	}
	if id == "" {
		return d, plenty.Errorf(plenty.ENOTFOUND, "no delegate has this token")
	}
	d, err := l.Delegate(ctx, id)
	d.TokenHash = hash
	return d, err
}

// CouncilDelegates returns a council's delegates, ordered by id: those the
// state holds (every mandate in force, and an ended one while a mandate it
// issued is still in the state or until DuckDB holds its last document),
// token hashes included, and of the others, which left the state, the
// ended most recently issued.
func (l *Ledger) CouncilDelegates(ctx context.Context, council string, ended int) ([]plenty.Delegate, error) {
	var held []plenty.Delegate
	if err := l.Read(func(st *plenty.State) error { held = st.CouncilDelegates(council); return nil }); err != nil {
		return nil, err
	}
	// DuckDB's newest documents of the council's delegates, the last
	// issued first; those the state holds are skipped (leftDocs), so as
	// many more are read.
	ids, docs, err := l.queryDocs(ctx, `SELECT id, doc FROM (SELECT id, arg_max(doc, seq) AS doc
	FROM projection_log WHERE kind = 'delegate' AND json_extract_string(doc, '$.council') = ? GROUP BY id)
	ORDER BY epoch_ns(CAST(json_extract_string(doc, '$.issued_at') AS TIMESTAMP_NS)) DESC, id DESC LIMIT ?`,
		council, ended+len(held))
	if err != nil {
		return nil, fmt.Errorf("list the delegates of %s: %w", council, err)
	}
	left, err := leftDocs[plenty.Delegate](l, "delegate", ids, docs)
	if err != nil {
		return nil, err
	}
	// One held at the first read may have left and been committed by the
	// second: it is listed once, as the state had it.
	out := held
	seen := map[string]bool{}
	for _, d := range held {
		seen[d.ID] = true
	}
	for _, d := range left[:min(len(left), ended)] {
		if !seen[d.ID] {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// entity reads the entity of kind id into v: from the state when held says
// it holds it, else from DuckDB when the state says it left.
func (l *Ledger) entity(ctx context.Context, kind, id string, v any, held func(*plenty.State) bool) error {
	var found, gone bool
	if err := l.Read(func(st *plenty.State) error {
		found = held(st)
		gone = !found && st.Gone(kind, id)
		return nil
	}); err != nil {
		return err
	}
	if found {
		return nil
	}
	if !gone {
		return plenty.Errorf(plenty.ENOTFOUND, "%s %s does not exist", kind, id)
	}
	// Read outside the lock: DuckDB holds its final document.
	var doc string
	err := l.db.QueryRowContext(ctx,
		"SELECT doc FROM projection_log WHERE kind = ? AND id = ? ORDER BY seq DESC LIMIT 1", kind, id).Scan(&doc)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// The state let it go only once DuckDB committed its document.
		return plenty.Errorf(plenty.EINTERNAL, "%s %s left the state, but the ledger has no document of it", kind, id)
	case err != nil:
		return fmt.Errorf("read %s %s: %w", kind, id, err)
	}
	if err := json.Unmarshal([]byte(doc), v); err != nil {
		return fmt.Errorf("projection of %s %s: %w", kind, id, err)
	}
	return nil
}

// ListOffers returns one page of the offers f selects, open and closed,
// ordered by id, and whether more follow: those the state holds, from its
// index, merged with those that left it, from DuckDB.
func (l *Ledger) ListOffers(ctx context.Context, f plenty.PostingFilter) ([]plenty.Offer, bool, error) {
	var held []plenty.Offer
	var more bool
	if err := l.Read(func(st *plenty.State) error { held, more = st.ListOffers(f); return nil }); err != nil {
		return nil, false, err
	}
	return mergePage(ctx, l, "offer", f, held, more, func(o plenty.Offer) string { return o.ID })
}

// ListNeeds returns one page of the needs f selects, as ListOffers does.
func (l *Ledger) ListNeeds(ctx context.Context, f plenty.PostingFilter) ([]plenty.Need, bool, error) {
	var held []plenty.Need
	var more bool
	if err := l.Read(func(st *plenty.State) error { held, more = st.ListNeeds(f); return nil }); err != nil {
		return nil, false, err
	}
	return mergePage(ctx, l, "need", f, held, more, func(n plenty.Need) string { return n.ID })
}

// mergePage adds to a page of the postings the state holds those of kind
// that left it, read from DuckDB. Only an open posting is always in the
// state, so a listing of open ones reads the state alone.
func mergePage[T any](ctx context.Context, l *Ledger, kind string, f plenty.PostingFilter, held []T, more bool, idOf func(T) string) ([]T, bool, error) {
	if f.Status == plenty.StatusOpen {
		return held, more, nil
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	// The state's page bounds the ids worth reading: past its last id when
	// more follow, the state alone fills the page.
	upTo := ""
	if more {
		upTo = idOf(held[len(held)-1])
	}
	gone, err := l.gonePostings(ctx, kind, f, upTo, limit+1)
	if err != nil {
		return nil, false, err
	}
	seen := make(map[string]bool, len(held))
	for _, p := range held {
		seen[idOf(p)] = true
	}
	page := held
	for _, doc := range gone {
		var p T
		if err := json.Unmarshal(doc, &p); err != nil {
			return nil, false, fmt.Errorf("projection of a %s: %w", kind, err)
		}
		if !seen[idOf(p)] {
			page = append(page, p)
		}
	}
	sort.Slice(page, func(i, j int) bool { return idOf(page[i]) < idOf(page[j]) })
	if len(page) > limit {
		return page[:limit], true, nil
	}
	return page, more, nil
}

// gonePostings returns up to n documents of postings of kind that left the
// state, after f.After (and at most upTo, when set), that f selects,
// ordered by id. A posting's document in DuckDB may be older than the
// state's while the state holds it, so only those the state no longer
// holds, and whose final status f selects, are kept.
func (l *Ledger) gonePostings(ctx context.Context, kind string, f plenty.PostingFilter, upTo string, n int) ([][]byte, error) {
	var out [][]byte
	after := f.After
	for len(out) < n {
		where := []string{"kind = ?", "id > ?"}
		args := []any{kind, after}
		if upTo != "" {
			where = append(where, "id <= ?")
			args = append(args, upTo)
		}
		// A posting's council and item never change: filter them before
		// picking each one's newest document, its status after.
		if f.Council != "" {
			where = append(where, "json_extract_string(doc, '$.council') = ?")
			args = append(args, f.Council)
		}
		if f.Item != "" {
			where = append(where, "json_extract_string(doc, '$.item') = ?")
			args = append(args, f.Item)
		}
		// A posting that left has its final status, never open, in its
		// newest document: so its newest document of that status (or of
		// any but open) is its newest of all. Filtering the status before
		// picking the newest is then exact for those, and the state's
		// record of each one's final status (GoneStatus) drops any other.
		if f.Status != "" {
			where = append(where, "json_extract_string(doc, '$.status') = ?")
			args = append(args, f.Status)
		} else {
			where = append(where, "json_extract_string(doc, '$.status') <> 'open'")
		}
		args = append(args, n)
		ids, docs, err := l.queryDocs(ctx, `SELECT id, arg_max(doc, seq) AS doc FROM projection_log
WHERE `+strings.Join(where, " AND ")+` GROUP BY id ORDER BY id LIMIT ?`, args...)
		if err != nil {
			return nil, fmt.Errorf("list %ss: %w", kind, err)
		}
		if err := l.Read(func(st *plenty.State) error {
			for i, id := range ids {
				status, gone := st.GoneStatus(kind, id)
				if gone && !st.Holds(kind, id) && (f.Status == "" || status == f.Status) {
					out = append(out, []byte(docs[i]))
				}
			}
			return nil
		}); err != nil {
			return nil, err
		}
		if len(ids) < n {
			break
		}
		after = ids[len(ids)-1]
	}
	if len(out) > n {
		out = out[:n]
	}
	return out, nil
}
