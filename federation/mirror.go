package federation

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/plentyhub/plenty"
)

// OriginHash names a log in paths: the lowercase hex SHA-256 of its origin
// line, as tlog-witness's monitor retrieval spells it.
func OriginHash(origin string) string {
	h := sha256.Sum256([]byte(origin))
	return hex.EncodeToString(h[:])
}

// Files of a mirror folder, DATA/mirrors/<origin hash>/.
const (
	mirrorEntries   = "entries"        // uint32 length-prefixed event bodies
	mirrorIndex     = "index"          // int64 offset of each entry in entries
	mirrorHashes    = "hashes"         // the tree's stored hashes, tlog.StoredHashIndex order
	mirrorWitnessed = "witnessed.json" // the witnessed state, replaced atomically
	mirrorCosigned  = "cosigned.jsonl" // every checkpoint cosigned, one JSON line each, appended
)

// Witnessed is the durable state of a witness for one log: the largest
// consistent checkpoint it has verified, mirrored and cosigned. It is
// written temp+fsync+rename only after the entries up to Size are synced,
// and only by a compare-and-swap from the size it replaces.
type Witnessed struct {
	Origin string `json:"origin"`
	Size   int64  `json:"size"`
	Root   []byte `json:"root"`
	// Note is the log's signed checkpoint at Size with this witness's
	// cosignature added; empty before the first.
	Note       string    `json:"note"`
	CosignedAt time.Time `json:"cosigned_at"`
	// Halt is set when evidence against the log was recorded: the witness
	// no longer cosigns it until an operator acts.
	Halt *Halt `json:"halt,omitempty"`
}

// Halt is why a witness stopped cosigning a log.
type Halt struct {
	Kind    string    `json:"kind"` // an evidence kind: fork, rollback, withholding, split-view
	Message string    `json:"message"`
	Notes   []string  `json:"notes"`
	At      time.Time `json:"at"`
}

// mirror is the durable copy of one neighbour's log: its entries, its
// tree's stored hashes and the witnessed state, plus the fold of the
// entries in memory. Its methods are not safe for concurrent use; the
// neighbour that owns it serialises them.
type mirror struct {
	dir     string
	entries *os.File
	index   *os.File
	hashes  *os.File

	size     int64         // entries stored
	end      int64         // size of the entries file
	frontier []tlog.Hash   // roots of the complete subtrees of the stored tree, largest first
	state    *plenty.State // the fold of the stored entries; nil until replay
	w        Witnessed
	// onSwap is told every new witnessed state, so that readers need not
	// wait for a catch-up in progress.
	onSwap func(Witnessed)
}

// openMirror opens or creates the mirror in dir. Entries stored beyond the
// witnessed size (by a catch-up that did not finish) are cut off, and the
// stored entries are replayed through the fold.
func openMirror(dir, origin string) (*mirror, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	m := &mirror{dir: dir, w: Witnessed{Origin: origin}}
	data, err := os.ReadFile(filepath.Join(dir, mirrorWitnessed))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		if err := json.Unmarshal(data, &m.w); err != nil {
			return nil, fmt.Errorf("mirror %s: %s: %v", dir, mirrorWitnessed, err)
		}
		if m.w.Origin != origin {
			return nil, fmt.Errorf("mirror %s holds log %q, not %q", dir, m.w.Origin, origin)
		}
	}
	for _, f := range []struct {
		name string
		p    **os.File
	}{{mirrorEntries, &m.entries}, {mirrorIndex, &m.index}, {mirrorHashes, &m.hashes}} {
		if *f.p, err = os.OpenFile(filepath.Join(dir, f.name), os.O_RDWR|os.O_CREATE, 0o644); err != nil {
			m.close()
			return nil, err
		}
	}
	if err := m.truncate(m.w.Size); err != nil {
		m.close()
		return nil, err
	}
	// The fold of the stored entries is rebuilt by the first catch-up
	// (replay), in the pull loop, not here: a hub starts at once whatever
	// the size of its mirrors.
	return m, nil
}

func (m *mirror) close() {
	for _, f := range []*os.File{m.entries, m.index, m.hashes} {
		if f != nil {
			f.Close()
		}
	}
}

