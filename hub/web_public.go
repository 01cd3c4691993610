package hub

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/exports"
)

// councilRow is a council in the home page's list.
type councilRow struct {
	plenty.Council
	Offers, Needs int // open ones
}

// transferRow is a transfer as the public pages show it.
type transferRow struct {
	plenty.Transfer
	Amount, ItemName       string
	ProviderName, Receiver string
	ReceiverName           string
}

type homeData struct {
	Figures   plenty.Figures
	Councils  []councilRow
	Items     int
	NeedsMet  lineChart
	Flows     barChart
	Supply    splitChart
	Transfers []transferRow // the newest first, at most 20
	Map       regionMap
	// VolunteersRegistered counts every volunteer who registered;
	// Figures.Volunteers those who carried a delivery.
	VolunteersRegistered int
	LedgerSize           int64
	LedgerEvents         int64
}

// homeCache keeps the home page's figures and charts for one ledger size
// and day, so that reading the page does not fold the whole state again.
type homeCache struct {
	mu   sync.Mutex
	size int64
	day  time.Time
	data *homeData
}

func (w *web) homePage(c *fiber.Ctx) error {
	now := w.s.now()
	day := now.Truncate(24 * time.Hour)
	size := w.s.ledger.Size()
	w.home.mu.Lock()
	d := w.home.data
	if d == nil || w.home.size != size || !w.home.day.Equal(day) {
		d = w.buildHome(now)
		w.home.data, w.home.size, w.home.day = d, size, day
	}
	w.home.mu.Unlock()
	return w.render(c, fiber.StatusOK, "home", view{Title: "Plenty: needs met, openly", Nav: "home", Data: d})
}

// The home page shows the newest transfers, a council's page more of its
// own; the API and the open data hold all of them.
const (
	homeTransfers    = 20
	councilTransfers = 100
)

func (w *web) buildHome(now time.Time) *homeData {
	d := &homeData{}
	recent := w.recentTransfers("", homeTransfers)
	w.s.read(func(st *plenty.State) error {
		d.LedgerSize = st.Size()
		d.Figures = st.Figures(now)
		open := map[string][2]int{}
		st.OpenOffers(func(o plenty.Offer) bool {
			x := open[o.Council]
			x[0]++
			open[o.Council] = x
			return true
		})
		st.OpenNeeds(func(n plenty.Need) bool {
			x := open[n.Council]
			x[1]++
			open[n.Council] = x
			return true
		})
		for _, c := range st.Councils() {
			d.Councils = append(d.Councils, councilRow{c, open[c.ID][0], open[c.ID][1]})
		}
		sort.SliceStable(d.Councils, func(i, j int) bool { return d.Councils[i].Name < d.Councils[j].Name })
		d.Items = len(st.Items())
		d.NeedsMet = needsMetChart(st, now, w.s.cfg.Location)
		d.VolunteersRegistered = len(st.Volunteers())
		counts := map[string]mapCounts{}
		for _, c := range d.Councils {
			counts[c.ID] = mapCounts{Offers: c.Offers, Needs: c.Needs}
		}
		d.Map = drawMap(st.Councils(), counts, "")
		d.Flows = flowsChart(st)
		d.Supply = supplyChart(d.Figures)
		d.Transfers = transferRows(st, recent)
		return nil
	})
	return d
}

// recentTransfers returns the newest n transfers of council (all when
// ""), the newest first; the page shows none when they cannot be read.
func (w *web) recentTransfers(council string, n int) []plenty.Transfer {
	trs, err := w.s.ledger.RecentTransfers(context.Background(), council, n)
	if err != nil {
		w.s.log.Error("web: reading transfers", "err", err)
	}
	return trs
}

