package hub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/exports"
	"github.com/plentyhub/plenty/federation"
)

// FedConfig turns on federation (see Federate).
type FedConfig struct {
	// Neighbours is the neighbours file; nil for none.
	Neighbours *federation.Policy
	// PullInterval and WithholdAfter tune the loops (federation.Config).
	PullInterval  time.Duration
	WithholdAfter time.Duration
}

// neighboursRecorded is the file that remembers the neighbours last
// recorded in the log, so that a restart with the same file records no
// event.
const neighboursRecorded = "neighbours.recorded.json"

// Federate makes the hub's witness key on first start, records the
// neighbours in the log when they changed since the last record, and opens
// the mirrors; Serve starts the loops. Without it the /fed/v1 routes answer
// 404.
func (s *Server) Federate(ctx context.Context, cfg FedConfig) error {
	dir := s.ledger.Dir()
	cos, err := federation.LoadOrCreateCosigner(dir, s.ledger.Origin(), s.cfg.Now)
	if err != nil {
		return err
	}
	policy := cfg.Neighbours
	if policy == nil {
		policy = &federation.Policy{}
	}
	if err := s.recordNeighbours(ctx, policy); err != nil {
		return err
	}
	f, err := federation.Open(federation.Config{
		Dir: dir, Origin: s.ledger.Origin(), LogKey: s.ledger.VerifierKey(),
		Cosigner: cos, Policy: policy, Log: fedLog{s},
		PullInterval: cfg.PullInterval, WithholdAfter: cfg.WithholdAfter,
		Logger: s.log, Now: s.cfg.Now,
	})
	if err != nil {
		return err
	}
	s.fed = f
	return nil
}

