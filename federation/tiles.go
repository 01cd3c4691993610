package federation

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/tlog"
)

// TileHeight is the height of C2SP tiles: 256 hashes each.
const TileHeight = 8

// TileWidth is the number of hashes in a full tile, and of entries in a
// full entry bundle.
const TileWidth = 1 << TileHeight

// MaxEntry is the largest event body an entry bundle can hold.
const MaxEntry = 1<<16 - 1

// TilePath returns the C2SP path of tile t below the log's prefix:
// tile/L/N[.p/W], or tile/entries/N[.p/W] when L is -1.
func TilePath(t tlog.Tile) string {
	level := strconv.Itoa(t.L)
	if t.L == -1 {
		level = "entries"
	}
	parts := []string{}
	for i := 0; ; i++ {
		p := fmt.Sprintf("%03d", t.N%1000)
		if i > 0 {
			p = "x" + p
		}
		parts = append([]string{p}, parts...)
		t.N /= 1000
		if t.N == 0 {
			break
		}
	}
	path := "tile/" + level + "/" + strings.Join(parts, "/")
	if t.W < TileWidth {
		path += ".p/" + strconv.Itoa(t.W)
	}
	return path
}

// ParseTilePath reads a path made by TilePath (without the prefix). It
// returns an error for anything else.
func ParseTilePath(path string) (tlog.Tile, error) {
	bad := func() (tlog.Tile, error) { return tlog.Tile{}, fmt.Errorf("%q is not a tile path", path) }
	rest, ok := strings.CutPrefix(path, "tile/")
	if !ok {
		return bad()
	}
	levelText, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return bad()
	}
	t := tlog.Tile{H: TileHeight, W: TileWidth}
	if levelText == "entries" {
		t.L = -1
	} else {
		l, err := strconv.Atoi(levelText)
		if err != nil || l < 0 || l > 63 || strconv.Itoa(l) != levelText {
			return bad()
		}
		t.L = l
	}
	if i := strings.Index(rest, ".p/"); i >= 0 {
		w, err := strconv.Atoi(rest[i+3:])
		if err != nil || w < 1 || w >= TileWidth || strconv.Itoa(w) != rest[i+3:] {
			return bad()
		}
		t.W, rest = w, rest[:i]
	}
	elems := strings.Split(rest, "/")
	if len(elems) > 7 {
		return bad()
	}
	for i, e := range elems {
		if i < len(elems)-1 {
			var ok bool
			if e, ok = strings.CutPrefix(e, "x"); !ok {
				return bad()
			}
		}
		if len(e) != 3 || strings.Trim(e, "0123456789") != "" {
			return bad()
		}
		d, _ := strconv.Atoi(e)
		t.N = t.N*1000 + int64(d)
	}
	if len(elems) > 1 && strings.TrimPrefix(elems[0], "x") == "000" {
		return bad() // not the shortest form
	}
	return t, nil
}

// AppendBundleEntry appends one entry to a bundle: a big-endian uint16
// length and the bytes.
func AppendBundleEntry(bundle, entry []byte) ([]byte, error) {
	if len(entry) > MaxEntry {
		return nil, fmt.Errorf("an entry of %d bytes does not fit a tile bundle (at most %d)", len(entry), MaxEntry)
	}
	bundle = binary.BigEndian.AppendUint16(bundle, uint16(len(entry)))
	return append(bundle, entry...), nil
}

// SplitBundle reads the entries of a bundle.
func SplitBundle(bundle []byte) ([][]byte, error) {
	var out [][]byte
	for len(bundle) > 0 {
		if len(bundle) < 2 {
			return nil, fmt.Errorf("entry bundle: a truncated length")
		}
		n := int(binary.BigEndian.Uint16(bundle))
		if len(bundle) < 2+n {
			return nil, fmt.Errorf("entry bundle: entry %d is truncated", len(out))
		}
		out = append(out, bundle[2:2+n])
		bundle = bundle[2+n:]
	}
	return out, nil
}

// fetcher reads files of a log served under a base URL (BASE/checkpoint,
// BASE/tile/...).
type fetcher struct {
	client *http.Client
	base   string // ends without "/"
}

// maxFetch bounds any file read from a neighbour.
const maxFetch = 32 << 20

func (f *fetcher) get(ctx context.Context, path string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.base+"/"+path, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxFetch+1))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("GET %s/%s: %w", f.base, path, err)
	}
	if len(data) > maxFetch {
		return nil, resp.StatusCode, fmt.Errorf("GET %s/%s: larger than %d bytes", f.base, path, maxFetch)
	}
	if resp.StatusCode != http.StatusOK {
		return data, resp.StatusCode, fmt.Errorf("GET %s/%s: %s", f.base, path, resp.Status)
	}
	return data, resp.StatusCode, nil
}

// tileReader is a tlog.TileReader over a fetcher, keeping the tiles
// verified so far.
type tileReader struct {
	ctx   context.Context
	f     *fetcher
	mu    sync.Mutex
	saved map[tlog.Tile][]byte
}

func newTileReader(ctx context.Context, f *fetcher) *tileReader {
	return &tileReader{ctx: ctx, f: f, saved: map[tlog.Tile][]byte{}}
}

func (r *tileReader) Height() int { return TileHeight }

func (r *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		r.mu.Lock()
		data, ok := r.saved[t]
		r.mu.Unlock()
		if ok {
			out[i] = data
			continue
		}
		data, _, err := r.f.get(r.ctx, TilePath(t))
		if err != nil {
			return nil, err
		}
		if len(data) != t.W*tlog.HashSize {
			return nil, fmt.Errorf("tile %s has %d bytes, want %d", TilePath(t), len(data), t.W*tlog.HashSize)
		}
		out[i] = data
	}
	return out, nil
}

func (r *tileReader) SaveTiles(tiles []tlog.Tile, data [][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.saved) > 4096 {
		clear(r.saved)
	}
	for i, t := range tiles {
		r.saved[t] = data[i]
	}
}

// TileData returns the bytes of tile t (level 0 and up) read from hr, for
// serving a log's tiles. It refuses tiles beyond size.
func TileData(t tlog.Tile, size int64, hr tlog.HashReader) ([]byte, error) {
	if t.L < 0 || t.H != TileHeight {
		return nil, fmt.Errorf("not a hash tile")
	}
	if end := (t.N*TileWidth + int64(t.W)) << (uint(t.L) * TileHeight); end > size || t.W < 1 {
		return nil, fmt.Errorf("tile %s is beyond the tree's %d entries", TilePath(t), size)
	}
	return tlog.ReadTileData(t, hr)
}

// BundleRange returns the entries [from, to) of entry bundle t, or an
// error when the bundle reaches beyond size.
func BundleRange(t tlog.Tile, size int64) (from, to int64, err error) {
	if t.L != -1 {
		return 0, 0, fmt.Errorf("not an entry bundle")
	}
	from = t.N * TileWidth
	to = from + int64(t.W)
	if to > size || t.W < 1 {
		return 0, 0, fmt.Errorf("entry bundle %s is beyond the log's %d entries", TilePath(t), size)
	}
	return from, to, nil
}
