package ledger_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plentyhub/plenty/ledger"
)

// TestCheckFindsTampering writes a small ledger, changes what is stored
// behind the ledger's back, and expects Check to name the first
// difference.
func TestCheckFindsTampering(t *testing.T) {
	tests := []struct {
		name   string
		tamper string // SQL run against the closed database
		file   func(dir string) error
		want   string
	}{
		{name: "Clean", want: ""},
		{name: "FlippedBody", tamper: `UPDATE events SET body = replace(body::VARCHAR, 'Riverside', 'Riversidf')::BLOB WHERE seq = 3`,
			want: "event 3"},
		{name: "ForgedLeafHash", tamper: `UPDATE events SET leaf_hash = sha256('x')::BLOB WHERE seq = 2`,
			want: "event 2: stored leaf hash"},
		{name: "MissingTreeHash", tamper: `DELETE FROM tree WHERE idx = 5`, want: "tree"},
		{name: "ForgedProjection", tamper: `INSERT INTO projection_log VALUES ('council', 'c-k-1', 999, '{"id":"c-k-1","name":"Forged"}')`,
			want: "projections: stored council c-k-1 differs"},
		{name: "DroppedEvent", tamper: `DELETE FROM events WHERE seq = 7`, want: "seq"},
		{name: "TruncatedJournal", file: func(dir string) error {
			p := filepath.Join(dir, ledger.JournalFile)
			st, err := os.Stat(p)
			if err != nil {
				return err
			}
			return os.Truncate(p, st.Size()-10)
		}, want: "journal holds 9 events, the database 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			l, err := ledger.Open(dir, ledger.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 10; i++ {
				if _, _, err := l.Append(ctx, councilRequest("k", i)); err != nil {
					t.Fatal(err)
				}
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if tt.tamper != "" {
				db, err := sql.Open("duckdb", filepath.Join(dir, ledger.DatabaseFile))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := db.Exec(tt.tamper); err != nil {
					t.Fatal(err)
				}
				db.Close()
			}
			if tt.file != nil {
				if err := tt.file(dir); err != nil {
					t.Fatal(err)
				}
			}
			n, err := ledger.Check(ctx, dir)
			if tt.want == "" {
				if err != nil || n != 10 {
					t.Fatalf("Check = %d, %v; want 10 events and no fault", n, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Check error = %v; want it to mention %q", err, tt.want)
			}
		})
	}
}
