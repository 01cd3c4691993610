// Package hub is Plenty's HTTP service: the JSON API, the open data, the
// web pages, and the wiring of ledger, matching and exports. It is the only
// package that imports Fiber.
//
// Every write goes through the ledger: the hub checks the request, builds
// one event and appends it; the ledger's state fold checks the event again
// against the state, so a refusal at either step writes nothing.
package hub

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"

	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/federation"
)

// Config tunes the hub. The zero value is ready to use.
type Config struct {
	Logger *slog.Logger
	// Now is the clock for every time-based check (expiries, windows,
	// mandates); time.Now when nil. Give the ledger the same clock.
	Now func() time.Time
	// LotteryWindow is how long a delivery task collects volunteers
	// before the draw; 10 minutes when 0.
	LotteryWindow time.Duration
	// ClaimWindow is how long a drawn volunteer has to pick a task up
	// before the claim lapses; 4 hours when 0.
	ClaimWindow time.Duration
	// AgreementTerm is how long an agreement waits for pickup before it
	// expires and releases its reservation; 14 days when 0.
	AgreementTerm time.Duration
	// CorrectionWindow is how long a receipt can be corrected; after it
	// the receipt is final and the agreement leaves the hub's memory
	// (plenty.Terms.CorrectionWindow); 30 days when 0.
	CorrectionWindow time.Duration
	// MatchDelay is how long the engine waits after a change for more
	// changes before it recomputes the proposals; 250 ms when 0.
	MatchDelay time.Duration
	// TickInterval is how often the hub recomputes the proposals regardless
	// of changes, and the longest its timers (expiries, draws, lapses)
	// sleep: they wake at the next deadline, so this only retries what a
	// failed run left due; 30 s when 0.
	TickInterval time.Duration
	// WriteRate and WriteBurst limit the writes of one token (per second,
	// and at once); 20 and 40 when 0.
	WriteRate  float64
	WriteBurst int
	// AddrRate and AddrBurst limit the writes from one client address; 100
	// and 200 when 0.
	AddrRate  float64
	AddrBurst int
	// RegisterRate and RegisterBurst limit the anonymous registrations
	// (councils and volunteers) from one client address, per minute and at
	// once; 5 and 5 when 0. Registration is free and needs no credential,
	// so this is what a sybil pays.
	RegisterRate  float64
	RegisterBurst int
	// BodyLimit is the largest request body accepted, in bytes; 64 KiB
	// when 0.
	BodyLimit int
	// OpenInterval is the least time between two snapshots of the open
	// data written on request; 5 seconds when 0.
	OpenInterval time.Duration
	// Location is the time zone the web pages show times in, named beside
	// them; the machine's (time.Local) when nil. The API speaks UTC.
	Location *time.Location
	// MessageTTL is how long an agreement's private thread is kept after
	// the agreement ends (transfer, cancellation or expiry); 336 hours
	// (14 days) when 0.
	MessageTTL time.Duration
	// WebhookRetryBase is the first wait before a failed webhook delivery
	// is tried again; each further wait doubles, up to WebhookRetryMax. A
	// delivery is tried for WebhookRetryFor of waits, then its webhook is
	// paused. 30 s, 1 hour and 24 hours when 0.
	WebhookRetryBase time.Duration
	WebhookRetryMax  time.Duration
	WebhookRetryFor  time.Duration
	// WebhookTimeout bounds one webhook delivery; 10 s when 0.
	WebhookTimeout time.Duration
	// WebhookPrivate lets webhooks reach loopback, private and link-local
	// addresses (a receiver on the hub's machine or its network). Off, a
	// delegate cannot make the hub send requests into the network it runs
	// in; the hub's own address is refused either way.
	WebhookPrivate bool
	// TrustedProxies are the reverse proxies in front of the hub: a
	// request from one of them is limited (and its anonymous idempotency
	// keys kept) under the client address they name in X-Forwarded-For
	// (see clientAddr). None: the peer's address, whatever the headers say.
	TrustedProxies []netip.Prefix
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.LotteryWindow <= 0 {
		c.LotteryWindow = 10 * time.Minute
	}
	if c.ClaimWindow <= 0 {
		c.ClaimWindow = 4 * time.Hour
	}
	if c.AgreementTerm <= 0 {
		c.AgreementTerm = 14 * 24 * time.Hour
	}
	if c.CorrectionWindow <= 0 {
		c.CorrectionWindow = plenty.DefaultCorrectionWindow
	}
	if c.MatchDelay <= 0 {
		c.MatchDelay = 250 * time.Millisecond
	}
	if c.TickInterval <= 0 {
		c.TickInterval = 30 * time.Second
	}
	if c.WriteRate <= 0 {
		c.WriteRate = 20
	}
	if c.WriteBurst <= 0 {
		c.WriteBurst = 40
	}
	if c.AddrRate <= 0 {
		c.AddrRate = 100
	}
	if c.AddrBurst <= 0 {
		c.AddrBurst = 200
	}
	if c.RegisterRate <= 0 {
		c.RegisterRate = 5
	}
	if c.RegisterBurst <= 0 {
		c.RegisterBurst = 5
	}
	if c.BodyLimit <= 0 {
		c.BodyLimit = 64 << 10
	}
	if c.OpenInterval <= 0 {
		c.OpenInterval = 5 * time.Second
	}
	if c.Location == nil {
		c.Location = time.Local
	}
	if c.MessageTTL <= 0 {
		c.MessageTTL = 336 * time.Hour
	}
	if c.WebhookRetryBase <= 0 {
		c.WebhookRetryBase = 30 * time.Second
	}
	if c.WebhookRetryMax <= 0 {
		c.WebhookRetryMax = time.Hour
	}
	if c.WebhookRetryFor <= 0 {
		c.WebhookRetryFor = 24 * time.Hour
	}
	if c.WebhookTimeout <= 0 {
		c.WebhookTimeout = 10 * time.Second
	}
}

