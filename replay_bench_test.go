package plenty

import (
	"fmt"
	"testing"
	"time"
)

// replayBodies builds the bodies of a log like a city's: a council posts
// offers and needs, and withdraws most of them.
func replayBodies(tb testing.TB, postings int) [][]byte {
	tb.Helper()
	s := NewState()
	now := t0
	var bodies [][]byte
	emit := func(kind string, actor Actor, data any) {
		raw, err := CanonicalJSON(data)
		if err != nil {
			tb.Fatal(err)
		}
		body := EncodeEvent(s.Size(), now, kind, actor, raw)
		ev, err := DecodeEvent(body)
		if err != nil {
			tb.Fatal(err)
		}
		if err := s.Apply(ev); err != nil {
			tb.Fatalf("%s: %v", kind, err)
		}
		bodies = append(bodies, body)
		now = now.Add(time.Second)
	}
	emit(KindItemDefined, ActorHub, ItemDefinition{Code: "wheat-flour", Name: "Wheat flour", Dimension: Mass, Unit: "kg"})
	at := Location{Lat: 51.5, Lon: -0.1}
	emit(KindCouncilRegistered, ActorPublic, CouncilRegistration{ID: "c_mill", Name: "Mill", Sector: "food", Place: "Riverside",
		Location: at, Delegate: grant("d_m1", "c_mill", 0, AllScopes, now.Add(MaxMandateTerm))})
	ends := now.Add(300 * 24 * time.Hour)
	by := DelegateActor("d_m1")
	for i := 0; len(bodies) < postings; i++ {
		id := fmt.Sprintf("o%d", i)
		q := Amount(250_000 + i)
		if i%2 == 0 {
			emit(KindOfferPosted, by, OfferPosting{ID: id, Council: "c_mill", Item: "wheat-flour", Quantity: q,
				Location: at, AvailableFrom: now, AvailableUntil: ends, MaxDistanceKm: 50,
				Note: "sacks of 25 kg, collect at the back door", ExpiresAt: ends})
		} else {
			emit(KindNeedPosted, by, NeedPosting{ID: id, Council: "c_mill", Item: "wheat-flour", Quantity: q,
				Location: at, NeededBy: ends, Priority: 3, MaxDistanceKm: 50, ExpiresAt: ends})
		}
		if i%10 != 0 {
			kind := KindOfferWithdrawn
			if i%2 == 1 {
				kind = KindNeedWithdrawn
			}
			emit(kind, by, PostingClosed{ID: id})
		}
	}
	return bodies
}

// BenchmarkReplay measures decoding stored bodies, and decoding and
// folding them: "canonical" is DecodeEvent's hand-written reading of the
// envelope and decodeFast's of the data; "json" is encoding/json for both
// (decodeEventJSON, what DecodeEvent was, and decodeData without
// decodeFast).
//
//	go test -run '^$' -bench BenchmarkReplay -benchtime 20x .
func BenchmarkReplay(b *testing.B) {
	bodies := replayBodies(b, 20_000)
	decoders := []struct {
		name   string
		decode func([]byte) (Event, error)
	}{{"json", decodeEventJSON}, {"canonical", DecodeEvent}}
	for _, d := range decoders {
		b.Run("decode/"+d.name, func(b *testing.B) {
			for b.Loop() {
				for _, body := range bodies {
					if _, err := d.decode(body); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(len(bodies)*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
	for _, d := range decoders {
		b.Run("fold/"+d.name, func(b *testing.B) {
			fastDecoding = d.name != "json"
			defer func() { fastDecoding = true }()
			for b.Loop() {
				s := NewState()
				for _, body := range bodies {
					ev, err := d.decode(body)
					if err != nil {
						b.Fatal(err)
					}
					if err := s.Apply(ev); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(len(bodies)*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
