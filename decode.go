package plenty

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Replaying a ledger decodes the data of every event into its payload
// type. decodeFast does that for the JSON CanonicalJSON writes (compact,
// keys as the struct's tags spell them, strings without escapes) with a
// plan per type built once by reflection, instead of encoding/json's
// general decoder. It handles structs (embedded ones too), strings, bools,
// integers, floats, pointers, slices, and types with an UnmarshalJSON
// method (Amount, time.Time), which it calls as encoding/json would.
//
// It never refuses: whatever it does not recognise (an unknown or
// repeated key, another key spelling, null, an escape, white space, maps,
// interfaces, TextUnmarshaler types, a ",string" tag) makes it report
// false, leaving v untouched, and the caller decodes with encoding/json,
// which accepts or refuses with its usual message. So for any input,
// decodeFast either gives what encoding/json gives or steps aside;
// FuzzDecodeFast checks that against encoding/json for every payload type.
func decodeFast(data []byte, v any) bool {
	if !fastDecoding {
		return false
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return false
	}
	p := planOf(rv.Type().Elem())
	if p == nil {
		return false
	}
	tmp := reflect.New(rv.Type().Elem())
	d := fastDecoder{b: data}
	if !d.value(tmp.Elem(), p) || d.i != len(d.b) {
		return false
	}
	rv.Elem().Set(tmp.Elem())
	return true
}

// fastDecoding is false only in benchmarks that measure encoding/json.
var fastDecoding = true

type planKind int

const (
	planUnmarshaler planKind = iota
	planStruct
	planString
	planBool
	planInt
	planUint
	planFloat
	planPointer
	planSlice
)

type decodePlan struct {
	kind   planKind
	bits   int            // of an int, uint or float
	elem   *decodePlan    // of a pointer or slice
	fields []planField    // of a struct
	byName map[string]int // of a struct: json name → index in fields
}

type planField struct {
	name  string
	index []int // path through embedded structs
	plan  *decodePlan
}

var (
	plans           sync.Map // reflect.Type → *decodePlan, or nil for "not handled"
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textType        = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func planOf(t reflect.Type) *decodePlan {
	if p, ok := plans.Load(t); ok {
		return p.(*decodePlan)
	}
	p := buildPlan(t, map[reflect.Type]bool{})
	plans.Store(t, p)
	return p
}

func buildPlan(t reflect.Type, building map[reflect.Type]bool) *decodePlan {
	if building[t] {
		return nil // recursive types: leave them to encoding/json
	}
	building[t] = true
	defer delete(building, t)
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return &decodePlan{kind: planUnmarshaler}
	}
	if reflect.PointerTo(t).Implements(textType) {
		return nil
	}
	switch t.Kind() {
	case reflect.String:
		return &decodePlan{kind: planString}
	case reflect.Bool:
		return &decodePlan{kind: planBool}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return &decodePlan{kind: planInt, bits: t.Bits()}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &decodePlan{kind: planUint, bits: t.Bits()}
	case reflect.Float32, reflect.Float64:
		return &decodePlan{kind: planFloat, bits: t.Bits()}
	case reflect.Pointer:
		if e := buildPlan(t.Elem(), building); e != nil {
			return &decodePlan{kind: planPointer, elem: e}
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return nil // base64 in encoding/json
		}
		if e := buildPlan(t.Elem(), building); e != nil {
			return &decodePlan{kind: planSlice, elem: e}
		}
	case reflect.Struct:
		return structPlan(t, building)
	}
	return nil
}

// structPlan lists a struct's JSON fields as encoding/json does: tagged
// or exported fields, embedded structs' fields promoted, and of fields
// with one name the shallowest, or the only tagged one among the
// shallowest, wins; otherwise the name is dropped.
func structPlan(t reflect.Type, building map[reflect.Type]bool) *decodePlan {
	type candidate struct {
		planField
		depth  int
		tagged bool
	}
	var cands []candidate
	var walk func(t reflect.Type, index []int) bool
	walk = func(t reflect.Type, index []int) bool {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			tagged := name != ""
			if strings.Contains(","+opts+",", ",string,") {
				return false
			}
			path := append(append([]int(nil), index...), i)
			if f.Anonymous && name == "" {
				if f.Type.Kind() != reflect.Struct || !f.IsExported() {
					return false // embedded pointers and unexported types: leave them
				}
				if !walk(f.Type, path) {
					return false
				}
				continue
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			p := buildPlan(f.Type, building)
			if p == nil {
				return false
			}
			cands = append(cands, candidate{planField{name, path, p}, len(path), tagged})
		}
		return true
	}
	if !walk(t, nil) {
		return nil
	}
	p := &decodePlan{kind: planStruct, byName: map[string]int{}}
	byName := map[string][]candidate{}
	var order []string
	for _, c := range cands {
		if _, ok := byName[c.name]; !ok {
			order = append(order, c.name)
		}
		byName[c.name] = append(byName[c.name], c)
	}
	for _, name := range order {
		cs := byName[name]
		best := cs[0].depth
		for _, c := range cs {
			best = min(best, c.depth)
		}
		var top []candidate
		for _, c := range cs {
			if c.depth == best {
				top = append(top, c)
			}
		}
		if len(top) > 1 {
			var tagged []candidate
			for _, c := range top {
				if c.tagged {
					tagged = append(tagged, c)
				}
			}
			if len(tagged) != 1 {
				continue // encoding/json ignores an ambiguous name
			}
			top = tagged
		}
		p.byName[name] = len(p.fields)
		p.fields = append(p.fields, top[0].planField)
	}
	if len(p.fields) > 64 {
		return nil
	}
	return p
}