// recordNeighbours appends a federation.neighbours event when the
// neighbours differ from the ones last recorded.
func (s *Server) recordNeighbours(ctx context.Context, p *federation.Policy) error {
	want, err := plenty.CanonicalJSON(p.Neighbours())
	if err != nil {
		return err
	}
	path := filepath.Join(s.ledger.Dir(), neighboursRecorded)
	last, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if errors.Is(err, os.ErrNotExist) {
		// No record of the last one (a restored or an older data folder):
		// the log itself says.
		last = nil
		if err := s.ledger.Events(ctx, 0, s.ledger.Size(), func(ev plenty.Event) error {
			if ev.Kind == plenty.KindFederationNeighbours {
				last = ev.Data
			}
			return nil
		}); err != nil {
			return err
		}
		if last == nil && len(p.Logs)+len(p.Witnesses) == 0 {
			// Never federated, and still not: remember that, so that the
			// next start does not read the whole log again.
			last = want
		}
	}
	if !bytes.Equal(last, want) {
		if _, _, err := s.write(ctx, plenty.KindFederationNeighbours, plenty.ActorHub, p.Neighbours()); err != nil {
			return fmt.Errorf("record the neighbours in the log: %w", err)
		}
	}
	// Synced before the rename: a torn record would record the same
	// neighbours again.
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(want)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// fedLog is the hub's log as federation sees it.
type fedLog struct{ s *Server }

// Checkpoint returns the checkpoint of the latest open-data snapshot, so
// that the cosignatures collected are for the checkpoint /open serves.
func (l fedLog) Checkpoint(ctx context.Context) ([]byte, error) {
	dir, _, err := l.s.latestSnapshot(ctx)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(filepath.Join(dir, exports.CheckpointFile))
}

func (l fedLog) ConsistencyProof(ctx context.Context, old, size int64) (tlog.TreeProof, error) {
	return l.s.ledger.ConsistencyProof(ctx, old, size)
}

func (l fedLog) Record(ctx context.Context, kind string, data any) error {
	_, _, err := l.s.write(ctx, kind, plenty.ActorHub, data)
	return err
}

// fedRoutes lays out /fed/v1 and the federation files under /open.
func (s *Server) fedRoutes() {
	fed := s.app.Group("/fed/v1", s.needFederation)
	fed.Get("/keys", s.getFedKeys)
	fed.Post("/add-checkpoint", s.addCheckpoint)
	fed.Get("/neighbours", s.getNeighbours)
	fed.Get("/witness/:hash/checkpoint", s.getWitnessed)
	fed.Get("/mirror/:hash/open/tile/*", s.getMirrorTile)
	fed.Get("/mirror/:hash/open/:name", s.getMirrorFile)
	fed.Get("/mirror/:hash/open/:table/:format/:part", s.getMirrorPart)

	s.app.Get("/open/tile/*", s.getTile)
	s.app.Get("/open/neighbours", s.needFederation, s.getOpenNeighbours)
}

func (s *Server) needFederation(c *fiber.Ctx) error {
	if s.fed == nil {
		return plenty.Errorf(plenty.ENOTFOUND, "this hub does not federate")
	}
	return c.Next()
}

// FedKeys is the answer of GET /fed/v1/keys.
type FedKeys struct {
	Origin  string `json:"origin"`
	Log     string `json:"log"`
	Witness string `json:"witness"`
}

func (s *Server) getFedKeys(c *fiber.Ctx) error {
	return c.JSON(FedKeys{Origin: s.ledger.Origin(), Log: s.ledger.VerifierKey(), Witness: s.fed.WitnessKey()})
}

// addCheckpoint is the tlog-witness endpoint: 200 with the cosignature
// line, or the protocol's status with a plain-text reason (409 with the
// witnessed size as text/x.tlog.size).
func (s *Server) addCheckpoint(c *fiber.Ctx) error {
	line, err := s.fed.AddCheckpoint(c.UserContext(), c.Body())
	var we *federation.WitnessError
	switch {
	case errors.As(err, &we) && we.Status == fiber.StatusConflict:
		c.Set(fiber.HeaderContentType, "text/x.tlog.size")
		return c.Status(we.Status).SendString(fmt.Sprintf("%d\n", we.Size))
	case errors.As(err, &we):
		c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
		return c.Status(we.Status).SendString(we.Msg + "\n")
	case err != nil:
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
	return c.Send(line)
}

// NeighbourStatus is one neighbour in GET /fed/v1/neighbours, with the base
// URL of this hub's mirror of it.
type NeighbourStatus struct {
	federation.NeighbourStatus
	Mirror string `json:"mirror"`
}

// Neighbours is the answer of GET /fed/v1/neighbours.
type Neighbours struct {
	Neighbours []NeighbourStatus          `json:"neighbours"`
	Witnesses  []federation.WitnessStatus `json:"witnesses"`
}

func (s *Server) neighbours(base string) Neighbours {
	out := Neighbours{Neighbours: []NeighbourStatus{}, Witnesses: s.fed.Witnesses()}
	for _, n := range s.fed.Neighbours() {
		out.Neighbours = append(out.Neighbours, NeighbourStatus{
			NeighbourStatus: n.Status(),
			Mirror:          base + "/fed/v1/mirror/" + federation.OriginHash(n.Origin()),
		})
	}
	return out
}

func (s *Server) getNeighbours(c *fiber.Ctx) error {
	return c.JSON(s.neighbours(c.BaseURL()))
}

func (s *Server) getOpenNeighbours(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "public, no-cache")
	return c.SendString(s.fed.Policy().String())
}

func (s *Server) neighbour(c *fiber.Ctx) (*federation.Neighbour, error) {
	n, ok := s.fed.Neighbour(c.Params("hash"))
	if !ok {
		return nil, plenty.Errorf(plenty.ENOTFOUND, "this hub does not mirror a log whose origin hashes to %q; see /fed/v1/neighbours", c.Params("hash"))
	}
	return n, nil
}

// getWitnessed is tlog-witness's monitor retrieval: the neighbour's
// checkpoint this hub last cosigned, with its cosignature.
func (s *Server) getWitnessed(c *fiber.Ctx) error {
	n, err := s.neighbour(c)
	if err != nil {
		return err
	}
	w := n.Witnessed()
	if w.Note == "" {
		return plenty.Errorf(plenty.ENOTFOUND, "this hub has not cosigned a checkpoint of %s yet", n.Origin())
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "public, no-cache")
	return c.SendString(w.Note)
}

// getTile serves the hub's own log as C2SP tiles and entry bundles.
func (s *Server) getTile(c *fiber.Ctx) error {
	ctx := c.UserContext()
	size := s.ledger.Size()
	return sendTile(c, "tile/"+c.Params("*"), size, s.ledger.HashReader(ctx),
		func(from, to int64, fn func([]byte) error) error {
			return s.ledger.Events(ctx, from, to, func(ev plenty.Event) error { return fn(ev.Body) })
		})
}

// sendTile answers one tile or entry bundle of a log of the given size.
func sendTile(c *fiber.Ctx, path string, size int64, hr tlog.HashReader, entries func(from, to int64, fn func([]byte) error) error) error {
	t, err := federation.ParseTilePath(path)
	if err != nil {
		return plenty.Errorf(plenty.ENOTFOUND, "%v", err)
	}
	var data []byte
	if t.L == -1 {
		from, to, err := federation.BundleRange(t, size)
		if err != nil {
			return plenty.Errorf(plenty.ENOTFOUND, "%v", err)
		}
		if err := entries(from, to, func(body []byte) error {
			data, err = federation.AppendBundleEntry(data, body)
			return err
		}); err != nil {
			return err
		}
	} else if data, err = federation.TileData(t, size, hr); err != nil {
		return plenty.Errorf(plenty.ENOTFOUND, "%v", err)
	}
	c.Set(fiber.HeaderContentType, "application/octet-stream")
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	return c.Send(data)
}

// getMirrorTile serves a neighbour's mirrored log as tiles.
func (s *Server) getMirrorTile(c *fiber.Ctx) error {
	n, err := s.neighbour(c)
	if err != nil {
		return err
	}
	return n.Read(func(v federation.MirrorView) error {
		return sendTile(c, "tile/"+c.Params("*"), v.Witnessed().Size, v.HashReader(),
			func(from, to int64, fn func([]byte) error) error {
				return v.Entries(from, to, func(_ int64, body []byte) error { return fn(body) })
			})
	})
}

// getMirrorFile serves a neighbour's mirrored log as the hub serves its
// own /open: the cosigned checkpoint, the neighbour's key, and the open
// data files of a snapshot of the mirror.
func (s *Server) getMirrorFile(c *fiber.Ctx) error {
	n, err := s.neighbour(c)
	if err != nil {
		return err
	}
	name := c.Params("name")
	if name == exports.KeyFile {
		c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
		return c.SendString(n.Key() + "\n")
	}
	mt, ok := openMediaType(name)
	if !ok {
		return plenty.Errorf(plenty.ENOTFOUND, "no open data file %q", name)
	}
	dir, err := s.mirrorSnapshot(c.UserContext(), n)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "public, no-cache")
	return s.sendOpenFile(c, dir, name, mt)
}

