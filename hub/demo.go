package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/fixtures"
	"github.com/plentyhub/plenty/ledger"
	"github.com/plentyhub/plenty/usecase"
)

// DemoHistory is how far back the demo region's history starts: three
// weeks of exchanges agreed, delivered (some short), cancelled and left to
// expire, so that every figure and chart of a demo hub shows something.
const DemoHistory = 21 * 24 * time.Hour

// DemoClock is the clock of a hub that plays the demo's history: while the
// history plays it reads the time the history has reached, and after
// Release the real clock. Give it to the ledger and the hub alike, so that
// every event of the history carries the time it happened at.
type DemoClock struct {
	mu   sync.Mutex
	real func() time.Time
	at   time.Time // zero: the real clock
}

// NewDemoClock returns a demo clock reading real (time.Now when nil).
func NewDemoClock(real func() time.Time) *DemoClock {
	if real == nil {
		real = time.Now
	}
	return &DemoClock{real: real}
}

// Now returns the history's time while it plays, else the real time.
func (c *DemoClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() {
		return c.real()
	}
	return c.at
}

func (c *DemoClock) set(t time.Time) {
	c.mu.Lock()
	c.at = t
	c.mu.Unlock()
}

func (c *DemoClock) advance(d time.Duration) {
	c.mu.Lock()
	c.at = c.at.Add(d)
	c.mu.Unlock()
}

// Release returns the clock to the real time.
func (c *DemoClock) Release() { c.set(time.Time{}) }

// demoHandles are the demo's volunteers.
var demoHandles = []string{"ada", "bo", "cal", "dee", "eli", "fay", "gus", "hal", "ivy", "jo", "kit", "lou"}

// PlayDemo loads the demo region into s's empty ledger with three weeks of
// history, played through the API on clk from DemoHistory ago to now: the
// councils register, post each week, accept most proposals (one in ten is
// left to expire, one in ten declined), volunteers are drawn and deliver,
// one receipt in five is short, some agreements are cancelled and some
// wait until they expire; the last week's exchanges are still under way.
// Then the region's current offers and needs are posted, and every council
// gets a fresh delegate, whose tokens it returns. It returns ErrNotEmpty
// when the ledger holds councils. The clock is released when it returns.
func PlayDemo(ctx context.Context, s *Server, clk *DemoClock) ([]DemoDelegate, error) {
	defer clk.Release()
	var n int
	s.ledger.Read(func(st *plenty.State) error { n = len(st.Councils()); return nil })
	if n > 0 {
		return nil, ErrNotEmpty
	}
	now := clk.real().UTC().Truncate(time.Hour)
	start := now.Add(-DemoHistory)
	clk.set(start)
	p := &demoPlay{s: s, clk: clk, ctx: ctx}
	if _, err := SeedCatalog(ctx, s.ledger); err != nil {
		return nil, err
	}
	ds, err := registerDemo(ctx, s.ledger, fixtures.Demo(start), start)
	if err != nil {
		return nil, err
	}
	p.tokens = map[string]string{}
	for _, d := range ds {
		p.tokens[d.Council] = d.Token
	}
	if err := s.PublishTerms(ctx); err != nil {
		return nil, err
	}
	for i, h := range demoHandles {
		var out struct{ Volunteer struct{ ID, Token string } }
		if err := p.call("POST", "/api/v1/volunteers", "", fmt.Sprintf(`{"handle": %q}`, h), &out); err != nil {
			return nil, err
		}
		// Only vouched volunteers enter the lotteries: a demo council
		// vouches for each.
		if err := p.call("POST", "/api/v1/volunteers/"+out.Volunteer.ID+"/vouch", ds[i%len(ds)].Token, "", nil); err != nil {
			return nil, err
		}
		p.volunteers = append(p.volunteers, out.Volunteer.Token)
	}
	weeks := int(DemoHistory / (7 * 24 * time.Hour))
	for w := 1; w <= weeks; w++ {
		at := start.Add(time.Duration(w-1) * 7 * 24 * time.Hour)
		if w > 1 {
			clk.set(at.Add(-time.Hour))
			if ds, err = RenewDemo(ctx, s.ledger, clk.Now()); err != nil {
				return nil, err
			}
			for _, d := range ds {
				p.tokens[d.Council] = d.Token
			}
		}
		clk.set(at)
		if err := p.week(fixtures.DemoWeek(at, w), w == weeks); err != nil {
			return nil, fmt.Errorf("demo history, week %d: %w", w, err)
		}
	}
	clk.set(now.Add(-30 * time.Minute))
	if err := s.Tick(ctx); err != nil {
		return nil, err
	}
	if ds, err = RenewDemo(ctx, s.ledger, clk.Now()); err != nil {
		return nil, err
	}
	return ds, postDemo(ctx, s.ledger, fixtures.Demo(clk.Now()), ds)
}

