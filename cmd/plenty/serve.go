package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

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
	Data string
	Addr string
	Demo bool

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
	return fs.Parse(args)
}

// Open opens the ledger and starts serving on m.Addr (":0" picks a free
// port; Listener().Addr() tells which).
func (m *Main) Open(logger *slog.Logger) error {
	l, err := ledger.Open(m.Data, ledger.Options{Logger: logger})
	if err != nil {
		return err
	}
	m.Ledger = l
	m.Server = hub.New(l, hub.Config{Logger: logger})
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
