package exports

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/plentyhub/plenty"
)

// exchangeLog is demoLog followed by an exchange: a need, a proposal both
// councils accept (an agreement) and the receipt (a transfer), so that the
// agreements, transfers and accounts tables have rows.
func exchangeLog(t *testing.T) *testLog {
	l := demoLog(t, "stone-milled")
	at := l.now
	l.add(plenty.KindNeedPosted, plenty.DelegateActor("d-c1"), plenty.NeedPosted{Need: plenty.Need{
		ID: "n2", Council: "c1", Item: "wheat-flour", Quantity: 60_000, Remaining: 60_000,
		Location: plenty.Location{Lat: 51.4613, Lon: -0.1156}, NeededBy: at.Add(48 * time.Hour), Priority: 5,
		MaxDistanceKm: 50, Note: "rye too", ExpiresAt: at.Add(48 * time.Hour), Status: plenty.StatusOpen,
		PostedBy: "d-c1", PostedAt: l.now}})
	terms := plenty.ProposalTerms{ID: "p1", Offer: "o1", Need: "n2", Quantity: 50_000, DistanceKm: 12.25,
		LedgerSize: int64(len(l.events)), Engine: "test", ExpiresAt: at.Add(time.Hour)}
	l.add(plenty.KindProposalAccepted, plenty.DelegateActor("d-c2"), plenty.ProposalDecision{Proposal: terms})
	l.add(plenty.KindProposalAccepted, plenty.DelegateActor("d-c1"), plenty.ProposalDecision{Proposal: terms})
	l.add(plenty.KindTransferRecorded, plenty.DelegateActor("d-c1"), plenty.TransferRecorded{
		Agreement: plenty.AgreementID("p1"), Quantity: 49_500})
	return l
}

func TestTablesOfAnExchange(t *testing.T) {
	l := exchangeLog(t)
	dir := mustWrite(t, l, int64(len(l.events)))
	if _, err := Verify(context.Background(), dir, &VerifyOptions{Key: l.verifier}); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	for _, name := range []string{"agreements.csv", "transfers.csv"} {
		golden(t, dir, name)
	}
	got, err := os.ReadFile(filepath.Join(dir, "accounts.csv"))
	if err != nil {
		t.Fatal(err)
	}
	want := "council,resourceConformsTo,unit,given,received,committed\n" +
		"c1,wheat-flour,kg,0,49.5,0\n" +
		"c2,wheat-flour,kg,49.5,0,0\n"
	if string(got) != want {
		t.Errorf("accounts.csv =\n%s\nwant\n%s", got, want)
	}
}

// TestTableRowsMatchState checks that the rows written one entity at a
// time from the ids seen during the replay are exactly the state's own
// lists, in the same order.
func TestTableRowsMatchState(t *testing.T) {
	l := exchangeLog(t)
	st := plenty.NewState()
	ids := watch(st)
	for _, ev := range l.events {
		if err := st.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	firstCells := func(tb *table) []string {
		var out []string
		err := writeTable(tb, st, ids, nil, mem, 2, func(rec arrow.RecordBatch) error {
			for i := 0; i < int(rec.NumRows()); i++ {
				var cells []string
				for j := range rec.Columns() {
					s, err := cellText(rec.Column(j), i)
					if err != nil {
						return err
					}
					cells = append(cells, s)
				}
				out = append(out, strings.Join(cells[:2], "|"))
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", tb.name, err)
		}
		return out
	}
	var want = map[*table][]string{}
	for _, c := range st.Councils() {
		want[councilsTable] = append(want[councilsTable], c.ID+"|"+c.Name)
	}
	for _, d := range st.Delegates() {
		want[delegatesTable] = append(want[delegatesTable], d.ID+"|"+d.Council)
	}
	for _, it := range st.Items() {
		want[itemsTable] = append(want[itemsTable], it.Code+"|"+it.Name)
	}
	for _, o := range st.Offers() {
		want[offersTable] = append(want[offersTable], o.ID+"|"+o.Council)
	}
	for _, n := range st.Needs() {
		want[needsTable] = append(want[needsTable], n.ID+"|"+n.Council)
	}
	for _, a := range st.Agreements() {
		want[agreementsTable] = append(want[agreementsTable], a.ID+"|"+a.Proposal)
	}
	for _, x := range st.Transfers() {
		want[transfersTable] = append(want[transfersTable], x.ID+"|"+x.Agreement)
	}
	for _, a := range st.Accounts() {
		want[accountsTable] = append(want[accountsTable], a.Council+"|"+a.Item)
	}
	for _, tb := range projections {
		got := fmt.Sprint(firstCells(tb))
		if w := fmt.Sprint(want[tb]); got != w || len(want[tb]) == 0 {
			t.Errorf("%s rows = %s, want %s (and at least one)", tb.name, got, w)
		}
	}
}

// TestReadBackComparesWithRowsWritten checks the read-back of Write: a
// table file that does not hold the rows written is caught, naming the
// rows, without replaying the events again.
func TestReadBackComparesWithRowsWritten(t *testing.T) {
	l := demoLog(t, "stone-milled")
	dir := mustWrite(t, l, 10)
	// The digests of the rows of another history, with another note.
	other := demoLog(t, "rewritten")
	st := plenty.NewState()
	ids := watch(st)
	for _, ev := range other.events {
		if err := st.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	written := map[string]*rowDigest{}
	for _, tb := range projections {
		d := newRowDigest()
		if err := writeTable(tb, st, ids, nil, memory.DefaultAllocator, 4, d.addBatch); err != nil {
			t.Fatal(err)
		}
		d.finish()
		written[tb.name] = d
	}
	_, err := verify(context.Background(), dir, &VerifyOptions{Key: l.verifier}, written)
	want := "offers.arrow: rows 1 to 2 read back differently from how they were written"
	if err == nil || err.Error() != want {
		t.Fatalf("verify = %v, want %q", err, want)
	}
	// One row fewer is named as such.
	d := written["offers"]
	d.rows--
	_, err = verify(context.Background(), dir, &VerifyOptions{Key: l.verifier}, written)
	if want := "offers.arrow: holds 2 rows, but 1 were written"; err == nil || err.Error() != want {
		t.Fatalf("verify = %v, want %q", err, want)
	}
}

func TestRowDigestChunks(t *testing.T) {
	a, b := newRowDigest(), newRowDigest()
	for i := 0; i < digestRows+3; i++ {
		a.addRow([]string{fmt.Sprint(i), "x"})
		cell := "x"
		if i == digestRows+1 {
			cell = "y"
		}
		b.addRow([]string{fmt.Sprint(i), cell})
	}
	a.finish()
	b.finish()
	if len(a.chunks) != 2 {
		t.Fatalf("%d chunks, want 2", len(a.chunks))
	}
	want := fmt.Sprintf("rows %d to %d read back differently from how they were written", digestRows+1, digestRows+3)
	if err := a.compare(b); err == nil || err.Error() != want {
		t.Fatalf("compare = %v, want %q", err, want)
	}
	// Cells are length-prefixed: moving text across a cell boundary changes the digest.
	c, d := newRowDigest(), newRowDigest()
	c.addRow([]string{"ab", "c"})
	d.addRow([]string{"a", "bc"})
	c.finish()
	d.finish()
	if c.compare(d) == nil {
		t.Fatal("rows ab|c and a|bc have the same digest")
	}
}
