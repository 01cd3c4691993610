package plenty

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// A state snapshot lets a hub start from the state at a known sequence
// number and fold only the events after it. The encoding walks the
// State's fields by reflection, whatever they are, so it follows the
// fold's internals without code of its own per field:
//
//   - every struct field, exported or not, in declaration order (function
//     fields, such as the OnChange callback, are left out);
//   - maps with their keys sorted by their encoding, so that equal states
//     encode to equal bytes, and `plenty check` can compare a snapshot with
//     a replay byte for byte;
//   - nil and empty slices and maps kept apart, and a pointer met twice
//     (two maps sharing an entity) written once and referred to after;
//   - time.Time by its MarshalBinary form (instant and zone offset).
//
// The encoding starts with a fingerprint of the State type's shape (field
// names and types, recursively): a snapshot written by a build whose State
// differs is refused as stale, never misread.

const snapshotMagic = "plenty-state/2\n" // 2: byte arrays as raw bytes

// ErrSnapshotStale reports a snapshot written for another shape of State.
var ErrSnapshotStale = errors.New("the snapshot was written by a version of plenty whose state differs")

// MarshalSnapshot encodes the state. Equal states give equal bytes.
func (s *State) MarshalSnapshot() ([]byte, error) {
	e := snapEncoder{ptrs: map[snapPtr]uint64{}}
	e.buf = append(e.buf, snapshotMagic...)
	fp := stateFingerprint()
	e.buf = append(e.buf, fp[:]...)
	if err := e.value(reflect.ValueOf(s).Elem()); err != nil {
		return nil, fmt.Errorf("state snapshot: %w", err)
	}
	return e.buf, nil
}

// UnmarshalSnapshot replaces the state with the one b encodes. It returns
// ErrSnapshotStale when b was written for another shape of State, and an
// error when b is damaged; the state is then unchanged. The OnChange
// callback is kept.
func (s *State) UnmarshalSnapshot(b []byte) error {
	if !bytes.HasPrefix(b, []byte(snapshotMagic)) {
		return errors.New("not a state snapshot")
	}
	b = b[len(snapshotMagic):]
	fp := stateFingerprint()
	if len(b) < len(fp) || !bytes.Equal(b[:len(fp)], fp[:]) {
		return ErrSnapshotStale
	}
	d := snapDecoder{buf: b[len(fp):]}
	fresh := NewState()
	if err := d.value(reflect.ValueOf(fresh).Elem()); err != nil {
		return fmt.Errorf("state snapshot: %w", err)
	}
	if len(d.buf) != 0 {
		return fmt.Errorf("state snapshot: %d bytes after the state", len(d.buf))
	}
	fresh.onChange = s.onChange
	*s = *fresh
	return nil
}

var (
	timeType      = reflect.TypeFor[time.Time]()
	deadlinesType = reflect.TypeFor[*deadlines]()
)

// structFields caches, per struct type, the indexes of the fields a
// snapshot holds (all but functions and the deadline index, a cache).
var structFields sync.Map // reflect.Type → []int

func snapshotFields(t reflect.Type) []int {
	if f, ok := structFields.Load(t); ok {
		return f.([]int)
	}
	var idx []int
	for i := 0; i < t.NumField(); i++ {
		// Functions are not state, and the deadline index is a cache the
		// timers build on demand: a live state has it, a replay not.
		if ft := t.Field(i).Type; ft.Kind() != reflect.Func && ft != deadlinesType && ft != closedDocsType {
			idx = append(idx, i)
		}
	}
	structFields.Store(t, idx)
	return idx
}

// stateFingerprint hashes the shape of State.
func stateFingerprint() [sha256.Size]byte {
	var b bytes.Buffer
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		fmt.Fprintf(&b, "%s(", t.String())
		if t != timeType && !seen[t] {
			seen[t] = true
			switch t.Kind() {
			case reflect.Struct:
				for i := 0; i < t.NumField(); i++ {
					f := t.Field(i)
					fmt.Fprintf(&b, "%s:", f.Name)
					walk(f.Type)
				}
			case reflect.Map:
				walk(t.Key())
				walk(t.Elem())
			case reflect.Pointer, reflect.Slice, reflect.Array:
				walk(t.Elem())
			}
		}
		b.WriteString(")")
	}
	walk(reflect.TypeFor[State]())
	return sha256.Sum256(b.Bytes())
}

// exposed returns v itself when it can be read and set, or the same
// memory seen as an exported value (for unexported struct fields).
func exposed(v reflect.Value) reflect.Value {
	if v.CanInterface() || !v.CanAddr() {
		return v
	}
	return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
}

type snapEncoder struct {
	buf  []byte
	ptrs map[snapPtr]uint64 // pointer → its number, in order met
}

type snapPtr struct {
	t reflect.Type
	p uintptr
}

func (e *snapEncoder) uvarint(x uint64) { e.buf = binary.AppendUvarint(e.buf, x) }

func (e *snapEncoder) bytes(b []byte) {
	e.uvarint(uint64(len(b)))
	e.buf = append(e.buf, b...)
}

