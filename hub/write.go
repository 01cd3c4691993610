package hub

import (
	"context"
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
	ctx, err := idempotent(c)
	if err != nil {
		return ev, false, err
	}
	ev, replay, err = s.write(ctx, kind, actor, data)
	if err != nil {
		return ev, false, err
	}
	if key, _ := ctx.Value(idempotencyKey{}).(ledger.Request); key.IdempotencyKey != "" {
		c.Set("Idempotency-Key", key.IdempotencyKey)
		if replay {
			c.Set("Idempotent-Replayed", "true")
		}
	}
	return ev, replay, nil
}

// idempotencyKey is the context key of a request's Idempotency-Key and
// request hash, carried as a ledger.Request.
type idempotencyKey struct{}

// idempotent returns the request's context, carrying its Idempotency-Key
// (and the hash of its method, path and body) when it has one, so that
// write applies it.
func idempotent(c *fiber.Ctx) (context.Context, error) {
	ctx := c.UserContext()
	key := c.Get("Idempotency-Key")
	if key == "" {
		return ctx, nil
	}
	if len(key) > maxIdempotencyKey || !printableASCII(key) {
		return ctx, plenty.Invalid("Idempotency-Key", "must be 1 to 200 printable ASCII characters")
	}
	h := sha256.New()
	h.Write([]byte(c.Method() + " " + c.Path() + "\n"))
	h.Write(c.Body())
	return context.WithValue(ctx, idempotencyKey{}, ledger.Request{IdempotencyKey: key, RequestHash: hex.EncodeToString(h.Sum(nil))}), nil
}

// write appends one event, with the Idempotency-Key ctx carries, if any
// (replay is true when the key returned an earlier event). A write that
// may change what the engine proposes asks for a new matching run.
func (s *Server) write(ctx context.Context, kind string, actor plenty.Actor, data any) (ev plenty.Event, replay bool, err error) {
	req := ledger.Request{Kind: kind, Actor: actor, Data: data}
	if key, ok := ctx.Value(idempotencyKey{}).(ledger.Request); ok {
		req.IdempotencyKey, req.RequestHash = key.IdempotencyKey, key.RequestHash
	}
	start := time.Now()
	ev, err = s.ledger.Append(ctx, req)
	s.metrics.observeAppend(time.Since(start), err)
	if err != nil {
		return ev, false, err
	}
	replay = req.IdempotencyKey != "" && !sameData(ev, data)
	if !replay {
		s.engine.changed()
		s.coord.appended(ev)
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
