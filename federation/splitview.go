package federation

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/plentyhub/plenty"
)

// comparePeers fetches the other witnesses' views of the neighbour (their
// monitor checkpoints) and checks each for consistency with this
// witness's own: a split view is recorded as evidence.
func (n *Neighbour) comparePeers(ctx context.Context, theirs *Policy) {
	f := n.f
	seen := map[string]bool{}
	var urls []string
	add := func(u string) {
		if u != "" && u != n.log.URL && !seen[u] {
			seen[u] = true
			urls = append(urls, u)
		}
	}
	for _, w := range theirs.Witnesses {
		if w.Key != f.cfg.Cosigner.VerifierKey() {
			add(w.URL)
		}
	}
	for _, l := range f.cfg.Policy.Logs {
		add(l.URL)
	}
	for _, w := range f.cfg.Policy.Witnesses {
		add(w.URL)
	}
	hash := OriginHash(n.log.Origin)
	for _, u := range urls {
		peer := &fetcher{client: f.cfg.Client, base: u + "/fed/v1/witness/" + hash}
		signed, code, err := peer.get(ctx, "checkpoint")
		if err != nil {
			if code != 404 && !errors.Is(err, context.Canceled) {
				f.cfg.Logger.Info("federation: a peer's view could not be read", "origin", n.log.Origin, "peer", u, "err", err)
			}
			continue
		}
		if err := n.compareView(ctx, u, signed); err != nil {
			f.cfg.Logger.Info("federation: a peer's view could not be compared", "origin", n.log.Origin, "peer", u, "err", err)
		}
	}
}

// compareView checks one peer's view of the neighbour against ours.
func (n *Neighbour) compareView(ctx context.Context, peerURL string, signed []byte) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(signed) > MaxCheckpoint {
		return fmt.Errorf("the checkpoint is larger than %d bytes", MaxCheckpoint)
	}
	nt, err := note.Open(signed, note.VerifierList(n.log.Verifier))
	if err != nil {
		return fmt.Errorf("not signed by %s's log key: %v", n.log.Origin, err)
	}
	cp, err := plenty.ParseCheckpoint(nt.Text)
	if err != nil || cp.Origin != n.log.Origin {
		return fmt.Errorf("not a checkpoint of %s", n.log.Origin)
	}
	m := n.m
	w := m.w
	if w.Halt != nil || w.Size == 0 {
		return nil
	}
	var consistent bool
	if cp.Size <= w.Size {
		h, err := tlog.TreeHash(cp.Size, tlog.HashReaderFunc(m.ReadHashes))
		if err != nil {
			return err
		}
		consistent = h == cp.Root
	} else {
		mirror := &fetcher{client: n.f.cfg.Client, base: peerURL + "/fed/v1/mirror/" + OriginHash(n.log.Origin) + "/open"}
		hr := tlog.TileHashReader(tlog.Tree{N: cp.Size, Hash: cp.Root}, newTileReader(ctx, mirror))
		h, err := tlog.TreeHash(w.Size, hr)
		if err != nil {
			return fmt.Errorf("reading the peer's mirror: %v", err)
		}
		consistent = bytes.Equal(h[:], w.Root)
	}
	if consistent {
		return nil
	}
	n.halt(ctx, plenty.EvidenceSplitView, fmt.Sprintf("showed the witness at %s a tree of size %d that is not consistent with the tree of size %d witnessed here", peerURL, cp.Size, w.Size), signed)
	return nil
}
