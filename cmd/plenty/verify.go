package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/plentyhub/plenty/exports"
	"github.com/plentyhub/plenty/federation"
)

const verifyUsage = `usage: plenty verify SOURCE [--key KEY] [--since CHECKPOINT_FILE] [--policy FILE [--max-age DURATION]]
       plenty verify EVENTS_FILE --checkpoint CHECKPOINT_FILE --key KEY

Checks open data offline. SOURCE is a hub URL (http://host:port, whose
/open/ serves the files) or an export folder; or one downloaded events file
(events.arrow or events.parquet) with the signed checkpoint downloaded
beside it (HUB/open/checkpoint) and the hub's key. It recomputes every leaf hash
and the Merkle root, checks the checkpoint's signature, the consistency with
an earlier checkpoint (--since), datapackage.json's sizes and hashes, and
that every table present agrees with a replay of the events.

  --key KEY               the hub's verifier key, or a file holding it; without
                          it the source's own key file is trusted
  --since CHECKPOINT_FILE a signed checkpoint of the same hub seen before; the
                          source must extend it, not rewrite it
  --policy FILE           a C2SP tlog-policy file: the checkpoint must be signed
                          by one of its logs and cosigned by its quorum of witnesses
  --max-age DURATION      with --policy, count only cosignatures at most this old
                          (such as 24h); 0 counts every one
  --checkpoint FILE       with a single events file: the signed checkpoint that
                          covers it (HUB/open/checkpoint, fetched with the file)

Exit status: 0 when all holds, 1 on the first fault (named), 2 on usage.
`

