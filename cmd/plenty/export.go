package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/plentyhub/plenty/exports"
	"github.com/plentyhub/plenty/ledger"
)

// runExport implements "plenty export --data DIR --out DIR": a snapshot of
// the open data, named by tree size, with OUT/latest pointing at the
// newest. It returns the exit status.
func runExport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", DefaultData, "data folder of the hub")
	out := fs.String("out", "", "folder to write the snapshots to (required)")
	keep := fs.Int("keep", exports.DefaultKeep, "number of snapshots to keep in --out, the newest; older ones are removed")
	showProgress := fs.Bool("progress", false, "show progress even when standard error is not a terminal")
	key := fs.String("key", "", "with a hub URL: the hub's verifier key, or a file holding it")
	// A hub URL may come before or after the flags.
	var hubURL string
	if len(args) > 0 && (strings.HasPrefix(args[0], "http://") || strings.HasPrefix(args[0], "https://")) {
		hubURL, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if hubURL == "" && fs.NArg() == 1 && (strings.HasPrefix(fs.Arg(0), "http://") || strings.HasPrefix(fs.Arg(0), "https://")) {
		hubURL = fs.Arg(0)
	} else if fs.NArg() > 0 {
		*out = ""
	}
	if *out == "" || *keep < 1 {
		fmt.Fprintln(stderr, "usage: plenty export [--data DIR] --out DIR [--keep N] [--progress]\n       plenty export http://HOST:PORT --out DIR [--key KEY]    (from a running hub)")
		return 2
	}
	if hubURL != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		k := *key
		if b, err := os.ReadFile(k); k != "" && err == nil {
			k = strings.TrimSpace(string(b))
		}
		if err := exportURL(ctx, hubURL, *out, k, stdout); err != nil {
			fmt.Fprintf(stderr, "plenty export: %v\n", err)
			return 1
		}
		return 0
	}
	if _, err := os.Stat(*data); err != nil {
		fmt.Fprintf(stderr, "plenty export: no hub data in %s: %v\n", *data, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	l, err := ledger.Open(*data, ledger.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "plenty export: %v\n", err)
		return 1
	}
	defer l.Close()
	checkpoint, err := l.Checkpoint(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "plenty export: %v\n", err)
		return 1
	}
	opts := &exports.Options{Keep: *keep}
	if cp, err := exports.OpenCheckpoint(checkpoint, l.VerifierKey()); err == nil && l.ProjectionsExact(cp.Size) {
		// The tables from DuckDB's projections: only the events after the
		// previous snapshot's full parts are read.
		opts.Projections = l
	}
	if *showProgress || isTerminal(stderr) {
		start := time.Now()
		opts.Progress = func(done, total int64) {
			fmt.Fprintf(stderr, "\rexporting: %d/%d events (%.0f/s)  ", done, total, float64(done)/time.Since(start).Seconds())
			if done == total {
				fmt.Fprintln(stderr)
			}
		}
		opts.Step = func(step string) {
			fmt.Fprintf(stderr, "exporting: %s (%s)\n", step, time.Since(start).Round(time.Millisecond))
		}
	}
	start := time.Now()
	snap, err := exports.Write(ctx, *out, l.Events, checkpoint, l.VerifierKey(), opts)
	if err != nil {
		fmt.Fprintf(stderr, "plenty export: %v\n", err)
		return 1
	}
	if err := l.Close(); err != nil {
		fmt.Fprintf(stderr, "plenty export: closing the ledger: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "exported %d events to %s in %s (verified; %s points to the newest)\n",
		snap.Checkpoint.Size, snap.Dir, time.Since(start).Round(time.Millisecond), exports.LatestLink)
	return 0
}

// isTerminal reports whether w is a terminal, where progress is shown.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
