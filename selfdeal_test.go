package plenty

import "testing"

func TestCheckNotSelf(t *testing.T) {
	for _, tc := range []struct {
		name               string
		provider, receiver string
		want               string
	}{
		{"ErrSameCouncil", "c_mill", "c_mill", ECONFLICT},
		{"TwoCouncils", "c_mill", "c_bak", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkNotSelf(tc.provider, tc.receiver)
			if got := ErrorCode(err); got != tc.want {
				t.Fatalf("checkNotSelf(%q, %q) = %v, want code %q", tc.provider, tc.receiver, err, tc.want)
			}
			if err != nil && err.(*Error).Fields[0].Field != "proposal" {
				t.Fatalf("the refusal names %q, want the field proposal", err.(*Error).Fields[0].Field)
			}
		})
	}
}
