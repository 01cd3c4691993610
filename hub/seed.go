package hub

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/fixtures"
	"github.com/plentyhub/plenty/ledger"
	"github.com/plentyhub/plenty/usecase"
)

// SeedCatalog records the shipped item catalog as item.defined events by
// the hub when the ledger is empty. It returns how many items it added:
// zero when the ledger already holds events.
func SeedCatalog(ctx context.Context, l Ledger) (int, error) {
	if l.Size() > 0 {
		return 0, nil
	}
	items := fixtures.Catalog()
	for _, it := range items {
		if _, _, err := l.Append(ctx, ledger.Request{Kind: plenty.KindItemDefined, Actor: plenty.ActorHub,
			Data: plenty.ItemDefinition{Code: it.Code, Name: it.Name, Dimension: it.Dimension, Unit: it.Unit}}); err != nil {
			return 0, fmt.Errorf("seed item %s: %w", it.Code, err)
		}
	}
	return len(items), nil
}

// DemoDelegate is the first delegate of a demo council, with its token,
// so that someone trying the demo can act for that council.
type DemoDelegate struct {
	Council, Name, Delegate, Token string
}

// ErrNotEmpty is returned by LoadDemo when the ledger already holds
// councils.
var ErrNotEmpty = errors.New("the ledger already holds councils; the demo loads only into an empty ledger")

// LoadDemo loads the demo region of fixtures/ into a ledger that holds no
// councils yet (the catalog may be there), as if each council registered
// and its first delegate posted its offers and needs. It returns the demo
// delegates and their tokens.
func LoadDemo(ctx context.Context, l Ledger, now time.Time) ([]DemoDelegate, error) {
	var n int
	l.Read(func(st *plenty.State) error { n = len(st.Councils()); return nil })
	if n > 0 {
		return nil, ErrNotEmpty
	}
	if _, err := SeedCatalog(ctx, l); err != nil {
		return nil, err
	}
	now = now.UTC()
	region := fixtures.Demo(now)
	ds, err := registerDemo(ctx, l, region, now)
	if err != nil {
		return nil, err
	}
	return ds, postDemo(ctx, l, region, ds)
}

// registerDemo registers the region's councils at now, each with a first
// delegate, and returns the delegates with their tokens.
func registerDemo(ctx context.Context, l Ledger, region fixtures.DemoRegion, now time.Time) ([]DemoDelegate, error) {
	delegates := make([]DemoDelegate, len(region.Councils))
	var reqs []ledger.Request
	for i, c := range region.Councils {
		token := usecase.NewToken()
		did := "demo-d" + c.ID[len("demo-c"):]
		delegates[i] = DemoDelegate{Council: c.ID, Name: c.Name, Delegate: did, Token: token}
		reqs = append(reqs, ledger.Request{Kind: plenty.KindCouncilRegistered, Actor: plenty.ActorPublic,
			Data: plenty.CouncilRegistration{ID: c.ID, Name: c.Name, Sector: c.Sector, Place: c.Place, Location: c.Location,
				Delegate: demoDelegate(did, c.ID, now)},
			Credentials: []plenty.Credential{{Holder: plenty.DelegateActor(did), Hash: plenty.HashToken(token)}}})
	}
	return delegates, appendAll(ctx, l, reqs)
}

// postDemo posts the region's offers and needs, each by its council's
// delegate among ds.
func postDemo(ctx context.Context, l Ledger, region fixtures.DemoRegion, ds []DemoDelegate) error {
	actor := map[string]plenty.Actor{}
	for _, d := range ds {
		actor[d.Council] = plenty.DelegateActor(d.Delegate)
	}
	var reqs []ledger.Request
	for _, o := range region.Offers {
		reqs = append(reqs, ledger.Request{Kind: plenty.KindOfferPosted, Actor: actor[o.Council], Data: plenty.OfferPosting{
			ID: o.ID, Council: o.Council, Item: o.Item, Quantity: o.Quantity, Location: o.Location,
			AvailableFrom: o.AvailableFrom, AvailableUntil: o.AvailableUntil, MinSplit: o.MinSplit,
			MaxDistanceKm: o.MaxDistanceKm, Note: o.Note, ExpiresAt: o.ExpiresAt}})
	}
	for _, n := range region.Needs {
		reqs = append(reqs, ledger.Request{Kind: plenty.KindNeedPosted, Actor: actor[n.Council], Data: plenty.NeedPosting{
			ID: n.ID, Council: n.Council, Item: n.Item, Quantity: n.Quantity, Location: n.Location,
			NeededBy: n.NeededBy, Priority: n.Priority, MaxDistanceKm: n.MaxDistanceKm, Note: n.Note, ExpiresAt: n.ExpiresAt}})
	}
	return appendAll(ctx, l, reqs)
}

// appendAll appends independent events concurrently, so that the ledger
// commits them in a few group commits.
func appendAll(ctx context.Context, l Ledger, reqs []ledger.Request) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, 64)
	)
	for _, r := range reqs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if _, _, err := l.Append(ctx, r); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("demo %s: %w", r.Kind, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
