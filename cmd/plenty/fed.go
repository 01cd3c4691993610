package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/plentyhub/plenty/federation"
	"github.com/plentyhub/plenty/hub"
)

// fedFlags adds serve's federation flags.
func (m *Main) fedFlags(fs *flag.FlagSet) {
	fs.StringVar(&m.Origin, "origin", "", "name of a new hub's log, such as manchester.example/plenty (used when the key is made; random when empty)")
	fs.StringVar(&m.Neighbours, "neighbours", "", "neighbours file (C2SP tlog-policy lines: `log VKEY URL`, `witness NAME VKEY URL`)")
	fs.DurationVar(&m.PullInterval, "pull-interval", 10*time.Second, "time between two pulls of a neighbour, and two pushes to a witness")
	fs.DurationVar(&m.WithholdAfter, "withhold-after", time.Hour, "how long a neighbour may fail to serve the events of a checkpoint it signed before it is recorded as withholding")
	fs.DurationVar(&m.OpenInterval, "open-interval", 5*time.Second, "least time between two snapshots of the open data")
	fs.StringVar(&m.RestoreFrom, "restore-from", "", "rebuild a lost hub's empty data folder (holding its key) from a mirror's base URL")
}

// federate reads the neighbours file and turns federation on.
func (m *Main) federate(ctx context.Context) error {
	cfg := hub.FedConfig{PullInterval: m.PullInterval, WithholdAfter: m.WithholdAfter}
	if m.Neighbours != "" {
		data, err := os.ReadFile(m.Neighbours)
		if err != nil {
			return fmt.Errorf("--neighbours: %w", err)
		}
		p, err := federation.ParsePolicy(data)
		if err != nil {
			return fmt.Errorf("--neighbours %s: %w", m.Neighbours, err)
		}
		cfg.Neighbours = p
	}
	return m.Server.Federate(ctx, cfg)
}

// restore rebuilds the data folder from a mirror when --restore-from is
// given.
func (m *Main) restore(ctx context.Context, logger *slog.Logger) error {
	if m.RestoreFrom == "" {
		return nil
	}
	return fmt.Errorf("--restore-from is not implemented yet")
}
