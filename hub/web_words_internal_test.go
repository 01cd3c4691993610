package hub

import (
	"strings"
	"testing"
	"time"
)

func TestNaturalWords(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{20 * time.Second, "less than a minute"},
		{time.Minute, "1 minute"},
		{40 * time.Minute, "40 minutes"},
		{89 * time.Minute, "1 hour"},
		{91 * time.Minute, "2 hours"},
		{23*time.Hour + 40*time.Minute, "24 hours"},
		{24 * time.Hour, "1 day"},
		{29 * time.Hour, "1 day and 5 hours"},
		{47*time.Hour + 50*time.Minute, "2 days"},
		{77 * time.Minute * 60, "3 days"},
		{6*24*time.Hour + 13*time.Hour, "7 days"},
	} {
		if got := naturalDuration(tt.d); got != tt.want {
			t.Errorf("naturalDuration(%s) = %q, want %q", tt.d, got, tt.want)
		}
	}
	if got := plural(1, "delivery", "deliveries") + " by " + plural(2, "volunteer", "volunteers"); got != "1 delivery by 2 volunteers" {
		t.Errorf("plural: %q", got)
	}
	if got := plural(0, "flow", "flows"); got != "0 flows" {
		t.Errorf("plural: %q", got)
	}
	if got := formatDateTime(time.Date(2026, 12, 20, 14, 5, 0, 0, time.UTC), time.FixedZone("CET", 3600)); got != "20 Dec 2026, 15:05 CET" {
		t.Errorf("formatDateTime = %q", got)
	}
	if got := formatDate(time.Time{}, time.UTC); got != "—" {
		t.Errorf("formatDate(zero) = %q", got)
	}
}

func TestFormTimeInZone(t *testing.T) {
	loc := time.FixedZone("X", -5*3600)
	if got := formTime("2026-12-20", loc); got != "2026-12-20T23:59:59-05:00" {
		t.Errorf("formTime = %q", got)
	}
	if got := formTime("2026-12-20T10:00:00Z", loc); got != "2026-12-20T10:00:00Z" {
		t.Errorf("formTime of an RFC 3339 time = %q", got)
	}
}

func TestFormDecimal(t *testing.T) {
	for _, tt := range []struct{ in, want, err string }{
		{"12,5", "12.5", ""},
		{" 80.5 ", "80.5", ""},
		{"0,125", "0.125", ""},
		{"1,000", "", `"1,000" could mean 1000 or 1.000`},
		{"1.5,2", "1.5,2", ""}, // left for the quantity's own check
	} {
		var fe fieldErrors
		got := formDecimal(&fe, "quantity", tt.in)
		msg := ""
		if len(fe) > 0 {
			msg = fe[0].Message
		}
		if string(got) != tt.want || (tt.err == "") != (msg == "") || (tt.err != "" && !contains(msg, tt.err)) {
			t.Errorf("formDecimal(%q) = %q, %q; want %q, %q", tt.in, got, msg, tt.want, tt.err)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// FuzzFormDecimal: a decimal comma is read as a point or refused, never
// anything else, and never panics.
func FuzzFormDecimal(f *testing.F) {
	for _, s := range []string{"12,5", "1,000", "0,125", ",5", "5,", "1.5", "", " 3,75 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var fe fieldErrors
		out := string(formDecimal(&fe, "quantity", in))
		switch {
		case len(fe) > 0:
			if out != "" || fe[0].Field != "quantity" {
				t.Fatalf("%q: refused with %q and %v", in, out, fe)
			}
		case out != trimSpace(in) && out != replaceComma(trimSpace(in)):
			t.Fatalf("%q read as %q", in, out)
		}
	})
}

func trimSpace(s string) string { return strings.TrimSpace(s) }

func replaceComma(s string) string { return strings.Replace(s, ",", ".", 1) }
