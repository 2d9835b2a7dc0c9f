package prober

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"github.com/colo-portal/portal/models"
)

// NewProbeFunc is the ProbeFunc of the prober pool: ICMP checks go through
// p, the others connect to the target, all verifying certificates against
// the system roots.
func NewProbeFunc(p *Pinger) ProbeFunc {
	return NewChecker(p, nil).Probe
}

// Probe runs one probe of c, bounded by c's timeout (and by ctx).
func (ch *Checker) Probe(ctx context.Context, c *models.Check) Outcome {
	timeout := c.Timeout()
	if timeout <= 0 {
		timeout = models.DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch c.Kind {
	case models.KindICMP:
		return ch.ping(ctx, c.Target)
	case models.KindTCP:
		return ch.checkTCP(ctx, c.Target)
	case models.KindHTTP, models.KindHTTPS:
		return ch.checkHTTP(ctx, c)
	case models.KindSMTP:
		return ch.checkSMTP(ctx, c)
	case models.KindFTP:
		return ch.checkFTP(ctx, c)
	}
	return failure(models.ReasonError)
}

// ping resolves target and pings it until ctx's deadline. RTT is the echo
// round trip alone, without the name lookup.
func (ch *Checker) ping(ctx context.Context, target string) Outcome {
	if ch.pinger == nil {
		return failure(models.ReasonError)
	}
	addr, reason := ch.resolve(ctx, target)
	if reason != "" {
		return failure(reason)
	}
	timeout := models.DefaultTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	return ch.pinger.Ping(ctx, addr, timeout)
}

// resolve turns an ICMP target into an address: an IP literal as it is, a
// host name through the resolver, preferring a family the pinger has.
func (ch *Checker) resolve(ctx context.Context, target string) (netip.Addr, string) {
	host := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(target), "["), "]")
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap(), ""
	}
	addrs, err := ch.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return netip.Addr{}, models.ReasonDNS
	}
	for _, a := range addrs {
		a = a.Unmap()
		if (a.Is4() && ch.pinger.v4 != nil) || (a.Is6() && ch.pinger.v6 != nil) {
			return a, ""
		}
	}
	return addrs[0].Unmap(), ""
}
