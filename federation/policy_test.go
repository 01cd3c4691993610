package federation

import (
	"crypto/rand"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/plentyhub/plenty"
)

// keys makes a log key and n witness cosigners.
func testKeys(t testing.TB, n int, now func() time.Time) (note.Signer, string, []*Cosigner) {
	skey, vkey, err := note.GenerateKey(rand.Reader, "a.test/plenty")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	var cs []*Cosigner
	for i := 0; i < n; i++ {
		c, err := LoadOrCreateCosigner(t.(interface{ TempDir() string }).TempDir(), "w"+string(rune('0'+i))+".test", now)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	return s, vkey, cs
}

func TestParsePolicy(t *testing.T) {
	_, logKey, cs := testKeys(t, 3, time.Now)
	w0, w1, w2 := cs[0].VerifierKey(), cs[1].VerifierKey(), cs[2].VerifierKey()
	good := "# neighbours\n  log " + logKey + " https://a.example/\n" +
		"witness x0 " + w0 + " http://127.0.0.1:8080\n\twitness x1\t" + w1 + "\n" +
		"witness x2 " + w2 + "\ngroup two 2 x0 x1 x2\ngroup top all two\nquorum top\n"
	p, err := ParsePolicy([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Logs) != 1 || p.Logs[0].Origin != "a.test/plenty" || p.Logs[0].URL != "https://a.example" ||
		len(p.Witnesses) != 3 || p.Witnesses[0].URL != "http://127.0.0.1:8080" || p.Quorum != "top" {
		t.Fatalf("parsed %+v", p)
	}
	for _, tc := range []struct{ name, text, want string }{
		{"UnknownKeyword", "lg " + logKey, "line 1: unknown keyword \"lg\""},
		{"LogWithWitnessKey", "log " + w0, "line 1: a log key must be of signature type 0x01"},
		{"WitnessWithLogKey", "witness x " + logKey, "line 1: a witness key must be of signature type 0x04"},
		{"BadKey", "log a.test+00000000+AAAA", "line 1: verifier key"},
		{"BadHash", "log " + logKey[:len("a.test/plenty+")] + "00000000" + logKey[len("a.test/plenty+00000000"):], "the key hash does not match"},
		{"DuplicateKey", "witness x " + w0 + "\nwitness y " + w0, "line 2: the key is already listed by line 1"},
		{"DuplicateName", "witness x " + w0 + "\nwitness x " + w1, "line 2: the name \"x\" is already defined"},
		{"ForwardMember", "group g any x\nwitness x " + w0, "line 1: group member \"x\" is not a witness or group defined on an earlier line"},
		{"ThresholdTooHigh", "witness x " + w0 + "\ngroup g 2 x", "line 2: threshold \"2\" must be all, any or a number from 1 to 1"},
		{"ThresholdZero", "witness x " + w0 + "\ngroup g 0 x", "threshold \"0\""},
		{"LeadingZero", "witness x " + w0 + "\nwitness y " + w1 + "\ngroup g 01 x y", "threshold \"01\""},
		{"MemberTwice", "witness x " + w0 + "\ngroup g any x x", "line 2: group member \"x\" is listed twice"},
		{"NoneMember", "group g any none", "group member \"none\""},
		{"TwoQuorums", "quorum none\nquorum none", "line 2: a second quorum line (the first is line 1)"},
		{"UnknownQuorum", "quorum g", "quorum \"g\" is not a witness or group"},
		{"BadURL", "log " + logKey + " ftp://x", "line 1: URL \"ftp://x\" is not an http(s) URL"},
		{"TooManyFields", "log " + logKey + " http://x y", "line 1: want `log VKEY [URL]`"},
		{"ControlCharacter", "quorum none\r", "line 1: control character 0x0d"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePolicy([]byte(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestPolicyVerify(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s, logKey, cs := testKeys(t, 3, clock)
	policy, err := ParsePolicy([]byte("log " + logKey + "\nwitness x0 " + cs[0].VerifierKey() + "\nwitness x1 " + cs[1].VerifierKey() +
		"\nwitness x2 " + cs[2].VerifierKey() + "\ngroup g 2 x0 x1 x2\nquorum g\n"))
	if err != nil {
		t.Fatal(err)
	}
	text := plenty.Checkpoint{Origin: "a.test/plenty", Size: 5}.String()
	signed, _ := note.Sign(&note.Note{Text: text}, s)
	cosig := func(c *Cosigner) []byte {
		b, _ := note.Sign(&note.Note{Text: text}, c)
		return signatureLine(b)
	}
	one := mergeSignatures(signed, cosig(cs[0]))
	if _, err := policy.Verify(one, 0, now); err == nil || !strings.Contains(err.Error(), "no quorum") {
		t.Fatalf("one cosignature of a 2-of-3 group: %v", err)
	}
	two := mergeSignatures(one, cosig(cs[2]))
	res, err := policy.Verify(two, 0, now)
	if err != nil || len(res.Cosigners) != 2 || res.Checkpoint.Size != 5 {
		t.Fatalf("two cosignatures: %+v, %v", res, err)
	}
	// Too old to count.
	if _, err := policy.Verify(two, time.Minute, now.Add(time.Hour)); err == nil || !strings.Contains(err.Error(), "at most 1m0s old") {
		t.Fatalf("old cosignatures: %v", err)
	}
	// A cosignature of another body, or a tampered timestamp, does not count.
	tampered := []byte(strings.Replace(string(two), text, plenty.Checkpoint{Origin: "a.test/plenty", Size: 6}.String(), 1))
	if _, err := policy.Verify(tampered, 0, now); err == nil {
		t.Fatal("a changed body verified")
	}
	// Not signed by the log.
	if _, err := policy.Verify(append([]byte(text+"\n"), cosig(cs[0])...), 0, now); err == nil {
		t.Fatal("a note without the log's signature verified")
	}
	// No quorum line.
	p2, _ := ParsePolicy([]byte("log " + logKey))
	if _, err := p2.Verify(two, 0, now); err == nil || !strings.Contains(err.Error(), "no quorum line") {
		t.Fatalf("no quorum line: %v", err)
	}
}

func TestTilePath(t *testing.T) {
	for _, tc := range []struct {
		l    int
		n    int64
		w    int
		path string
	}{
		{0, 0, 256, "tile/0/000"},
		{1, 1234067, 256, "tile/1/x001/x234/067"},
		{-1, 5, 17, "tile/entries/005.p/17"},
		{2, 1000, 1, "tile/2/x001/000.p/1"},
	} {
		tile := tlogTile(tc.l, tc.n, tc.w)
		if got := TilePath(tile); got != tc.path {
			t.Errorf("TilePath(%+v) = %q, want %q", tile, got, tc.path)
		}
		back, err := ParseTilePath(tc.path)
		if err != nil || back != tile {
			t.Errorf("ParseTilePath(%q) = %+v, %v", tc.path, back, err)
		}
	}
	for _, bad := range []string{"tile/0/1", "tile/0/x000/001", "tile/0/001.p/256", "tile/0/001.p/0", "tile/-1/000", "tile/0/x1/000", "tile/entries/001/", "tile/0/001.p/05"} {
		if _, err := ParseTilePath(bad); err == nil {
			t.Errorf("ParseTilePath(%q) accepted", bad)
		}
	}
}

func TestCosignerKeyFile(t *testing.T) {
	dir := t.TempDir()
	c1, err := LoadOrCreateCosigner(dir, "a.test/plenty", nil)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := LoadOrCreateCosigner(dir, "ignored", nil)
	if err != nil || c2.VerifierKey() != c1.VerifierKey() || c1.Name() != "a.test/plenty/witness" {
		t.Fatalf("reloaded %v (%v), first %v", c2.VerifierKey(), err, c1.VerifierKey())
	}
	if _, typ, err := NewVerifier(c1.VerifierKey()); err != nil || typ != typeCosignature {
		t.Fatalf("verifier: %d %v", typ, err)
	}
}

func tlogTile(l int, n int64, w int) tlog.Tile { return tlog.Tile{H: TileHeight, L: l, N: n, W: w} }

// TestPolicyDeepGroups: groups that each list every earlier group are
// evaluated in linear time, not exponential.
func TestPolicyDeepGroups(t *testing.T) {
	_, logKey, cs := testKeys(t, 1, time.Now)
	var b strings.Builder
	b.WriteString("log " + logKey + "\nwitness w " + cs[0].VerifierKey() + "\ngroup g0 any w\n")
	members := "g0"
	for i := 1; i < 100; i++ {
		b.WriteString("group g" + strconv.Itoa(i) + " all " + members + "\n")
		members += " g" + strconv.Itoa(i)
	}
	b.WriteString("quorum g99\n")
	p, err := ParsePolicy([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if p.witnessed("g99", map[string]time.Time{}) || !p.witnessed("g99", map[string]time.Time{"w": {}}) {
		t.Fatal("deep groups evaluated wrongly")
	}
}

// TestKeyMaterial: the key of a vkey is what follows the second "+", and
// base64 may hold "+" itself (two keys sharing a tail after one were
// taken for duplicates).
func TestKeyMaterial(t *testing.T) {
	a := "a.test+01234567+AQAA+wAA"
	b := "b.test+89abcdef+AQBB+wAA"
	if keyMaterial(a) == keyMaterial(b) {
		t.Fatalf("%q and %q have the same key material", a, b)
	}
	if keyMaterial("x+01234567+AQAA+wAA") != keyMaterial(a) {
		t.Fatal("the same key under two names is not a duplicate")
	}
}
