package plenty

import (
	"crypto/sha256"
	"encoding/hex"
)

// HashToken returns the SHA-256 of a bearer token in lowercase hex: what
// the ledger stores in place of the token (DelegateGrant.TokenHash).
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
