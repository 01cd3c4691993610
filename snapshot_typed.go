package plenty

import (
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"time"
)

// Offers and needs are most of what a live state holds, so the snapshot
// decoder reads them by hand, field by field as the generic encoding
// writes a struct (in declaration order), rather than by reflection. The
// encoding is the generic one: TestTypedSnapshotDecoding checks that both
// decoders read the same values. A council's, an item's, a status's and a
// delegate's name repeat across postings: the decoder keeps one copy.

var (
	offerType = reflect.TypeFor[Offer]()
	needType  = reflect.TypeFor[Need]()
)

// typedDecoding turns the hand-written decoders off, for the test that
// compares them with reflection.
var typedDecoding = true

// decodePostings reads a map of n postings by id as value reads a map of
// pointers, without reflection: the live offers and needs.
func decodePostings[T any](d *snapDecoder, m *map[string]*T, n int, decode func(*T) error) error {
	out := make(map[string]*T, n)
	for i := 0; i < n; i++ {
		k, err := d.bytes()
		if err != nil {
			return err
		}
		tag, err := d.uvarint()
		if err != nil {
			return err
		}
		var p *T
		switch tag {
		case 0:
		case 1:
			at, err := d.uvarint()
			if err != nil {
				return err
			}
			ok := false
			if at < uint64(len(d.ptrs)) {
				p, ok = d.ptrs[at].Interface().(*T)
			}
			if !ok {
				return errors.New("damaged pointer reference")
			}
		case 2:
			p = new(T)
			d.ptrs = append(d.ptrs, reflect.ValueOf(p))
			if err := decode(p); err != nil {
				return err
			}
		default:
			return errors.New("damaged pointer")
		}
		out[string(k)] = p
	}
	if len(out) != n {
		return errors.New("damaged map: repeated keys")
	}
	*m = out
	return nil
}

type fieldReader struct {
	d   *snapDecoder
	err error
}

func (r *fieldReader) bytes() []byte {
	if r.err != nil {
		return nil
	}
	b, err := r.d.bytes()
	r.err = err
	return b
}

func (r *fieldReader) str(p *string) { *p = string(r.bytes()) }

// shared reads a string that repeats across postings, keeping one copy.
func (r *fieldReader) shared(p *string) {
	b := r.bytes()
	if s, ok := r.d.strings[string(b)]; ok {
		*p = s
		return
	}
	s := string(b)
	if r.d.strings == nil {
		r.d.strings = map[string]string{}
	}
	if len(r.d.strings) < 1<<16 {
		r.d.strings[s] = s
	}
	*p = s
}

func (r *fieldReader) int(p *int64) {
	if r.err != nil {
		return
	}
	x, n := binary.Varint(r.d.buf)
	if n <= 0 {
		r.err = errSnapshotShort
		return
	}
	r.d.buf = r.d.buf[n:]
	*p = x
}

func (r *fieldReader) amount(p *Amount) { r.int((*int64)(p)) }

func (r *fieldReader) float(p *float64) {
	if r.err != nil {
		return
	}
	if len(r.d.buf) < 8 {
		r.err = errSnapshotShort
		return
	}
	*p = math.Float64frombits(binary.BigEndian.Uint64(r.d.buf))
	r.d.buf = r.d.buf[8:]
}

func (r *fieldReader) time(p *time.Time) {
	b := r.bytes()
	if r.err == nil {
		r.err = p.UnmarshalBinary(b)
	}
}

func (r *fieldReader) location(p *Location) {
	r.float(&p.Lat)
	r.float(&p.Lon)
}

func (d *snapDecoder) offer(o *Offer) error {
	r := fieldReader{d: d}
	r.str(&o.ID)
	r.shared(&o.Council)
	r.shared(&o.Item)
	r.amount(&o.Quantity)
	r.amount(&o.Remaining)
	r.location(&o.Location)
	r.time(&o.AvailableFrom)
	r.time(&o.AvailableUntil)
	r.amount(&o.MinSplit)
	r.float(&o.MaxDistanceKm)
	r.shared(&o.Note)
	r.time(&o.ExpiresAt)
	r.shared(&o.Status)
	r.shared(&o.PostedBy)
	r.time(&o.PostedAt)
	return r.err
}

func (d *snapDecoder) need(n *Need) error {
	r := fieldReader{d: d}
	r.str(&n.ID)
	r.shared(&n.Council)
	r.shared(&n.Item)
	r.amount(&n.Quantity)
	r.amount(&n.Remaining)
	r.location(&n.Location)
	r.time(&n.NeededBy)
	var p int64
	r.int(&p)
	n.Priority = int(p)
	r.float(&n.MaxDistanceKm)
	r.shared(&n.Note)
	r.time(&n.ExpiresAt)
	r.shared(&n.Status)
	r.shared(&n.PostedBy)
	r.time(&n.PostedAt)
	return r.err
}
