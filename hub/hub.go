// Package hub is Plenty's HTTP service: the JSON API, the open data, the
// web pages, and the wiring of ledger, matching and exports. It is the only
// package that imports Fiber.
package hub

import (
	"context"
	"log/slog"
	"net"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty/ledger"
)

// Config tunes the hub. The zero value is ready to use.
type Config struct {
	Logger *slog.Logger
}

// Server is the hub's HTTP server.
type Server struct {
	app    *fiber.App
	ledger *ledger.Ledger
	log    *slog.Logger
}

// New returns a server in front of l.
func New(l *ledger.Ledger, cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{ledger: l, log: cfg.Logger}
	s.app = fiber.New(fiber.Config{DisableStartupMessage: true})
	s.app.Get("/healthz", s.healthz)
	return s
}

// Serve answers requests on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.app.Listener(ln) }

// Shutdown stops accepting connections and waits for in-flight requests.
func (s *Server) Shutdown(ctx context.Context) error { return s.app.ShutdownWithContext(ctx) }

func (s *Server) healthz(c *fiber.Ctx) error {
	if err := s.ledger.Failed(); err != nil {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "failed", "error": err.Error()})
	}
	return c.JSON(fiber.Map{"status": "ok", "events": s.ledger.Size()})
}
