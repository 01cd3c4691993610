package federation

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/plentyhub/plenty"
)

// AddCheckpoint is a C2SP tlog-witness add-checkpoint request: the size of
// the checkpoint the witness last cosigned (as the log believes), a
// consistency proof from it, and the new signed checkpoint.
type AddCheckpoint struct {
	Old        int64
	Proof      tlog.TreeProof
	Checkpoint []byte
}

// maxProofLines is the most consistency proof lines a request may carry.
const maxProofLines = 63

// MaxAddCheckpoint bounds the body of an add-checkpoint request.
const MaxAddCheckpoint = 16 << 10

// MaxCheckpoint bounds a neighbour's signed checkpoint, so that evidence
// holding two of them stays a small event (the fold refuses larger notes).
const MaxCheckpoint = plenty.MaxEvidenceNote - 1<<10 // room for this witness's own line

// ParseAddCheckpoint reads an add-checkpoint request body: "old N\n",
// at most 63 base64 hash lines, an empty line, then the checkpoint. It
// checks the framing only; the checkpoint's signature and the proof are
// the witness's to check.
func ParseAddCheckpoint(body []byte) (*AddCheckpoint, error) {
	if len(body) > MaxAddCheckpoint {
		return nil, fmt.Errorf("add-checkpoint: the request is larger than %d bytes", MaxAddCheckpoint)
	}
	line, rest, ok := bytes.Cut(body, []byte("\n"))
	if !ok {
		return nil, fmt.Errorf("add-checkpoint: the request must start with an `old SIZE` line")
	}
	sizeText, ok := strings.CutPrefix(string(line), "old ")
	if !ok {
		return nil, fmt.Errorf("add-checkpoint: the first line must be `old SIZE`")
	}
	old, err := strconv.ParseInt(sizeText, 10, 64)
	if err != nil || old < 0 || strconv.FormatInt(old, 10) != sizeText {
		return nil, fmt.Errorf("add-checkpoint: old size %q is not a decimal number without leading zeroes", sizeText)
	}
	req := &AddCheckpoint{Old: old}
	for {
		line, rest, ok = bytes.Cut(rest, []byte("\n"))
		if !ok {
			return nil, fmt.Errorf("add-checkpoint: the proof must end with an empty line before the checkpoint")
		}
		if len(line) == 0 {
			break
		}
		if len(req.Proof) == maxProofLines {
			return nil, fmt.Errorf("add-checkpoint: more than %d consistency proof lines", maxProofLines)
		}
		h, err := base64.StdEncoding.Strict().DecodeString(string(line))
		if err != nil || len(h) != tlog.HashSize {
			return nil, fmt.Errorf("add-checkpoint: proof line %d is not a base64 SHA-256 hash", len(req.Proof)+1)
		}
		req.Proof = append(req.Proof, tlog.Hash(h))
	}
	if len(rest) == 0 {
		return nil, fmt.Errorf("add-checkpoint: the checkpoint is missing after the empty line")
	}
	req.Checkpoint = rest
	return req, nil
}

// Bytes encodes the request.
func (r *AddCheckpoint) Bytes() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", r.Old)
	for _, h := range r.Proof {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]) + "\n")
	}
	b.WriteByte('\n')
	b.Write(r.Checkpoint)
	return b.Bytes()
}

// WitnessError is a refusal of add-checkpoint with its tlog-witness HTTP
// status: 400 malformed, 403 not signed by a trusted key, 404 unknown
// origin, 409 old size is not the witness's (Size then holds the
// witness's), 422 inconsistent, 503 the witness could not mirror the log.
type WitnessError struct {
	Status int
	Size   int64
	Msg    string
}

func (e *WitnessError) Error() string { return e.Msg }

func witnessErr(status int, format string, args ...any) *WitnessError {
	return &WitnessError{Status: status, Msg: fmt.Sprintf(format, args...)}
}
