package plenty

import "math"

// Location is a point on Earth in decimal degrees (WGS 84).
type Location struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// Valid reports whether the coordinates are within range and finite.
func (l Location) Valid() bool {
	return l.Lat >= -90 && l.Lat <= 90 && l.Lon >= -180 && l.Lon <= 180 &&
		!math.IsNaN(l.Lat) && !math.IsNaN(l.Lon)
}

// earthRadiusKm is the mean radius of the Earth (IUGG).
const earthRadiusKm = 6371.0088

// DistanceKm returns the great-circle distance to m by the haversine
// formula.
func (l Location) DistanceKm(m Location) float64 {
	const rad = math.Pi / 180
	dLat := (m.Lat - l.Lat) * rad
	dLon := (m.Lon - l.Lon) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(l.Lat*rad)*math.Cos(m.Lat*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKm * math.Asin(math.Min(1, math.Sqrt(a)))
}
