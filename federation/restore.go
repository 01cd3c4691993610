package federation

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/plentyhub/plenty"
)

// FetchLog reads a log served under base (a hub's /open or a mirror's
// .../open): its checkpoint, which must be signed by logKey, then every
// entry bundle up to its size, calling fn with each event body in order.
// It returns the signed checkpoint once the bodies hash to its root; fn
// may have been called with bodies of a log that then fails that check,
// so the caller keeps them only when FetchLog returns no error.
func FetchLog(ctx context.Context, client *http.Client, base, logKey string, fn func(seq int64, body []byte) error) ([]byte, plenty.Checkpoint, error) {
	if client == nil {
		client = http.DefaultClient
	}
	f := &fetcher{client: client, base: strings.TrimSuffix(base, "/")}
	v, typ, err := NewVerifier(logKey)
	if err != nil {
		return nil, plenty.Checkpoint{}, err
	}
	if typ != typeEd25519 {
		return nil, plenty.Checkpoint{}, fmt.Errorf("%s is not a log key", logKey)
	}
	signed, _, err := f.get(ctx, "checkpoint")
	if err != nil {
		return nil, plenty.Checkpoint{}, err
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return nil, plenty.Checkpoint{}, fmt.Errorf("%s/checkpoint is not signed by %s: %v", f.base, v.Name(), err)
	}
	cp, err := plenty.ParseCheckpoint(n.Text)
	if err != nil {
		return nil, plenty.Checkpoint{}, err
	}
	var frontier []tlog.Hash
	var size int64
	for size < cp.Size {
		t := tlog.Tile{H: TileHeight, L: -1, N: size / TileWidth, W: int(min(TileWidth, cp.Size-size))}
		data, _, err := f.get(ctx, TilePath(t))
		if err != nil {
			return nil, cp, err
		}
		bodies, err := SplitBundle(data)
		if err != nil || len(bodies) != t.W {
			return nil, cp, fmt.Errorf("entry bundle %s: want %d entries: %v", TilePath(t), t.W, err)
		}
		for _, body := range bodies {
			if err := fn(size, body); err != nil {
				return nil, cp, err
			}
			frontier = append(frontier, tlog.RecordHash(body))
			for k := size; k&1 == 1; k >>= 1 {
				l := len(frontier)
				frontier[l-2] = tlog.NodeHash(frontier[l-2], frontier[l-1])
				frontier = frontier[:l-1]
			}
			size++
		}
	}
	root := tlog.Hash(sha256.Sum256(nil))
	if len(frontier) > 0 {
		root = frontier[len(frontier)-1]
		for i := len(frontier) - 2; i >= 0; i-- {
			root = tlog.NodeHash(frontier[i], root)
		}
	}
	if root != cp.Root {
		return nil, cp, fmt.Errorf("the %d events served by %s do not hash to the root its checkpoint signs", cp.Size, f.base)
	}
	return signed, cp, nil
}

// KeepCosigned stores a cosigned checkpoint of the hub's own log in its
// data folder, as the witnesses' answers are stored, so that the hub
// serves its cosignatures at once (used when it is rebuilt from a mirror).
func KeepCosigned(dir string, signed []byte) error {
	text, _, ok := splitNote(signed)
	if !ok {
		return fmt.Errorf("not a signed note")
	}
	cp, err := plenty.ParseCheckpoint(string(text))
	if err != nil {
		return err
	}
	c := &cosignatures{dir: filepath.Join(dir, "cosigned")}
	return c.add(cp.Size, signed, nil)
}
