package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"
	_ "time/tzdata" // --timezone works where the system has no zone database (a minimal container)

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/federation"
	"github.com/plentyhub/plenty/hub"
	"github.com/plentyhub/plenty/ledger"
)

// Defaults of `plenty serve`.
const (
	DefaultData = "./plenty-data"
	DefaultAddr = "127.0.0.1:8080"
)

// Main is the running hub: a ledger and the HTTP server in front of it.
type Main struct {
	Data          string
	Addr          string
	Demo          bool
	LotteryWindow time.Duration
	MessageTTL    time.Duration
	// CorrectionWindow is how long a receipt can be corrected
	// (--correction-window).
	CorrectionWindow time.Duration
	WriteRate        float64
	AddrRate         float64
	RegisterRate     float64
	// WebhookPrivate lets webhooks reach private addresses (--webhook-private).
	WebhookPrivate bool
	// Location is the time zone of the web pages (--timezone).
	Location *time.Location
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (--trusted-proxy).
	TrustedProxies []netip.Prefix

	// Federation (fed.go).
	Origin        string
	Neighbours    string
	PullInterval  time.Duration
	WithholdAfter time.Duration
	OpenInterval  time.Duration
	RestoreFrom   string
	policy        *federation.Policy // the neighbours file read

	// Now is the clock of the ledger and the hub; time.Now when nil.
	Now func() time.Time

	Ledger *ledger.Ledger
	Server *hub.Server
	ln     net.Listener
}

// ParseFlags reads serve's flags.
func (m *Main) ParseFlags(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&m.Data, "data", DefaultData, "data folder (created on first start)")
	fs.StringVar(&m.Addr, "addr", DefaultAddr, "address to listen on")
	fs.BoolVar(&m.Demo, "demo", false, "load the demo region into an empty ledger")
	fs.DurationVar(&m.LotteryWindow, "lottery-window", 10*time.Minute, "how long a delivery task collects volunteers before the draw")
	fs.DurationVar(&m.CorrectionWindow, "correction-window", plenty.DefaultCorrectionWindow, "how long a receipt can be corrected; after it the receipt is final (published in the hub's terms)")
	fs.DurationVar(&m.MessageTTL, "message-ttl", 336*time.Hour, "how long an agreement's private thread is kept after the agreement ends")
	fs.Float64Var(&m.WriteRate, "write-rate", 20, "writes per second allowed to one delegate token (burst twice that)")
	fs.Float64Var(&m.AddrRate, "addr-rate", 100, "writes per second allowed from one client address (burst twice that)")
	fs.Float64Var(&m.RegisterRate, "register-rate", 5, "anonymous registrations (councils, volunteers) per minute allowed from one client address (burst the same)")
	fs.BoolVar(&m.WebhookPrivate, "webhook-private", false, "let webhooks reach loopback, private and link-local addresses (a receiver on this machine or its network)")
	fs.Func("trusted-proxy", "a reverse proxy in front of the hub (an address or a CIDR such as 10.0.0.0/8; repeat for more): the limits of its requests go by the client address it names in X-Forwarded-For", func(v string) error {
		p, err := parsePrefix(v)
		if err != nil {
			return err
		}
		m.TrustedProxies = append(m.TrustedProxies, p)
		return nil
	})
	m.fedFlags(fs)
	zone := fs.String("timezone", "", "time zone of the web pages' dates and times, by IANA name such as Europe/London (default the machine's)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	m.Location = time.Local
	if *zone != "" {
		loc, err := time.LoadLocation(*zone)
		if err != nil {
			fmt.Fprintf(stderr, "--timezone %q: not a time zone name such as Europe/London or UTC (%v)\n", *zone, err)
			return err
		}
		m.Location = loc
	}
	return nil
}