// truncate cuts the stored entries back to n and reloads the frontier.
func (m *mirror) truncate(n int64) error {
	fi, err := m.index.Stat()
	if err != nil {
		return err
	}
	if fi.Size() < n*8 {
		return fmt.Errorf("mirror %s holds %d entries but witnessed %d: its files were lost", m.dir, fi.Size()/8, n)
	}
	var end int64
	if n > 0 {
		if end, err = m.offset(n); err != nil {
			return err
		}
	}
	if err := m.index.Truncate(n * 8); err != nil {
		return err
	}
	if err := m.entries.Truncate(end); err != nil {
		return err
	}
	if err := m.hashes.Truncate(tlog.StoredHashIndex(0, n) * tlog.HashSize); err != nil {
		return err
	}
	m.size, m.end = n, end
	m.frontier = m.frontier[:0]
	// The frontier is the complete subtrees of n, largest first.
	var start int64
	for level := 62; level >= 0; level-- {
		if n&(1<<level) != 0 {
			idx := tlog.StoredHashIndex(level, start>>level)
			hs, err := m.ReadHashes([]int64{idx})
			if err != nil {
				return err
			}
			m.frontier = append(m.frontier, hs[0])
			start += 1 << level
		}
	}
	return nil
}

// offset returns where the entries before entry i end in the entries
// file, for 0 <= i <= size.
func (m *mirror) offset(i int64) (int64, error) {
	if i == 0 {
		return 0, nil
	}
	var b [8]byte
	if _, err := m.index.ReadAt(b[:], (i-1)*8); err != nil {
		return 0, fmt.Errorf("mirror index: %w", err)
	}
	start := int64(binary.BigEndian.Uint64(b[:]))
	var l [4]byte
	if _, err := m.entries.ReadAt(l[:], start); err != nil {
		return 0, fmt.Errorf("mirror entries: %w", err)
	}
	return start + 4 + int64(binary.BigEndian.Uint32(l[:])), nil
}

// replay folds the stored entries into a fresh state; the state is left
// nil when they do not fold.
func (m *mirror) replay() error {
	st := plenty.NewState()
	err := m.Entries(0, m.size, func(seq int64, body []byte) error {
		ev, err := plenty.DecodeEvent(body)
		if err == nil {
			err = st.Apply(ev)
		}
		if err != nil {
			return fmt.Errorf("stored event %d: %w", seq, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	m.state = st
	return nil
}

// Entries calls fn with each stored entry in [from, to).
func (m *mirror) Entries(from, to int64, fn func(seq int64, body []byte) error) error {
	if to > m.size {
		return fmt.Errorf("entries [%d, %d) are beyond the mirror's %d", from, to, m.size)
	}
	return m.readEntries(from, to, fn)
}

// readEntries reads entries [from, to) below a size known to be stored.
func (m *mirror) readEntries(from, to int64, fn func(seq int64, body []byte) error) error {
	if from < 0 || from > to {
		return fmt.Errorf("entries [%d, %d): not a range", from, to)
	}
	if from == to {
		return nil
	}
	start, err := m.offset(from)
	if err != nil {
		return err
	}
	end, err := m.offset(to)
	if err != nil {
		return err
	}
	// Only the index and the entries below to are read: a catch-up may
	// append beyond them meanwhile.
	r := bufio.NewReaderSize(io.NewSectionReader(m.entries, start, end-start), 1<<16)
	var l [4]byte
	for i := from; i < to; i++ {
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return fmt.Errorf("mirror entries: %w", err)
		}
		body := make([]byte, binary.BigEndian.Uint32(l[:]))
		if _, err := io.ReadFull(r, body); err != nil {
			return fmt.Errorf("mirror entries: %w", err)
		}
		if err := fn(i, body); err != nil {
			return err
		}
	}
	return nil
}

// ReadHashes reads stored hashes: a tlog.HashReader of the stored tree.
func (m *mirror) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if _, err := m.hashes.ReadAt(out[i][:], x*tlog.HashSize); err != nil {
			return nil, fmt.Errorf("mirror hash %d: %w", x, err)
		}
	}
	return out, nil
}

// root returns the tree hash of the stored entries.
func (m *mirror) root() tlog.Hash {
	if len(m.frontier) == 0 {
		return tlog.Hash(sha256.Sum256(nil))
	}
	h := m.frontier[len(m.frontier)-1]
	for i := len(m.frontier) - 2; i >= 0; i-- {
		h = tlog.NodeHash(m.frontier[i], h)
	}
	return h
}

// appender adds entries to the mirror's files through buffers; flush
// writes and syncs them.
type appender struct {
	m                *mirror
	entries, index   *bufio.Writer
	hashes           *bufio.Writer
	entriesAt, hashN int64
}

func (m *mirror) appender() *appender {
	return &appender{
		m:       m,
		entries: bufio.NewWriterSize(&offsetWriter{f: m.entries, off: m.end}, 1<<20),
		index:   bufio.NewWriterSize(&offsetWriter{f: m.index, off: m.size * 8}, 1<<16),
		hashes:  bufio.NewWriterSize(&offsetWriter{f: m.hashes, off: tlog.StoredHashIndex(0, m.size) * tlog.HashSize}, 1<<18),
	}
}

// add stores one entry whose leaf hash is leaf.
func (a *appender) add(body []byte, leaf tlog.Hash) error {
	m := a.m
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(m.end))
	a.index.Write(b[:])
	var l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(len(body)))
	a.entries.Write(l[:])
	a.entries.Write(body)
	m.end += 4 + int64(len(body))
	// The stored hashes of leaf n: the leaf, then one parent for each
	// trailing 1 bit of n, each the hash of the frontier's last subtree
	// and the one just completed.
	h := leaf
	a.hashes.Write(h[:])
	m.frontier = append(m.frontier, h)
	for n := m.size; n&1 == 1; n >>= 1 {
		k := len(m.frontier)
		h = tlog.NodeHash(m.frontier[k-2], m.frontier[k-1])
		m.frontier[k-2] = h
		m.frontier = m.frontier[:k-1]
		a.hashes.Write(h[:])
	}
	m.size++
	return nil
}

