package federation

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/plentyhub/plenty"
)

// TestCosignedStore: the hub keeps every cosignature of a checkpoint, one
// line per witness key (the newest), and serves them only with the body
// they sign.
func TestCosignedStore(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	s, _, cs := testKeys(t, 2, func() time.Time { return now })
	text := plenty.Checkpoint{Origin: "a.test/plenty", Size: 7}.String()
	signed, _ := note.Sign(&note.Note{Text: text}, s)
	line := func(c *Cosigner) []byte {
		b, _ := note.Sign(&note.Note{Text: text}, c)
		return signatureLine(b)
	}
	dir := t.TempDir()
	c := &cosignatures{dir: dir}
	first := line(cs[0])
	if err := c.add(7, signed, first); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	newer := line(cs[0])
	if bytes.Equal(first, newer) {
		t.Fatal("a cosignature an hour later is the same")
	}
	if err := c.add(7, signed, append(newer, line(cs[1])...)); err != nil {
		t.Fatal(err)
	}
	got := string(c.merged(signed))
	if strings.Count(got, "— w0.test/witness ") != 1 || strings.Count(got, "— w1.test/witness ") != 1 ||
		!strings.Contains(got, string(newer)) || !strings.HasPrefix(got, string(signed)) {
		t.Fatalf("merged:\n%s", got)
	}
	// Another body of the same size gets none of them.
	other, _ := note.Sign(&note.Note{Text: plenty.Checkpoint{Origin: "a.test/plenty", Size: 7, Root: [32]byte{1}}.String()}, s)
	if got := c.merged(other); !bytes.Equal(got, other) {
		t.Fatalf("cosignatures merged into another body:\n%s", got)
	}
	// KeepCosigned stores a note received whole.
	if err := KeepCosigned(t.TempDir(), []byte(got)); err != nil {
		t.Fatal(err)
	}
}
