package exports

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/plentyhub/plenty"
)

// retiredExchangeLog is exchangeLog once the receipt's correction window
// is over: the agreement, its transfer and its correction leave the state
// at the next event; so did o2 (withdrawn) and n1 (expired) before.
func retiredExchangeLog(t *testing.T) *testLog {
	l := exchangeLogUnder(t, &plenty.Terms{LotteryWindow: 10 * time.Minute, ClaimWindow: time.Hour, AgreementTerm: time.Hour,
		CorrectionWindow: plenty.DefaultCorrectionWindow})
	l.now = l.now.Add(plenty.DefaultCorrectionWindow + time.Hour)
	l.add(plenty.KindItemDefined, plenty.ActorHub, plenty.ItemDefinition{
		Code: "rye-flour", Name: "Rye flour", Dimension: plenty.Mass, Unit: "kg"})
	return l
}

// setDrainEvents makes the replay drain the entities that left the state
// every n events for the rest of the test.
func setDrainEvents(t *testing.T, n int64) {
	old := drainEvents
	drainEvents = n
	t.Cleanup(func() { drainEvents = old })
}

// TestVerifyCountsWhatLeftTheState: the replay keeps only the live
// entities, and the rows of those that left still count: a snapshot
// lacking or altering one is refused, and the row is named; so is an
// account line made of transfers that left.
func TestVerifyCountsWhatLeftTheState(t *testing.T) {
	l := retiredExchangeLog(t)
	size := int64(len(l.events))
	good := mustWrite(t, l, size)
	agreement := plenty.AgreementID("p1")
	receipt := plenty.TransferID(agreement)
	var correction, correctedAt string
	for _, ev := range l.events {
		if ev.Kind == plenty.KindCorrectionRecorded {
			correction, correctedAt = plenty.CorrectionID(ev.Seq), ev.Time.UTC().Format("2006-01-02T15:04:05.000000000Z")
		}
	}
	receiptRow := "row 1"
	if correction < receipt {
		receiptRow = "row 2"
	}
	offers, transfers := tableFile(offersTable, CSV, size), tableFile(transfersTable, CSV, size)
	agreements := tableFile(agreementsTable, CSV, size)
	tampered := []struct {
		name string
		file string
		old  string
		new  string
		want string
	}{
		{"WithdrawnOfferDropped", offers,
			"o2,c2,wheat-flour,1.234,1.234,kg,51.5,-0.2,40,\"small, line1\nline2\",2026-11-24T10:00:00.000000000Z,withdrawn,d-c2,2026-11-21T10:05:00.000000000Z,2026-11-21T10:00:00.000000000Z,2026-11-24T10:00:00.000000000Z,0.5\n", "",
			"has 1 rows, but the events give 2: the offers csv files lack the row (id o2)"},
		{"ExpiredNeedAltered", tableFile(needsTable, CSV, size), ",expired,", ",withdrawn,",
			`row 1 (id n1): column status is "withdrawn", but the events give "expired"`},
		{"RetiredCorrectionDropped", transfers,
			correction + "," + agreement + ",wheat-flour,c2,c1,-0.5,kg," + correctedAt + "," + receipt + "\n", "",
			"has 1 rows, but the events give 2: the transfers csv files lack the row (id " + correction + ")"},
		{"RetiredReceiptAltered", transfers, ",49.5,", ",50,",
			receiptRow + ` (id ` + receipt + `): column resourceQuantity is "50", but the events give "49.5"`},
		{"RetiredAgreementAltered", agreements, ",received,", ",cancelled,",
			`row 1 (id ` + agreement + `): column status is "cancelled", but the events give "received"`},
		{"AccountOfRetiredTransfersAltered", "accounts.csv", "c1,wheat-flour,kg,0,49,0", "c1,wheat-flour,kg,0,48,0",
			`row 1 (council c1, resourceConformsTo wheat-flour): column received is "48", but the events give "49"`},
	}
	for _, every := range []int64{drainEvents, 1, 3} {
		t.Run(fmt.Sprintf("DrainEvery%d", every), func(t *testing.T) {
			setDrainEvents(t, every)
			cp, err := OpenCheckpoint(l.checkpoint(size), l.verifier)
			if err != nil {
				t.Fatal(err)
			}
			v := &verifier{ctx: context.Background(), mem: memory.DefaultAllocator, cp: cp}
			events, err := os.Open(filepath.Join(good, partPath(Arrow, 0, size-1)))
			if err != nil {
				t.Fatal(err)
			}
			defer events.Close()
			if err := v.checkEvents(Arrow, events, true); err != nil {
				t.Fatal(err)
			}
			s := v.ents.(stateEntities)
			if n := s.st.Closed(); n != 0 {
				t.Errorf("the state still holds %d entities that left it", n)
			}
			s.ids.done()
			live := map[string][]string{"offer": {"o1"}, "need": {"n2"}, "agreement": nil, "transfer": nil}
			for kind, want := range live {
				if got := s.ids.ids[kind]; !slices.Equal(got, want) {
					t.Errorf("%s ids = %v, want the live ones %v", kind, got, want)
				}
			}
			for tb, want := range map[*table]int64{offersTable: 1, needsTable: 1, agreementsTable: 1, transfersTable: 2, councilsTable: 0} {
				if got := s.closed.sum(tb).n; got != want {
					t.Errorf("%d %s rows of entities that left, want %d", got, tb.name, want)
				}
			}
			for _, k := range [][2]string{{"c1", "wheat-flour"}, {"c2", "wheat-flour"}} {
				l := s.closed.lines[k]
				if l == nil || l.Given+l.Received != 49_000 || l.Committed != 0 {
					t.Errorf("account line %v of the transfers that left = %+v, want 49 given or received", k, l)
				}
			}

			if _, err := Verify(context.Background(), good, &VerifyOptions{Key: l.verifier}); err != nil {
				t.Fatalf("Verify refuses the snapshot as written: %v", err)
			}
			for _, tt := range tampered {
				t.Run(tt.name, func(t *testing.T) {
					dir := copyDir(t, good)
					replaceIn(t, dir, tt.file, tt.old, tt.new)
					relist(t, dir)
					_, err := Verify(context.Background(), dir, &VerifyOptions{Key: l.verifier})
					if err == nil || !strings.Contains(err.Error(), tt.file+": "+tt.want) {
						t.Fatalf("Verify error = %v\nwant one containing %q", err, tt.file+": "+tt.want)
					}
				})
			}
		})
	}
}
