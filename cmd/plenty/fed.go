package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/plentyhub/plenty/federation"
	"github.com/plentyhub/plenty/hub"
	"github.com/plentyhub/plenty/ledger"
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

// loadNeighbours reads the neighbours file, if any, before anything is
// opened or written.
func (m *Main) loadNeighbours() error {
	m.policy = nil
	if m.Neighbours == "" {
		return nil
	}
	data, err := os.ReadFile(m.Neighbours)
	if err != nil {
		return fmt.Errorf("--neighbours: %w", err)
	}
	p, err := federation.ParsePolicy(data)
	if err != nil {
		return fmt.Errorf("--neighbours %s: %w", m.Neighbours, err)
	}
	m.policy = p
	return nil
}

// federate turns federation on with the neighbours read.
func (m *Main) federate(ctx context.Context) error {
	return m.Server.Federate(ctx, hub.FedConfig{Neighbours: m.policy, PullInterval: m.PullInterval, WithholdAfter: m.WithholdAfter})
}

// restore rebuilds a lost hub's data folder from a mirror when
// --restore-from is given: the folder must hold the hub's key files and no
// ledger. The mirror's checkpoint must be signed by the hub's key and its
// events must hash to its root; with a --neighbours file, it must also
// carry a cosignature of one of its witnesses, and hold, unchanged, every
// checkpoint those witnesses that answer last cosigned (restoring less
// would show them a rollback). The ledger then replays the events through
// the fold as it opens.
func (m *Main) restore(ctx context.Context, logger *slog.Logger) error {
	if m.RestoreFrom == "" {
		return nil
	}
	vk, err := os.ReadFile(filepath.Join(m.Data, ledger.VerifierFile))
	if err == nil {
		_, err = os.Stat(filepath.Join(m.Data, ledger.SignerKeyFile))
	}
	if err != nil {
		return fmt.Errorf("--restore-from needs the lost hub's key files (%s and %s) in the data folder %s: %w", ledger.SignerKeyFile, ledger.VerifierFile, m.Data, err)
	}
	logKey := strings.TrimSpace(string(vk))
	var witnesses []federation.Witness
	if m.policy != nil {
		witnesses = m.policy.Witnesses
	}
	base := strings.TrimSuffix(m.RestoreFrom, "/")
	if !strings.HasSuffix(base, "/open") {
		base += "/open"
	}
	// What the witnesses last cosigned: the restored log must hold all of
	// it, or they would see a rollback.
	views := federation.WitnessViews(ctx, nil, witnesses, logKey)
	var sizes []int64
	for _, v := range views {
		if v.Err != nil {
			logger.Warn("restore: a witness's view could not be read", "witness", v.Witness.Name, "err", v.Err)
			continue
		}
		sizes = append(sizes, v.Checkpoint.Size)
	}
	if len(witnesses) > 0 && len(sizes) == 0 {
		return fmt.Errorf("--restore-from: no witness in %s served its view of this hub's log: the mirror cannot be checked against what they cosigned", m.Neighbours)
	}
	var signed []byte
	var size int64
	err = ledger.ImportJournal(m.Data, func(add func([]byte) error) error {
		s, cp, roots, err := federation.FetchLog(ctx, nil, base, logKey, sizes, func(_ int64, body []byte) error { return add(body) })
		if err != nil {
			return err
		}
		for _, v := range views {
			switch {
			case v.Err != nil:
			case v.Checkpoint.Size > cp.Size:
				return fmt.Errorf("witness %s cosigned %d events but the mirror holds %d: restore from a fresher mirror, such as %s's", v.Witness.Name, v.Checkpoint.Size, cp.Size, v.Witness.Name)
			case roots[v.Checkpoint.Size] != v.Checkpoint.Root:
				return fmt.Errorf("the mirror's history differs from the one witness %s cosigned at size %d", v.Witness.Name, v.Checkpoint.Size)
			}
		}
		if len(witnesses) > 0 {
			var vs []note.Verifier
			for _, w := range witnesses {
				vs = append(vs, w.Verifier)
			}
			n, err := note.Open(s, note.VerifierList(vs...))
			if err != nil || len(n.Sigs) == 0 {
				return fmt.Errorf("the mirror's checkpoint of size %d carries no cosignature of a witness in %s: it cannot be trusted to be the history the witnesses saw", cp.Size, m.Neighbours)
			}
		}
		signed, size = s, cp.Size
		return nil
	})
	if err != nil {
		return fmt.Errorf("--restore-from %s: %w", m.RestoreFrom, err)
	}
	if err := federation.KeepCosigned(m.Data, signed); err != nil {
		return err
	}
	logger.Info("rebuilt the data folder from a mirror", "mirror", m.RestoreFrom, "events", size)
	return nil
}
