package federation

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/plentyhub/plenty"
)

// Policy is a C2SP tlog-policy file: the logs, the witnesses, their groups
// and the quorum. As a hub's neighbours file, its `log` lines are the hubs
// it mirrors and witnesses (with their base URLs) and its `witness` lines
// the hubs that witness it (with their base URLs); its quorum, if any, is
// what it asks of its own checkpoints.
type Policy struct {
	Logs      []Log
	Witnesses []Witness
	// Quorum names the witness or group whose cosignatures a checkpoint
	// needs; "none" needs none; "" when the file has no quorum line.
	Quorum string

	groups map[string]group
}

// Log is a `log VKEY [URL]` line.
type Log struct {
	Key      string // verifier key (signature type 0x01)
	URL      string
	Origin   string // the key's name, which is the log's origin line
	Verifier note.Verifier
}

// Witness is a `witness NAME VKEY [URL]` line.
type Witness struct {
	Name     string
	Key      string // verifier key (signature type 0x04, cosignature/v1)
	URL      string
	Verifier note.Verifier
}

type group struct {
	k       int
	members []string
}

// Limits of a policy file, above the 32 logs, witnesses and groups the
// specification asks implementations to support.
const (
	maxPolicyBytes   = 64 << 10
	maxPolicyEntries = 256
)

// ParsePolicy reads a tlog-policy file. Its error names the line at fault
// ("line 3: ...") and says what would be accepted. A file without a quorum
// line is accepted (Quorum is then ""): a neighbours file need not have
// one; Verify refuses to check against it.
func ParsePolicy(data []byte) (*Policy, error) {
	if len(data) > maxPolicyBytes {
		return nil, fmt.Errorf("policy: the file is larger than %d bytes", maxPolicyBytes)
	}
	p := &Policy{groups: map[string]group{}}
	names := map[string]bool{"none": true}
	keys := map[string]string{} // public key material → what listed it
	quorumLine := 0
	lines := strings.Split(string(data), "\n")
	for i, line := range lines {
		n := i + 1
		fail := func(format string, args ...any) error {
			return fmt.Errorf("policy line %d: %s", n, fmt.Sprintf(format, args...))
		}
		for j := 0; j < len(line); j++ {
			if c := line[j]; c != '\t' && (c < 0x20 || c == 0x7f) {
				return nil, fail("control character 0x%02x; only tab is allowed", c)
			}
		}
		f := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' })
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if len(p.Logs)+len(p.Witnesses)+len(p.groups) >= maxPolicyEntries {
			return nil, fail("more than %d logs, witnesses and groups", maxPolicyEntries)
		}
		switch f[0] {
		case "log":
			if len(f) < 2 || len(f) > 3 {
				return nil, fail("want `log VKEY [URL]`")
			}
			v, typ, err := NewVerifier(f[1])
			if err != nil {
				return nil, fail("%v", err)
			}
			if typ != typeEd25519 {
				return nil, fail("a log key must be of signature type 0x01 (Ed25519), not a witness key")
			}
			if other, dup := keys[keyMaterial(f[1])]; dup {
				return nil, fail("the key is already listed by %s", other)
			}
			keys[keyMaterial(f[1])] = fmt.Sprintf("line %d", n)
			l := Log{Key: f[1], Origin: v.Name(), Verifier: v}
			if len(f) == 3 {
				if err := checkURL(f[2]); err != nil {
					return nil, fail("%v", err)
				}
				l.URL = strings.TrimSuffix(f[2], "/")
			}
			p.Logs = append(p.Logs, l)
		case "witness":
			if len(f) < 3 || len(f) > 4 {
				return nil, fail("want `witness NAME VKEY [URL]`")
			}
			if names[f[1]] {
				return nil, fail("the name %q is already defined", f[1])
			}
			v, typ, err := NewVerifier(f[2])
			if err != nil {
				return nil, fail("%v", err)
			}
			if typ != typeCosignature {
				return nil, fail("a witness key must be of signature type 0x04 (cosignature/v1), not a log key")
			}
			if other, dup := keys[keyMaterial(f[2])]; dup {
				return nil, fail("the key is already listed by %s", other)
			}
			keys[keyMaterial(f[2])] = fmt.Sprintf("line %d", n)
			w := Witness{Name: f[1], Key: f[2], Verifier: v}
			if len(f) == 4 {
				if err := checkURL(f[3]); err != nil {
					return nil, fail("%v", err)
				}
				w.URL = strings.TrimSuffix(f[3], "/")
			}
			names[f[1]] = true
			p.Witnesses = append(p.Witnesses, w)
		case "group":
			if len(f) < 4 {
				return nil, fail("want `group NAME all|any|K MEMBER...`")
			}
			if names[f[1]] {
				return nil, fail("the name %q is already defined", f[1])
			}
			members := f[3:]
			in := map[string]bool{}
			for _, m := range members {
				if m == "none" || !names[m] {
					return nil, fail("group member %q is not a witness or group defined on an earlier line", m)
				}
				if in[m] {
					return nil, fail("group member %q is listed twice", m)
				}
				in[m] = true
			}
			var k int
			switch f[2] {
			case "all":
				k = len(members)
			case "any":
				k = 1
			default:
				v, err := strconv.Atoi(f[2])
				if err != nil || strconv.Itoa(v) != f[2] || v < 1 || v > len(members) {
					return nil, fail("threshold %q must be all, any or a number from 1 to %d", f[2], len(members))
				}
				k = v
			}
			names[f[1]] = true
			p.groups[f[1]] = group{k: k, members: members}
		case "quorum":
			if len(f) != 2 {
				return nil, fail("want `quorum NAME`")
			}
			if quorumLine != 0 {
				return nil, fail("a second quorum line (the first is line %d)", quorumLine)
			}
			if !names[f[1]] {
				return nil, fail("quorum %q is not a witness or group defined on an earlier line", f[1])
			}
			quorumLine = n
			p.Quorum = f[1]
		default:
			return nil, fail("unknown keyword %q; want log, witness, group or quorum", f[0])
		}
	}
	return p, nil
}

