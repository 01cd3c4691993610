package hub

import (
	"fmt"
	"math"
	"sort"

	"github.com/plentyhub/plenty"
)

// The region's map is drawn on the server as SVG, like the charts: each
// council a dot at its place, sized by its open offers and needs and
// coloured by which it has more of, linked to its page; the places with
// most postings are named. No tiles, no script, nothing fetched.

const (
	mapW   = 360
	mapH   = 300
	mapPad = 16
)

// mapDot is one council on the map.
type mapDot struct {
	ID, Name, Place string
	X, Y, R         float64
	Offers, Needs   int
	Class           string // "m-offers", "m-needs", "m-none" or "m-from"
}

// mapLabel names a place on the map.
type mapLabel struct {
	X, Y   float64
	Text   string
	Anchor string
}

// regionMap is the drawn map.
type regionMap struct {
	W, H   int
	Dots   []mapDot
	Labels []mapLabel
	Desc   string
	Empty  bool
}

// mapCounts are a council's open postings to show.
type mapCounts struct{ Offers, Needs int }

// drawMap places the councils, with the counts given per council id; from,
// when set, is the council distances are measured from, drawn apart.
func drawMap(councils []plenty.Council, counts map[string]mapCounts, from string) regionMap {
	m := regionMap{W: mapW, H: mapH}
	if len(councils) == 0 {
		m.Empty = true
		return m
	}
	minLat, maxLat, minLon, maxLon := 90.0, -90.0, 180.0, -180.0
	for _, c := range councils {
		minLat, maxLat = math.Min(minLat, c.Location.Lat), math.Max(maxLat, c.Location.Lat)
		minLon, maxLon = math.Min(minLon, c.Location.Lon), math.Max(maxLon, c.Location.Lon)
	}
	// Equirectangular, with longitude shrunk by the cosine of the middle
	// latitude so that distances look right at a region's scale.
	k := math.Cos((minLat + maxLat) / 2 * math.Pi / 180)
	spanX := math.Max((maxLon-minLon)*k, 1e-6)
	spanY := math.Max(maxLat-minLat, 1e-6)
	scale := math.Min((mapW-2*mapPad)/spanX, (mapH-2*mapPad)/spanY)
	offX := (mapW - spanX*scale) / 2
	offY := (mapH - spanY*scale) / 2
	withPostings := 0
	for _, c := range councils {
		n := counts[c.ID]
		d := mapDot{ID: c.ID, Name: c.Name, Place: c.Place, Offers: n.Offers, Needs: n.Needs,
			X: round1(offX + (c.Location.Lon-minLon)*k*scale), Y: round1(offY + (maxLat-c.Location.Lat)*scale)}
		total := n.Offers + n.Needs
		d.R = round1(3 + math.Min(6, math.Sqrt(float64(total))*1.5))
		switch {
		case c.ID == from:
			d.Class, d.R = "m-from", 7
		case total == 0:
			d.Class = "m-none"
		case n.Offers >= n.Needs:
			d.Class = "m-offers"
		default:
			d.Class = "m-needs"
		}
		if total > 0 {
			withPostings++
		}
		m.Dots = append(m.Dots, d)
	}
	// Name the busiest places, where their names do not overlap.
	order := make([]int, len(m.Dots))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		da, db := m.Dots[order[a]], m.Dots[order[b]]
		if (da.Class == "m-from") != (db.Class == "m-from") {
			return da.Class == "m-from"
		}
		return da.Offers+da.Needs > db.Offers+db.Needs
	})
	for _, i := range order {
		if len(m.Labels) == 6 {
			break
		}
		d := m.Dots[i]
		if d.Offers+d.Needs == 0 && d.Class != "m-from" {
			continue
		}
		l := mapLabel{X: d.X + d.R + 3, Y: d.Y + 4, Text: d.Place, Anchor: "start"}
		if d.X > mapW*0.6 {
			l.X, l.Anchor = d.X-d.R-3, "end"
		}
		clash := false
		for _, o := range m.Labels {
			if math.Abs(o.Y-l.Y) < 15 && math.Abs(o.X-l.X) < 90 {
				clash = true
				break
			}
		}
		if !clash {
			m.Labels = append(m.Labels, l)
		}
	}
	m.Desc = fmt.Sprintf("A map of the %d councils of the region; %d have open offers or needs. Each council's page is linked from its dot.",
		len(councils), withPostings)
	return m
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }
