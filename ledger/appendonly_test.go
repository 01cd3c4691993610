package ledger_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// mutation matches SQL that would change or remove what the ledger has
// recorded: its events, tree hashes and signed checkpoints.
var mutation = regexp.MustCompile(`(?i)\b(UPDATE\s+"?(events|tree|checkpoints|projection_log)\b|DELETE\s+FROM\s+"?(events|tree|checkpoints|projection_log)\b|TRUNCATE\s+(TABLE\s+)?"?(events|tree|checkpoints|projection_log)\b|DROP\s+TABLE\s+(IF\s+EXISTS\s+)?"?(events|tree|checkpoints|projection_log)\b|INSERT\s+OR\s+REPLACE\s+INTO\s+"?(events|tree|checkpoints|projection_log)\b|ALTER\s+TABLE\s+"?(events|tree|checkpoints|projection_log)\b)`)

// TestAppendOnly fails if any non-test Go file in the repository issues
// UPDATE, DELETE, TRUNCATE, DROP (or a replacing insert or ALTER) against
// the ledger's tables.
func TestAppendOnly(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found at %s", root)
	}
	scanned := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		scanned++
		for i, line := range strings.Split(string(b), "\n") {
			if m := mutation.FindString(line); m != "" {
				t.Errorf("%s:%d mutates the ledger: %q", path, i+1, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scanned < 5 {
		t.Fatalf("scanned only %d files; is the walk rooted right?", scanned)
	}
}

func TestAppendOnlyPattern(t *testing.T) {
	for _, bad := range []string{
		`UPDATE events SET body = ?`, `delete from tree where idx > 3`, `TRUNCATE events`,
		`DROP TABLE IF EXISTS checkpoints`, `INSERT OR REPLACE INTO events VALUES (1)`, `ALTER TABLE tree ADD x INT`,
	} {
		if !mutation.MatchString(bad) {
			t.Errorf("pattern misses %q", bad)
		}
	}
	for _, ok := range []string{
		`INSERT INTO events VALUES (?)`, `SELECT seq FROM events`, `TRUNCATE staged`, `DELETE FROM events_archive_copy`,
	} {
		if mutation.MatchString(ok) {
			t.Errorf("pattern flags %q", ok)
		}
	}
}
