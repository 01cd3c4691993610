package hub

import (
	"context"
	"crypto/subtle"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
)

// authenticate returns the delegate whose token the request carries. It
// returns EUNAUTHORIZED when there is no token, the token is unknown, or
// its mandate expired or was recalled, and ERATELIMIT when the token has
// written too much.
func (s *Server) authenticate(c *fiber.Ctx) (plenty.Delegate, error) {
	token, err := bearerToken(c, "delegate")
	if err != nil {
		return plenty.Delegate{}, err
	}
	return s.delegateByToken(c.UserContext(), token)
}

// bearerToken returns the token of the request's Authorization: Bearer
// header; who names whose token it should be, for the error.
func bearerToken(c *fiber.Ctx, who string) (string, error) {
	h := c.Get(fiber.HeaderAuthorization)
	scheme, token, ok := strings.Cut(h, " ")
	if h == "" {
		return "", plenty.Errorf(plenty.EUNAUTHORIZED, "send the %s's token as Authorization: Bearer TOKEN", who)
	}
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", plenty.Errorf(plenty.EUNAUTHORIZED, "the Authorization header must be \"Bearer TOKEN\"")
	}
	return token, nil
}

// delegateByToken returns the delegate whose token this is, for the API's
// bearer tokens and the desk's sign-in alike. It returns EUNAUTHORIZED
// when the token is unknown or its mandate expired or was recalled, and
// ERATELIMIT when the token has written too much.
func (s *Server) delegateByToken(ctx context.Context, token string) (plenty.Delegate, error) {
	hash := plenty.HashToken(token)
	var assembly bool
	if err := s.ledger.Read(func(st *plenty.State) error {
		_, assembly = st.AssemblyByKey(hash)
		return nil
	}); err != nil {
		return plenty.Delegate{}, err
	}
	if assembly {
		return plenty.Delegate{}, plenty.Errorf(plenty.EFORBIDDEN, "this is an assembly key: it only issues, renews and recalls mandates; use a delegate's token for this")
	}
	// A delegate whose mandate ended is read from the store, to say so.
	d, err := s.ledger.DelegateByToken(ctx, hash)
	found := err == nil
	if err != nil && plenty.ErrorCode(err) != plenty.ENOTFOUND {
		return plenty.Delegate{}, err
	}
	// The lookup is by hash; the comparison that admits is constant-time.
	if !found || subtle.ConstantTimeCompare([]byte(hash), []byte(d.TokenHash)) != 1 {
		return plenty.Delegate{}, plenty.Errorf(plenty.EUNAUTHORIZED, "the token is not valid; ask your council for a delegate's token")
	}
	if err := s.inForce(d); err != nil {
		return plenty.Delegate{}, err
	}
	if wait, ok := s.tokenLimit.allow(hash); !ok {
		return plenty.Delegate{}, &rateLimited{retryAfter: wait,
			err: plenty.Errorf(plenty.ERATELIMIT, "this delegate sent more than %g writes per second; retry after %d s", s.cfg.WriteRate, wait)}
	}
	return d, nil
}

// inForce returns EUNAUTHORIZED when d's mandate was recalled or expired.
func (s *Server) inForce(d plenty.Delegate) error {
	now := s.now()
	switch {
	case d.RecalledAt != nil:
		return plenty.Errorf(plenty.EUNAUTHORIZED,
			"delegate %s was recalled at %s; ask your council for a new mandate", d.ID, d.RecalledAt.Format(time.RFC3339))
	case !now.Before(d.ExpiresAt):
		return plenty.Errorf(plenty.EUNAUTHORIZED,
			"delegate %s's mandate expired at %s; ask your council for a new mandate", d.ID, d.ExpiresAt.Format(time.RFC3339))
	}
	return nil
}

// mandate authenticates the request and checks that the delegate may act
// for council with scope: EFORBIDDEN otherwise.
func (s *Server) mandate(c *fiber.Ctx, council, scope string) (plenty.Delegate, error) {
	d, err := s.authenticate(c)
	if err != nil {
		return d, err
	}
	if council != "" && d.Council != council {
		return d, plenty.Errorf(plenty.EFORBIDDEN, "delegate %s acts for council %s, not %s", d.ID, d.Council, council)
	}
	if !d.HasScope(scope) {
		return d, plenty.Errorf(plenty.EFORBIDDEN, "delegate %s's mandate does not include the %q scope", d.ID, scope)
	}
	return d, nil
}

// limitAddr limits the writes of one client address.
func (s *Server) limitAddr(c *fiber.Ctx) error {
	if wait, ok := s.addrLimit.allow(s.clientAddr(c)); !ok {
		return &rateLimited{retryAfter: wait,
			err: plenty.Errorf(plenty.ERATELIMIT, "this address sent more than %g writes per second; retry after %d s", s.cfg.AddrRate, wait)}
	}
	return c.Next()
}

// limitRegister limits the anonymous registrations (councils, volunteers)
// from one client address: a few a minute (Config.RegisterRate), apart from
// the address's other writes.
func (s *Server) limitRegister(c *fiber.Ctx) error {
	if wait, ok := s.registerLimit.allow(s.clientAddr(c)); !ok {
		return &rateLimited{retryAfter: wait,
			err: plenty.Errorf(plenty.ERATELIMIT, "this address registered more than %g councils or volunteers in a minute; nothing was recorded; retry after %d s", s.cfg.RegisterRate, wait)}
	}
	return c.Next()
}