// runVerify implements "plenty verify". It returns the exit status.
func runVerify(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	key := fs.String("key", "", "verifier key, or a file holding it")
	since := fs.String("since", "", "file holding an earlier signed checkpoint")
	policyFile := fs.String("policy", "", "tlog-policy file whose quorum must cosign the checkpoint")
	maxAge := fs.Duration("max-age", 0, "with --policy, the oldest cosignature counted")
	checkpoint := fs.String("checkpoint", "", "with a single events file: the signed checkpoint covering it")
	// Flags may come before or after SOURCE.
	var sources []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stdout, verifyUsage)
				return 0
			}
			fmt.Fprintf(stderr, "plenty verify: %v\n%s", err, verifyUsage)
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		sources = append(sources, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(sources) != 1 {
		fmt.Fprintf(stderr, "plenty verify: give exactly one SOURCE (a hub URL or an export folder)\n%s", verifyUsage)
		return 2
	}
	opts := &exports.VerifyOptions{}
	if *key != "" {
		opts.Key = *key
		if b, err := os.ReadFile(*key); err == nil {
			opts.Key = strings.TrimSpace(string(b))
		}
	}
	if *since != "" {
		b, err := os.ReadFile(*since)
		if err != nil {
			fmt.Fprintf(stderr, "plenty verify: --since: %v\n", err)
			return 2
		}
		opts.Since = b
	}
	var witnessed *federation.Result
	if *policyFile != "" {
		data, err := os.ReadFile(*policyFile)
		if err != nil {
			fmt.Fprintf(stderr, "plenty verify: --policy: %v\n", err)
			return 2
		}
		policy, err := federation.ParsePolicy(data)
		if err == nil && policy.Quorum == "" {
			err = fmt.Errorf("the policy has no quorum line")
		}
		if err != nil {
			fmt.Fprintf(stderr, "plenty verify: --policy %s: %v\n", *policyFile, err)
			return 2
		}
		if opts.Key == "" && len(policy.Logs) == 1 {
			opts.Key = policy.Logs[0].Key
		}
		opts.CheckCheckpoint = func(signed []byte) error {
			r, err := policy.Verify(signed, *maxAge, time.Now())
			witnessed = r
			return err
		}
	} else if *maxAge != 0 {
		fmt.Fprintf(stderr, "plenty verify: --max-age needs --policy\n%s", verifyUsage)
		return 2
	}

	source := sources[0]
	if fi, err := os.Stat(source); err == nil && fi.Mode().IsRegular() {
		dir, err := singleFileSource(source, *checkpoint, opts.Key)
		if err != nil {
			fmt.Fprintf(stderr, "plenty verify: %v\n", err)
			return 2
		}
		defer os.RemoveAll(dir)
		source = dir
	} else if *checkpoint != "" {
		fmt.Fprintf(stderr, "plenty verify: --checkpoint is for a single events file; a folder or a URL holds its own checkpoint\n")
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := exports.Verify(ctx, source, opts)
	if err != nil {
		var f *exports.Fault
		if errors.As(err, &f) {
			fmt.Fprintf(stderr, "plenty verify: FAULT: %v\n", err)
		} else {
			fmt.Fprintf(stderr, "plenty verify: %v\n", err)
		}
		return 1
	}
	cp := rep.Checkpoint
	fmt.Fprintf(stdout, "ok: %d events of %s; root %s signed by %s\n", cp.Size, cp.Origin, rootText(cp), rep.KeyName)
	if rep.Since != nil {
		fmt.Fprintf(stdout, "ok: extends the earlier checkpoint at size %d\n", rep.Since.Size)
	}
	if witnessed != nil {
		names := make([]string, 0, len(witnessed.Cosigners))
		for name := range witnessed.Cosigners {
			names = append(names, name)
		}
		sort.Strings(names)
		fmt.Fprintf(stdout, "ok: cosigned by %d witnesses of the policy (%s), which satisfies its quorum\n", len(names), strings.Join(names, ", "))
	}
	files := "files"
	if len(rep.Files) == 1 {
		files = "file"
	}
	fmt.Fprintf(stdout, "ok: %d %s checked: %s\n", len(rep.Files), files, strings.Join(rep.Files, ", "))
	if rep.KeyFromSource {
		fmt.Fprintln(stdout, "note: the verifier key came from the source itself; pass --key with the hub's published key to detect a replaced key")
	}
	return 0
}

func rootText(cp exports.Checkpoint) string {
	lines := strings.Split(cp.String(), "\n")
	return lines[2]
}

// singleFileSource lays out one downloaded events file and its checkpoint
// as an export folder (links in a temporary folder, which the caller
// removes), so that the verifier reads them as it reads a snapshot. It
// says exactly what is missing: the file must be Arrow IPC or Parquet, and
// the checkpoint and the key must be given, since a lone file holds
// neither.
func singleFileSource(file, checkpoint, key string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	magic := make([]byte, 6)
	n, _ := io.ReadFull(f, magic)
	f.Close()
	var name string
	switch {
	case n >= 6 && string(magic) == "ARROW1":
		name = "events.arrow"
	case n >= 4 && string(magic[:4]) == "PAR1":
		name = "events.parquet"
	default:
		return "", fmt.Errorf("%s is neither an Arrow IPC file nor a Parquet file; verify checks events.arrow or events.parquet (HUB/open/events.arrow), or a whole export folder", file)
	}
	var missing []string
	if checkpoint == "" {
		missing = append(missing, "--checkpoint FILE, the signed checkpoint that covers it (download HUB/open/checkpoint when you download the events file, so that they match)")
	}
	if key == "" {
		missing = append(missing, "--key KEY, the hub's verifier key (HUB/open/key, or as the hub publishes it on its home page)")
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("to verify the single file %s, also give:\n  %s", file, strings.Join(missing, "\n  "))
	}
	if _, err := os.Stat(checkpoint); err != nil {
		return "", fmt.Errorf("--checkpoint: %w", err)
	}
	dir, err := os.MkdirTemp("", "plenty-verify-file-")
	if err != nil {
		return "", err
	}
	for link, target := range map[string]string{name: file, exports.CheckpointFile: checkpoint} {
		abs, err := filepath.Abs(target)
		if err == nil {
			err = os.Symlink(abs, filepath.Join(dir, link))
		}
		if err != nil {
			os.RemoveAll(dir)
			return "", err
		}
	}
	return dir, nil
}