// demoPlay plays the demo's history through the API.
type demoPlay struct {
	s          *Server
	clk        *DemoClock
	ctx        context.Context
	tokens     map[string]string // council → its delegate's token
	volunteers []string          // tokens
}

// call sends one request to the hub in process, a little later than the
// last, and decodes the answer into out. A refusal is an error unless it
// is a conflict, which the history meets as councils do (a proposal taken
// by another agreement): then out is left as it was.
func (p *demoPlay) call(method, path, token, body string, out any) error {
	p.clk.advance(20 * time.Second)
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(p.ctx, method, "http://demo"+path, r)
	if err != nil {
		return err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := p.s.app.Test(req, -1)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	switch {
	case res.StatusCode == http.StatusConflict:
		return nil
	case res.StatusCode >= 300:
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, raw)
	case out != nil:
		return json.Unmarshal(raw, out)
	}
	return nil
}

// week posts half of a week's offers and needs at the clock's time, and
// plays that week's exchanges. In the last week, half the agreements are
// left under way.
func (p *demoPlay) week(region fixtures.DemoRegion, last bool) error {
	half := fixtures.DemoRegion{Councils: region.Councils}
	for i, o := range region.Offers {
		if i%2 == 0 {
			half.Offers = append(half.Offers, o)
		}
	}
	for i, n := range region.Needs {
		if i%2 == 0 {
			half.Needs = append(half.Needs, n)
		}
	}
	var ds []DemoDelegate
	p.s.ledger.Read(func(st *plenty.State) error {
		for _, c := range region.Councils {
			for _, d := range st.CouncilDelegates(c.ID) {
				if d.RecalledAt == nil && p.clk.Now().Before(d.ExpiresAt) {
					ds = append(ds, DemoDelegate{Council: c.ID, Delegate: d.ID})
					break
				}
			}
		}
		return nil
	})
	if err := postDemo(p.ctx, p.s.ledger, half, ds); err != nil {
		return err
	}
	p.clk.advance(time.Hour)
	if err := p.s.RunMatching(p.ctx); err != nil {
		return err
	}
	var props struct{ Proposals []proposalView }
	if err := p.call("GET", "/api/v1/proposals", "", "", &props); err != nil {
		return err
	}
	var agreements []string
	for i, pr := range props.Proposals {
		if i%10 == 9 {
			continue // nobody answers: the proposal expires
		}
		var out struct {
			Agreement *struct{ ID string }
		}
		if err := p.call("POST", "/api/v1/proposals/"+pr.ID+"/accept", p.tokens[pr.Provider], "", nil); err != nil {
			return err
		}
		decision := "accept"
		if i%10 == 8 {
			decision = "decline"
		}
		if err := p.call("POST", "/api/v1/proposals/"+pr.ID+"/"+decision, p.tokens[pr.Receiver], "", &out); err != nil {
			return err
		}
		if out.Agreement == nil {
			continue
		}
		ag := out.Agreement.ID
		agreements = append(agreements, ag)
		// Volunteers offer to carry all but every ninth, while its lottery
		// window is open; the draws follow.
		j := len(agreements) - 1
		if j%9 == 8 {
			continue // nobody carries it: it expires after the agreement term
		}
		for k := 0; k <= j%3; k++ {
			v := p.volunteers[(j*5+k*7)%len(p.volunteers)]
			if err := p.call("POST", "/api/v1/tasks/"+plenty.TaskID(ag)+"/volunteer", v, "", nil); err != nil {
				return err
			}
		}
	}
	p.clk.advance(p.s.cfg.LotteryWindow + time.Minute)
	if err := p.s.Tick(p.ctx); err != nil {
		return err
	}
	byHash := map[string]string{}
	for _, v := range p.volunteers {
		byHash[plenty.HashToken(v)] = v
	}
	for j, ag := range agreements {
		var a struct{ Agreement agreementView }
		if err := p.call("GET", "/api/v1/agreements/"+ag, "", "", &a); err != nil {
			return err
		}
		switch {
		case j%9 == 8:
			continue
		case j%9 == 7:
			if err := p.call("POST", "/api/v1/agreements/"+ag+"/cancel", p.tokens[a.Agreement.Provider], "", nil); err != nil {
				return err
			}
			continue
		case last && j%2 == 1:
			continue // still under way when the demo starts
		}
		var t plenty.Task
		p.s.ledger.Read(func(st *plenty.State) error { t, _ = st.Task(plenty.TaskID(ag)); return nil })
		var carrier string
		p.s.ledger.Read(func(st *plenty.State) error {
			if v, ok := st.Volunteer(t.Assignee); ok {
				carrier = byHash[v.TokenHash]
			}
			return nil
		})
		if carrier == "" {
			continue
		}
		p.clk.advance(time.Duration(20+j%4*15) * time.Minute)
		if err := p.call("POST", "/api/v1/tasks/"+t.ID+"/pickup", carrier, "", nil); err != nil {
			return err
		}
		p.clk.advance(time.Duration(30+j%5*20) * time.Minute)
		if err := p.call("POST", "/api/v1/tasks/"+t.ID+"/dropoff", carrier, "", nil); err != nil {
			return err
		}
		q := a.Agreement.Quantity
		if j%5 == 0 && q > 1000 {
			// A short delivery, of whole units (a bicycle arrives or not):
			// the rest stays needed.
			q = max(1000, q*9/10/1000*1000)
			if q == a.Agreement.Quantity {
				q -= 1000
			}
		}
		if q <= 0 {
			continue
		}
		body := fmt.Sprintf(`{"quantity": %q}`, q.String())
		if err := p.call("POST", "/api/v1/agreements/"+ag+"/receipt", p.tokens[a.Agreement.Receiver], body, nil); err != nil {
			return err
		}
	}
	// The rest of the week passes: proposals lapse, mandates run out.
	p.clk.advance(2 * 24 * time.Hour)
	return p.s.Tick(p.ctx)
}

