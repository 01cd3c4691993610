package ledger

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/private"
)

// signer holds the hub's Ed25519 key and the last checkpoint it signed.
type signer struct {
	mu       sync.Mutex
	note     note.Signer
	vkey     string
	origin   string
	lastSize int64
	lastRoot tlog.Hash
	lastNote []byte
	draw     *plenty.VRFKey
}

// loadOrCreateSigner reads the hub's signing key from dir, creating it
// (mode 0600) with its public verifier key on first start, named origin
// (or a random name when origin is empty). The key is created only in a
// folder that has never had one: when hub.key is missing but anything that
// a key signed or named is there (hub.pub, a checkpoint, the database or
// the journal, which hold signed checkpoints and the tree they sign), it
// returns a *KeyMissingError, and hub.pub is never overwritten.
func loadOrCreateSigner(dir, origin string) (*signer, error) {
	skPath := filepath.Join(dir, SignerKeyFile)
	vkPath := filepath.Join(dir, VerifierFile)
	sk, err := os.ReadFile(skPath)
	if errors.Is(err, fs.ErrNotExist) {
		if err := signedHistory(dir); err != nil {
			return nil, err
		}
		var suffix [4]byte
		if _, err := rand.Read(suffix[:]); err != nil {
			return nil, err
		}
		name := fmt.Sprintf("plenty-hub-%x", suffix)
		if origin != "" {
			name = origin
		}
		skey, vkey, err := note.GenerateKey(rand.Reader, name)
		if err != nil {
			return nil, fmt.Errorf("generate hub key: %w", err)
		}
		if err := writeFileAtomic(vkPath, []byte(vkey+"\n"), 0o644); err != nil {
			return nil, err
		}
		if err := writeFileAtomic(skPath, []byte(skey+"\n"), 0o600); err != nil {
			return nil, err
		}
		sk = []byte(skey)
	} else if err != nil {
		return nil, fmt.Errorf("read hub key: %w", err)
	}
	ns, err := note.NewSigner(strings.TrimSpace(string(sk)))
	if err != nil {
		return nil, fmt.Errorf("hub key %s is not a valid note signer key: %w", skPath, err)
	}
	vk, err := os.ReadFile(vkPath)
	if err != nil {
		return nil, fmt.Errorf("read verifier key: %w", err)
	}
	vkey := strings.TrimSpace(string(vk))
	v, err := note.NewVerifier(vkey)
	if err != nil || v.KeyHash() != ns.KeyHash() || v.Name() != ns.Name() {
		return nil, fmt.Errorf("verifier key %s does not match the hub key %s", vkPath, skPath)
	}
	seed, err := signerSeed(strings.TrimSpace(string(sk)))
	if err != nil {
		return nil, fmt.Errorf("hub key %s: %w", skPath, err)
	}
	draw, err := plenty.NewVRFKey(plenty.DrawKeySeed(seed))
	if err != nil {
		return nil, err
	}
	return &signer{note: ns, vkey: vkey, origin: ns.Name(), lastSize: -1, draw: draw}, nil
}

// signerSeed reads the Ed25519 seed of a note signer key
// ("PRIVATE+KEY+name+hash+base64(1 ‖ seed)").
func signerSeed(skey string) ([]byte, error) {
	// The name holds no "+"; the base64 key may.
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 {
		return nil, errors.New("not a note signer key")
	}
	b, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(b) != 33 || b[0] != 1 {
		return nil, errors.New("not an Ed25519 note signer key")
	}
	return b[1:], nil
}

// DrawKey returns the hub's key for the lottery's verifiable random
// function, derived from its signing key (plenty.DrawKeySeed).
func (l *Ledger) DrawKey() *plenty.VRFKey { return l.signer.draw }

// KeyMissingError is a data folder whose signing key is gone while what
// the key signed is still there. A hub that made itself a new key would
// sign checkpoints nobody can link to the ones already published, so Open
// refuses and says how to restore the key.
type KeyMissingError struct {
	Dir   string
	Found []string // what shows the folder had a key: hub.pub, checkpoint, the database, the journal
	Name  string   // the key's name, from hub.pub, when it is there
}

func (e *KeyMissingError) Error() string {
	key := filepath.Join(e.Dir, SignerKeyFile)
	named := ""
	if e.Name != "" {
		named = fmt.Sprintf(" (the key named %q in %s)", e.Name, filepath.Join(e.Dir, VerifierFile))
	}
	return fmt.Sprintf(`the hub's signing key %s is missing, but this data folder already has signed history: found %s.
The hub will not make itself a new key: the checkpoints it already signed could not be
linked to anything it signs from now on, and everyone holding them would see another hub.

To restore it, copy hub.key from your backup into %s (mode 0600): it must be the hub's
own key%s. Then start the hub again; nothing else needs to change.

If no copy of the key survives, this log cannot be continued under its identity: keep
this folder as it is (its open data still verifies with hub.pub) and start a new hub in
a new data folder, with a new identity that councils and neighbours must be told of.`,
		key, strings.Join(e.Found, ", "), e.Dir, named)
}