// mirrors writes the open-data snapshots of the neighbours' mirrors, one
// at a time, on a goroutine of its own: a request for a mirror's files
// wakes it and serves the snapshot there is, or waits for the first.
type mirrors struct {
	start     sync.Once
	mu        sync.Mutex
	wanted    map[string]*federation.Neighbour // by origin hash, to look at
	lastErr   map[string]error                 // of the last attempt, by origin hash
	published chan struct{}                    // closed and replaced after each attempt
	wake      chan struct{}                    // buffered, size 1
}

func newMirrors() *mirrors {
	return &mirrors{wanted: map[string]*federation.Neighbour{}, lastErr: map[string]error{},
		published: make(chan struct{}), wake: make(chan struct{}, 1)}
}

// mirrorRoot is the folder of a neighbour's mirrored open data.
func (s *Server) mirrorRoot(n *federation.Neighbour) string {
	return filepath.Join(s.ledger.Dir(), "mirrors", federation.OriginHash(n.Origin()), "open")
}

func (s *Server) runMirrors(stop <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-stop; cancel() }()
	m := s.mirrors
	for {
		select {
		case <-stop:
			return
		case <-m.wake:
		}
		m.mu.Lock()
		wanted := m.wanted
		m.wanted = map[string]*federation.Neighbour{}
		m.mu.Unlock()
		for hash, n := range wanted {
			err := s.writeMirrorSnapshot(ctx, n)
			if err != nil && ctx.Err() == nil {
				s.log.Error("federation: writing a mirror's snapshot failed", "origin", n.Origin(), "err", err)
			}
			m.mu.Lock()
			m.lastErr[hash] = err
			m.mu.Unlock()
		}
		m.mu.Lock()
		close(m.published)
		m.published = make(chan struct{})
		m.mu.Unlock()
	}
}