// Open opens the ledger and starts serving on m.Addr (":0" picks a free
// port; Listener().Addr() tells which).
func (m *Main) Open(logger *slog.Logger) error {
	if m.Now == nil {
		m.Now = time.Now
	}
	if err := m.loadNeighbours(); err != nil {
		return err
	}
	if err := m.restore(context.Background(), logger); err != nil {
		return err
	}
	// A demo hub plays weeks of history on a clock of its own, then runs
	// on the real one.
	now := m.Now
	var demoClock *hub.DemoClock
	if m.Demo {
		demoClock = hub.NewDemoClock(m.Now)
		now = demoClock.Now
	}
	l, err := ledger.Open(m.Data, ledger.Options{Logger: logger, Now: now, Origin: m.Origin})
	if err != nil {
		return err
	}
	m.Ledger = l
	m.Server = hub.New(l, hub.Config{
		Logger: logger, Now: now, LotteryWindow: m.LotteryWindow, MessageTTL: m.MessageTTL, WebhookPrivate: m.WebhookPrivate,
		CorrectionWindow: m.CorrectionWindow,
		WriteRate:        m.WriteRate, WriteBurst: int(2 * m.WriteRate),
		AddrRate: m.AddrRate, AddrBurst: int(2 * m.AddrRate), Location: m.Location,
		RegisterRate: m.RegisterRate, RegisterBurst: max(1, int(m.RegisterRate)),
		OpenInterval: m.OpenInterval, TrustedProxies: m.TrustedProxies,
	})
	ctx := context.Background()
	if m.Demo {
		if err := m.loadDemo(ctx, logger, demoClock); err != nil {
			l.Close()
			return err
		}
	}
	if n, err := hub.SeedCatalog(ctx, l); err != nil {
		l.Close()
		return err
	} else if n > 0 {
		logger.Info("seeded the item catalog", "items", n)
	}
	if err := m.federate(ctx); err != nil {
		l.Close()
		return err
	}
	ln, err := net.Listen("tcp", m.Addr)
	if err != nil {
		l.Close()
		return err
	}
	m.ln = ln
	go func() {
		if err := m.Server.Serve(ln); err != nil {
			logger.Error("server stopped", "err", err)
		}
	}()
	logger.Info("plenty hub serving", "addr", ln.Addr().String(), "data", m.Data, "events", l.Size())
	return nil
}

// loadDemo plays the demo region's history into an empty ledger, or, in a
// ledger that holds it, renews the demo delegates when the tokens in
// demo-tokens.txt no longer hold for a day (mandates run for 7 days). It
// writes the tokens to demo-tokens.txt in the data folder (mode 0600), so
// that someone trying the hub can act for a demo council.
func (m *Main) loadDemo(ctx context.Context, logger *slog.Logger, clk *hub.DemoClock) error {
	path := filepath.Join(m.Data, DemoTokensFile)
	start := time.Now()
	ds, err := hub.PlayDemo(ctx, m.Server, clk)
	switch {
	case errors.Is(err, hub.ErrNotEmpty):
		if hub.DemoTokensValid(m.Ledger, readDemoTokens(path), m.Now()) {
			return nil
		}
		if ds, err = hub.RenewDemo(ctx, m.Ledger, m.Now()); err != nil {
			return err
		}
		if len(ds) == 0 {
			logger.Warn("--demo ignored: the ledger holds councils and none of the demo region")
			return nil
		}
		logger.Info("renewed the demo delegates: the old tokens had expired", "tokens", path)
	case err != nil:
		return err
	default:
		logger.Info("played the demo region's history", "councils", len(ds), "events", m.Ledger.Size(),
			"took", time.Since(start).Round(time.Millisecond), "tokens", path)
	}
	var b strings.Builder
	b.WriteString("# Demo delegates: council id, delegate id, token, council name\n")
	for _, d := range ds {
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\n", d.Council, d.Delegate, d.Token, d.Name)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write demo tokens: %w", err)
	}
	return nil
}

// DemoTokensFile holds a demo hub's delegate tokens, in its data folder.
const DemoTokensFile = "demo-tokens.txt"

// readDemoTokens returns the tokens of demo-tokens.txt; none when it is
// missing.
func readDemoTokens(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var tokens []string
	for _, line := range strings.Split(string(b), "\n") {
		if cols := strings.Split(line, "\t"); len(cols) >= 3 && !strings.HasPrefix(line, "#") {
			tokens = append(tokens, cols[2])
		}
	}
	return tokens
}

// Addr returns the address the hub listens on.
func (m *Main) Listener() net.Listener { return m.ln }

// Close finishes in-flight requests, then closes the ledger, which commits
// what was submitted and signs a final checkpoint.
func (m *Main) Close(ctx context.Context) error {
	var errs []error
	if m.Server != nil {
		errs = append(errs, m.Server.Shutdown(ctx))
	}
	if m.Ledger != nil {
		errs = append(errs, m.Ledger.Close())
	}
	return errors.Join(errs...)
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	m := &Main{}
	if err := m.ParseFlags(args, stderr); err != nil {
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	if err := m.Open(logger); err != nil {
		fmt.Fprintf(stderr, "plenty serve: %v\n", err)
		return 1
	}
	<-ctx.Done()
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Close(sctx); err != nil {
		fmt.Fprintf(stderr, "plenty serve: shutdown: %v\n", err)
		return 1
	}
	return 0
}

// parsePrefix reads an address (one host) or a CIDR prefix.
func parsePrefix(v string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(v); err == nil {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(v)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is neither an address such as 10.0.0.5 nor a prefix such as 10.0.0.0/8", v)
	}
	return p.Masked(), nil
}
