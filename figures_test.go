package plenty

import (
	"math"
	"testing"
	"time"
)

func TestFigures(t *testing.T) {
	w := newWorld(t)
	for _, v := range []string{"v1", "v2"} {
		w.vouched(v)
	}
	// n4 is needed 30 km north of the mill: a distant exchange.
	mill := w.s.councils["c_mill"].Location
	w.must(KindNeedPosted, DelegateActor("d_b1"), NeedPosting{ID: "n4", Council: "c_bak", Item: "wheat-flour",
		Quantity: 300_000, Location: Location{Lat: mill.Lat + 0.27, Lon: mill.Lon}, NeededBy: w.now.Add(DefaultPostingTTL),
		Priority: 3, MaxDistanceKm: DefaultMaxKm, ExpiresAt: w.now.Add(DefaultPostingTTL)})
	near := terms("p1", "o1", "n1", 80_500)
	far := terms("p2", "o1", "n4", 100_000)
	far.DistanceKm = 30
	third := terms("p3", "o1", "n4", 10_000)
	third.DistanceKm = 30
	var tasks []string
	for _, p := range []ProposalTerms{near, far, third} {
		tasks = append(tasks, TaskID(w.agree(p).ID))
	}
	// v1 carries two deliveries, v2 one, and the third agreement is
	// cancelled: it is not a flow.
	carriers := []string{"v1", "v1", "v2"}
	for i, v := range carriers {
		w.must(KindTaskVolunteered, VolunteerActor(v), TaskRef{tasks[i]})
	}
	for i, v := range carriers {
		if _, err := w.draw(tasks[i]); err != nil {
			t.Fatal(err)
		}
		w.must(KindTaskPickedUp, VolunteerActor(v), TaskRef{tasks[i]})
		w.must(KindTaskDroppedOff, VolunteerActor(v), TaskRef{tasks[i]})
	}
	w.must(KindAgreementCancelled, DelegateActor("d_b1"), AgreementCancellation{AgreementID("p3"), CancelWithdrawn})
	w.must(KindTransferRecorded, DelegateActor("d_b1"), TransferRecorded{AgreementID("p1"), 80_000})
	w.must(KindCorrectionRecorded, DelegateActor("d_b1"), CorrectionRecorded{TransferID(AgreementID("p1")), 80_500})
	metAt := w.now
	w.must(KindTransferRecorded, DelegateActor("d_b1"), TransferRecorded{AgreementID("p2"), 90_000})
	n1, _ := w.s.Need("n1")

	asOf := w.now.Add(time.Hour)
	got := w.s.Figures(asOf)
	want := Figures{
		AsOf:       asOf,
		Deliveries: 3, Volunteers: 2, BusiestVolunteerShare: 2.0 / 3, BusiestThreeVolunteersShare: 1,
		Flows: 2, LargestCouncilShare: 1, LargestThreeCouncilsShare: 1,
		// d_m1, d_b1, d_b2, d_b3: one mandate each, all running, issued
		// 2, 3, 4 and 5 minutes after t0.
		Tenures: 4, MostMandates: 1,
		LongestTenureDays: asOf.Sub(t0.Add(2*time.Minute)).Hours() / 24,
		MedianTenureDays:  asOf.Sub(t0.Add(210*time.Second)).Hours() / 24,
		Needs:             3, NeedsMet: 1, NeedsMetShare: 1.0 / 3,
		MedianHoursToMeet: metAt.Sub(n1.PostedAt).Hours(),
		Received:          2, DistanceKm: 34.7, MedianDistanceKm: 17.35, Local: 1, Distant: 1, LocalShare: 0.5,
	}
	if !closeFigures(got, want) {
		t.Fatalf("figures\n got %+v\nwant %+v", got, want)
	}
}

// closeFigures compares figures, floats to within rounding.
func closeFigures(a, b Figures) bool {
	fl := func(x, y float64) bool { return math.Abs(x-y) < 1e-9 }
	return a.AsOf.Equal(b.AsOf) && a.Deliveries == b.Deliveries && a.Volunteers == b.Volunteers &&
		fl(a.BusiestVolunteerShare, b.BusiestVolunteerShare) && fl(a.BusiestThreeVolunteersShare, b.BusiestThreeVolunteersShare) &&
		a.Flows == b.Flows && fl(a.LargestCouncilShare, b.LargestCouncilShare) && fl(a.LargestThreeCouncilsShare, b.LargestThreeCouncilsShare) &&
		a.Tenures == b.Tenures && a.MostMandates == b.MostMandates &&
		fl(a.LongestTenureDays, b.LongestTenureDays) && fl(a.MedianTenureDays, b.MedianTenureDays) &&
		a.Needs == b.Needs && a.NeedsMet == b.NeedsMet && fl(a.NeedsMetShare, b.NeedsMetShare) &&
		fl(a.MedianHoursToMeet, b.MedianHoursToMeet) && a.Received == b.Received &&
		fl(a.DistanceKm, b.DistanceKm) && fl(a.MedianDistanceKm, b.MedianDistanceKm) &&
		a.Local == b.Local && a.Distant == b.Distant && fl(a.LocalShare, b.LocalShare)
}

func TestTenureFigures(t *testing.T) {
	day := 24 * time.Hour
	mandate := func(id, label string, issued time.Duration, recalled time.Duration) *Delegate {
		d := &Delegate{ID: id, Council: "c1", Label: label, IssuedAt: t0.Add(issued), ExpiresAt: t0.Add(issued + MaxMandateTerm)}
		if recalled > 0 {
			r := t0.Add(issued + recalled)
			d.RecalledAt = &r
		}
		return d
	}
	tests := []struct {
		name     string
		ds       []*Delegate
		asOf     time.Duration
		tenures  int
		longest  float64
		median   float64
		mandates int
	}{
		{"None", nil, 30 * day, 0, 0, 0, 0},
		{"OneRunning", []*Delegate{mandate("a", "Ana", 0, 0)}, 2 * day, 1, 2, 2, 1},
		{"RenewedThreeTimes", []*Delegate{mandate("a1", "Ana", 0, 0), mandate("a2", "Ana", 7*day, 0), mandate("a3", "Ana", 14*day+12*time.Hour, 0)},
			60 * day, 1, 21.5, 21.5, 3},
		{"GapEndsTenure", []*Delegate{mandate("a1", "Ana", 0, 0), mandate("a2", "Ana", 9*day, 0)}, 60 * day, 2, 7, 7, 1},
		{"RecallEndsEarly", []*Delegate{mandate("a1", "Ana", 0, day), mandate("b1", "Bo", 0, 0), mandate("b2", "Bo", 6*day, 0)}, 60 * day, 2, 13, 7, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewState()
			for _, d := range tc.ds {
				s.delegates[d.ID] = d
			}
			f := s.Figures(t0.Add(tc.asOf))
			if f.Tenures != tc.tenures || f.LongestTenureDays != tc.longest || f.MedianTenureDays != tc.median || f.MostMandates != tc.mandates {
				t.Fatalf("tenures %d, longest %v, median %v, most mandates %d; want %d, %v, %v, %d",
					f.Tenures, f.LongestTenureDays, f.MedianTenureDays, f.MostMandates, tc.tenures, tc.longest, tc.median, tc.mandates)
			}
		})
	}
}
