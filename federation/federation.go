package federation

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/plentyhub/plenty"
)

// HubLog is the hub's own log, as federation needs it.
type HubLog interface {
	// Checkpoint returns the hub's newest published checkpoint, signed by
	// its log key only.
	Checkpoint(ctx context.Context) ([]byte, error)
	// ConsistencyProof proves the tree of size old a prefix of the tree of
	// size size.
	ConsistencyProof(ctx context.Context, old, size int64) (tlog.TreeProof, error)
	// Record appends an event by the hub (federation.neighbours,
	// federation.evidence) and returns once it is committed.
	Record(ctx context.Context, kind string, data any) error
}

// Config sets up federation for one hub.
type Config struct {
	// Dir is the hub's data folder; mirrors go to Dir/mirrors and the
	// cosignatures of the hub's own checkpoints to Dir/cosigned.
	Dir    string
	Origin string // the hub's origin line
	LogKey string // the hub's log verifier key
	// Cosigner is the hub's witness key; never the log key.
	Cosigner *Cosigner
	// Policy is the neighbours file; nil or empty when there is none.
	Policy *Policy
	Log    HubLog
	Client *http.Client
	// PullInterval is the time between two pulls of a neighbour, and
	// between two pushes to a witness; 10 s when 0.
	PullInterval time.Duration
	// WithholdAfter is how long a neighbour may fail to serve the events
	// of a checkpoint it signed before it is recorded as withholding them;
	// 1 hour when 0.
	WithholdAfter time.Duration
	Logger        *slog.Logger
	Now           func() time.Time
}

// Federation runs a hub's side of its links: one pull loop per neighbour
// log it mirrors and witnesses, one push loop per witness of its own log,
// and the store of the cosignatures collected.
type Federation struct {
	cfg        Config
	neighbours []*Neighbour
	byHash     map[string]*Neighbour // origin hash →
	witnesses  []*witnessLink
	cosigned   *cosignatures

	ctx  context.Context // done at Close: every loop's requests end with it
	stop context.CancelFunc
	wg   sync.WaitGroup
}

// Open opens the mirrors of every neighbour in cfg.Policy; Start runs the
// loops.
func Open(cfg Config) (*Federation, error) {
	if cfg.PullInterval <= 0 {
		cfg.PullInterval = 10 * time.Second
	}
	if cfg.WithholdAfter <= 0 {
		cfg.WithholdAfter = time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Policy == nil {
		cfg.Policy = &Policy{}
	}
	f := &Federation{
		cfg:      cfg,
		byHash:   map[string]*Neighbour{},
		cosigned: &cosignatures{dir: filepath.Join(cfg.Dir, "cosigned")},
	}
	f.ctx, f.stop = context.WithCancel(context.Background())
	for _, l := range cfg.Policy.Logs {
		if l.Origin == cfg.Origin {
			return nil, fmt.Errorf("neighbours: the log %s is this hub's own", l.Key)
		}
		if l.URL == "" {
			return nil, fmt.Errorf("neighbours: the log %s has no URL to mirror it from", l.Origin)
		}
		m, err := openMirror(filepath.Join(cfg.Dir, "mirrors", OriginHash(l.Origin)), l.Origin)
		if err != nil {
			f.Close()
			return nil, err
		}
		n := &Neighbour{
			f: f, log: l, m: m, wake: make(chan struct{}, 1),
			fetch: &fetcher{client: cfg.Client, base: l.URL + "/open"},
		}
		n.st.status, n.st.w = StatusPending, m.w
		if m.w.Size > 0 {
			n.st.status = StatusOK
		}
		m.onSwap = func(w Witnessed) {
			n.stMu.Lock()
			n.st.w = w
			n.stMu.Unlock()
		}
		f.neighbours = append(f.neighbours, n)
		f.byHash[OriginHash(l.Origin)] = n
	}
	for _, w := range cfg.Policy.Witnesses {
		if w.URL == "" {
			return nil, fmt.Errorf("neighbours: the witness %s has no URL to push checkpoints to", w.Name)
		}
		f.witnesses = append(f.witnesses, &witnessLink{f: f, w: w, status: StatusPending})
	}
	return f, nil
}

// Start runs the loops until Close.
func (f *Federation) Start() {
	for _, n := range f.neighbours {
		f.wg.Add(1)
		go func() { defer f.wg.Done(); f.every(n.wake, n.round) }()
	}
	for _, w := range f.witnesses {
		f.wg.Add(1)
		go func() { defer f.wg.Done(); f.every(nil, w.round) }()
	}
}

// every runs do at once, then each PullInterval after a run ends or
// whenever wake fires, until Close.
func (f *Federation) every(wake <-chan struct{}, do func(context.Context)) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-f.ctx.Done():
			return
		case <-t.C:
		case <-wake:
		}
		do(f.ctx)
		t.Reset(f.cfg.PullInterval)
	}
}

