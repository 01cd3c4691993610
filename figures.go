package plenty

import (
	"cmp"
	"slices"
	"sort"
	"time"
)

// LocalKm is the distance up to which supply counts as local in Figures.
const LocalKm = 25

// TenureGap is how long a council may leave a seat empty before a new
// mandate of the same label counts as a new tenure rather than a renewal.
const TenureGap = 24 * time.Hour

// Figures are the hub's public measures: where power is concentrating
// (so a council can see a "throne" forming) and how far the councils meet
// their own needs (sovereignty, not spectacle). They are computed from the
// state alone, so anyone holding the open data gets the same numbers.
// Shares are fractions from 0 to 1, and 0 when there is nothing to share.
type Figures struct {
	AsOf time.Time `json:"as_of"`

	// Deliveries is the number of delivery tasks dropped off, and
	// Volunteers the number of different volunteers who carried them.
	Deliveries int `json:"deliveries"`
	Volunteers int `json:"volunteers"`
	// BusiestVolunteerShare is the share of Deliveries carried by the one
	// volunteer who carried most; BusiestThreeVolunteersShare by the three
	// who carried most.
	BusiestVolunteerShare       float64 `json:"busiest_volunteer_share"`
	BusiestThreeVolunteersShare float64 `json:"busiest_three_volunteers_share"`

	// Flows is the number of agreements not cancelled (active or
	// received). LargestCouncilShare is the share of them in which the
	// council taking part in most flows (as provider or receiver) takes
	// part; LargestThreeCouncilsShare the share in which any of the three
	// largest does. Flows are counted, not weighed, because items are
	// measured in different units.
	Flows                     int     `json:"flows"`
	LargestCouncilShare       float64 `json:"largest_council_share"`
	LargestThreeCouncilsShare float64 `json:"largest_three_councils_share"`

	// A tenure is an unbroken run of mandates a council gave to the same
	// delegate label: the next mandate was issued before, or within
	// TenureGap of, the end of the previous one (its recall, else its
	// expiry). It lasts from the first issue to the last end, or to AsOf
	// while it runs. Tenures counts them; LongestTenureDays and
	// MedianTenureDays measure them, and MostMandates is the largest
	// number of mandates in one tenure: 1 means nobody was re-mandated.
	Tenures           int     `json:"tenures"`
	LongestTenureDays float64 `json:"longest_tenure_days"`
	MedianTenureDays  float64 `json:"median_tenure_days"`
	MostMandates      int     `json:"most_mandates"`

	// Needs is the number of needs posted; NeedsMet those whose receipts
	// (corrections included) add up to their whole quantity, and
	// NeedsMetShare = NeedsMet / Needs. MedianHoursToMeet is the median,
	// over the needs met, of the time from posting to the receipt that
	// first brought the received total to the quantity.
	Needs             int     `json:"needs"`
	NeedsMet          int     `json:"needs_met"`
	NeedsMetShare     float64 `json:"needs_met_share"`
	MedianHoursToMeet float64 `json:"median_hours_to_meet"`

	// Received is the number of agreements whose receipt was confirmed.
	// DistanceKm sums their distances (one trip each, offer to need) and
	// MedianDistanceKm is its median. LocalShare is the share of them
	// supplied from at most LocalKm away; Local and Distant count them.
	Received         int     `json:"received"`
	DistanceKm       float64 `json:"distance_km"`
	MedianDistanceKm float64 `json:"median_distance_km"`
	Local            int     `json:"local"`
	Distant          int     `json:"distant"`
	LocalShare       float64 `json:"local_share"`
}

// Figures computes the public figures as of asOf (which ends the running
// tenures). asOf is no earlier than the state's last event (the hub's
// clock): the tenures that can change no more were folded with their
// mandates' own ends as those left the state, so an earlier asOf cuts
// only the tenures still open.
func (s *State) Figures(asOf time.Time) Figures {
	f := Figures{AsOf: asOf}
	s.deliveryFigures(&f)
	s.flowFigures(&f)
	s.tenureFigures(&f)
	s.needFigures(&f)
	return f
}

func share(part, whole int) float64 {
	if whole == 0 {
		return 0
	}
	return float64(part) / float64(whole)
}