// transferRows describes transfers, in their order.
func transferRows(st *plenty.State, trs []plenty.Transfer) []transferRow {
	var out []transferRow
	for _, t := range trs {
		it, _ := st.Item(t.Item)
		p, _ := st.Council(t.Provider)
		r, _ := st.Council(t.Receiver)
		out = append(out, transferRow{Transfer: t, Amount: amount(t.Quantity, it.Unit), ItemName: it.Name,
			ProviderName: p.Name, ReceiverName: r.Name})
	}
	return out
}

func (w *web) itemsPage(c *fiber.Ctx) error {
	var items []plenty.Item
	w.s.read(func(st *plenty.State) error { items = st.Items(); return nil })
	return w.render(c, fiber.StatusOK, "items", view{Title: "Item catalog", Nav: "items", Data: items})
}

// postingRow is an offer or a need as the council page shows it.
type postingRow struct {
	ID, Item, ItemName, Quantity, Remaining, Status, Note string
	Until                                                 time.Time // available until, or needed by
	Priority                                              int
	MaxKm                                                 float64
}

type accountRow struct {
	Item, ItemName                       string
	Given, Received, Committed, Outstand string
}

// underWayRow is an agreement of a council that awaits its receipt.
type underWayRow struct {
	ID, Amount, ItemName, Role string // Role: "give" or "receive"
	Other, OtherName, Task     string
	FormedAt                   time.Time
}

type councilData struct {
	UnderWay  []underWayRow
	Council   plenty.Council
	Offers    []postingRow
	Needs     []postingRow
	Account   []accountRow
	Delegates []delegateView
	Transfers []transferRow
}

func (w *web) councilPage(c *fiber.Ctx) error {
	id := c.Params("id")
	var d councilData
	var ok bool
	recent := w.recentTransfers(id, councilTransfers)
	mandates, err := w.s.ledger.CouncilDelegates(c.UserContext(), id, mandateHistory)
	if err != nil {
		return err
	}
	for _, del := range mandates {
		d.Delegates = append(d.Delegates, w.s.viewDelegate(del))
	}
	w.s.read(func(st *plenty.State) error {
		if d.Council, ok = st.Council(id); !ok {
			return nil
		}
		d.Offers, d.Needs = councilPostings(st, id, plenty.StatusOpen)
		// The most urgent needs first, then the soonest needed.
		sort.SliceStable(d.Needs, func(i, j int) bool {
			a, b := d.Needs[i], d.Needs[j]
			if a.Priority != b.Priority {
				return a.Priority > b.Priority
			}
			return a.Until.Before(b.Until)
		})
		for _, a := range st.Agreements() {
			if a.Status != plenty.AgreementActive || (a.Provider != id && a.Receiver != id) {
				continue
			}
			it, _ := st.Item(a.Item)
			r := underWayRow{ID: a.ID, Amount: amount(a.Quantity, it.Unit), ItemName: it.Name, Role: "give", Other: a.Receiver, FormedAt: a.FormedAt}
			if a.Receiver == id {
				r.Role, r.Other = "receive", a.Provider
			}
			other, _ := st.Council(r.Other)
			r.OtherName = other.Name
			if t, ok := st.Task(plenty.TaskID(a.ID)); ok {
				r.Task = t.Status
			}
			d.UnderWay = append(d.UnderWay, r)
		}
		sort.SliceStable(d.UnderWay, func(i, j int) bool { return d.UnderWay[i].FormedAt.After(d.UnderWay[j].FormedAt) })
		for _, l := range st.Accounts() {
			if l.Council != id {
				continue
			}
			it, _ := st.Item(l.Item)
			d.Account = append(d.Account, accountRow{Item: l.Item, ItemName: it.Name,
				Given: amount(l.Given, it.Unit), Received: amount(l.Received, it.Unit),
				Committed: amount(l.Committed, it.Unit), Outstand: amount(st.Outstanding(id, l.Item), it.Unit)})
		}
		// Mandates in force first, then the newest.
		sort.SliceStable(d.Delegates, func(i, j int) bool {
			a, b := d.Delegates[i], d.Delegates[j]
			if a.Active != b.Active {
				return a.Active
			}
			return a.IssuedAt.After(b.IssuedAt)
		})
		d.Transfers = transferRows(st, recent)
		return nil
	})
	if !ok {
		return plenty.Errorf(plenty.ENOTFOUND, "there is no council %s on this hub", id)
	}
	return w.render(c, fiber.StatusOK, "council", view{Title: d.Council.Name, Nav: "home", Data: d})
}

