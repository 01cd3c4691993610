package usecase

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// tokenPrefix marks Plenty's bearer tokens, so that a leaked one is easy
// to recognise in logs and scanners.
const tokenPrefix = "plenty_"

// assemblyKeyPrefix marks assembly keys.
const assemblyKeyPrefix = "plenty_assembly_"

// NewToken returns a bearer token: 256 random bits, URL-safe.
func NewToken() string { return tokenPrefix + random256() }

// newAssemblyKey returns a council's assembly key: 256 random bits.
func newAssemblyKey() string { return assemblyKeyPrefix + random256() }

func random256() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// NewID returns an opaque id that sorts by creation time: 48 bits of
// milliseconds and 64 random bits, in hex, after a prefix naming the kind.
func NewID(prefix string, now time.Time) string {
	var b [14]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	rand.Read(b[6:])
	return prefix + hex.EncodeToString(b[:])
}
