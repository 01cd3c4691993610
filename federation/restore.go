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
//
// rootsAt names sizes whose roots the caller wants (to compare with
// witnesses' views); they are returned by size, for sizes up to the
// checkpoint's.
func FetchLog(ctx context.Context, client *http.Client, base, logKey string, rootsAt []int64, fn func(seq int64, body []byte) error) ([]byte, plenty.Checkpoint, map[int64]tlog.Hash, error) {
	if client == nil {
		client = http.DefaultClient
	}
	f := &fetcher{client: client, base: strings.TrimSuffix(base, "/")}
	v, typ, err := NewVerifier(logKey)
	if err != nil {
		return nil, plenty.Checkpoint{}, nil, err
	}
	if typ != typeEd25519 {
		return nil, plenty.Checkpoint{}, nil, fmt.Errorf("%s is not a log key", logKey)
	}
	signed, _, err := f.get(ctx, "checkpoint")
	if err != nil {
		return nil, plenty.Checkpoint{}, nil, err
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return nil, plenty.Checkpoint{}, nil, fmt.Errorf("%s/checkpoint is not signed by %s: %v", f.base, v.Name(), err)
	}
	cp, err := plenty.ParseCheckpoint(n.Text)
	if err != nil {
		return nil, plenty.Checkpoint{}, nil, err
	}
	var frontier []tlog.Hash
	var size int64
	want := map[int64]bool{}
	for _, s := range rootsAt {
		want[s] = true
	}
	roots := map[int64]tlog.Hash{}
	rootOf := func() tlog.Hash {
		if len(frontier) == 0 {
			return tlog.Hash(sha256.Sum256(nil))
		}
		h := frontier[len(frontier)-1]
		for i := len(frontier) - 2; i >= 0; i-- {
			h = tlog.NodeHash(frontier[i], h)
		}
		return h
	}
	if want[0] {
		roots[0] = rootOf()
	}
	for size < cp.Size {
		t := tlog.Tile{H: TileHeight, L: -1, N: size / TileWidth, W: int(min(TileWidth, cp.Size-size))}
		data, _, err := f.get(ctx, TilePath(t))
		if err != nil {
			return nil, cp, nil, err
		}
		bodies, err := SplitBundle(data)
		if err != nil || len(bodies) != t.W {
			return nil, cp, nil, fmt.Errorf("entry bundle %s: want %d entries: %v", TilePath(t), t.W, err)
		}
		for _, body := range bodies {
			if err := fn(size, body); err != nil {
				return nil, cp, nil, err
			}
			frontier = append(frontier, tlog.RecordHash(body))
			for k := size; k&1 == 1; k >>= 1 {
				l := len(frontier)
				frontier[l-2] = tlog.NodeHash(frontier[l-2], frontier[l-1])
				frontier = frontier[:l-1]
			}
			size++
			if want[size] {
				roots[size] = rootOf()
			}
		}
	}
	if rootOf() != cp.Root {
		return nil, cp, nil, fmt.Errorf("the %d events served by %s do not hash to the root its checkpoint signs", cp.Size, f.base)
	}
	return signed, cp, roots, nil
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

// WitnessView is a witness's view of a log: the checkpoint it last
// cosigned, as its monitor endpoint serves it.
type WitnessView struct {
	Witness    Witness
	Checkpoint plenty.Checkpoint
	Err        error // the view could not be read or does not verify
}

// WitnessViews asks each witness (by its URL) for the checkpoint of the log
// origin it last cosigned, and checks the log's signature and the
// witness's cosignature on it.
func WitnessViews(ctx context.Context, client *http.Client, witnesses []Witness, logKey string) []WitnessView {
	if client == nil {
		client = http.DefaultClient
	}
	out := make([]WitnessView, 0, len(witnesses))
	lv, _, err := NewVerifier(logKey)
	for _, w := range witnesses {
		view := WitnessView{Witness: w}
		if err != nil {
			view.Err = err
			out = append(out, view)
			continue
		}
		f := &fetcher{client: client, base: w.URL + "/fed/v1/witness/" + OriginHash(lv.Name())}
		signed, _, ferr := f.get(ctx, "checkpoint")
		if ferr == nil {
			var n *note.Note
			if n, ferr = note.Open(signed, note.VerifierList(lv)); ferr == nil {
				view.Checkpoint, ferr = plenty.ParseCheckpoint(n.Text)
			}
			if ferr == nil {
				if _, cerr := note.Open(signed, note.VerifierList(w.Verifier)); cerr != nil {
					ferr = fmt.Errorf("no valid cosignature of %s: %v", w.Name, cerr)
				}
			}
		}
		view.Err = ferr
		out = append(out, view)
	}
	return out
}
