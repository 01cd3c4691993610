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
	// A proxy may append to the header it received or add a header line
	// of its own: the lines are read in order, as one list.
	var lines []string
	for _, v := range c.Request().Header.PeekAll(fiber.HeaderXForwardedFor) {
		lines = append(lines, string(v))
	}
	hops := strings.Split(strings.Join(lines, ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(strings.TrimSpace(hops[i]))
		if !ok {
			break // a malformed hop: nothing to its left can be believed
		}
		if !s.trusted(a.String()) {
			return a.String()
		}
	}
	return peer
}

// parseHop reads one hop of X-Forwarded-For: an address, maybe with a
// port ("203.0.113.4:5678", "[2001:db8::1]:80").
func parseHop(hop string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(hop); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(hop); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
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