// councilPostings returns the council's offers and needs with the status
// (every one when status is empty), the newest first.
func councilPostings(st *plenty.State, council, status string) (offers, needs []postingRow) {
	f := plenty.PostingFilter{Council: council, Status: status, Limit: 1000}
	os, _ := st.ListOffers(f)
	for _, o := range os {
		it, _ := st.Item(o.Item)
		offers = append(offers, postingRow{ID: o.ID, Item: o.Item, ItemName: it.Name,
			Quantity: amount(o.Quantity, it.Unit), Remaining: amount(o.Remaining, it.Unit), Status: o.Status,
			Note: o.Note, Until: o.AvailableUntil, MaxKm: o.MaxDistanceKm})
	}
	ns, _ := st.ListNeeds(f)
	for _, n := range ns {
		it, _ := st.Item(n.Item)
		needs = append(needs, postingRow{ID: n.ID, Item: n.Item, ItemName: it.Name,
			Quantity: amount(n.Quantity, it.Unit), Remaining: amount(n.Remaining, it.Unit), Status: n.Status,
			Note: n.Note, Until: n.NeededBy, Priority: n.Priority, MaxKm: n.MaxDistanceKm})
	}
	// Ids sort by creation time: reverse for the newest first.
	for i, j := 0, len(offers)-1; i < j; i, j = i+1, j-1 {
		offers[i], offers[j] = offers[j], offers[i]
	}
	for i, j := 0, len(needs)-1; i < j; i, j = i+1, j-1 {
		needs[i], needs[j] = needs[j], needs[i]
	}
	return offers, needs
}

type openFile struct{ Name, Label string }

type openTable struct {
	Table string
	Files []openFile
}

type openPageData struct {
	Tables      []openTable
	Other       []openFile
	Checkpoint  string
	Size        int64
	VerifierKey string
	Hub         string // this hub's base URL
	Empty       bool
	KeepThreads string // how long private threads are kept after their agreement ends
}

// openPage links every file of the open data and shows the checkpoint
// that /open/checkpoint serves, with how to verify it.
func (w *web) openPage(c *fiber.Ctx) error {
	d := openPageData{VerifierKey: w.s.ledger.VerifierKey(), Hub: c.BaseURL(), KeepThreads: keepFor(w.s.cfg.MessageTTL)}
	for _, t := range openTables {
		ot := openTable{Table: t}
		for _, f := range exports.Formats {
			ot.Files = append(ot.Files, openFile{Name: t + "." + string(f), Label: strings.ToUpper(string(f))})
		}
		d.Tables = append(d.Tables, ot)
	}
	d.Other = []openFile{
		{exports.DataPackageFile, "the Frictionless Data Package: each file's schema, size and SHA-256"},
		{exports.CheckpointFile, "the signed checkpoint covering the events"},
		{exports.KeyFile, "the hub's verifier key"},
	}
	dir, size, err := w.s.latestSnapshot(c.UserContext())
	switch {
	case plenty.ErrorCode(err) == plenty.ENOTFOUND:
		d.Empty = true
	case err != nil:
		return err
	default:
		cp, err := os.ReadFile(filepath.Join(dir, exports.CheckpointFile))
		if err != nil {
			return err
		}
		d.Checkpoint, d.Size = string(cp), size
	}
	return w.render(c, fiber.StatusOK, "open", view{Title: "Open data", Nav: "open", Data: d})
}
