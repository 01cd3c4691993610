package ledger_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/ledger"
)

// postOffer asks for offer id of 250 kg of wheat flour by delegate d of
// council c.
func postOffer(c, d, id string) ledger.Request {
	t := time.Now().UTC()
	o := plenty.Offer{ID: id, Council: c, Item: "wheat-flour", Quantity: 250000, Remaining: 250000,
		Location: plenty.Location{Lat: 51.46, Lon: -0.11}, AvailableFrom: t, AvailableUntil: t.Add(24 * time.Hour),
		MaxDistanceKm: 40, ExpiresAt: t.Add(24 * time.Hour), Status: plenty.StatusOpen}
	return ledger.Request{Kind: plenty.KindOfferPosted, Actor: plenty.DelegateActor(d), Data: o.Posting()}
}

// openHolding opens a ledger on dir whose DuckDB commits wait until
// release is called, and app, which appends a request to it or fails the
// test.
func openHolding(t *testing.T, dir string) (l *ledger.Ledger, release func(), app func(ledger.Request)) {
	t.Helper()
	release = ledger.HoldCommits()
	t.Cleanup(ledger.ResetCommitHook)
	l, err := ledger.Open(dir, ledger.Options{})
	if err != nil {
		release()
		t.Fatal(err)
	}
	app = func(r ledger.Request) {
		t.Helper()
		if _, _, err := l.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	return l, release, app
}

func listed(t *testing.T, l *ledger.Ledger, f plenty.PostingFilter) string {
	t.Helper()
	var got []string
	for pages := 0; ; pages++ {
		page, more, err := l.ListOffers(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page {
			got = append(got, o.ID+":"+o.Status)
		}
		if !more || pages > 10 {
			break
		}
		f.After = page[len(page)-1].ID
	}
	return strings.Join(got, ",")
}

// TestClosedPostingsReadFromDuckDB reads offers that closed and left the
// state: while DuckDB has not committed their withdrawal, from the state;
// after, from DuckDB; and after a restart.
func TestClosedPostingsReadFromDuckDB(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, release, app := openHolding(t, dir)
	defer func() { release(); l.Close() }()
	c := councilRequest("gone", 0)
	council, del := "c-gone-0", "d-c-gone-0"
	app(c)
	app(ledger.Request{Kind: plenty.KindItemDefined, Actor: plenty.ActorHub,
		Data: plenty.ItemDefinition{Code: "wheat-flour", Name: "Wheat flour", Dimension: plenty.Mass, Unit: "kg"}})
	for _, id := range []string{"o1", "o2", "o3"} {
		app(postOffer(council, del, id))
	}
	for _, id := range []string{"o1", "o2"} {
		app(ledger.Request{Kind: plenty.KindOfferWithdrawn, Actor: plenty.DelegateActor(del), Data: plenty.PostingClosed{ID: id}})
	}
	if got := l.Committed(); got != 0 {
		t.Fatalf("DuckDB committed %d events while held", got)
	}

	check := func(when string) {
		t.Helper()
		o, err := l.Offer(ctx, "o1")
		if err != nil || o.Status != plenty.StatusWithdrawn || o.Quantity != 250000 || o.Council != council {
			t.Fatalf("%s: Offer(o1) = %+v, %v", when, o, err)
		}
		if _, err := l.Offer(ctx, "nope"); plenty.ErrorCode(err) != plenty.ENOTFOUND {
			t.Fatalf("%s: Offer(nope): %v, want not found", when, err)
		}
		if _, err := l.Need(ctx, "o1"); plenty.ErrorCode(err) != plenty.ENOTFOUND {
			t.Fatalf("%s: Need(o1): %v, want not found", when, err)
		}
		for _, tc := range []struct {
			f    plenty.PostingFilter
			want string
		}{
			{plenty.PostingFilter{Limit: 1}, "o1:withdrawn,o2:withdrawn,o3:open"},
			{plenty.PostingFilter{Limit: 2, Council: council}, "o1:withdrawn,o2:withdrawn,o3:open"},
			{plenty.PostingFilter{Status: plenty.StatusWithdrawn, Limit: 1}, "o1:withdrawn,o2:withdrawn"},
			{plenty.PostingFilter{Status: plenty.StatusOpen}, "o3:open"},
			{plenty.PostingFilter{Status: plenty.StatusExpired}, ""},
			{plenty.PostingFilter{Item: "oats"}, ""},
			{plenty.PostingFilter{After: "o1"}, "o2:withdrawn,o3:open"},
		} {
			if got := listed(t, l, tc.f); got != tc.want {
				t.Fatalf("%s: list %+v = %s, want %s", when, tc.f, got, tc.want)
			}
		}
	}
	held := func() (holds, gone bool) {
		l.Read(func(st *plenty.State) error {
			holds, gone = st.Holds("offer", "o1"), st.Gone("offer", "o1")
			return nil
		})
		return
	}
	if h, g := held(); !h || !g {
		t.Fatalf("before DuckDB commits: state holds o1 %v, gone %v; want both", h, g)
	}
	check("DuckDB behind")

	release()
	if _, err := l.TreeHash(ctx, l.Size()); err != nil { // waits for DuckDB
		t.Fatal(err)
	}
	app(councilRequest("gone", 1)) // the next batch drops what DuckDB holds
	if h, g := held(); h || !g {
		t.Fatalf("after DuckDB committed: state holds o1 %v, gone %v; want gone only", h, g)
	}
	check("from DuckDB")

	// An id of a posting that left cannot be posted again.
	_, _, err := l.Append(ctx, postOffer(council, del, "o1"))
	if plenty.ErrorCode(err) != plenty.ECONFLICT || !strings.Contains(err.Error(), `"o1" is taken`) {
		t.Fatalf("re-post of o1: %v", err)
	}
	// Withdrawing it again is refused as for a live closed offer.
	_, _, err = l.Append(ctx, ledger.Request{Kind: plenty.KindOfferWithdrawn, Actor: plenty.DelegateActor(del), Data: plenty.PostingClosed{ID: "o2"}})
	if plenty.ErrorCode(err) != plenty.ECONFLICT || !strings.Contains(err.Error(), "o2 is withdrawn, not open") {
		t.Fatalf("second withdrawal of o2: %v", err)
	}

	// A snapshot holds what left as the replay does (check compares them
	// byte for byte), and a start from it reads the closed offers again.
	if size, err := l.Snapshot(ctx); err != nil || size != l.Size() {
		t.Fatalf("snapshot at %d: %v", size, err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := ledger.Check(ctx, dir); err != nil || n != l.Size() {
		t.Fatalf("check: %d events, %v", n, err)
	}
	var logged logBuffer
	l, err = ledger.Open(dir, ledger.Options{Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if !strings.Contains(logged.String(), "folded=0") {
		t.Fatalf("the restart did not start from the snapshot:\n%s", logged.String())
	}
	check(fmt.Sprintf("after a restart from the snapshot at %d events", l.Size()))
}

// TestEndedMandatesReadFromDuckDB reads delegates whose mandates were
// recalled and left the state: from the state while DuckDB is behind,
// then from DuckDB, by id, by token and by council (the most recently
// issued of the ended ones, as many as asked), and after a restart.
func TestEndedMandatesReadFromDuckDB(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, release, app := openHolding(t, dir)
	defer func() { release(); l.Close() }()
	app(councilRequest("m", 0))
	council, first := "c-m-0", "d-c-m-0"
	end := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	for _, id := range []string{"m1", "m2", "m3"} {
		app(ledger.Request{Kind: plenty.KindDelegateIssued, Actor: plenty.DelegateActor(first),
			Data:        plenty.MandateGrant{ID: id, Council: council, Label: id, Mandate: "carry", Scopes: []string{plenty.ScopePost}, ExpiresAt: end},
			Credentials: []plenty.Credential{{Holder: plenty.DelegateActor(id), Hash: fmt.Sprintf("%x", sha256.Sum256([]byte(id)))}}})
		app(ledger.Request{Kind: plenty.KindDelegateRecalled, Actor: plenty.DelegateActor(first),
			Data: plenty.MandateRecall{Council: council, Delegate: id}})
	}
	listedDelegates := func(ended int) string {
		t.Helper()
		ds, err := l.CouncilDelegates(ctx, council, ended)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range ds {
			out = append(out, fmt.Sprintf("%s:%v", d.ID, d.RecalledAt != nil))
		}
		return strings.Join(out, ",")
	}
	check := func(when, two string) {
		t.Helper()
		d, err := l.Delegate(ctx, "m1")
		if err != nil || d.RecalledAt == nil || d.RecalledBy != plenty.DelegateActor(first) || d.Council != council {
			t.Fatalf("%s: Delegate(m1) = %+v, %v", when, d, err)
		}
		hash := fmt.Sprintf("%x", sha256.Sum256([]byte("m2")))
		if d, err := l.DelegateByToken(ctx, hash); err != nil || d.ID != "m2" || d.TokenHash != hash || d.RecalledAt == nil {
			t.Fatalf("%s: DelegateByToken(m2's) = %+v, %v", when, d, err)
		}
		if _, err := l.DelegateByToken(ctx, strings.Repeat("0", 64)); plenty.ErrorCode(err) != plenty.ENOTFOUND {
			t.Fatalf("%s: an unknown token: %v", when, err)
		}
		if _, err := l.Delegate(ctx, "nope"); plenty.ErrorCode(err) != plenty.ENOTFOUND {
			t.Fatalf("%s: Delegate(nope): %v", when, err)
		}
		if got := listedDelegates(2); got != two {
			t.Fatalf("%s: the council's delegates, two ended, = %s, want %s", when, got, two)
		}
	}
	// While DuckDB is behind, the state holds the three and lists them.
	check("DuckDB behind", "d-c-m-0:false,m1:true,m2:true,m3:true")
	release()
	if _, err := l.TreeHash(ctx, l.Size()); err != nil { // waits for DuckDB
		t.Fatal(err)
	}
	app(councilRequest("m", 1)) // the next batch drops what DuckDB holds
	var holds bool
	l.Read(func(st *plenty.State) error { holds = st.Holds("delegate", "m1"); return nil })
	if holds {
		t.Fatal("the state still holds m1 after DuckDB committed its recall")
	}
	check("from DuckDB", "d-c-m-0:false,m2:true,m3:true")
	if got := listedDelegates(10); got != "d-c-m-0:false,m1:true,m2:true,m3:true" {
		t.Fatalf("the council's delegates, ten ended, = %s", got)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	var err error
	if l, err = ledger.Open(dir, ledger.Options{}); err != nil {
		t.Fatal(err)
	}
	check("after a restart", "d-c-m-0:false,m2:true,m3:true")
}