// writeMirrorSnapshot writes a snapshot of a mirror when it has grown past
// the newest one. A mirror has no projection documents: the tables come
// from a replay of its events.
func (s *Server) writeMirrorSnapshot(ctx context.Context, n *federation.Neighbour) error {
	return n.Read(func(v federation.MirrorView) error {
		w := v.Witnessed()
		root := s.mirrorRoot(n)
		if _, size, err := exports.Latest(root); w.Size == 0 || (err == nil && size >= w.Size) {
			return nil
		}
		snap, err := exports.Write(ctx, root, v.Events, []byte(w.Note), n.Key(), nil)
		if err != nil && snap == nil {
			return err
		}
		return nil
	})
}

// mirrorSnapshot returns the folder of the newest open-data snapshot of a
// mirror, as fresh as what this hub witnessed. It never writes one: when
// the mirror has grown past the newest, it wakes the mirrors' writer and
// waits for it (serving the older one if that takes too long).
func (s *Server) mirrorSnapshot(ctx context.Context, n *federation.Neighbour) (string, error) {
	m := s.mirrors
	m.start.Do(func() {
		s.loops.done.Add(1)
		go func() {
			defer s.loops.done.Done()
			s.runMirrors(s.loops.stop)
		}()
	})
	hash := federation.OriginHash(n.Origin())
	deadline := time.After(firstSnapshotWait)
	for {
		var witnessed int64
		n.Read(func(v federation.MirrorView) error { witnessed = v.Witnessed().Size; return nil })
		if witnessed == 0 {
			return "", plenty.Errorf(plenty.ENOTFOUND, "this hub has not mirrored %s yet", n.Origin())
		}
		m.mu.Lock()
		published, lastErr := m.published, m.lastErr[hash]
		m.mu.Unlock()
		dir, size, err := exports.Latest(s.mirrorRoot(n))
		if err != nil && plenty.ErrorCode(err) != plenty.ENOTFOUND {
			return "", err
		}
		found := err == nil
		if found && size >= witnessed {
			return dir, nil
		}
		m.mu.Lock()
		m.wanted[hash] = n
		m.mu.Unlock()
		select {
		case m.wake <- struct{}{}:
		default:
		}
		if lastErr != nil {
			// The last attempt failed: the writer tries again, but this
			// request does not wait for it.
			if found {
				return dir, nil
			}
			return "", lastErr
		}
		select {
		case <-published:
		case <-ctx.Done():
			return "", ctx.Err()
		case <-s.loops.stop:
			return "", plenty.Errorf(plenty.EUNAVAILABLE, "the hub is shutting down")
		case <-deadline:
			if found {
				return dir, nil
			}
			return "", plenty.Errorf(plenty.EUNAVAILABLE, "the mirror's open-data snapshot is still being written; try again shortly")
		}
	}
}

// getMirrorPart serves a part file of the events of a mirror's snapshot.
func (s *Server) getMirrorPart(c *fiber.Ctx) error {
	n, err := s.neighbour(c)
	if err != nil {
		return err
	}
	if !exports.Partitioned(c.Params("table")) {
		return c.Next()
	}
	name, mt, err := partName(c)
	if err != nil {
		return err
	}
	dir, err := s.mirrorSnapshot(c.UserContext(), n)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "public, no-cache")
	return s.sendOpenFile(c, dir, name, mt)
}

// sendCosigned answers /open/checkpoint and /open/{size}/checkpoint: the
// snapshot's signed checkpoint with every cosignature collected for it.
func (s *Server) sendCosigned(c *fiber.Ctx, cosigned []byte) error {
	c.Set(fiber.HeaderContentType, "text/plain; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "public, no-cache")
	return c.Send(cosigned)
}

// cosignedCheckpoint returns the stored checkpoint of a snapshot folder or
// of a size, cosigned; ok is false when federation is off or nothing is
// stored.
func (s *Server) cosignedCheckpoint(dir string, size int64) ([]byte, bool) {
	if s.fed == nil {
		return nil, false
	}
	if signed, err := os.ReadFile(filepath.Join(dir, exports.CheckpointFile)); err == nil {
		return s.fed.Cosigned(signed), true
	}
	if stored, ok := s.fed.Stored(size); ok {
		return stored, true
	}
	return nil, false
}
