package plenty

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Event kinds of federation: the hub's neighbours as its operator listed
// them, and the evidence a witness recorded against a neighbour's log.
const (
	KindFederationNeighbours = "federation.neighbours"
	KindFederationEvidence   = "federation.evidence"
)

// FederationNeighbours is the list of neighbours a hub's operator set
// (the `log` and `witness` lines of the neighbours file), recorded whole
// each time it changes.
type FederationNeighbours struct {
	Logs      []NeighbourLog     `json:"logs"`
	Witnesses []NeighbourWitness `json:"witnesses"`
}

// NeighbourLog is a hub this hub mirrors and witnesses.
type NeighbourLog struct {
	Key string `json:"key"` // the neighbour's log verifier key (Ed25519 note key)
	URL string `json:"url"` // empty when the file gives none
}

// NeighbourWitness is a hub that witnesses this hub.
type NeighbourWitness struct {
	Name string `json:"name"`
	Key  string `json:"key"` // the witness's cosignature/v1 verifier key
	URL  string `json:"url"`
}

// Evidence kinds.
const (
	EvidenceFork        = "fork"        // two signed checkpoints that are not consistent
	EvidenceRollback    = "rollback"    // a signed checkpoint smaller than one already witnessed
	EvidenceWithholding = "withholding" // a signed checkpoint whose events are not served
	EvidenceSplitView   = "split-view"  // another witness was shown a history inconsistent with ours
)

// FederationEvidence is what a witness saw a neighbour sign: the
// neighbour's log key and its signed checkpoint notes (both of a fork, a
// rollback or a split view; the last witnessed and the withheld one).
type FederationEvidence struct {
	Origin  string   `json:"origin"`
	Log     string   `json:"log"`
	Kind    string   `json:"kind"`
	Notes   []string `json:"notes"`
	Message string   `json:"message"`
}

// MaxEvidenceNote bounds each signed checkpoint evidence holds, and
// MaxNeighbours the neighbours a hub records, so that these events stay far
// below the 65,535 bytes an entry of a tile bundle can hold.
const (
	MaxEvidenceNote = 16 << 10
	MaxNeighbours   = 128
)

// applyFederation folds the federation events. They change no
// projection: the fold checks that each is well formed, and for evidence
// that every note is signed by the log key it names, so that evidence
// cannot be made up. ok is false when ev is of another kind.
func (s *State) applyFederation(ev Event) (ok bool, err error) {
	switch ev.Kind {
	case KindFederationNeighbours:
		var d FederationNeighbours
		if err := decodeData(ev, &d); err != nil {
			return true, err
		}
		if ev.Actor != ActorHub {
			return true, Errorf(EFORBIDDEN, "only the hub records its neighbours, not %s", ev.Actor)
		}
		return true, d.check()
	case KindFederationEvidence:
		var d FederationEvidence
		if err := decodeData(ev, &d); err != nil {
			return true, err
		}
		if ev.Actor != ActorHub {
			return true, Errorf(EFORBIDDEN, "only the hub records federation evidence, not %s", ev.Actor)
		}
		return true, d.check()
	}
	return false, nil
}

func (d FederationNeighbours) check() error {
	if len(d.Logs)+len(d.Witnesses) > MaxNeighbours {
		return Invalid("logs", fmt.Sprintf("and witnesses must be at most %d in all", MaxNeighbours))
	}
	seen := map[string]bool{}
	for i, l := range d.Logs {
		field := fmt.Sprintf("logs[%d]", i)
		if err := checkVerifierKey(l.Key, 0x01); err != nil {
			return Invalid(field+".key", err.Error())
		}
		if err := checkHubURL(l.URL); err != nil {
			return Invalid(field+".url", err.Error())
		}
		if seen[l.Key] {
			return Invalid(field+".key", "is listed twice")
		}
		seen[l.Key] = true
	}
	names := map[string]bool{}
	for i, w := range d.Witnesses {
		field := fmt.Sprintf("witnesses[%d]", i)
		if w.Name == "" || strings.ContainsAny(w.Name, " \t\n") {
			return Invalid(field+".name", "must be a name without spaces")
		}
		if names[w.Name] {
			return Invalid(field+".name", "is listed twice")
		}
		names[w.Name] = true
		if err := checkVerifierKey(w.Key, 0x04); err != nil {
			return Invalid(field+".key", err.Error())
		}
		if err := checkHubURL(w.URL); err != nil {
			return Invalid(field+".url", err.Error())
		}
		if seen[w.Key] {
			return Invalid(field+".key", "is listed twice")
		}
		seen[w.Key] = true
	}
	return nil
}

func (d FederationEvidence) check() error {
	switch d.Kind {
	case EvidenceFork, EvidenceRollback, EvidenceWithholding, EvidenceSplitView:
	default:
		return Invalid("kind", "must be fork, rollback, withholding or split-view")
	}
	if err := checkVerifierKey(d.Log, 0x01); err != nil {
		return Invalid("log", err.Error())
	}
	v, err := note.NewVerifier(d.Log)
	if err != nil {
		return Invalid("log", err.Error())
	}
	if d.Origin != v.Name() {
		return Invalid("origin", fmt.Sprintf("must be the log key's name %q", v.Name()))
	}
	if len(d.Notes) < 1 || len(d.Notes) > 2 {
		return Invalid("notes", "must hold one or two signed checkpoints")
	}
	for i, text := range d.Notes {
		if len(text) > MaxEvidenceNote {
			return Invalid(fmt.Sprintf("notes[%d]", i), fmt.Sprintf("must be at most %d bytes", MaxEvidenceNote))
		}
		n, err := note.Open([]byte(text), note.VerifierList(v))
		if err != nil {
			return Invalid(fmt.Sprintf("notes[%d]", i), "is not a checkpoint signed by the log key: "+err.Error())
		}
		cp, err := ParseCheckpoint(n.Text)
		if err != nil {
			return Invalid(fmt.Sprintf("notes[%d]", i), err.Error())
		}
		if cp.Origin != d.Origin {
			return Invalid(fmt.Sprintf("notes[%d]", i), fmt.Sprintf("is a checkpoint of %q, not of %q", cp.Origin, d.Origin))
		}
	}
	if len(d.Message) > 2000 {
		return Invalid("message", "must be at most 2000 bytes")
	}
	return nil
}

// checkVerifierKey checks the shape of a signed-note verifier key
// "name+hash+base64(type||key)" for an Ed25519 key of signature type typ
// (0x01 for a log, 0x04 for a cosignature/v1 witness).
func checkVerifierKey(vkey string, typ byte) error {
	name, rest, ok1 := strings.Cut(vkey, "+")
	hash, key, ok2 := strings.Cut(rest, "+")
	if !ok1 || !ok2 || name == "" || strings.ContainsAny(name, " \t\n+") {
		return fmt.Errorf("must be a verifier key name+hash+key")
	}
	if h, err := hex.DecodeString(hash); err != nil || len(h) != 4 {
		return fmt.Errorf("must be a verifier key whose hash is 8 hex digits")
	}
	k, err := base64.StdEncoding.DecodeString(key)
	if err != nil || len(k) != 33 || k[0] != typ {
		return fmt.Errorf("must be a verifier key of signature type 0x%02x with a 32-byte Ed25519 key", typ)
	}
	return nil
}

// checkHubURL checks a neighbour's base URL, which may be absent.
func checkHubURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("must be an http(s) URL of the hub")
	}
	return nil
}
