// Package federation lets neighbouring hubs mirror, replay and witness each
// other's logs with the C2SP formats: tlog-policy for the neighbours file,
// tlog-witness for pushed checkpoints, tlog-cosignature (cosignature/v1,
// Ed25519) for what a witness signs, and tlog-tiles for fetching a log.
//
// It is pure Go: no database and no web framework. The hub gives it its
// own log through the Log interface and serves its HTTP endpoints. It never
// signs with the hub's log key: a hub cosigns only with its witness key.
package federation

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/plentyhub/plenty/private"
)

// Signature types of signed-note verifier keys.
const (
	typeEd25519     = 0x01 // a log's checkpoint key
	typeCosignature = 0x04 // a cosignature/v1 Ed25519 witness key
)

// Files of the witness key in the data folder.
const (
	WitnessKeyFile      = "witness.key" // private, mode 0600
	WitnessVerifierFile = "witness.pub"
)

// keyHash is the signed-note key ID: SHA-256(name || "\n" || type || key)[:4].
func keyHash(name string, typ byte, pub []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write([]byte{typ})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// Cosigner signs cosignature/v1 signatures with an Ed25519 witness key. It
// is a note.Signer whose signatures carry the time of signing.
type Cosigner struct {
	name string
	priv ed25519.PrivateKey
	hash uint32
	now  func() time.Time
}

// Name is the witness's key name.
func (c *Cosigner) Name() string { return c.name }

// KeyHash is the key ID of the witness key.
func (c *Cosigner) KeyHash() uint32 { return c.hash }

// VerifierKey returns the witness's verifier key, name+hash+base64(0x04||key).
func (c *Cosigner) VerifierKey() string {
	pub := c.priv.Public().(ed25519.PublicKey)
	return fmt.Sprintf("%s+%08x+%s", c.name, c.hash, base64.StdEncoding.EncodeToString(append([]byte{typeCosignature}, pub...)))
}

// Sign returns timestamp || Ed25519 signature over the cosignature/v1
// message for the checkpoint text msg.
func (c *Cosigner) Sign(msg []byte) ([]byte, error) {
	t := c.now().Unix()
	if t < 0 {
		return nil, errors.New("cosign: the clock is before 1970")
	}
	sig := make([]byte, 8, 8+ed25519.SignatureSize)
	binary.BigEndian.PutUint64(sig, uint64(t))
	return append(sig, ed25519.Sign(c.priv, cosignedMessage(uint64(t), msg))...), nil
}

func cosignedMessage(t uint64, text []byte) []byte {
	head := "cosignature/v1\ntime " + strconv.FormatUint(t, 10) + "\n"
	return append([]byte(head), text...)
}

// cosigVerifier verifies cosignature/v1 signatures of one witness key.
type cosigVerifier struct {
	name string
	hash uint32
	pub  ed25519.PublicKey
}

func (v *cosigVerifier) Name() string    { return v.name }
func (v *cosigVerifier) KeyHash() uint32 { return v.hash }
func (v *cosigVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig)
	if t > 1<<63-1 {
		return false
	}
	return ed25519.Verify(v.pub, cosignedMessage(t, msg), sig[8:])
}

// NewVerifier reads a verifier key of a log (signature type 0x01) or of a
// witness (0x04, cosignature/v1), and returns a note.Verifier for it.
func NewVerifier(vkey string) (note.Verifier, byte, error) {
	name, rest, ok1 := strings.Cut(vkey, "+")
	hashText, keyText, ok2 := strings.Cut(rest, "+")
	if !ok1 || !ok2 || name == "" || strings.ContainsAny(name, " \t\n+") {
		return nil, 0, fmt.Errorf("verifier key %q is not of the form name+hash+key", vkey)
	}
	h, err := strconv.ParseUint(hashText, 16, 32)
	if err != nil || len(hashText) != 8 {
		return nil, 0, fmt.Errorf("verifier key %q: the key hash must be 8 hex digits", vkey)
	}
	key, err := base64.StdEncoding.DecodeString(keyText)
	if err != nil || len(key) != 1+ed25519.PublicKeySize {
		return nil, 0, fmt.Errorf("verifier key %q: the key must be base64 of a type byte and a 32-byte Ed25519 key", vkey)
	}
	if keyHash(name, key[0], key[1:]) != uint32(h) {
		return nil, 0, fmt.Errorf("verifier key %q: the key hash does not match the name and key", vkey)
	}
	switch key[0] {
	case typeEd25519:
		v, err := note.NewVerifier(vkey)
		return v, typeEd25519, err
	case typeCosignature:
		return &cosigVerifier{name: name, hash: uint32(h), pub: ed25519.PublicKey(key[1:])}, typeCosignature, nil
	}
	return nil, 0, fmt.Errorf("verifier key %q: signature type 0x%02x is neither a log key (0x01) nor a cosignature/v1 key (0x04)", vkey, key[0])
}

// CosignatureTime returns the time a cosignature/v1 signature was made.
func CosignatureTime(sig note.Signature) (time.Time, error) {
	b, err := base64.StdEncoding.DecodeString(sig.Base64)
	if err != nil || len(b) != 4+8+ed25519.SignatureSize {
		return time.Time{}, fmt.Errorf("signature of %s is not a cosignature/v1", sig.Name)
	}
	return time.Unix(int64(binary.BigEndian.Uint64(b[4:12])), 0).UTC(), nil
}

// LoadOrCreateCosigner reads the witness key from dir, creating it (named
// origin+"/witness") on first start. now is the clock of the timestamps.
func LoadOrCreateCosigner(dir, origin string, now func() time.Time) (*Cosigner, error) {
	if now == nil {
		now = time.Now
	}
	path := filepath.Join(dir, WitnessKeyFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		name := origin + "/witness"
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		c := newCosigner(name, priv, now)
		text := fmt.Sprintf("PRIVATE+KEY+%s+%08x+%s\n", name, c.hash,
			base64.StdEncoding.EncodeToString(append([]byte{typeCosignature}, priv.Seed()...)))
		if err := writeFileAtomic(filepath.Join(dir, WitnessVerifierFile), []byte(c.VerifierKey()+"\n"), 0o644); err != nil {
			return nil, err
		}
		if err := writeFileAtomic(path, []byte(text), 0o600); err != nil {
			return nil, err
		}
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the witness key: %w", err)
	}
	parts := strings.SplitN(strings.TrimSpace(string(data)), "+", 5)
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return nil, fmt.Errorf("witness key %s is not of the form PRIVATE+KEY+name+hash+key", path)
	}
	seed, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(seed) != 1+ed25519.SeedSize || seed[0] != typeCosignature {
		return nil, fmt.Errorf("witness key %s does not hold a cosignature/v1 Ed25519 key", path)
	}
	c := newCosigner(parts[2], ed25519.NewKeyFromSeed(seed[1:]), now)
	if fmt.Sprintf("%08x", c.hash) != parts[3] {
		return nil, fmt.Errorf("witness key %s: the key hash does not match", path)
	}
	return c, nil
}

func newCosigner(name string, priv ed25519.PrivateKey, now func() time.Time) *Cosigner {
	pub := priv.Public().(ed25519.PublicKey)
	return &Cosigner{name: name, priv: priv, hash: keyHash(name, typeCosignature, pub), now: now}
}

// writeFileAtomic replaces a file atomically and durably
// (private.WriteFile).
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	return private.WriteFile(path, data, perm)
}