// Close stops the loops and closes the mirrors.
func (f *Federation) Close() {
	f.stop()
	f.wg.Wait()
	for _, n := range f.neighbours {
		n.mu.Lock()
		n.m.close()
		n.mu.Unlock()
	}
}

// Policy returns the neighbours file in force.
func (f *Federation) Policy() *Policy { return f.cfg.Policy }

// WitnessKey returns the hub's witness verifier key.
func (f *Federation) WitnessKey() string { return f.cfg.Cosigner.VerifierKey() }

// Neighbour returns the neighbour whose origin hashes to hash.
func (f *Federation) Neighbour(hash string) (*Neighbour, bool) {
	n, ok := f.byHash[hash]
	return n, ok
}

// Neighbours returns the neighbours in the order of the file.
func (f *Federation) Neighbours() []*Neighbour { return f.neighbours }

// AddCheckpoint answers a tlog-witness add-checkpoint request: the
// cosignature lines, or a *WitnessError carrying the status to answer.
func (f *Federation) AddCheckpoint(ctx context.Context, body []byte) ([]byte, error) {
	req, err := ParseAddCheckpoint(body)
	if err != nil {
		return nil, witnessErr(400, "%v", err)
	}
	origin, _, _ := bytes.Cut(req.Checkpoint, []byte("\n"))
	n, ok := f.byHash[OriginHash(string(origin))]
	if !ok {
		return nil, witnessErr(404, "this hub does not witness the log %q: it is not a `log` line of its neighbours file", origin)
	}
	n.stMu.Lock()
	unlisted := n.st.unlisted
	n.stMu.Unlock()
	if unlisted {
		return nil, witnessErr(404, "%s does not list this hub as a witness in its neighbours file: the link is not active", n.log.Origin)
	}
	return n.advance(ctx, req.Checkpoint, req)
}

// Cosigned returns the hub's own signed checkpoint with every cosignature
// collected for its body added; signed itself when there are none.
func (f *Federation) Cosigned(signed []byte) []byte {
	return f.cosigned.merged(signed)
}

// WitnessStatus is what GET /fed/v1/neighbours shows of a witness of this
// hub's log.
type WitnessStatus struct {
	Name       string     `json:"name"`
	URL        string     `json:"url"`
	Witness    string     `json:"witness"`
	Size       int64      `json:"size"`
	Status     string     `json:"status"`
	Error      string     `json:"error,omitempty"`
	CosignedAt *time.Time `json:"cosigned_at,omitempty"`
}

// Witnesses returns the status of every witness of this hub.
func (f *Federation) Witnesses() []WitnessStatus {
	out := make([]WitnessStatus, 0, len(f.witnesses))
	for _, w := range f.witnesses {
		w.mu.Lock()
		s := WitnessStatus{Name: w.w.Name, URL: w.w.URL, Witness: w.w.Key, Size: w.size, Status: w.status, Error: w.err}
		if !w.at.IsZero() {
			t := w.at
			s.CosignedAt = &t
		}
		w.mu.Unlock()
		out = append(out, s)
	}
	return out
}