// snapshotter is a field type with an encoding of its own: a large table
// that reflection would decode an element at a time (State.gone).
type snapshotter interface {
	appendSnapshot(b []byte) []byte
	readSnapshot(b []byte) (rest []byte, err error)
}

// goneSetType and sortedIDsType encode themselves (a comparison of types
// is much cheaper than a map lookup per value decoded).
var goneSetType = reflect.TypeFor[goneSet]()

func (e *snapEncoder) value(v reflect.Value) error {
	v = exposed(v)
	if t := v.Type(); (t == goneSetType || t == sortedIDsType) && v.CanAddr() {
		e.buf = v.Addr().Interface().(snapshotter).appendSnapshot(e.buf)
		return nil
	}
	if v.Type() == timeType {
		b, err := v.Interface().(time.Time).MarshalBinary()
		if err != nil {
			return err
		}
		e.bytes(b)
		return nil
	}
	switch v.Kind() {
	case reflect.Bool:
		if v.Bool() {
			e.buf = append(e.buf, 1)
		} else {
			e.buf = append(e.buf, 0)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.buf = binary.AppendVarint(e.buf, v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.uvarint(v.Uint())
	case reflect.Float32, reflect.Float64:
		e.buf = binary.BigEndian.AppendUint64(e.buf, math.Float64bits(v.Float()))
	case reflect.String:
		e.uvarint(uint64(v.Len()))
		e.buf = append(e.buf, v.String()...)
	case reflect.Slice:
		if v.IsNil() {
			e.uvarint(0)
			return nil
		}
		e.uvarint(uint64(v.Len()) + 1)
		for i := 0; i < v.Len(); i++ {
			if err := e.value(v.Index(i)); err != nil {
				return err
			}
		}
	case reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			// Hashes and hashed ids: their bytes as they are.
			for i := 0; i < v.Len(); i++ {
				e.buf = append(e.buf, byte(v.Index(i).Uint()))
			}
			return nil
		}
		for i := 0; i < v.Len(); i++ {
			if err := e.value(v.Index(i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		if v.IsNil() {
			e.uvarint(0)
			return nil
		}
		e.uvarint(uint64(v.Len()) + 1)
		if v.Type().Key().Kind() == reflect.String {
			// Any fixed order makes equal maps encode equally.
			type entry struct {
				key string
				val reflect.Value
			}
			entries := make([]entry, 0, v.Len())
			for it := v.MapRange(); it.Next(); {
				entries = append(entries, entry{it.Key().String(), it.Value()})
			}
			slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.key, b.key) })
			for _, en := range entries {
				e.uvarint(uint64(len(en.key)))
				e.buf = append(e.buf, en.key...)
				if err := e.value(en.val); err != nil {
					return err
				}
			}
			return nil
		}
		type entry struct {
			key []byte
			val reflect.Value
		}
		entries := make([]entry, 0, v.Len())
		keys := snapEncoder{ptrs: map[snapPtr]uint64{}}
		for it := v.MapRange(); it.Next(); {
			keys.buf = keys.buf[:0]
			if err := keys.value(it.Key()); err != nil {
				return err
			}
			entries = append(entries, entry{slices.Clone(keys.buf), it.Value()})
		}
		slices.SortFunc(entries, func(a, b entry) int { return bytes.Compare(a.key, b.key) })
		for _, en := range entries {
			e.buf = append(e.buf, en.key...)
			if err := e.value(en.val); err != nil {
				return err
			}
		}
	case reflect.Pointer:
		if v.IsNil() {
			e.uvarint(0)
			return nil
		}
		key := snapPtr{v.Type(), v.Pointer()}
		if n, ok := e.ptrs[key]; ok {
			e.uvarint(1)
			e.uvarint(n)
			return nil
		}
		e.ptrs[key] = uint64(len(e.ptrs))
		e.uvarint(2)
		return e.value(v.Elem())
	case reflect.Struct:
		if !v.CanAddr() {
			// A map's value: copy it, so that its unexported fields
			// can be reached like a variable's.
			c := reflect.New(v.Type()).Elem()
			c.Set(v)
			v = c
		}
		for _, i := range snapshotFields(v.Type()) {
			if err := e.value(v.Field(i)); err != nil {
				return fmt.Errorf("%s.%s: %w", v.Type().Name(), v.Type().Field(i).Name, err)
			}
		}
	default:
		return fmt.Errorf("cannot snapshot a %s", v.Type())
	}
	return nil
}

type snapDecoder struct {
	buf     []byte
	ptrs    []reflect.Value
	strings map[string]string // names that repeat across postings (snapshot_typed.go)
}

var errSnapshotShort = errors.New("the snapshot ends early")

func (d *snapDecoder) uvarint() (uint64, error) {
	x, n := binary.Uvarint(d.buf)
	if n <= 0 {
		return 0, errSnapshotShort
	}
	d.buf = d.buf[n:]
	return x, nil
}

func (d *snapDecoder) bytes() ([]byte, error) {
	n, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	if uint64(len(d.buf)) < n {
		return nil, errSnapshotShort
	}
	b := d.buf[:n]
	d.buf = d.buf[n:]
	return b, nil
}

// length reads a length written as n+1 (0 for nil), bounded by the bytes
// left, so that damage cannot make it allocate without bound.
func (d *snapDecoder) length() (n int, isNil bool, err error) {
	x, err := d.uvarint()
	if err != nil {
		return 0, false, err
	}
	if x == 0 {
		return 0, true, nil
	}
	if x-1 > uint64(len(d.buf)) {
		return 0, false, errSnapshotShort
	}
	return int(x - 1), false, nil
}

func (d *snapDecoder) value(v reflect.Value) error {
	v = exposed(v)
	if t := v.Type(); (t == goneSetType || t == sortedIDsType) && v.CanAddr() {
		rest, err := v.Addr().Interface().(snapshotter).readSnapshot(d.buf)
		if err != nil {
			return err
		}
		d.buf = rest
		return nil
	}
	if v.Type() == timeType {
		b, err := d.bytes()
		if err != nil {
			return err
		}
		var t time.Time
		if err := t.UnmarshalBinary(b); err != nil {
			return err
		}
		if v.CanAddr() {
			*(*time.Time)(v.Addr().UnsafePointer()) = t // no boxing
		} else {
			v.Set(reflect.ValueOf(t))
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Bool:
		if len(d.buf) < 1 || d.buf[0] > 1 {
			return errors.New("damaged bool")
		}
		v.SetBool(d.buf[0] == 1)
		d.buf = d.buf[1:]
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		x, n := binary.Varint(d.buf)
		if n <= 0 {
			return errSnapshotShort
		}
		d.buf = d.buf[n:]
		v.SetInt(x)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		x, err := d.uvarint()
		if err != nil {
			return err
		}
		v.SetUint(x)
	case reflect.Float32, reflect.Float64:
		if len(d.buf) < 8 {
			return errSnapshotShort
		}
		v.SetFloat(math.Float64frombits(binary.BigEndian.Uint64(d.buf)))
		d.buf = d.buf[8:]
	case reflect.String:
		b, err := d.bytes()
		if err != nil {
			return err
		}
		v.SetString(string(b))
	case reflect.Slice:
		n, isNil, err := d.length()
		if err != nil {
			return err
		}
		if isNil {
			v.SetZero()
			return nil
		}
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := 0; i < n; i++ {
			if err := d.value(s.Index(i)); err != nil {
				return err
			}
		}
		v.Set(s)
	case reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			if len(d.buf) < v.Len() {
				return errSnapshotShort
			}
			if v.CanAddr() {
				reflect.Copy(v, reflect.ValueOf(d.buf[:v.Len()]))
			} else {
				for i := 0; i < v.Len(); i++ {
					v.Index(i).SetUint(uint64(d.buf[i]))
				}
			}
			d.buf = d.buf[v.Len():]
			return nil
		}
		for i := 0; i < v.Len(); i++ {
			if err := d.value(v.Index(i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		n, isNil, err := d.length()
		if err != nil {
			return err
		}
		if isNil {
			v.SetZero()
			return nil
		}
		if typedDecoding && v.CanAddr() {
			switch m := v.Addr().Interface().(type) {
			case *map[string]*Offer:
				return decodePostings(d, m, n, d.offer)
			case *map[string]*Need:
				return decodePostings(d, m, n, d.need)
			}
		}
		m := reflect.MakeMapWithSize(v.Type(), n)
		for i := 0; i < n; i++ {
			k := reflect.New(v.Type().Key()).Elem()
			if err := d.value(k); err != nil {
				return err
			}
			e := reflect.New(v.Type().Elem()).Elem()
			if err := d.value(e); err != nil {
				return err
			}
			m.SetMapIndex(k, e)
		}
		if m.Len() != n {
			return errors.New("damaged map: repeated keys")
		}
		v.Set(m)
	case reflect.Pointer:
		tag, err := d.uvarint()
		if err != nil {
			return err
		}
		switch tag {
		case 0:
			v.SetZero()
		case 1:
			n, err := d.uvarint()
			if err != nil {
				return err
			}
			if n >= uint64(len(d.ptrs)) || d.ptrs[n].Type() != v.Type() {
				return errors.New("damaged pointer reference")
			}
			v.Set(d.ptrs[n])
		case 2:
			p := reflect.New(v.Type().Elem())
			d.ptrs = append(d.ptrs, p)
			if err := d.value(p.Elem()); err != nil {
				return err
			}
			v.Set(p)
		default:
			return errors.New("damaged pointer")
		}
	case reflect.Struct:
		if typedDecoding && v.CanAddr() {
			switch v.Type() {
			case offerType:
				return d.offer((*Offer)(v.Addr().UnsafePointer()))
			case needType:
				return d.need((*Need)(v.Addr().UnsafePointer()))
			}
		}
		for _, i := range snapshotFields(v.Type()) {
			if err := d.value(v.Field(i)); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("cannot restore a %s", v.Type())
	}
	return nil
}