// keyMaterial is the part of a vkey that holds the public key: two vkeys
// with the same key are duplicates whatever their names.
func keyMaterial(vkey string) string {
	// The name holds no "+", the base64 key may.
	_, rest, _ := strings.Cut(vkey, "+")
	_, key, _ := strings.Cut(rest, "+")
	k, _ := base64.StdEncoding.DecodeString(key)
	if len(k) > 0 {
		k = k[1:]
	}
	return string(k)
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("URL %q is not an http(s) URL", s)
	}
	return nil
}

// Log returns the log of the given origin.
func (p *Policy) Log(origin string) (Log, bool) {
	for _, l := range p.Logs {
		if l.Origin == origin {
			return l, true
		}
	}
	return Log{}, false
}

// Witness returns the witness with the given verifier key.
func (p *Policy) Witness(key string) (Witness, bool) {
	for _, w := range p.Witnesses {
		if w.Key == key {
			return w, true
		}
	}
	return Witness{}, false
}

// Result is what Verify found in a checkpoint.
type Result struct {
	Checkpoint plenty.Checkpoint
	Log        Log
	// Cosigners are the names of the policy's witnesses whose cosignature
	// verified, with the time of each.
	Cosigners map[string]time.Time
}

// ErrNoQuorum is returned (wrapped) by Verify when the checkpoint lacks the
// quorum's cosignatures.
var ErrNoQuorum = errors.New("no quorum")

