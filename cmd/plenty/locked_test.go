package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/ledger"
)

// TestHoldLedger is not a test of its own: run by TestLockedFolder in a
// second process, it holds a ledger open, as a running hub does, until
// its standard input closes.
func TestHoldLedger(t *testing.T) {
	dir := os.Getenv("PLENTY_TEST_HOLD_LEDGER")
	if dir == "" {
		t.Skip("run by TestLockedFolder")
	}
	l, err := ledger.Open(dir, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, _, err := l.Append(context.Background(), ledger.Request{Kind: plenty.KindItemDefined, Actor: plenty.ActorHub,
		Data: plenty.ItemDefinition{Code: "wheat-flour", Name: "Wheat flour", Dimension: plenty.Mass, Unit: "kg"}}); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("holding\n")
	bufio.NewReader(os.Stdin).ReadString('\n')
}

// check, export and recover on the folder of a running hub say that the
// hub is running and how to proceed, not that the database is damaged;
// recover moves nothing aside.
func TestLockedFolder(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHoldLedger$")
	cmd.Env = append(os.Environ(), "PLENTY_TEST_HOLD_LEDGER="+dir)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "holding\n" {
		t.Fatalf("the holder said %q", line)
	}
	before, _ := os.ReadDir(dir)
	for _, args := range [][]string{
		{"check", "--data", dir},
		{"export", "--data", dir, "--out", filepath.Join(t.TempDir(), "out")},
		{"recover", "--data", dir},
	} {
		var out, errOut strings.Builder
		code := run(args, nil, &out, &errOut)
		msg := errOut.String()
		if code != 1 || !strings.Contains(msg, "is in use by") || !strings.Contains(msg, "a hub is running on this folder") ||
			!strings.Contains(msg, "need the hub stopped") || !strings.Contains(msg, "plenty export http://HOST:PORT") {
			t.Errorf("%s: exit %d, stderr %q; want it to say the hub is running and how to proceed", args[0], code, msg)
		}
		if strings.Contains(msg, "is damaged") || strings.Contains(msg, "plenty recover --data") {
			t.Errorf("%s calls a locked folder damaged: %q", args[0], msg)
		}
		if !strings.Contains(msg, "(PID ") {
			t.Errorf("%s does not name the process holding the folder: %q", args[0], msg)
		}
	}
	after, _ := os.ReadDir(dir)
	if len(after) != len(before) {
		t.Errorf("the folder held %d entries and now %d: recover moved a running hub's files", len(before), len(after))
	}
}
