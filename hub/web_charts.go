package hub

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/plentyhub/plenty"
)

// The home page's charts are inline SVG computed here, so they need no
// script and no library; each also carries its numbers as a table for
// screen readers and for anyone who would rather read than look.

// Chart geometry, in SVG user units. The charts are drawn narrow, about a
// phone's width, so that their 13-unit text is at least 12 px on a phone
// and grows only a little on a desktop (the CSS caps them at 30rem).
const (
	chartW    = 360
	chartH    = 220
	chartLeft = 44
	chartTop  = 12
	chartBot  = 28
	chartRt   = 12
)

type axisLabel struct {
	X, Y float64
	Text string
}

type series struct {
	Name, Class string
	Points      string // SVG polyline points
	Last        int
}

// lineChart is a chart of counts over time.
type lineChart struct {
	W, H    int
	X0, X1  float64 // plot area
	Y0, Y1  float64
	Series  []series
	XLabels []axisLabel
	YLabels []axisLabel
	Rows    [][]string // the data table: time, then one value per series
	Empty   bool
}

// needsMetChart draws the needs posted and the needs met so far, from the
// first need's posting to now. A need is met once its receipts
// (corrections included) add up to its quantity, as in plenty.Figures.
func needsMetChart(st *plenty.State, now time.Time, loc *time.Location) lineChart {
	ch := lineChart{W: chartW, H: chartH, X0: chartLeft, X1: chartW - chartRt, Y0: chartH - chartBot, Y1: chartTop}
	tl := st.NeedTimeline()
	start, ok := tl.First()
	if !ok {
		ch.Empty = true
		return ch
	}
	end := now
	if !end.After(start) {
		end = start.Add(time.Hour)
	}
	const points = 24
	span := end.Sub(start)
	maxY := max(1, tl.Posted(end))
	scaleX := func(i int) float64 { return ch.X0 + (ch.X1-ch.X0)*float64(i)/float64(points-1) }
	scaleY := func(v int) float64 { return ch.Y0 - (ch.Y0-ch.Y1)*float64(v)/float64(maxY) }
	var pp, mp []string
	var np, nm int
	for i := 0; i < points; i++ {
		t := start.Add(span * time.Duration(i) / (points - 1))
		np = tl.Posted(t)
		nm = tl.Met(t)
		pp = append(pp, fmt.Sprintf("%.1f,%.1f", scaleX(i), scaleY(np)))
		mp = append(mp, fmt.Sprintf("%.1f,%.1f", scaleX(i), scaleY(nm)))
		if i%(points/4) == 0 || i == points-1 {
			ch.Rows = append(ch.Rows, []string{timeLabel(t, span, loc), fmt.Sprint(np), fmt.Sprint(nm)})
		}
	}
	ch.Series = []series{
		{Name: "needs posted", Class: "s-posted", Points: strings.Join(pp, " "), Last: np},
		{Name: "needs met", Class: "s-met", Points: strings.Join(mp, " "), Last: nm},
	}
	for _, i := range []int{0, points / 2, points - 1} {
		t := start.Add(span * time.Duration(i) / (points - 1))
		ch.XLabels = append(ch.XLabels, axisLabel{X: scaleX(i), Y: chartH - 8, Text: timeLabel(t, span, loc)})
	}
	for _, v := range []int{0, maxY / 2, maxY} {
		if v == maxY/2 && (v == 0 || v == maxY) {
			continue
		}
		ch.YLabels = append(ch.YLabels, axisLabel{X: ch.X0 - 6, Y: scaleY(v) + 4, Text: fmt.Sprint(v)})
	}
	return ch
}

func timeLabel(t time.Time, span time.Duration, loc *time.Location) string {
	if span < 48*time.Hour {
		return t.In(loc).Format("2 Jan 15:04")
	}
	return t.In(loc).Format("2 Jan 2006")
}

type bar struct {
	Label     string
	X, Y      float64
	LabelX    float64
	TextX     float64
	W         float64 // the whole bar: agreed flows
	Done      float64 // the part received
	Text      string
	Flows     int
	Received  int
	Delivered string
}

// barChart is a horizontal bar chart, one bar per row.
type barChart struct {
	W, H  int
	X0    float64
	Bars  []bar
	Empty bool
}

// flowsChart draws, per item, the flows agreed (agreements not cancelled)
// and the part of them received, with the quantity received.
func flowsChart(st *plenty.State) barChart {
	type acc struct {
		flows, received int
		qty             plenty.Amount
	}
	by := map[string]*acc{}
	for item, f := range st.ItemFlows() {
		if f.Flows > 0 {
			by[item] = &acc{f.Flows, f.Received, f.Quantity}
		}
	}
	ch := barChart{W: chartW, X0: 0}
	if len(by) == 0 {
		ch.Empty, ch.H = true, 0
		return ch
	}
	codes := make([]string, 0, len(by))
	most := 0
	for code, a := range by {
		codes = append(codes, code)
		most = max(most, a.flows)
	}
	sort.Slice(codes, func(i, j int) bool {
		if by[codes[i]].flows != by[codes[j]].flows {
			return by[codes[i]].flows > by[codes[j]].flows
		}
		return codes[i] < codes[j]
	})
	if len(codes) > 12 {
		codes = codes[:12]
	}
	// Each row: the item's name, then its bar with the counts after it.
	width := float64(chartW) - 130
	for i, code := range codes {
		a := by[code]
		it, _ := st.Item(code)
		name := it.Name
		if name == "" {
			name = code
		}
		b := bar{Label: name, Y: float64(4 + i*42), Flows: a.flows, Received: a.received,
			W:         width * float64(a.flows) / float64(most),
			Done:      width * float64(a.received) / float64(most),
			Delivered: amount(a.qty, it.Unit)}
		b.X, b.LabelX, b.TextX = ch.X0, ch.X0, ch.X0+b.W+6
		b.Text = fmt.Sprintf("%d agreed, %d received (%s)", a.flows, a.received, b.Delivered)
		ch.Bars = append(ch.Bars, b)
	}
	ch.H = 8 + len(codes)*42
	return ch
}

// splitChart is one bar split in two: local and distant supply.
type splitChart struct {
	W              int
	Local, Distant int
	LocalW         float64
	DistantX       float64
	DistantW       float64
	LocalKm        int
	Empty          bool
}

func supplyChart(f plenty.Figures) splitChart {
	ch := splitChart{W: chartW, Local: f.Local, Distant: f.Distant, LocalKm: plenty.LocalKm}
	total := f.Local + f.Distant
	if total == 0 {
		ch.Empty = true
		return ch
	}
	ch.LocalW = float64(chartW) * float64(f.Local) / float64(total)
	ch.DistantX = ch.LocalW
	ch.DistantW = float64(chartW) - ch.LocalW
	return ch
}
