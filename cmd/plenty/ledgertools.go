package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/plentyhub/plenty/ledger"
)

// runCheck implements `plenty check --data DIR`.
func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", DefaultData, "data folder of the hub")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	n, err := ledger.Check(ctx, *data)
	if err != nil {
		fmt.Fprintf(stderr, "plenty check: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "ok: %d events; seq, times, projections, tree, checkpoints and journal agree\n", n)
	return 0
}

// runRecover implements `plenty recover --data DIR`.
func runRecover(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("recover", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", DefaultData, "data folder of the hub")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	n, aside, err := ledger.Recover(ctx, *data, ledger.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "plenty recover: %v\n", err)
		if aside != "" {
			fmt.Fprintf(stderr, "the original files are in %s\n", aside)
		}
		return 1
	}
	fmt.Fprintf(stdout, "recovered %d events from the journal; the damaged files are in %s\n", n, aside)
	return 0
}
