package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/ledger"
	"github.com/plentyhub/plenty/usecase"
)

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 200

// replayed is set by write when the ledger answered a request from its
// Idempotency-Key; markReplays carries one in every request's context.
type replayed struct{ yes bool }

type replayedKey struct{}

// markReplays answers every write that carried an Idempotency-Key with
// the key, and a request the ledger answered from the key (whichever use
// case wrote it) with Idempotent-Replayed: true.
//
// It also reads the key of every write (see apiKey), refusing a malformed
// one before the request goes further; requestKey returns it.
func (s *Server) markReplays(c *fiber.Ctx) error {
	write := c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead
	if write {
		key, err := apiKey(c, s.clientAddr(c))
		if err != nil {
			return err
		}
		c.Locals(requestKeyLocal{}, key)
	}
	r := &replayed{}
	c.SetUserContext(context.WithValue(c.UserContext(), replayedKey{}, r))
	err := c.Next()
	// A read takes no key: it is not echoed, unchecked, into the answer.
	if key := c.Get("Idempotency-Key"); write && key != "" && err == nil {
		c.Set("Idempotency-Key", key)
		if r.yes {
			c.Set("Idempotent-Replayed", "true")
		}
	}
	return err
}

// apiKey returns the use cases' idempotency key of an API request: its
// Idempotency-Key header (none without one), with the hash of its method,
// path and body. A key belongs to the client that sent it (see
// idempotencyScope): another client's same key neither replays this
// client's answer nor blocks it.
func apiKey(c *fiber.Ctx, addr string) (usecase.Key, error) {
	key := c.Get("Idempotency-Key")
	if key == "" {
		return usecase.Key{}, nil
	}
	if len(key) > maxIdempotencyKey || !printableASCII(key) {
		return usecase.Key{}, plenty.Invalid("Idempotency-Key", "must be 1 to 200 printable ASCII characters")
	}
	h := sha256.New()
	h.Write([]byte(c.Method() + " " + c.Path() + "\n"))
	h.Write(c.Body())
	return usecase.Key{Name: idempotencyScope(c, addr) + " " + key, Request: hex.EncodeToString(h.Sum(nil))}, nil
}

type requestKeyLocal struct{}

// requestKey is the idempotency key of an API write, as markReplays read
// it: none for a request without an Idempotency-Key.
func requestKey(c *fiber.Ctx) usecase.Key {
	key, _ := c.Locals(requestKeyLocal{}).(usecase.Key)
	return key
}

// idempotencyScope names whose keys a request's Idempotency-Key is among.
// The ledger keeps keys per actor, but every anonymous client is the one
// actor "public": so the key is also scoped to the credential's holder when
// the request carries a bearer token (by a hash of the token, apart from
// the token hashes that authenticate), and otherwise to the client address
// (addr, see clientAddr), so that anonymous clients (registrations) cannot
// squat on one another's keys.
func idempotencyScope(c *fiber.Ctx, addr string) string {
	if token, err := bearerToken(c, ""); err == nil {
		h := sha256.Sum256([]byte("plenty idempotency scope\n" + token))
		return "token:" + hex.EncodeToString(h[:16])
	}
	return "addr:" + addr
}

// write appends one event the hub itself writes (terms, expiries, draws,
// neighbours), with no idempotency key.
func (s *Server) write(ctx context.Context, kind string, actor plenty.Actor, data any, creds ...plenty.Credential) (plenty.Event, bool, error) {
	return s.append(ctx, usecase.Key{}, kind, actor, data, creds...)
}

// append appends one event with key (replay is true when the key returned
// an earlier event, and nothing was written). A write that may change what
// the engine proposes asks for a new matching run; a replay triggers
// nothing.
func (s *Server) append(ctx context.Context, key usecase.Key, kind string, actor plenty.Actor, data any, creds ...plenty.Credential) (ev plenty.Event, replay bool, err error) {
	req := ledger.Request{Kind: kind, Actor: actor, Data: data, Credentials: creds,
		IdempotencyKey: key.Name, RequestHash: key.Request}
	start := time.Now()
	ev, replay, err = s.ledger.Append(ctx, req)
	s.metrics.observeAppend(time.Since(start), err)
	if err != nil {
		return ev, false, err
	}
	if replay {
		// Nothing was written: nothing to match, time or tell.
		if r, ok := ctx.Value(replayedKey{}).(*replayed); ok {
			r.yes = true
		}
		return ev, true, nil
	}
	s.engine.changed()
	s.loops.poke()
	s.coord.appended(ev)
	return ev, false, nil
}

// env is what the use cases run against: the hub's ledger (through
// append, so that their writes trigger matching, timers and notices), its
// clock and its private stores.
func (s *Server) env() usecase.Env {
	return usecase.Env{Ledger: useCaseLedger{s.ledger, s}, Now: s.now, Private: privateStores{s}}
}

// useCaseLedger is the hub's ledger as the use cases see it: its reads,
// and its appends through the hub (Server.append).
type useCaseLedger struct {
	Ledger
	s *Server
}

func (l useCaseLedger) Append(ctx context.Context, key usecase.Key, kind string, actor plenty.Actor, data any, creds ...plenty.Credential) (plenty.Event, bool, error) {
	return l.s.append(ctx, key, kind, actor, data, creds...)
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
