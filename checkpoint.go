package plenty

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// Checkpoint is the body of a signed C2SP tlog-checkpoint
// (https://c2sp.org/tlog-checkpoint): the log's origin, the tree size it
// covers and the RFC 6962 root hash at that size. The ledger signs it; the
// open data and the verifier read it. Root has the layout of
// golang.org/x/mod/sumdb/tlog.Hash, which it converts to.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   [32]byte
}

// ParseCheckpoint reads the text of a checkpoint note (without its
// signatures): an origin line, a decimal tree size, a base64 root hash, and
// optional extension lines, each line ended by a newline. It returns an
// EINVALID error naming the line that is malformed.
func ParseCheckpoint(text string) (Checkpoint, error) {
	lines := strings.SplitAfter(text, "\n")
	// Text ended by a newline splits into its lines and an empty tail.
	if len(lines) < 4 || !strings.HasSuffix(text, "\n") {
		return Checkpoint{}, Errorf(EINVALID, "checkpoint must have an origin line, a tree size line and a root hash line, each ended by a newline")
	}
	origin := strings.TrimSuffix(lines[0], "\n")
	if origin == "" {
		return Checkpoint{}, Errorf(EINVALID, "checkpoint origin line is empty")
	}
	sizeText := strings.TrimSuffix(lines[1], "\n")
	size, err := strconv.ParseInt(sizeText, 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != sizeText {
		return Checkpoint{}, Errorf(EINVALID, "checkpoint tree size %q is not a decimal number", sizeText)
	}
	rootText := strings.TrimSuffix(lines[2], "\n")
	root, err := base64.StdEncoding.Strict().DecodeString(rootText)
	if err != nil || len(root) != 32 {
		return Checkpoint{}, Errorf(EINVALID, "checkpoint root hash %q is not a base64 SHA-256 hash", rootText)
	}
	c := Checkpoint{Origin: origin, Size: size}
	copy(c.Root[:], root)
	return c, nil
}

// String returns the checkpoint body as a note text, without extension
// lines: what the ledger signs.
func (c Checkpoint) String() string {
	return fmt.Sprintf("%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root[:]))
}
