package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const solveInstance = `c four nodes
p min 4 5
n 1 4
n 4 -4
a 1 2 0 4 2
a 1 3 0 2 2
a 2 3 0 2 1
a 2 4 0 3 4
a 3 4 0 5 1
`

func TestRunSolve(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "small.min")
	if err := os.WriteFile(file, []byte(solveInstance), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		stdin  string
		status int
		out    []string // lines expected in stdout after the two timing comments
		errHas string
	}{
		{"Cost", []string{file}, "", 0, []string{"s 14"}, ""},
		{"Flows", []string{file, "-flows"}, "", 0, []string{"s 14", "f 1 2 2", "f 1 3 2", "f 2 3 2", "f 3 4 4"}, ""},
		{"FlowsFirst", []string{"-flows", file}, "", 0, []string{"s 14", "f 1 2 2", "f 1 3 2", "f 2 3 2", "f 3 4 4"}, ""},
		{"Stdin", []string{"-"}, solveInstance, 0, []string{"s 14"}, ""},
		{"Infeasible", []string{"-"}, "p min 2 1\nn 1 3\nn 2 -3\na 1 2 0 2 1\n", 1, []string{"s infeasible"}, ""},
		{"Malformed", []string{"-"}, "p min 2 1\nn 1 3\na 1 2 0 two 1\n", 2, nil, "line 3: CAP \"two\" is not a 64-bit integer"},
		{"TooLarge", []string{"-"}, "p min 2 1\na 1 2 0 1 4611686018427387903\n", 2, nil, "too large"},
		{"NoFile", nil, "", 2, nil, "FILE is required"},
		{"TwoFiles", []string{"a", "b"}, "", 2, nil, "more than one FILE"},
		{"UnknownFlag", []string{"-x", file}, "", 2, nil, "unknown flag -x"},
		{"Missing", []string{filepath.Join(dir, "none.min")}, "", 2, nil, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := runSolve(tt.args, strings.NewReader(tt.stdin), &stdout, &stderr)
			if status != tt.status {
				t.Fatalf("status = %d, want %d; stderr %q", status, tt.status, stderr.String())
			}
			if tt.errHas != "" && !strings.Contains(stderr.String(), tt.errHas) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.errHas)
			}
			if tt.out == nil {
				return
			}
			lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
			if len(lines) < 2 || !strings.HasPrefix(lines[0], "c read_seconds ") || !strings.HasPrefix(lines[1], "c solve_seconds ") {
				t.Fatalf("stdout = %q, want the timing comments first", stdout.String())
			}
			if got := strings.Join(lines[2:], "\n"); got != strings.Join(tt.out, "\n") {
				t.Errorf("stdout solution =\n%s\nwant\n%s", got, strings.Join(tt.out, "\n"))
			}
		})
	}
}
