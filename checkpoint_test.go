package plenty_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/plentyhub/plenty"
)

func TestParseCheckpoint(t *testing.T) {
	root := "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
	tests := []struct {
		name, text, want string
	}{
		{"OK", "example.com/log\n12\n" + root + "\n", ""},
		{"OKWithExtension", "example.com/log\n12\n" + root + "\nextra\n", ""},
		{"ErrNoNewline", "example.com/log\n12\n" + root, "each ended by a newline"},
		{"ErrTwoLines", "example.com/log\n12\n", "must have an origin line"},
		{"ErrEmptyOrigin", "\n12\n" + root + "\n", "origin line is empty"},
		{"ErrLeadingZero", "example.com/log\n012\n" + root + "\n", `tree size "012"`},
		{"ErrPlus", "example.com/log\n+12\n" + root + "\n", `tree size "+12"`},
		{"ErrNegative", "example.com/log\n-1\n" + root + "\n", `tree size "-1"`},
		{"ErrRootPadding", "example.com/log\n12\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=\n", "root hash"},
		{"ErrShortRoot", "example.com/log\n12\nAAAA\n", `root hash "AAAA"`},
		{"ErrRootNotBase64", "example.com/log\n12\n" + strings.Repeat("!", 44) + "\n", "root hash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := plenty.ParseCheckpoint(tt.text)
			if tt.want == "" {
				if err != nil || c.Size != 12 || c.Origin != "example.com/log" ||
					base64.StdEncoding.EncodeToString(c.Root[:]) != root {
					t.Fatalf("ParseCheckpoint = %+v, %v", c, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
			if plenty.ErrorCode(err) != plenty.EINVALID {
				t.Fatalf("code = %q, want %q", plenty.ErrorCode(err), plenty.EINVALID)
			}
		})
	}
}

func TestCheckpointString(t *testing.T) {
	c := plenty.Checkpoint{Origin: "plenty.test/log", Size: 7}
	c.Root[0], c.Root[31] = 0xff, 0x01
	want := "plenty.test/log\n7\n/wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=\n"
	if got := c.String(); got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}

// FuzzParseCheckpoint checks that a parsed checkpoint prints back to text
// that parses to the same checkpoint, and that the text it accepted starts
// with that print.
func FuzzParseCheckpoint(f *testing.F) {
	f.Add("example.com/log\n12\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n")
	f.Add("a\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nextra\n")
	f.Fuzz(func(t *testing.T, text string) {
		c, err := plenty.ParseCheckpoint(text)
		if err != nil {
			return
		}
		c2, err := plenty.ParseCheckpoint(c.String())
		if err != nil || c2 != c {
			t.Fatalf("round trip of %q: %+v, %v", text, c2, err)
		}
		if !strings.HasPrefix(text, c.String()) {
			t.Fatalf("%q parsed to %q, which is not its first three lines", text, c.String())
		}
	})
}