// cosignatures keeps, per tree size of the hub's own log, its signed
// checkpoint with every cosignature collected, in Dir/cosigned/SIZE.
type cosignatures struct {
	dir string
	mu  sync.Mutex
}

// add merges the cosignature lines into the stored note of signed's size.
func (c *cosignatures) add(size int64, signed, lines []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(c.dir, strconv.FormatInt(size, 10))
	base := signed
	if old, err := os.ReadFile(path); err == nil && sameText(old, signed) {
		base = old
	}
	merged := mergeSignatures(base, lines)
	return writeFileAtomic(path, merged, 0o644)
}

// merged returns signed with the stored cosignatures of its body.
func (c *cosignatures) merged(signed []byte) []byte {
	text, _, ok := splitNote(signed)
	if !ok {
		return signed
	}
	cp, err := plenty.ParseCheckpoint(string(text))
	if err != nil {
		return signed
	}
	c.mu.Lock()
	stored, err := os.ReadFile(filepath.Join(c.dir, strconv.FormatInt(cp.Size, 10)))
	c.mu.Unlock()
	if err != nil || !sameText(stored, signed) {
		return signed
	}
	_, sigs, _ := splitNote(stored)
	return mergeSignatures(signed, sigs)
}

// Stored returns the stored cosigned note of the hub's checkpoint at size.
func (f *Federation) Stored(size int64) ([]byte, bool) {
	data, err := os.ReadFile(filepath.Join(f.cosigned.dir, strconv.FormatInt(size, 10)))
	return data, err == nil
}

// splitNote splits a signed note into its text (ending in a newline) and
// its signature lines.
func splitNote(signed []byte) (text, sigs []byte, ok bool) {
	i := bytes.LastIndex(signed, []byte("\n\n"))
	if i < 0 {
		return nil, nil, false
	}
	return signed[:i+1], signed[i+2:], true
}

func sameText(a, b []byte) bool {
	ta, _, ok1 := splitNote(a)
	tb, _, ok2 := splitNote(b)
	return ok1 && ok2 && bytes.Equal(ta, tb)
}

// mergeSignatures adds the signature lines to signed, keeping one line per
// key (the one added last).
func mergeSignatures(signed, lines []byte) []byte {
	text, sigs, ok := splitNote(signed)
	if !ok {
		return signed
	}
	type entry struct {
		key  string
		line []byte
	}
	var out []entry
	add := func(block []byte) {
		for _, l := range bytes.SplitAfter(block, []byte("\n")) {
			if len(l) == 0 || !bytes.HasPrefix(l, []byte("— ")) || l[len(l)-1] != '\n' {
				continue
			}
			key := sigKey(l)
			replaced := false
			for i := range out {
				if out[i].key == key {
					out[i].line, replaced = l, true
				}
			}
			if !replaced {
				out = append(out, entry{key, l})
			}
		}
	}
	add(sigs)
	add(lines)
	var b bytes.Buffer
	b.Write(text)
	b.WriteByte('\n')
	for _, e := range out {
		b.Write(e.line)
	}
	return b.Bytes()
}

// sigKey names the key of a signature line: its name and key ID.
func sigKey(line []byte) string {
	f := bytes.Fields(bytes.TrimPrefix(line, []byte("— ")))
	if len(f) != 2 {
		return string(line)
	}
	sig, err := base64.StdEncoding.DecodeString(string(f[1]))
	if err != nil || len(sig) < 4 {
		return string(line)
	}
	return string(f[0]) + "+" + strconv.FormatUint(uint64(binary.BigEndian.Uint32(sig)), 16)
}

// signatureLine returns the signature line of the only signature of a
// note signed by note.Sign.
func signatureLine(signed []byte) []byte {
	_, sigs, _ := splitNote(signed)
	return sigs
}

// cosign signs the checkpoint text with the witness key and returns the
// signature line.
func (f *Federation) cosign(text string) ([]byte, error) {
	signed, err := note.Sign(&note.Note{Text: text}, f.cfg.Cosigner)
	if err != nil {
		return nil, err
	}
	return signatureLine(signed), nil
}
