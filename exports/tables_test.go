package exports

import (
	"context"
	"fmt"
	"io"
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
func exchangeLog(t *testing.T) *testLog { return exchangeLogUnder(t, nil) }

// exchangeLogUnder is exchangeLog with the hub's terms (nil: none) set
// before the exchange.
func exchangeLogUnder(t *testing.T, hubTerms *plenty.Terms) *testLog {
	l := demoLog(t, "stone-milled")
	if hubTerms != nil {
		l.add(plenty.KindTermsSet, plenty.ActorHub, *hubTerms)
	}
	at := l.now
	l.add(plenty.KindNeedPosted, plenty.DelegateActor("d-c1"), plenty.NeedPosting{
		ID: "n2", Council: "c1", Item: "wheat-flour", Quantity: 60_000,
		Location: plenty.Location{Lat: 51.4613, Lon: -0.1156}, NeededBy: at.Add(48 * time.Hour), Priority: 5,
		MaxDistanceKm: 50, Note: "rye too", ExpiresAt: at.Add(48 * time.Hour)})
	terms := plenty.ProposalTerms{ID: "p1", Offer: "o1", Need: "n2", Quantity: 50_000, DistanceKm: 7.3,
		LedgerSize: int64(len(l.events)), Engine: "test", ExpiresAt: at.Add(time.Hour)}
	l.add(plenty.KindProposalAccepted, plenty.DelegateActor("d-c2"), plenty.ProposalDecision{Proposal: terms})
	l.add(plenty.KindProposalAccepted, plenty.DelegateActor("d-c1"), plenty.ProposalDecision{Proposal: terms})
	l.add(plenty.KindTransferRecorded, plenty.DelegateActor("d-c1"), plenty.TransferRecorded{
		Agreement: plenty.AgreementID("p1"), Quantity: 49_500})
	// Only 49 kg arrived after all: a negative transfer corrects it.
	l.add(plenty.KindCorrectionRecorded, plenty.DelegateActor("d-c1"), plenty.CorrectionRecorded{
		Transfer: plenty.TransferID(plenty.AgreementID("p1")), Quantity: 49_000})
	return l
}

func TestTablesOfAnExchange(t *testing.T) {
	l := exchangeLog(t)
	dir := mustWrite(t, l, int64(len(l.events)))
	if _, err := Verify(context.Background(), dir, &VerifyOptions{Key: l.verifier}); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	for _, tb := range []*table{agreementsTable, transfersTable} {
		goldenAs(t, dir, tableFile(tb, CSV, int64(len(l.events))), fileName(tb, CSV))
	}
	got, err := os.ReadFile(filepath.Join(dir, "accounts.csv"))
	if err != nil {
		t.Fatal(err)
	}
	want := "council,resourceConformsTo,unit,given,received,committed\n" +
		"c1,wheat-flour,kg,0,49,0\n" +
		"c2,wheat-flour,kg,49,0,0\n"
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
		err := writeTable(context.Background(), tb, stateEntities{st: st, ids: ids}, nil, mem, 2, func(rec arrow.RecordBatch) error {
			for i := 0; i < int(rec.NumRows()); i++ {
				var cells []string
				for j := range rec.Columns() {
					s, err := cellText(rec.Column(j), i)
					if err != nil {
						return err
					}
					cells = append(cells, s)
				}
				if tb == transfersTable {
					cells[1] = cells[5] // the quantity, which may be negative
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
	for _, it := range st.Items() {
		want[itemsTable] = append(want[itemsTable], it.Code+"|"+it.Name)
	}
	// Closed postings and ended mandates leave the state's lists; with
	// OnChange set (watch) the state still holds them, and Entities names
	// them.
	for _, c := range st.Entities() {
		switch c.Kind {
		case "delegate":
			d, _ := st.Delegate(c.ID)
			want[delegatesTable] = append(want[delegatesTable], d.ID+"|"+d.Council)
		case "offer":
			o, _ := st.Offer(c.ID)
			want[offersTable] = append(want[offersTable], o.ID+"|"+o.Council)
		case "need":
			n, _ := st.Need(c.ID)
			want[needsTable] = append(want[needsTable], n.ID+"|"+n.Council)
		}
	}
	for _, a := range st.Agreements() {
		want[agreementsTable] = append(want[agreementsTable], a.ID+"|"+a.Proposal)
	}
	for _, x := range st.Transfers() {
		want[transfersTable] = append(want[transfersTable], x.ID+"|"+x.Quantity.String())
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

// writtenDigests replays l and returns the digests of its tables as a
// snapshot's writer computes them.
func writtenDigests(t *testing.T, l *testLog) map[string]*tableDigest {
	st := plenty.NewState()
	ids := watch(st)
	for _, ev := range l.events {
		if err := st.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	written := map[string]*tableDigest{}
	for _, tb := range projections {
		cs, err := newSink(CSV, io.Discard, tb, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		d := digestSinks([]sink{cs})
		if err := writeTable(context.Background(), tb, stateEntities{st: st, ids: ids}, []sink{cs}, memory.DefaultAllocator, 4, d.values.addBatch); err != nil {
			t.Fatal(err)
		}
		d.finish()
		written[tb.name] = d
	}
	return written
}

// TestReadBackComparesWithRowsWritten checks the read-back of Write: a
// table file that does not hold the rows written is caught, naming the
// rows, without replaying the events again.
func TestReadBackComparesWithRowsWritten(t *testing.T) {
	l := demoLog(t, "stone-milled")
	dir := mustWrite(t, l, 10)
	ctx := context.Background()
	if _, err := verify(ctx, dir, &VerifyOptions{Key: l.verifier}, &readBack{written: writtenDigests(t, l)}); err != nil {
		t.Fatalf("verify with the digests of the rows written: %v", err)
	}
	// The rows of another history, with another note in offer o1.
	other := writtenDigests(t, demoLog(t, "rewritten"))
	written := writtenDigests(t, l)
	written["offers"].values = other["offers"].values
	_, err := verify(ctx, dir, &VerifyOptions{Key: l.verifier}, &readBack{written: written})
	if want := tableFile(offersTable, Arrow, 10) + ": offers arrow files: rows 1 to 2 read back differently from how they were written"; err == nil || err.Error() != want {
		t.Fatalf("verify = %v, want %q", err, want)
	}
	// The CSV file is compared with the text written.
	written = writtenDigests(t, l)
	written["offers"].text = other["offers"].text
	_, err = verify(ctx, dir, &VerifyOptions{Key: l.verifier}, &readBack{written: written})
	if want := tableFile(offersTable, CSV, 10) + ": offers csv files: rows 1 to 2 read back differently from how they were written"; err == nil || err.Error() != want {
		t.Fatalf("verify = %v, want %q", err, want)
	}
	// A row count that differs is named as such.
	written = writtenDigests(t, l)
	written["offers"].values.rows--
	_, err = verify(ctx, dir, &VerifyOptions{Key: l.verifier}, &readBack{written: written})
	if want := tableFile(offersTable, Arrow, 10) + ": offers arrow files: holds 2 rows, but 1 were written"; err == nil || err.Error() != want {
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

// folderNames lists dir's entries, for messages and comparisons.
func folderNames(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}

func TestWriteKeepsTheNewestSnapshots(t *testing.T) {
	l := demoLog(t, "stone-milled")
	dir := t.TempDir()
	ctx := context.Background()
	write := func(n int64) {
		t.Helper()
		if _, err := Write(ctx, dir, l.source(), l.checkpoint(n), l.verifier, &Options{Keep: 2}); err != nil {
			t.Fatalf("Write(%d): %v", n, err)
		}
	}
	write(3)
	write(5)
	if got := folderNames(t, dir); got != "3 5 latest" {
		t.Fatalf("after two snapshots: %q", got)
	}
	write(7)
	if got := folderNames(t, dir); got != "5 7 latest" {
		t.Fatalf("after a third snapshot with Keep 2: %q, want \"5 7 latest\"", got)
	}
	// An older snapshot written late is kept until the next one is
	// published, and never moves latest.
	write(4)
	if got := folderNames(t, dir); got != "4 5 7 latest" {
		t.Fatalf("after writing an older snapshot: %q, want \"4 5 7 latest\"", got)
	}
	// What latest points to is never removed, even when it is not among
	// the largest (a folder copied in by hand).
	if err := os.Mkdir(filepath.Join(dir, "9"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "8"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := prune(dir, 2, -1); err != nil {
		t.Fatal(err)
	}
	if got := folderNames(t, dir); got != "7 8 9 latest" {
		t.Fatalf("prune with latest at 7 below two larger folders: %q, want \"7 8 9 latest\"", got)
	}
	if _, size, err := Latest(dir); err != nil || size != 7 {
		t.Fatalf("Latest = %d, %v; want 7", size, err)
	}
}

func TestWriteDefaultKeep(t *testing.T) {
	l := demoLog(t, "stone-milled")
	dir := t.TempDir()
	for n := int64(1); n <= 5; n++ {
		if _, err := Write(context.Background(), dir, l.source(), l.checkpoint(n), l.verifier, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := folderNames(t, dir); got != "3 4 5 latest" {
		t.Fatalf("folder holds %q, want the %d newest: \"3 4 5 latest\"", got, DefaultKeep)
	}
}

func TestWriteFormats(t *testing.T) {
	l := demoLog(t, "stone-milled")
	dir := t.TempDir()
	snap, err := Write(context.Background(), dir, l.source(), l.checkpoint(10), l.verifier, &Options{Formats: []Format{CSV, Parquet}})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(context.Background(), snap.Dir, &VerifyOptions{Key: l.verifier})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Files) != 1+9*2 || rep.Files[1] != partPath(Parquet, 0, 9) || rep.Files[2] != partPath(CSV, 0, 9) {
		t.Errorf("checked %v, want datapackage.json and 9 tables in parquet and csv", rep.Files)
	}
	_, err = Write(context.Background(), t.TempDir(), l.source(), l.checkpoint(10), l.verifier, &Options{Formats: []Format{CSV}})
	if err == nil || !strings.Contains(err.Error(), "needs the events in arrow or parquet") {
		t.Fatalf("Write with CSV alone = %v", err)
	}
}

func TestFormatTimeMatchesTimeFormat(t *testing.T) {
	for _, ns := range []int64{0, 1, -1, 999_999_999, 1_795_000_000_123_456_789, -6_000_000_000_000_000_000,
		9_223_372_036_854_775_807, -9_223_372_036_854_775_808, 253_402_300_799_999_999_999 % (1 << 62)} {
		want := time.Unix(0, ns).UTC().Format(plenty.TimeFormat)
		if got := formatTime(ns); got != want {
			t.Errorf("formatTime(%d) = %q, want %q", ns, got, want)
		}
	}
}

func TestParseTime(t *testing.T) {
	for _, s := range []string{"2026-11-21T10:00:00.000000000Z", "1970-01-01T00:00:00.000000001Z", "2262-04-11T23:47:16.854775807Z"} {
		ns, ok := parseTime(s)
		if !ok || formatTime(ns) != s {
			t.Errorf("parseTime(%q) = %d, %v", s, ns, ok)
		}
	}
	for _, s := range []string{"2026-13-21T10:00:00.000000000Z", "2026-11-21T10:00:00.00000000Z", "2026-11-21 10:00:00.000000000Z",
		"2026-11-21T10:00:00.000000000+", "2026-11-21T1a:00:00.000000000Z", "2262-04-11T23:47:16.854775808Z", "-026-11-21T10:00:00.000000000Z"} {
		if ns, ok := parseTime(s); ok {
			t.Errorf("parseTime(%q) = %d, true; want false", s, ns)
		}
	}
}
