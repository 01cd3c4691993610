package exports

import (
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/plentyhub/plenty"
)

// formatTime writes a timestamp the way event bodies do, so that text
// columns sort and compare as the ledger's times.
func formatTime(ns int64) string {
	var buf [len(plenty.TimeFormat)]byte
	return string(appendTime(buf[:0], ns))
}

// appendTime appends ns formatted as plenty.TimeFormat, digit by digit:
// time.Format costs several times more, and every time cell of every CSV
// file goes through here.
func appendTime(b []byte, ns int64) []byte {
	t := time.Unix(0, ns).UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, plenty.TimeFormat)
	}
	hour, min, sec := t.Clock()
	digits := func(b []byte, v, n int) []byte {
		var d [9]byte
		for i := n - 1; i >= 0; i-- {
			d[i] = byte('0' + v%10)
			v /= 10
		}
		return append(b, d[:n]...)
	}
	b = digits(b, year, 4)
	b = append(b, '-')
	b = digits(b, int(month), 2)
	b = append(b, '-')
	b = digits(b, day, 2)
	b = append(b, 'T')
	b = digits(b, hour, 2)
	b = append(b, ':')
	b = digits(b, min, 2)
	b = append(b, ':')
	b = digits(b, sec, 2)
	b = append(b, '.')
	b = digits(b, t.Nanosecond(), 9)
	return append(b, 'Z')
}

// cellText returns the text of row i of a column: its CSV form, and the form
// in which the verifier compares cells of every format. A null is "".
func cellText(a arrow.Array, i int) (string, error) {
	if a.IsNull(i) {
		return "", nil
	}
	switch a := a.(type) {
	case *array.String:
		return a.Value(i), nil
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10), nil
	case *array.Float64:
		f := a.Value(i)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return "", fmt.Errorf("%v is not a finite number", f)
		}
		return strconv.FormatFloat(f, 'f', -1, 64), nil
	case *array.Timestamp:
		return formatTime(int64(a.Value(i))), nil
	case *array.Decimal128:
		n := a.Value(i)
		lo := int64(n.LowBits())
		if (n.HighBits() != 0 || lo < 0) && (n.HighBits() != -1 || lo >= 0) {
			return "", fmt.Errorf("decimal %s is out of range", n.ToString(3))
		}
		return plenty.Amount(lo).String(), nil
	case *array.Binary:
		return string(a.Value(i)), nil
	case *array.FixedSizeBinary:
		return hex.EncodeToString(a.Value(i)), nil
	}
	return "", fmt.Errorf("unexpected column type %s", a.DataType())
}
