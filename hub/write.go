package hub

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/ledger"
)

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 200

// record appends one event for the request. With an Idempotency-Key, a
// repeat of the same request returns the first event (replay is true) and
// writes nothing; the same key with another request is ECONFLICT.
func (s *Server) record(c *fiber.Ctx, kind string, actor plenty.Actor, data any) (ev plenty.Event, replay bool, err error) {
	req := ledger.Request{Kind: kind, Actor: actor, Data: data}
	if key := c.Get("Idempotency-Key"); key != "" {
		if len(key) > maxIdempotencyKey || !printableASCII(key) {
			return ev, false, plenty.Invalid("Idempotency-Key", "must be 1 to 200 printable ASCII characters")
		}
		h := sha256.New()
		h.Write([]byte(c.Method() + " " + c.Path() + "\n"))
		h.Write(c.Body())
		req.IdempotencyKey = key
		req.RequestHash = hex.EncodeToString(h.Sum(nil))
	}
	start := time.Now()
	ev, err = s.ledger.Append(c.UserContext(), req)
	s.metrics.observeAppend(time.Since(start), err)
	if err != nil {
		return ev, false, err
	}
	if req.IdempotencyKey != "" {
		c.Set("Idempotency-Key", req.IdempotencyKey)
		replay = !sameData(ev, data)
		if replay {
			c.Set("Idempotent-Replayed", "true")
		}
	}
	return ev, replay, nil
}

// sameData reports whether ev carries data, that is, whether the append
// wrote it rather than returned an earlier event.
func sameData(ev plenty.Event, data any) bool {
	b, err := plenty.CanonicalJSON(data)
	return err == nil && string(b) == string(ev.Data)
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return s != ""
}

// read calls fn with the ledger's state under its shared lock.
func (s *Server) read(fn func(*plenty.State) error) error { return s.ledger.Read(fn) }