// signedHistory returns a *KeyMissingError when dir holds anything a
// signing key signed or named; nil for a folder that never had a key.
func signedHistory(dir string) error {
	e := &KeyMissingError{Dir: dir}
	if b, err := os.ReadFile(filepath.Join(dir, VerifierFile)); err == nil {
		e.Found = append(e.Found, VerifierFile)
		if v, err := note.NewVerifier(strings.TrimSpace(string(b))); err == nil {
			e.Name = v.Name()
		}
	}
	for _, f := range []string{CheckpointFile, DatabaseFile, JournalFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			e.Found = append(e.Found, f)
		}
	}
	if len(e.Found) == 0 {
		return nil
	}
	return e
}

// VerifierKey returns the public key that verifies the hub's checkpoints,
// in the note verifier key format ("name+hash+key").
func (l *Ledger) VerifierKey() string { return l.signer.vkey }

// Origin returns the origin line of the hub's checkpoints.
func (l *Ledger) Origin() string { return l.signer.origin }

// Checkpoint returns a signed checkpoint covering at least the events
// durable when it is called, signing a new one when the ledger has grown
// since the last. It signs only over events committed to DuckDB's tree
// table, so it first waits (at most one commit) for DuckDB to hold them. It
// never signs a tree that is not consistent with the previous checkpoint:
// it proves consistency first and fails with EINTERNAL if the proof does
// not hold.
func (l *Ledger) Checkpoint(ctx context.Context) ([]byte, error) {
	s := l.signer
	if err := l.waitCommitted(ctx, l.Size()); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	size := l.Committed()
	if size == s.lastSize {
		return s.lastNote, nil
	}
	r := l.hashReader(ctx)
	root, err := tlog.TreeHash(size, r)
	if err != nil {
		return nil, fmt.Errorf("checkpoint root at %d: %w", size, err)
	}
	if s.lastSize > 0 {
		p, err := tlog.ProveTree(size, s.lastSize, r)
		if err == nil {
			err = tlog.CheckTree(p, size, root, s.lastSize, s.lastRoot)
		}
		if err != nil {
			return nil, plenty.Errorf(plenty.EINTERNAL,
				"refusing to sign tree size %d: it is not consistent with the checkpoint at size %d: %v", size, s.lastSize, err)
		}
	}
	signed, err := note.Sign(&note.Note{Text: plenty.Checkpoint{Origin: s.origin, Size: size, Root: root}.String()}, s.note)
	if err != nil {
		return nil, fmt.Errorf("sign checkpoint: %w", err)
	}
	if _, err := l.db.ExecContext(ctx, "INSERT INTO checkpoints VALUES (?, ?, ?, ?)",
		size, root[:], string(signed), time.Now().UTC()); err != nil {
		return nil, fmt.Errorf("store checkpoint: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(l.dir, CheckpointFile), signed, 0o644); err != nil {
		return nil, err
	}
	s.lastSize, s.lastRoot, s.lastNote = size, root, signed
	return signed, nil
}

// loadLastCheckpoint reads the newest stored checkpoint, if any, and checks
// that the stored tree still has its root.
func (l *Ledger) loadLastCheckpoint(ctx context.Context) error {
	var size int64
	var root []byte
	var text string
	err := l.db.QueryRowContext(ctx,
		"SELECT size, root, note FROM checkpoints ORDER BY size DESC, signed_at DESC LIMIT 1").Scan(&size, &root, &text)
	if err != nil {
		if strings.Contains(err.Error(), "no rows") {
			return nil
		}
		return fmt.Errorf("read last checkpoint: %w", err)
	}
	if size > l.Committed() {
		return fmt.Errorf("the last signed checkpoint covers %d events but the ledger holds %d: events were lost", size, l.Committed())
	}
	got, err := tlog.TreeHash(size, l.hashReader(ctx))
	if err != nil {
		return fmt.Errorf("recompute root at checkpoint size %d: %w", size, err)
	}
	if !bytes.Equal(got[:], root) {
		return fmt.Errorf("the stored tree at size %d does not match the signed checkpoint", size)
	}
	l.signer.lastSize, l.signer.lastRoot, l.signer.lastNote = size, got, []byte(text)
	return nil
}

// writeFileAtomic replaces a file atomically and durably
// (private.WriteFile).
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	return private.WriteFile(path, data, perm)
}