// Server is the hub's HTTP server.
type Server struct {
	app     *fiber.App
	ledger  Ledger
	log     *slog.Logger
	cfg     Config
	metrics *metrics

	tokenLimit *limiter
	addrLimit  *limiter

	registerLimit *limiter // anonymous registrations per address

	open     *openData
	engine   *engine
	loops    *loops
	contacts *contacts
	coord    *coord
	fed      *federation.Federation // nil unless Federate was called
	mirrors  *mirrors
}

// New returns a server in front of l.
func New(l Ledger, cfg Config) *Server {
	cfg.setDefaults()
	s := &Server{
		ledger:     l,
		log:        cfg.Logger,
		cfg:        cfg,
		metrics:    newMetrics(),
		tokenLimit: newLimiter(cfg.WriteRate, cfg.WriteBurst, cfg.Now),
		addrLimit:  newLimiter(cfg.AddrRate, cfg.AddrBurst, cfg.Now),
		open:       newOpenData(filepath.Join(l.Dir(), "open")),
		mirrors:    newMirrors(),
		engine:     newEngine(),
		loops:      newLoops(),
		contacts:   &contacts{dir: filepath.Join(l.Dir(), "private")},
	}
	s.registerLimit = newLimiter(cfg.RegisterRate/60, cfg.RegisterBurst, cfg.Now)
	var err error
	if s.coord, err = newCoord(s, filepath.Join(l.Dir(), "private")); err != nil {
		s.log.Error("private store: opening", "err", err)
	}
	s.app = fiber.New(fiber.Config{
		DisableStartupMessage: true,
		// Values read from a request (params, form values, headers) are
		// copied: the fold keeps the payloads the hub builds from them
		// (plenty.Event.WithPayload), and fasthttp reuses its buffers.
		Immutable:     true,
		ErrorHandler:  s.handleError,
		BodyLimit:     cfg.BodyLimit,
		CaseSensitive: true,
		ReadTimeout:   30 * time.Second,
		WriteTimeout:  30 * time.Second,
		IdleTimeout:   2 * time.Minute,
	})
	s.routes()
	return s
}