// RenewDemo issues a fresh delegate for every demo council, by the
// council's assembly (mandates run for at most 7 days, so a demo hub renews
// them when it starts; the demo's assemblies are the hub's own play), and
// returns them with their tokens.
func RenewDemo(ctx context.Context, l Ledger, now time.Time) ([]DemoDelegate, error) {
	now = now.UTC().Truncate(time.Second)
	var councils []plenty.Council
	l.Read(func(st *plenty.State) error {
		for _, c := range st.Councils() {
			if strings.HasPrefix(c.ID, "demo-c") {
				councils = append(councils, c)
			}
		}
		return nil
	})
	size := l.Size()
	out := make([]DemoDelegate, len(councils))
	reqs := make([]ledger.Request, len(councils))
	for i, c := range councils {
		token := usecase.NewToken()
		did := fmt.Sprintf("demo-d%s-r%d", c.ID[len("demo-c"):], size)
		out[i] = DemoDelegate{Council: c.ID, Name: c.Name, Delegate: did, Token: token}
		reqs[i] = ledger.Request{Kind: plenty.KindDelegateIssued, Actor: plenty.AssemblyActor(c.ID),
			// A minute's margin: the ledger's clock may lag the now given.
			Data:        demoDelegate(did, c.ID, now.Add(-time.Minute)),
			Credentials: []plenty.Credential{{Holder: plenty.DelegateActor(did), Hash: plenty.HashToken(token)}}}
	}
	return out, appendAll(ctx, l, reqs)
}

// DemoTokensValid reports whether every token names a delegate of a demo
// council whose mandate holds for at least another day at now.
func DemoTokensValid(l Ledger, tokens []string, now time.Time) bool {
	valid := len(tokens) > 0
	l.Read(func(st *plenty.State) error {
		for _, t := range tokens {
			d, ok := st.DelegateByToken(plenty.HashToken(t))
			if !ok || d.RecalledAt != nil || d.ExpiresAt.Before(now.Add(24*time.Hour)) || !strings.HasPrefix(d.Council, "demo-c") {
				valid = false
			}
		}
		return nil
	})
	return valid
}

func demoDelegate(id, council string, at time.Time) plenty.MandateGrant {
	return plenty.MandateGrant{ID: id, Council: council, Label: "demo delegate",
		Mandate: "Post the council's surplus and needs in the demo region; accept exchanges.",
		Scopes:  plenty.AllScopes, ExpiresAt: at.Add(plenty.MaxMandateTerm)}
}
