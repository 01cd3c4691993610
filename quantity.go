package plenty

import (
	"math/big"
	"strconv"
	"strings"
)

// Dimension is what an item is measured in.
type Dimension string

const (
	Mass   Dimension = "mass"
	Volume Dimension = "volume"
	Count  Dimension = "count"
	Time   Dimension = "time"
	Length Dimension = "length"
	Area   Dimension = "area"
)

// Unit is a unit of measure. One base unit of each dimension is worth
// Num/Den of the unit's own size inverted: a quantity of v units is
// v*Num/Den base units.
type Unit struct {
	Code      string
	Dimension Dimension
	Num, Den  int64
}

// units lists every unit the hub accepts. The first unit of each dimension
// with Num == Den == 1 is that dimension's base unit.
var units = []Unit{
	{"kg", Mass, 1, 1}, {"g", Mass, 1, 1000}, {"t", Mass, 1000, 1},
	{"l", Volume, 1, 1}, {"ml", Volume, 1, 1000}, {"m3", Volume, 1000, 1},
	{"each", Count, 1, 1}, {"dozen", Count, 12, 1},
	{"h", Time, 1, 1}, {"min", Time, 1, 60}, {"day", Time, 24, 1},
	{"m", Length, 1, 1}, {"cm", Length, 1, 100}, {"km", Length, 1000, 1},
	{"m2", Area, 1, 1}, {"ha", Area, 10000, 1},
}

// BaseUnit returns the base unit of a dimension, such as "kg" for mass.
func BaseUnit(d Dimension) (string, bool) {
	for _, u := range units {
		if u.Dimension == d && u.Num == 1 && u.Den == 1 {
			return u.Code, true
		}
	}
	return "", false
}

// LookupUnit returns the unit with the given code.
func LookupUnit(code string) (Unit, bool) {
	for _, u := range units {
		if u.Code == code {
			return u, true
		}
	}
	return Unit{}, false
}

// UnitCodes returns the accepted unit codes of a dimension, or of all
// dimensions when d is empty.
func UnitCodes(d Dimension) []string {
	var codes []string
	for _, u := range units {
		if d == "" || u.Dimension == d {
			codes = append(codes, u.Code)
		}
	}
	return codes
}

// ValidDimension reports whether d is one of the known dimensions.
func ValidDimension(d Dimension) bool {
	_, ok := BaseUnit(d)
	return ok
}

// Amount is a quantity in thousandths of an item's base unit. It is never a
// float: 80.5 kg is Amount(80500).
type Amount int64

// MaxAmount bounds every stored amount (one billion base units), so that
// sums over millions of postings and the matching engine's costs stay far
// from int64 overflow.
const MaxAmount Amount = 1_000_000_000 * 1000

// String formats the amount in base units as an exact decimal: "80.5".
func (a Amount) String() string {
	neg := a < 0
	if neg {
		a = -a
	}
	s := strconv.FormatInt(int64(a/1000), 10)
	if frac := int64(a % 1000); frac != 0 {
		f := strconv.FormatInt(1000+frac, 10)[1:]
		s += "." + strings.TrimRight(f, "0")
	}
	if neg {
		s = "-" + s
	}
	return s
}

// ParseDecimal reads a non-negative decimal with at most three fractional
// digits, such as "80.5", into thousandths. It refuses signs, exponents,
// spaces and more than three fractional digits.
func ParseDecimal(s string) (int64, error) {
	if s == "" {
		return 0, Errorf(EINVALID, "must be a decimal number such as \"80.5\"")
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || (hasDot && frac == "") {
		return 0, Errorf(EINVALID, "must be a decimal number such as \"80.5\", not %q", s)
	}
	if len(frac) > 3 {
		return 0, Errorf(EINVALID, "may have at most 3 digits after the decimal point, not %q", s)
	}
	for _, part := range []string{whole, frac} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return 0, Errorf(EINVALID, "must be a decimal number such as \"80.5\", not %q", s)
			}
		}
	}
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > 15 {
		return 0, Errorf(EINVALID, "is too large: %s", s)
	}
	var w int64
	if whole != "" {
		w, _ = strconv.ParseInt(whole, 10, 64)
	}
	f, _ := strconv.ParseInt((frac + "000")[:3], 10, 64)
	return w*1000 + f, nil
}

// ParseQuantity reads a decimal quantity in the given unit and converts it
// to thousandths of the dimension's base unit. It fails with EINVALID when
// the text is not a decimal, the unit is unknown or of another dimension,
// the value is not positive, is too large, or is finer than one thousandth
// of the base unit.
func ParseQuantity(value, unit string, d Dimension) (Amount, error) {
	u, ok := LookupUnit(unit)
	if !ok {
		return 0, Errorf(EINVALID, "unknown unit %q; accepted for %s: %s", unit, d, strings.Join(UnitCodes(d), ", "))
	}
	if u.Dimension != d {
		return 0, Errorf(EINVALID, "unit %q measures %s, but this item is measured by %s; use one of: %s",
			unit, u.Dimension, d, strings.Join(UnitCodes(d), ", "))
	}
	v, err := ParseDecimal(value)
	if err != nil {
		return 0, err
	}
	if v == 0 {
		return 0, Errorf(EINVALID, "must be greater than 0")
	}
	// v is below 10^18 and Num at most 10^4: the product can exceed int64,
	// so compute it exactly.
	n := new(big.Int).Mul(big.NewInt(v), big.NewInt(u.Num))
	q, r := new(big.Int).QuoRem(n, big.NewInt(u.Den), new(big.Int))
	if r.Sign() != 0 {
		base, _ := BaseUnit(d)
		return 0, Errorf(EINVALID, "%s %s is finer than 0.001 %s, the smallest amount recorded", value, unit, base)
	}
	if !q.IsInt64() || Amount(q.Int64()) > MaxAmount {
		base, _ := BaseUnit(d)
		return 0, Errorf(EINVALID, "must be at most %s %s", MaxAmount, base)
	}
	return Amount(q.Int64()), nil
}

// MarshalJSON writes the amount as a decimal string in base units, "80.5",
// so that no reader ever sees it as a float.
func (a Amount) MarshalJSON() ([]byte, error) {
	return []byte(`"` + a.String() + `"`), nil
}

// UnmarshalJSON reads a decimal string in base units, as MarshalJSON
// writes it, a leading "-" included: a correcting transfer may be
// negative. Where a fact needs a positive amount, the fold checks it.
func (a *Amount) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return Errorf(EINVALID, "amount must be a decimal string such as \"80.5\"")
	}
	text, neg := strings.CutPrefix(string(b[1:len(b)-1]), "-")
	v, err := ParseDecimal(text)
	if err != nil {
		return err
	}
	if neg {
		if v == 0 {
			return Errorf(EINVALID, "amount must not be \"-0\"")
		}
		v = -v
	}
	*a = Amount(v)
	return nil
}