// topCounts returns the counts in descending order.
func topCounts(counts map[string]int) []int {
	out := make([]int, 0, len(counts))
	for _, c := range counts {
		out = append(out, c)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(out)))
	return out
}

func sumFirst(xs []int, n int) int {
	sum := 0
	for i := 0; i < n && i < len(xs); i++ {
		sum += xs[i]
	}
	return sum
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Float64s(xs)
	m := len(xs) / 2
	if len(xs)%2 == 1 {
		return xs[m]
	}
	return (xs[m-1] + xs[m]) / 2
}

func (s *State) deliveryFigures(f *Figures) {
	for _, n := range s.tally.Delivered {
		f.Deliveries += n
	}
	top := topCounts(s.tally.Delivered)
	f.Volunteers = len(s.tally.Delivered)
	f.BusiestVolunteerShare = share(sumFirst(top, 1), f.Deliveries)
	f.BusiestThreeVolunteersShare = share(sumFirst(top, 3), f.Deliveries)
}

func (s *State) flowFigures(f *Figures) {
	by := map[string]int{}
	for p, n := range s.tally.Pairs {
		f.Flows += n
		by[p.Provider] += n
		if p.Receiver != p.Provider {
			by[p.Receiver] += n
		}
	}
	// The largest councils by flows, ties broken by id.
	ids := make([]string, 0, len(by))
	for id := range by {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if by[ids[i]] != by[ids[j]] {
			return by[ids[i]] > by[ids[j]]
		}
		return ids[i] < ids[j]
	})
	through := func(n int) int {
		top := map[string]bool{}
		for i := 0; i < n && i < len(ids); i++ {
			top[ids[i]] = true
		}
		count := 0
		for p, k := range s.tally.Pairs {
			if top[p.Provider] || top[p.Receiver] {
				count += k
			}
		}
		return count
	}
	f.LargestCouncilShare = share(through(1), f.Flows)
	f.LargestThreeCouncilsShare = share(through(3), f.Flows)
}

// tenureFigures adds to the tenures that can change no more (folded as
// mandates left the state, mandate_ended.go) those still open: of each
// seat, the spans of the mandates that left and the mandates in the state,
// each ending no later than AsOf.
func (s *State) tenureFigures(f *Figures) {
	days := slices.Clone(s.tenures.Days)
	f.LongestTenureDays, f.MostMandates = s.tenures.Longest, s.tenures.Mandates
	asOf := f.AsOf.UnixNano()
	open := map[seat][]mandateSpan{}
	for _, d := range s.delegates {
		k := seat{d.Council, d.Label}
		open[k] = append(open[k], mandateSpan{d.IssuedAt.UnixNano(), mandateEnd(d).UnixNano(), 1})
	}
	for k, h := range s.seats {
		open[k] = append(open[k], h.Left...)
	}
	flush := func(start, last int64, n int) {
		d := spanDays(start, last)
		days = append(days, d)
		f.LongestTenureDays = max(f.LongestTenureDays, d)
		f.MostMandates = max(f.MostMandates, n)
	}
	for _, spans := range open {
		slices.SortFunc(spans, func(a, b mandateSpan) int { return cmp.Compare(a.Issued, b.Issued) })
		for _, r := range runs(spans, asOf) {
			flush(r.Issued, r.Ended, r.Mandates)
		}
	}
	f.Tenures = len(days)
	f.MedianTenureDays = median(days)
}

func (s *State) needFigures(f *Figures) {
	t := &s.tally
	f.Needs = int(s.needsPosted)
	// The needs that left the state were counted as they left; those it
	// holds are counted now.
	f.NeedsMet = t.NeedsMet
	hours := slices.Clone(t.HoursToMeet)
	for id, at := range s.needMetAt {
		if n := s.needs[id]; n != nil && s.needGot[id] >= n.Quantity {
			f.NeedsMet++
			hours = append(hours, at.Sub(n.PostedAt).Hours())
		}
	}
	f.Received, f.Local, f.Distant, f.DistanceKm = t.Receipts, t.Local, t.Distant, t.DistanceKm
	f.NeedsMetShare = share(f.NeedsMet, f.Needs)
	f.MedianHoursToMeet = median(hours)
	f.MedianDistanceKm = median(slices.Clone(t.Kms))
	f.LocalShare = share(f.Local, f.Received)
}