// Verify checks that signed is a checkpoint signed by one of the policy's
// logs and cosigned by its quorum of witnesses, none of whose counted
// cosignatures is older than maxAge (when maxAge > 0) as of now.
func (p *Policy) Verify(signed []byte, maxAge time.Duration, now time.Time) (*Result, error) {
	if p.Quorum == "" {
		return nil, errors.New("the policy has no quorum line")
	}
	vs := make([]note.Verifier, 0, len(p.Logs)+len(p.Witnesses))
	for _, l := range p.Logs {
		vs = append(vs, l.Verifier)
	}
	for _, w := range p.Witnesses {
		vs = append(vs, w.Verifier)
	}
	n, err := note.Open(signed, note.VerifierList(vs...))
	if err != nil {
		return nil, fmt.Errorf("the checkpoint does not verify: %v", err)
	}
	cp, err := plenty.ParseCheckpoint(n.Text)
	if err != nil {
		return nil, err
	}
	res := &Result{Checkpoint: cp, Cosigners: map[string]time.Time{}}
	logSigned := false
	for _, s := range n.Sigs {
		for _, l := range p.Logs {
			if s.Name == l.Verifier.Name() && s.Hash == l.Verifier.KeyHash() && l.Origin == cp.Origin {
				logSigned, res.Log = true, l
			}
		}
		for _, w := range p.Witnesses {
			if s.Name == w.Verifier.Name() && s.Hash == w.Verifier.KeyHash() {
				t, err := CosignatureTime(s)
				if err != nil {
					continue
				}
				if maxAge > 0 && now.Sub(t) > maxAge {
					continue
				}
				res.Cosigners[w.Name] = t
			}
		}
	}
	if !logSigned {
		return nil, fmt.Errorf("the checkpoint of %q is not signed by any log of the policy", cp.Origin)
	}
	if !p.witnessed(p.Quorum, res.Cosigners) {
		got := make([]string, 0, len(res.Cosigners))
		for name := range res.Cosigners {
			got = append(got, name)
		}
		age := ""
		if maxAge > 0 {
			age = fmt.Sprintf(" (counting cosignatures at most %s old)", maxAge)
		}
		return nil, fmt.Errorf("%w: the checkpoint at size %d is cosigned by %d of the policy's witnesses [%s]%s, which does not satisfy quorum %q",
			ErrNoQuorum, cp.Size, len(got), strings.Join(got, " "), age, p.Quorum)
	}
	return res, nil
}

// witnessed evaluates a witness or group name against the cosigners.
// Groups may share members at any depth, so each name is evaluated once.
func (p *Policy) witnessed(name string, cosigners map[string]time.Time) bool {
	memo := map[string]bool{}
	var eval func(string) bool
	eval = func(name string) bool {
		if v, ok := memo[name]; ok {
			return v
		}
		var v bool
		switch g, isGroup := p.groups[name]; {
		case name == "none":
			v = true
		case isGroup:
			n := 0
			for _, m := range g.members {
				if eval(m) {
					n++
				}
			}
			v = n >= g.k
		default:
			_, v = cosigners[name]
		}
		memo[name] = v
		return v
	}
	return eval(name)
}

// Neighbours returns the policy's log and witness lines as the payload of
// a federation.neighbours event.
func (p *Policy) Neighbours() plenty.FederationNeighbours {
	d := plenty.FederationNeighbours{Logs: []plenty.NeighbourLog{}, Witnesses: []plenty.NeighbourWitness{}}
	for _, l := range p.Logs {
		d.Logs = append(d.Logs, plenty.NeighbourLog{Key: l.Key, URL: l.URL})
	}
	for _, w := range p.Witnesses {
		d.Witnesses = append(d.Witnesses, plenty.NeighbourWitness{Name: w.Name, Key: w.Key, URL: w.URL})
	}
	return d
}

// String writes the policy's log and witness lines (and its quorum) back
// as a tlog-policy file; groups are not kept.
func (p *Policy) String() string {
	var b strings.Builder
	for _, l := range p.Logs {
		b.WriteString(strings.TrimSpace("log " + l.Key + " " + l.URL))
		b.WriteByte('\n')
	}
	for _, w := range p.Witnesses {
		b.WriteString(strings.TrimSpace("witness " + w.Name + " " + w.Key + " " + w.URL))
		b.WriteByte('\n')
	}
	return b.String()
}
