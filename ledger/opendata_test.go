package ledger_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/plentyhub/plenty/exports"
	"github.com/plentyhub/plenty/ledger"
)

// snapshotFromLedger writes an open-data snapshot of l into dir with its
// tables read from the ledger's projection documents.
func snapshotFromLedger(t *testing.T, l *ledger.Ledger, dir string) *exports.Snapshot {
	t.Helper()
	ctx := context.Background()
	cp, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, err := exports.OpenCheckpoint(cp, l.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	if !l.ProjectionsExact(c.Size) {
		t.Fatalf("projections not exact at %d on a ledger no one writes to", c.Size)
	}
	snap, err := exports.Write(ctx, dir, l.Events, cp, l.VerifierKey(), &exports.Options{PartEvents: 16, Projections: l})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// tableParts reads the parts of resource name from a snapshot's
// datapackage.json.
func tableParts(t *testing.T, dir, name string) []exports.Part {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, exports.DataPackageFile))
	if err != nil {
		t.Fatal(err)
	}
	var p exports.DataPackage
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	for _, r := range p.Resources {
		if r.Name == name {
			if r.RowsFrom != "projections" {
				t.Fatalf("%s: rows from %q, want projections", name, r.RowsFrom)
			}
			return r.Parts
		}
	}
	t.Fatalf("no resource %s", name)
	return nil
}

// TestOpenDataFromProjections: snapshots whose tables are read from
// DuckDB's projection documents verify against a full replay of their
// events (so the tables agree with the fold), the second reuses the
// first's full parts, and DuckDB reads each format's parts as one dataset.
func TestOpenDataFromProjections(t *testing.T) {
	ctx := context.Background()
	l := MustOpen(t, "")
	out := t.TempDir()
	for i := 0; i < 40; i++ {
		if _, _, err := l.Append(ctx, councilRequest("p", i)); err != nil {
			t.Fatal(err)
		}
	}
	first := snapshotFromLedger(t, l, out)
	for i := 40; i < 70; i++ {
		if _, _, err := l.Append(ctx, councilRequest("p", i)); err != nil {
			t.Fatal(err)
		}
	}
	second := snapshotFromLedger(t, l, out)
	if first.Checkpoint.Size != 40 || second.Checkpoint.Size != 70 {
		t.Fatalf("sizes %d, %d; want 40, 70", first.Checkpoint.Size, second.Checkpoint.Size)
	}
	for _, s := range []*exports.Snapshot{first, second} {
		rep, err := exports.Verify(ctx, s.Dir, &exports.VerifyOptions{Key: l.VerifierKey()})
		if err != nil {
			t.Fatalf("Verify %s: %v", s.Dir, err)
		}
		if rep.Checkpoint.Size != s.Checkpoint.Size {
			t.Fatalf("verified %d events, want %d", rep.Checkpoint.Size, s.Checkpoint.Size)
		}
	}
	// The parts 0-15 and 16-31 are the first snapshot's files.
	for _, name := range []string{"000000000000-000000000015", "000000000016-000000000031"} {
		path := filepath.Join("events", "parquet", name+".parquet")
		a, err1 := os.Stat(filepath.Join(first.Dir, path))
		b, err2 := os.Stat(filepath.Join(second.Dir, path))
		if err1 != nil || err2 != nil || !os.SameFile(a, b) {
			t.Errorf("%s not shared by the two snapshots: %v %v", path, err1, err2)
		}
	}
	// The councils' parts of the closed ranges, none of whose councils
	// changed, are the first snapshot's files; the others were written.
	shared := 0
	for _, p := range tableParts(t, second.Dir, "councils-parquet") {
		a, err1 := os.Stat(filepath.Join(first.Dir, p.Path))
		b, err2 := os.Stat(filepath.Join(second.Dir, p.Path))
		same := err1 == nil && err2 == nil && os.SameFile(a, b)
		if same != (p.Last < 32) {
			t.Errorf("councils part %s: shared with the first snapshot %v, want %v", p.Path, same, p.Last < 32)
		}
		if same {
			shared++
		}
	}
	if shared == 0 {
		t.Error("no councils part shared by the two snapshots")
	}
	// The tail of the first (32-39) was rewritten into 32-47 in the second.
	if _, err := os.Stat(filepath.Join(second.Dir, "events", "arrow", "000000000032-000000000047.arrow")); err != nil {
		t.Error(err)
	}

	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n, councils, maxSeq int64
	q := "SELECT count(*), count(*) FILTER (WHERE kind = 'council.registered'), max(seq) FROM read_parquet('" +
		filepath.Join(second.Dir, "events", "parquet", "*.parquet") + "')"
	if err := db.QueryRow(q).Scan(&n, &councils, &maxSeq); err != nil {
		t.Fatal(err)
	}
	if n != 70 || councils != 70 || maxSeq != 69 {
		t.Fatalf("DuckDB reads %d events (%d councils, last seq %d) from the parts, want 70, 70, 69", n, councils, maxSeq)
	}
	var rows int64
	if err := db.QueryRow("SELECT count(*) FROM read_csv('" + filepath.Join(second.Dir, "events", "csv", "*.csv") + "')").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 70 {
		t.Fatalf("DuckDB reads %d rows from the CSV parts, want 70", rows)
	}
	var offers, delegates int64
	if err := db.QueryRow("SELECT count(*) FROM read_parquet('" + filepath.Join(second.Dir, "delegates", "parquet", "*.parquet") + "')").Scan(&delegates); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("SELECT count(*) FROM read_parquet('" + filepath.Join(second.Dir, "offers", "parquet", "*.parquet") + "')").Scan(&offers); err != nil {
		t.Fatal(err)
	}
	if delegates != 70 || offers != 0 {
		t.Fatalf("tables hold %d delegates and %d offers, want 70 and 0", delegates, offers)
	}
}
