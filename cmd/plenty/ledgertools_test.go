package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/ledger"
)

func TestCheckAndRecoverCommands(t *testing.T) {
	dir := t.TempDir()
	l, err := ledger.Open(dir, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	item := plenty.Item{Code: "wheat-flour", Name: "Wheat flour", Dimension: plenty.Mass, Unit: "kg"}
	if _, _, err := l.Append(context.Background(), ledger.Request{Kind: plenty.KindItemDefined, Actor: plenty.ActorHub,
		Data: plenty.ItemDefinition{Code: item.Code, Name: item.Name, Dimension: item.Dimension, Unit: item.Unit}}); err != nil {
		t.Fatal(err)
	}
	l.Close()

	var out, errOut strings.Builder
	if code := run([]string{"check", "--data", dir}, nil, &out, &errOut); code != 0 || !strings.Contains(out.String(), "ok: 1 events") {
		t.Fatalf("check = %d, %q %q", code, out.String(), errOut.String())
	}
	out.Reset()
	if code := run([]string{"check", "--data", filepath.Join(dir, "nope")}, nil, &out, &errOut); code != 1 {
		t.Fatalf("check of a missing folder = %d, want 1", code)
	}
	// A database DuckDB cannot read: recover rebuilds it from the journal.
	if err := os.WriteFile(filepath.Join(dir, ledger.DatabaseFile), []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run([]string{"recover", "--data", dir}, nil, &out, &errOut); code != 0 || !strings.Contains(out.String(), "recovered 1 events") {
		t.Fatalf("recover = %d, %q %q", code, out.String(), errOut.String())
	}
	out.Reset()
	if code := run([]string{"check", "--data", dir}, nil, &out, &errOut); code != 0 {
		t.Fatalf("check after recover = %d: %s", code, errOut.String())
	}
	if code := run([]string{"bogus"}, nil, &out, &errOut); code != 2 {
		t.Fatalf("unknown command = %d, want 2", code)
	}
}