// routes lays out the API. Matching (proposals, agreements), logistics
// (volunteers, tasks), figures and the open data join the same groups.
func (s *Server) routes() {
	s.app.Use(s.observe)
	s.app.Use(s.requireLedger)
	s.app.Use(s.markReplays)
	s.app.Get("/healthz", s.healthz)
	s.app.Get("/metrics", s.serveMetrics)
	s.app.Get("/openapi.json", s.serveOpenAPI)

	api := s.app.Group("/api/v1")
	api.Post("/councils", s.limitAddr, s.limitRegister, s.registerCouncil)
	api.Get("/councils", s.listCouncils)
	api.Get("/councils/:id", s.getCouncil)
	api.Get("/councils/:id/account", s.getAccount)
	api.Post("/councils/:id/delegates", s.limitAddr, s.issueDelegate)
	api.Post("/councils/:id/delegates/:delegate/renew", s.limitAddr, s.renewDelegate)
	api.Post("/councils/:id/assembly/key", s.limitAddr, s.replaceAssemblyKey)
	api.Delete("/councils/:id/delegates/:delegate", s.limitAddr, s.recallDelegate)

	api.Get("/items", s.listItems)
	api.Get("/items/:code", s.getItem)
	api.Post("/items", s.limitAddr, s.defineItem)

	api.Post("/offers", s.limitAddr, s.postOffer)
	api.Get("/offers", s.listOffers)
	api.Get("/offers/:id", s.getOffer)
	api.Post("/offers/:id/withdraw", s.limitAddr, s.withdrawOffer)

	api.Post("/needs", s.limitAddr, s.postNeed)
	api.Get("/needs", s.listNeeds)
	api.Get("/needs/:id", s.getNeed)
	api.Post("/needs/:id/withdraw", s.limitAddr, s.withdrawNeed)

	s.lifecycleRoutes(api)
	s.coordRoutes(api)

	s.fedRoutes()
	open := s.app.Group("/open")
	open.Get("/proof/inclusion", s.getInclusionProof)
	open.Get("/proof/consistency", s.getConsistencyProof)
	open.Get("/:name", s.getOpenFile)
	open.Get("/:size/:name", s.getOpenSnapshotFile)
	open.Get("/:table/:format/:part", s.getOpenPart)
	open.Get("/:size/:table/:format/:part", s.getOpenSnapshotPart)

	s.webRoutes()
}

// Serve answers requests on ln until Shutdown. It also runs the matching
// engine after changes and the timers (see loops.go).
func (s *Server) Serve(ln net.Listener) error {
	// The terms come first: a task's lottery window is the one in force
	// when it opens.
	if err := s.PublishTerms(context.Background()); err != nil {
		return err
	}
	s.loops.start(s)
	s.loops.coord(s, ln)
	if s.fed != nil {
		s.fed.Start()
	}
	return s.app.Listener(ln)
}

// Shutdown stops accepting connections, waits for in-flight requests,
// whose writes the ledger commits before they are answered, and stops the
// engine and the timers.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.app.ShutdownWithContext(ctx)
	s.loops.halt()
	if s.fed != nil {
		s.fed.Close()
	}
	return err
}

// Test serves one request in process, for tests.
func (s *Server) App() *fiber.App { return s.app }

func (s *Server) now() time.Time { return s.cfg.Now().UTC() }

func (s *Server) healthz(c *fiber.Ctx) error {
	if err := s.ledger.Failed(); err != nil {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "failed", "error": err.Error()})
	}
	return c.JSON(fiber.Map{"status": "ok", "events": s.ledger.Size()})
}
