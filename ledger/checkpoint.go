package ledger

import (
	"bytes"
	"context"
	"crypto/rand"
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
}

// loadOrCreateSigner reads the hub's signing key from dir, creating it
// (mode 0600) with its public verifier key on first start, named origin
// (or a random name when origin is empty).
func loadOrCreateSigner(dir, origin string) (*signer, error) {
	skPath := filepath.Join(dir, SignerKeyFile)
	vkPath := filepath.Join(dir, VerifierFile)
	sk, err := os.ReadFile(skPath)
	if errors.Is(err, fs.ErrNotExist) {
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
	return &signer{note: ns, vkey: vkey, origin: ns.Name(), lastSize: -1}, nil
}

// VerifierKey returns the public key that verifies the hub's checkpoints,
// in the note verifier key format ("name+hash+key").
func (l *Ledger) VerifierKey() string { return l.signer.vkey }

// Origin returns the origin line of the hub's checkpoints.
func (l *Ledger) Origin() string { return l.signer.origin }

// Checkpoint returns a signed checkpoint covering the ledger's current
// size, signing a new one when the ledger has grown since the last. It
// never signs a tree that is not consistent with the previous checkpoint:
// it proves consistency first and fails with EINTERNAL if the proof does
// not hold.
func (l *Ledger) Checkpoint(ctx context.Context) ([]byte, error) {
	s := l.signer
	s.mu.Lock()
	defer s.mu.Unlock()
	size := l.Size()
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
	if size > l.Size() {
		return fmt.Errorf("the last signed checkpoint covers %d events but the ledger holds %d: events were lost", size, l.Size())
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

// writeFileAtomic writes data to path through a synced temporary file in
// the same folder, renamed into place, and syncs the folder.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
