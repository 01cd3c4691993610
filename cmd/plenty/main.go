// Command plenty runs the Plenty hub and its tools: serve, check, recover,
// solve, verify and export.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `plenty — an open accounting and needs-offers hub for workplace councils

Usage:
  plenty serve   [--data DIR] [--addr HOST:PORT] [--demo]   run the hub
                 [--origin NAME] [--neighbours FILE]        (federation: see serve -h)
  plenty check   [--data DIR]                               rebuild projections and the tree, compare with what is stored
  plenty recover [--data DIR]                               rebuild a damaged database from the journal
  plenty solve   FILE [-flows]                              solve a DIMACS min-cost-flow problem ("-" for stdin)
  plenty verify  SOURCE [--key KEY] [--since CHECKPOINT]     verify a hub URL or an export folder offline
                 [--policy FILE [--max-age D]]              and its witnesses' quorum of cosignatures
  plenty verify  EVENTS_FILE --checkpoint FILE --key KEY    verify one downloaded events.arrow or events.parquet
  plenty export  [--data DIR] --out DIR                     write the open data to a folder (the hub stopped)
  plenty export  http://HOST:PORT --out DIR [--key KEY]     copy a running hub's open data, verified

check, recover and export --data need the hub stopped: DuckDB lets one
process at a time open its folder.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run dispatches a subcommand and returns the process exit code: 0 on
// success, 1 when the work found a fault, 2 on a usage error.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "check":
		return runCheck(ctx, args[1:], stdout, stderr)
	case "recover":
		return runRecover(ctx, args[1:], stdout, stderr)
	case "solve":
		return runSolve(args[1:], stdin, stdout, stderr)
	case "verify":
		return runVerify(args[1:], stdout, stderr)
	case "export":
		return runExport(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "plenty: unknown command %q\n\n%s", args[0], usage)
	return 2
}
