package hub

import (
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// clientAddr returns the address a request's limits and anonymous
// idempotency keys are kept under: the peer's, or, when the peer is one
// of the trusted proxies (Config.TrustedProxies), the nearest address in
// its X-Forwarded-For that is not itself a trusted proxy. The header is
// read from the right: each proxy appends the address it saw, so only the
// hops the trusted proxies added can be believed, and whatever a client
// wrote to the left of them is ignored.
func (s *Server) clientAddr(c *fiber.Ctx) string {
	peer := c.IP()
	if len(s.cfg.TrustedProxies) == 0 || !s.trusted(peer) {
		return peer
	}
	hops := strings.Split(c.Get(fiber.HeaderXForwardedFor), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		a, err := netip.ParseAddr(hop)
		if err != nil {
			break // a malformed hop: nothing to its left can be believed
		}
		if !s.trusted(a.Unmap().String()) {
			return a.Unmap().String()
		}
	}
	return peer
}

func (s *Server) trusted(addr string) bool {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
