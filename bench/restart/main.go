// Command restart builds a large, mostly closed ledger for measuring how
// long `plenty serve` takes to start on it (see restart.sh): a council
// posts offers from 64 goroutines and withdraws nine in ten, as a city's
// hub would over months.
//
//	go run ./bench/restart -data /tmp/big -offers 500000
package main

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/hub"
	"github.com/plentyhub/plenty/ledger"
)

func main() {
	dir := flag.String("data", "", "data folder to create")
	offers := flag.Int("offers", 100_000, "offers to post (nine in ten are withdrawn)")
	flag.Parse()
	if err := build(*dir, *offers); err != nil {
		fmt.Fprintln(os.Stderr, "restart:", err)
		os.Exit(1)
	}
}

func build(dir string, offers int) error {
	if dir == "" {
		return fmt.Errorf("-data is required")
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	l, err := ledger.Open(dir, ledger.Options{Logger: quiet})
	if err != nil {
		return err
	}
	ctx := context.Background()
	if _, err := hub.SeedCatalog(ctx, l); err != nil {
		return err
	}
	now := time.Now().UTC()
	council, delegate := "c_load", "d_load"
	if _, _, err := l.Append(ctx, ledger.Request{Kind: plenty.KindCouncilRegistered, Actor: plenty.ActorPublic,
		Data: plenty.CouncilRegistration{ID: council, Name: "Load council", Sector: "food", Place: "Riverside",
			Location: plenty.Location{Lat: 51.46, Lon: -0.11},
			Delegate: plenty.MandateGrant{ID: delegate, Council: council, Label: "first", Mandate: "post our surplus",
				Scopes: plenty.AllScopes, ExpiresAt: now.Add(plenty.MaxMandateTerm)}},
		Credentials: []plenty.Credential{{Holder: plenty.DelegateActor(delegate), Hash: fmt.Sprintf("%x", sha256.Sum256([]byte("load")))}},
	}); err != nil {
		return err
	}
	actor := plenty.DelegateActor(delegate)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	start := time.Now()
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(offers) {
					return
				}
				t := time.Now().UTC()
				o := plenty.Offer{ID: fmt.Sprintf("of_%d", i), Council: council, Item: "wheat-flour",
					Quantity: 250000, Remaining: 250000, Location: plenty.Location{Lat: 51.46, Lon: -0.11},
					AvailableFrom: t, AvailableUntil: t.Add(24 * time.Hour), MaxDistanceKm: 40,
					Note: "stone-milled", ExpiresAt: t.Add(24 * time.Hour), Status: plenty.StatusOpen, PostedBy: delegate, PostedAt: t}
				if _, _, err := l.Append(ctx, ledger.Request{Kind: plenty.KindOfferPosted, Actor: actor, Data: o.Posting()}); err != nil {
					errs <- err
					return
				}
				if i%10 != 0 {
					if _, _, err := l.Append(ctx, ledger.Request{Kind: plenty.KindOfferWithdrawn, Actor: actor, Data: plenty.PostingClosed{ID: o.ID}}); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	fmt.Printf("%d events in %.1fs\n", l.Size(), time.Since(start).Seconds())
	return l.Close()
}
