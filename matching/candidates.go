package matching

import (
	"math"
	"sort"

	"github.com/plentyhub/plenty"
)

// kmPerDegree is the length of one degree of latitude on the sphere that
// plenty.Location.DistanceKm uses, rounded down so that bands drawn with it
// are never too narrow.
const kmPerDegree = 111.19

// grid indexes offers by cells of latitude and longitude so that the
// compatible offers of a need are found without looking at every offer.
// The search is exact: a cell is skipped only when no point in it can be
// within the need's radius.
type grid struct {
	cellDeg float64
	cells   map[[2]int32][]int // offer indexes, ascending
}

func cellOf(l plenty.Location, deg float64) [2]int32 {
	return [2]int32{int32(math.Floor(l.Lat / deg)), int32(math.Floor(l.Lon / deg))}
}

func newGrid(offers []plenty.Offer) *grid {
	var radius float64
	for i := range offers {
		radius = max(radius, plenty.ReachKm(offers[i].MaxDistanceKm))
	}
	g := &grid{cellDeg: max(radius/kmPerDegree, 0.01), cells: map[[2]int32][]int{}}
	for i := range offers {
		g.add(i, offers[i].Location)
	}
	return g
}

// newNeedGrid is newGrid for needs.
func newNeedGrid(needs []plenty.Need) *grid {
	var radius float64
	for i := range needs {
		radius = max(radius, plenty.ReachKm(needs[i].MaxDistanceKm))
	}
	g := &grid{cellDeg: max(radius/kmPerDegree, 0.01), cells: map[[2]int32][]int{}}
	for i := range needs {
		g.add(i, needs[i].Location)
	}
	return g
}

// add puts point i at l. The cell size stays what it was, which keeps near
// exact (it scans every cell the query's radius reaches) though slower if
// later points reach much farther.
func (g *grid) add(i int, l plenty.Location) {
	c := cellOf(l, g.cellDeg)
	g.cells[c] = append(g.cells[c], i)
}

// near calls f for every offer within radiusKm of l, in no fixed order. It
// widens the longitude band by the cosine of the latitude farthest from the
// equator within the band, and scans whole rows near the poles or across
// the antimeridian.
func (g *grid) near(l plenty.Location, radiusKm float64, f func(int)) {
	dLat := radiusKm / kmPerDegree
	lat0, lat1 := l.Lat-dLat, l.Lat+dLat
	row0 := int32(math.Floor(lat0 / g.cellDeg))
	row1 := int32(math.Floor(lat1 / g.cellDeg))
	far := max(math.Abs(lat0), math.Abs(lat1))
	whole := far >= 89
	var col0, col1 int32
	if !whole {
		dLon := dLat / math.Cos(far*math.Pi/180)
		if l.Lon-dLon < -180 || l.Lon+dLon > 180 {
			whole = true
		} else {
			col0 = int32(math.Floor((l.Lon - dLon) / g.cellDeg))
			col1 = int32(math.Floor((l.Lon + dLon) / g.cellDeg))
		}
	}
	if whole || int64(row1-row0+1)*int64(col1-col0+1) > int64(len(g.cells)) {
		for c, idx := range g.cells {
			if whole && (c[0] < row0 || c[0] > row1) {
				continue
			}
			for _, i := range idx {
				f(i)
			}
		}
		return
	}
	for r := row0; r <= row1; r++ {
		for c := col0; c <= col1; c++ {
			for _, i := range g.cells[[2]int32{r, c}] {
				f(i)
			}
		}
	}
}

// candidates returns the compatible pairs of an item, sorted by offer then
// need, with their distances; with k > 0 only the union of each need's k
// nearest offers and each offer's k nearest needs (ties by index, which
// follows the IDs). Pairs in exclude are left out.
func candidates(offers []plenty.Offer, needs []plenty.Need, k int, exclude map[Pair]bool) []pairArc {
	gr := newGrid(offers)
	var out []pairArc
	for j := range needs {
		n := &needs[j]
		gr.near(n.Location, plenty.ReachKm(n.MaxDistanceKm), func(i int) {
			if km, why := plenty.Pairable(&offers[i], n); why == "" && !exclude[Pair{offers[i].ID, n.ID}] {
				out = append(out, pairArc{offer: i, need: j, km: km, dist: roundDist(km)})
			}
		})
	}
	if k > 0 {
		out = nearest(out, len(offers), len(needs), k)
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].offer != out[b].offer {
			return out[a].offer < out[b].offer
		}
		return out[a].need < out[b].need
	})
	return out
}

// nearest keeps the pairs that are among the k nearest of their need or of
// their offer.
func nearest(pairs []pairArc, nOffers, nNeeds, k int) []pairArc {
	closer := func(a, b *pairArc, byNeed bool) bool {
		if a.km != b.km {
			return a.km < b.km
		}
		if byNeed {
			return a.offer < b.offer
		}
		return a.need < b.need
	}
	keep := make([]bool, len(pairs))
	mark := func(group func(*pairArc) int, groups int, byNeed bool) {
		lists := make([][]int, groups)
		for i := range pairs {
			lists[group(&pairs[i])] = append(lists[group(&pairs[i])], i)
		}
		for _, l := range lists {
			sort.Slice(l, func(a, b int) bool { return closer(&pairs[l[a]], &pairs[l[b]], byNeed) })
			for _, i := range l[:min(k, len(l))] {
				keep[i] = true
			}
		}
	}
	mark(func(p *pairArc) int { return p.need }, nNeeds, true)
	mark(func(p *pairArc) int { return p.offer }, nOffers, false)
	out := pairs[:0]
	for i := range pairs {
		if keep[i] {
			out = append(out, pairs[i])
		}
	}
	return out
}

// roundDist is the transport cost per unit of a distance: 0.1 km units.
func roundDist(km float64) int64 { return int64(math.Round(km * decikm)) }
