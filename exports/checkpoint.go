package exports

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/plentyhub/plenty"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint is the body of a signed checkpoint; the format is defined
// once, in the root package.
type Checkpoint = plenty.Checkpoint

// OpenCheckpoint checks the signature of a signed checkpoint note against the
// verifier key (as note.NewVerifier reads it) and returns its body. It fails
// when the key is malformed, the note is not signed by that key, or the body
// is not a checkpoint.
func OpenCheckpoint(signed []byte, verifierKey string) (Checkpoint, error) {
	v, err := note.NewVerifier(strings.TrimSpace(verifierKey))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("verifier key is malformed: %v", err)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		if errors.As(err, &unverified) {
			return Checkpoint{}, fmt.Errorf("checkpoint is not signed by key %q: it carries no valid signature from that key", v.Name())
		}
		return Checkpoint{}, fmt.Errorf("checkpoint signature does not verify with key %q: %v", v.Name(), err)
	}
	c, err := plenty.ParseCheckpoint(n.Text)
	if err != nil {
		return Checkpoint{}, err
	}
	return c, nil
}

// sha256Empty is the RFC 6962 hash of the empty tree, SHA-256 of nothing.
var sha256Empty = [32]byte{
	0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
	0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
}

// hashText formats a hash as base64, the way checkpoints write it.
// HashText writes a tree hash as the signed checkpoints do (base64).
func HashText(h tlog.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

// trimKey normalises a verifier key read from a file.
func trimKey(b []byte) string { return string(bytes.TrimSpace(b)) }

// ParseHashText reads a hash written by HashText.
func ParseHashText(s string) (tlog.Hash, error) {
	var h tlog.Hash
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("%q is not a base64 SHA-256 hash", s)
	}
	copy(h[:], b)
	return h, nil
}