// flush writes the buffered entries and syncs the files.
func (a *appender) flush() error {
	for _, w := range []*bufio.Writer{a.entries, a.index, a.hashes} {
		if err := w.Flush(); err != nil {
			return err
		}
	}
	for _, f := range []*os.File{a.m.entries, a.m.index, a.m.hashes} {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	return nil
}

type offsetWriter struct {
	f   *os.File
	off int64
}

func (w *offsetWriter) Write(p []byte) (int, error) {
	n, err := w.f.WriteAt(p, w.off)
	w.off += int64(n)
	return n, err
}

// swapWitnessed replaces the witnessed state, which must still be at
// oldSize: the compare-and-swap that keeps a slow check from rolling the
// state back. The file is replaced atomically.
func (m *mirror) swapWitnessed(oldSize int64, w Witnessed) error {
	if m.w.Size != oldSize {
		return &WitnessError{Status: 409, Size: m.w.Size, Msg: fmt.Sprintf("the witnessed size is %d, not %d", m.w.Size, oldSize)}
	}
	data, err := json.MarshalIndent(w, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(m.dir, mirrorWitnessed), data, 0o644); err != nil {
		return fmt.Errorf("store the witnessed checkpoint: %w", err)
	}
	m.w = w
	if m.onSwap != nil {
		m.onSwap(w)
	}
	return m.appendCosigned(w)
}

// events adapts readEntries to an event source for the open data.
func (m *mirror) events(ctx context.Context, from, to int64, fn func(plenty.Event) error) error {
	return m.readEntries(from, to, func(_ int64, body []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		ev, err := plenty.DecodeEvent(body)
		if err != nil {
			return err
		}
		return fn(ev)
	})
}

// cosignedRecord is one line of the mirror's cosigned.jsonl.
type cosignedRecord struct {
	Size       int64     `json:"size"`
	Root       []byte    `json:"root"`
	CosignedAt time.Time `json:"cosigned_at"`
	Note       string    `json:"note"`
}

// appendCosigned keeps a record of a cosigned checkpoint: which size the
// witness vouched for, and when, stays known after the witnessed state
// moves on.
func (m *mirror) appendCosigned(w Witnessed) error {
	if w.Note == "" || w.Halt != nil {
		return nil
	}
	line, err := json.Marshal(cosignedRecord{Size: w.Size, Root: w.Root, CosignedAt: w.CosignedAt, Note: w.Note})
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(m.dir, mirrorCosigned), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// MirrorView reads a neighbour's mirror up to its witnessed size, while a
// catch-up may append beyond it (the files below the witnessed size never
// change); it is valid only inside the function given to Read.
type MirrorView struct {
	m *mirror
	w Witnessed
}

// Witnessed returns the witnessed state the view reads up to.
func (v MirrorView) Witnessed() Witnessed { return v.w }

// Events yields the stored events in [from, to), to at most the
// witnessed size.
func (v MirrorView) Events(ctx context.Context, from, to int64, fn func(plenty.Event) error) error {
	if to > v.w.Size {
		return fmt.Errorf("events [%d, %d) are beyond the %d witnessed", from, to, v.w.Size)
	}
	return v.m.events(ctx, from, to, fn)
}

// Entries yields the stored event bodies in [from, to), to at most the
// witnessed size.
func (v MirrorView) Entries(from, to int64, fn func(seq int64, body []byte) error) error {
	if to > v.w.Size {
		return fmt.Errorf("entries [%d, %d) are beyond the %d witnessed", from, to, v.w.Size)
	}
	return v.m.readEntries(from, to, fn)
}

// HashReader reads the stored tree hashes; the tiles of the witnessed
// tree are all stored.
func (v MirrorView) HashReader() tlog.HashReader { return tlog.HashReaderFunc(v.m.ReadHashes) }

// Read calls fn with a view of the mirror at its witnessed size. It does
// not wait for a pull or a catch-up in progress.
func (n *Neighbour) Read(fn func(MirrorView) error) error {
	return fn(MirrorView{m: n.m, w: n.Witnessed()})
}