type fastDecoder struct {
	b []byte
	i int
}

func (d *fastDecoder) value(v reflect.Value, p *decodePlan) bool {
	if d.i >= len(d.b) || d.b[d.i] == 'n' {
		return false // null: encoding/json's rules for it are its own
	}
	switch p.kind {
	case planUnmarshaler:
		start := d.i
		if !d.skip() {
			return false
		}
		return v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(d.b[start:d.i]) == nil
	case planString:
		s, ok := d.str()
		if ok {
			v.SetString(s)
		}
		return ok
	case planBool:
		switch {
		case strings.HasPrefix(string(d.b[d.i:]), "true"):
			v.SetBool(true)
			d.i += 4
		case strings.HasPrefix(string(d.b[d.i:]), "false"):
			v.SetBool(false)
			d.i += 5
		default:
			return false
		}
		return true
	case planInt, planUint, planFloat:
		num, ok := d.number()
		if !ok {
			return false
		}
		switch p.kind {
		case planInt:
			x, err := strconv.ParseInt(num, 10, 64)
			if err != nil || v.OverflowInt(x) {
				return false
			}
			v.SetInt(x)
		case planUint:
			x, err := strconv.ParseUint(num, 10, 64)
			if err != nil || v.OverflowUint(x) {
				return false
			}
			v.SetUint(x)
		default:
			x, err := strconv.ParseFloat(num, p.bits)
			if err != nil || v.OverflowFloat(x) {
				return false
			}
			v.SetFloat(x)
		}
		return true
	case planPointer:
		e := reflect.New(v.Type().Elem())
		if !d.value(e.Elem(), p.elem) {
			return false
		}
		v.Set(e)
		return true
	case planSlice:
		if d.b[d.i] != '[' {
			return false
		}
		d.i++
		s := reflect.MakeSlice(v.Type(), 0, 0)
		if d.i < len(d.b) && d.b[d.i] == ']' {
			d.i++
			v.Set(s)
			return true
		}
		for {
			s = reflect.Append(s, reflect.Zero(v.Type().Elem()))
			if !d.value(s.Index(s.Len()-1), p.elem) || d.i >= len(d.b) {
				return false
			}
			c := d.b[d.i]
			d.i++
			if c == ']' {
				v.Set(s)
				return true
			}
			if c != ',' {
				return false
			}
		}
	case planStruct:
		if d.b[d.i] != '{' {
			return false
		}
		d.i++
		if d.i < len(d.b) && d.b[d.i] == '}' {
			d.i++
			return true
		}
		var seen uint64
		for {
			key, ok := d.str()
			if !ok || d.i >= len(d.b) || d.b[d.i] != ':' {
				return false
			}
			d.i++
			n, ok := p.byName[key]
			if !ok || seen&(1<<n) != 0 {
				return false // unknown (encoding/json refuses) or repeated
			}
			seen |= 1 << n
			f := p.fields[n]
			if !d.value(v.FieldByIndex(f.index), f.plan) || d.i >= len(d.b) {
				return false
			}
			c := d.b[d.i]
			d.i++
			if c == '}' {
				return true
			}
			if c != ',' {
				return false
			}
		}
	}
	return false
}

// str reads a string without escapes or control characters, in valid
// UTF-8.
func (d *fastDecoder) str() (string, bool) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return "", false
	}
	start := d.i + 1
	ascii := true
	for j := start; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			s := d.b[start:j]
			if !ascii && !utf8.Valid(s) {
				return "", false
			}
			d.i = j + 1
			return string(s), true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= 0x80:
			ascii = false
		}
	}
	return "", false
}

// number reads a number as JSON's grammar has it:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *fastDecoder) number() (string, bool) {
	b, i := d.b, d.i
	digits := func() bool {
		s := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > s
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return "", false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return "", false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return "", false
		}
	}
	s := string(b[d.i:i])
	d.i = i
	return s, true
}

// skip moves past one value of the kinds an UnmarshalJSON method reads
// here: a string or a number (true, false and composite values are left
// to encoding/json).
func (d *fastDecoder) skip() bool {
	if d.i < len(d.b) && d.b[d.i] == '"' {
		_, ok := d.str()
		return ok
	}
	_, ok := d.number()
	return ok
}
