package prober

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/colo-portal/portal/models"
)

// ICMP socket modes, as logged under the key "icmp_mode".
const (
	// icmpModeDatagram is the unprivileged ping socket (SOCK_DGRAM,
	// IPPROTO_ICMP), allowed by net.ipv4.ping_group_range.
	icmpModeDatagram = "datagram"
	// icmpModeRaw is a raw ICMP socket, which needs CAP_NET_RAW.
	icmpModeRaw = "raw"
)

const (
	protoICMP   = 1  // IANA protocol number of ICMP
	protoICMPv6 = 58 // and of ICMPv6

	// echoPayloadLen is the echo data we send: an 8-byte per-probe token
	// followed by the 8-byte send time in Unix nanoseconds.
	echoPayloadLen = 16

	// icmpReadBuffer asks for a socket receive buffer large enough that
	// a burst of replies is not dropped before the reader drains it (the
	// kernel caps it at net.core.rmem_max).
	icmpReadBuffer = 4 << 20
)

// Pinger sends ICMP echo requests through one shared socket per address
// family and matches the replies to the waiting probes by identifier and
// sequence number: one socket and one reader goroutine per family, however
// many targets are probed.
type Pinger struct {
	log  *slog.Logger
	v4   *icmpSocket
	v6   *icmpSocket
	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

// icmpSocket is the socket of one address family and its probes in flight.
type icmpSocket struct {
	family string // "ipv4" or "ipv6", for logs
	mode   string
	proto  int
	echo   icmp.Type // echo request type we send
	conn   *icmp.PacketConn
	udp    *net.UDPConn // the same socket in datagram mode, for allocation-free I/O
	// id is the echo identifier replies carry. In datagram mode the kernel
	// replaces ours with the socket's port, so that is what we match on.
	id int

	mu      sync.Mutex
	nextSeq uint16
	waiting map[uint16]*echoWait
}

// echoWait is one probe waiting for its reply.
type echoWait struct {
	dst   netip.Addr
	token uint64
	done  chan echoResult // buffered: the reader never blocks
}

type echoResult struct {
	at     time.Time // when the reply was read
	reason string    // "" for an echo reply, else a models.Reason* code
}

// NewPinger opens the shared ICMP sockets, unprivileged datagram ICMP where
// the kernel allows it and raw sockets otherwise, and starts their readers.
// A family that cannot be opened at all (no IPv6, say) is logged and left
// out; NewPinger fails only when neither can be opened.
func NewPinger(log *slog.Logger) (*Pinger, error) {
	return newPinger(log, "")
}

// newPinger is NewPinger with the mode forced ("" = datagram, else raw).
func newPinger(log *slog.Logger, force string) (*Pinger, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Pinger{log: log, done: make(chan struct{})}
	var errs []error
	for _, fam := range []string{"ipv4", "ipv6"} {
		s, err := openICMP(fam, force)
		if err != nil {
			log.Warn("prober: icmp unavailable", "family", fam, "err", err)
			errs = append(errs, err)
			continue
		}
		log.Info("prober: icmp socket open", "family", fam, "icmp_mode", s.mode, "echo_id", s.id)
		if fam == "ipv4" {
			p.v4 = s
		} else {
			p.v6 = s
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			s.readLoop(p.log, p.done)
		}()
	}
	if p.v4 == nil && p.v6 == nil {
		return nil, fmt.Errorf("prober: no icmp socket: %w", errors.Join(errs...))
	}
	return p, nil
}

// openICMP opens the socket of one family, trying datagram mode first.
func openICMP(family, force string) (*icmpSocket, error) {
	s := &icmpSocket{family: family, waiting: make(map[uint16]*echoWait), nextSeq: uint16(rand.UintN(1 << 16))}
	dgram, raw, wildcard := "udp4", "ip4:icmp", "0.0.0.0"
	s.proto, s.echo = protoICMP, ipv4.ICMPTypeEcho
	if family == "ipv6" {
		dgram, raw, wildcard = "udp6", "ip6:ipv6-icmp", "::"
		s.proto, s.echo = protoICMPv6, ipv6.ICMPTypeEchoRequest
	}
	var dgramErr error
	if force != icmpModeRaw {
		c, err := icmp.ListenPacket(dgram, wildcard)
		if err == nil {
			s.mode, s.conn = icmpModeDatagram, c
			s.udp, _ = s.netConn().(*net.UDPConn)
			if a, ok := c.LocalAddr().(*net.UDPAddr); ok {
				s.id = a.Port
			}
			s.tune()
			return s, nil
		}
		if force == icmpModeDatagram {
			return nil, err
		}
		dgramErr = err
	}
	c, err := icmp.ListenPacket(raw, wildcard)
	if err != nil {
		return nil, errors.Join(dgramErr, err)
	}
	s.mode, s.conn = icmpModeRaw, c
	// A raw socket sees every ICMP packet of the host; our identifier
	// tells our replies from those of other programs (or other Pingers).
	s.id = 1 + rand.IntN(0xffff)
	s.tune()
	return s, nil
}

// netConn is the socket under the icmp.PacketConn.
func (s *icmpSocket) netConn() net.PacketConn {
	if p := s.conn.IPv4PacketConn(); p != nil {
		return p.PacketConn
	}
	if p := s.conn.IPv6PacketConn(); p != nil {
		return p.PacketConn
	}
	return nil
}

// tune enlarges the receive buffer and, on raw sockets, has the kernel
// pass up only echo replies and destination-unreachable messages, so the
// reader is not woken by the host's other ICMP traffic. Both are best
// effort: the pinger works without them.
func (s *icmpSocket) tune() {
	if rb, ok := s.netConn().(interface{ SetReadBuffer(int) error }); ok {
		_ = rb.SetReadBuffer(icmpReadBuffer)
	}
	if s.mode != icmpModeRaw {
		return
	}
	if p := s.conn.IPv4PacketConn(); p != nil {
		var f ipv4.ICMPFilter
		f.SetAll(true)
		f.Accept(ipv4.ICMPTypeEchoReply)
		f.Accept(ipv4.ICMPTypeDestinationUnreachable)
		_ = p.SetICMPFilter(&f)
	}
	if p := s.conn.IPv6PacketConn(); p != nil {
		var f ipv6.ICMPFilter
		f.SetAll(true)
		f.Accept(ipv6.ICMPTypeEchoReply)
		f.Accept(ipv6.ICMPTypeDestinationUnreachable)
		_ = p.SetICMPFilter(&f)
	}
}

// Mode reports the socket mode of the IPv4 socket (or of the IPv6 one when
// there is no IPv4): "datagram" or "raw".
func (p *Pinger) Mode() string {
	if p.v4 != nil {
		return p.v4.mode
	}
	return p.v6.mode
}

// Close stops the readers and closes the sockets. Probes still waiting
// fail with models.ReasonError.
func (p *Pinger) Close() error {
	var err error
	p.once.Do(func() {
		close(p.done)
		for _, s := range []*icmpSocket{p.v4, p.v6} {
			if s != nil {
				err = errors.Join(err, s.conn.Close())
			}
		}
		p.wg.Wait()
	})
	return err
}

// Ping sends one echo request to addr and waits for its reply until timeout
// or ctx ends. RTT is from the send to the moment the reply was read.
func (p *Pinger) Ping(ctx context.Context, addr netip.Addr, timeout time.Duration) Outcome {
	addr = addr.Unmap()
	if !addr.IsValid() {
		return failure(models.ReasonError)
	}
	s := p.v4
	if addr.Is6() {
		s = p.v6
	}
	if s == nil {
		// This host cannot send to that family at all.
		return failure(models.ReasonUnreachable)
	}
	select {
	case <-p.done:
		return failure(models.ReasonError)
	default:
	}

	w := &echoWait{dst: addr.WithZone(""), token: rand.Uint64(), done: make(chan echoResult, 1)}
	seq, ok := s.register(w)
	if !ok {
		return failure(models.ReasonError) // 65,536 probes in flight on one socket
	}
	defer s.unregister(seq, w)

	sent := time.Now()
	if err := s.send(addr, seq, w.token, sent); err != nil {
		return failure(sendReason(err))
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r := <-w.done:
		if r.reason != "" {
			return failure(r.reason)
		}
		return Outcome{OK: true, RTT: max(r.at.Sub(sent), time.Nanosecond)}
	case <-timer.C:
		return failure(models.ReasonTimeout)
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return failure(models.ReasonTimeout)
		}
		return failure(models.ReasonError)
	case <-p.done:
		return failure(models.ReasonError)
	}
}

// register gives w a free sequence number. Numbers wrap at 16 bits; one
// still in use by a slow probe is skipped.
func (s *icmpSocket) register(w *echoWait) (uint16, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range 1 << 16 {
		seq := s.nextSeq
		s.nextSeq++
		if _, busy := s.waiting[seq]; !busy {
			s.waiting[seq] = w
			return seq, true
		}
	}
	return 0, false
}

// unregister forgets w, unless the reader already did (or the number went
// to a later probe).
func (s *icmpSocket) unregister(seq uint16, w *echoWait) {
	s.mu.Lock()
	if s.waiting[seq] == w {
		delete(s.waiting, seq)
	}
	s.mu.Unlock()
}

// send writes the echo request.
func (s *icmpSocket) send(dst netip.Addr, seq uint16, token uint64, at time.Time) error {
	var payload [echoPayloadLen]byte
	binary.BigEndian.PutUint64(payload[:8], token)
	binary.BigEndian.PutUint64(payload[8:], uint64(at.UnixNano()))
	msg := icmp.Message{Type: s.echo, Body: &icmp.Echo{ID: s.id, Seq: int(seq), Data: payload[:]}}
	// For ICMPv6 the kernel fills in the checksum, so no pseudo-header.
	b, err := msg.Marshal(nil)
	if err != nil {
		return err
	}
	if s.udp != nil {
		_, err = s.udp.WriteToUDPAddrPort(b, netip.AddrPortFrom(dst, 0))
		return err
	}
	_, err = s.conn.WriteTo(b, &net.IPAddr{IP: dst.AsSlice(), Zone: dst.Zone()})
	return err
}

// sendReason maps a failed send to a reason: no route is "unreachable".
func sendReason(err error) string {
	// EINVAL and EACCES come from blackhole and prohibit routes: the
	// network refuses the destination, which is what "unreachable" means.
	if errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.Is(err, syscall.EHOSTDOWN) || errors.Is(err, syscall.EADDRNOTAVAIL) ||
		errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.EACCES) {
		return models.ReasonUnreachable
	}
	return models.ReasonError
}

// readLoop reads replies until the socket is closed.
func (s *icmpSocket) readLoop(log *slog.Logger, done <-chan struct{}) {
	buf := make([]byte, 1500)
	for {
		var (
			n    int
			from netip.Addr
			err  error
		)
		if s.udp != nil {
			var ap netip.AddrPort
			n, ap, err = s.udp.ReadFromUDPAddrPort(buf)
			from = ap.Addr()
		} else {
			var a net.Addr
			n, a, err = s.conn.ReadFrom(buf)
			if ia, ok := a.(*net.IPAddr); ok {
				from, _ = netip.AddrFromSlice(ia.IP)
			}
		}
		at := time.Now()
		if err != nil {
			select {
			case <-done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			log.Warn("prober: icmp read", "family", s.family, "err", err)
			time.Sleep(10 * time.Millisecond) // do not spin on a persistent error
			continue
		}
		s.deliver(buf[:n], from, at)
	}
}

// deliver hands a packet to the probe it answers. Anything else (a reply to
// another program, a stale reply to a probe that timed out, a reply whose
// token does not match because its sequence number was reused) is dropped.
func (s *icmpSocket) deliver(b []byte, from netip.Addr, at time.Time) {
	r, ok := parseReply(s.proto, b)
	if !ok {
		return
	}
	// In datagram mode the kernel only passes up our own replies, with
	// the identifier it chose (the socket's port); checking it costs nothing.
	if s.id != 0 && r.id != s.id {
		return
	}
	peer := r.dst // the original destination, for unreachable messages
	if !r.unreachable {
		peer = from
	}
	peer = peer.Unmap().WithZone("")

	s.mu.Lock()
	w := s.waiting[r.seq]
	if w == nil || w.dst != peer || (r.hasToken && w.token != r.token) || (!r.unreachable && !r.hasToken) {
		s.mu.Unlock()
		return
	}
	delete(s.waiting, r.seq)
	s.mu.Unlock()

	res := echoResult{at: at}
	if r.unreachable {
		res.reason = models.ReasonUnreachable
	}
	w.done <- res
}

// icmpReply is what parseReply found in a packet.
type icmpReply struct {
	// unreachable marks a destination-unreachable message quoting one of
	// our echo requests; dst is that request's destination.
	unreachable bool
	dst         netip.Addr
	id          int
	seq         uint16
	token       uint64
	hasToken    bool
}

// parseReply parses an ICMP (proto 1) or ICMPv6 (proto 58) message without
// its IP header: an echo reply, or a destination-unreachable message that
// quotes an echo request. It is given untrusted bytes from the network.
func parseReply(proto int, b []byte) (icmpReply, bool) {
	m, err := icmp.ParseMessage(proto, b)
	if err != nil {
		return icmpReply{}, false
	}
	switch m.Type {
	case ipv4.ICMPTypeEchoReply, ipv6.ICMPTypeEchoReply:
		e, ok := m.Body.(*icmp.Echo)
		if !ok || e.Seq < 0 || e.Seq > 0xffff {
			return icmpReply{}, false
		}
		r := icmpReply{id: e.ID, seq: uint16(e.Seq)}
		if len(e.Data) >= 8 {
			r.token, r.hasToken = binary.BigEndian.Uint64(e.Data[:8]), true
		}
		return r, true
	case ipv4.ICMPTypeDestinationUnreachable, ipv6.ICMPTypeDestinationUnreachable:
		du, ok := m.Body.(*icmp.DstUnreach)
		if !ok {
			return icmpReply{}, false
		}
		return parseQuoted(proto, du.Data)
	}
	return icmpReply{}, false
}

// parseQuoted parses the IP packet quoted by an ICMP error: it must be one
// of our echo requests.
func parseQuoted(proto int, b []byte) (icmpReply, bool) {
	var (
		r     icmpReply
		inner []byte
	)
	if proto == protoICMP {
		if len(b) < 20 || b[0]>>4 != 4 || b[9] != protoICMP {
			return r, false
		}
		hl := int(b[0]&0x0f) * 4
		if hl < 20 || len(b) < hl {
			return r, false
		}
		r.dst = netip.AddrFrom4([4]byte(b[16:20]))
		inner = b[hl:]
	} else {
		// Extension headers are not expected on our own echo requests.
		if len(b) < 40 || b[0]>>4 != 6 || b[6] != protoICMPv6 {
			return r, false
		}
		r.dst = netip.AddrFrom16([16]byte(b[24:40]))
		inner = b[40:]
	}
	// At least the ICMP header (type, code, checksum, id, seq) is quoted.
	if len(inner) < 8 {
		return r, false
	}
	if (proto == protoICMP && inner[0] != byte(ipv4.ICMPTypeEcho)) ||
		(proto == protoICMPv6 && inner[0] != byte(ipv6.ICMPTypeEchoRequest)) {
		return r, false
	}
	r.unreachable = true
	r.id = int(binary.BigEndian.Uint16(inner[4:6]))
	r.seq = binary.BigEndian.Uint16(inner[6:8])
	if len(inner) >= 16 {
		r.token, r.hasToken = binary.BigEndian.Uint64(inner[8:16]), true
	}
	return r, true
}

// sockets is how many ICMP sockets the Pinger holds, for tests.
func (p *Pinger) sockets() (v4, v6 int) {
	if p.v4 != nil {
		v4 = 1
	}
	if p.v6 != nil {
		v6 = 1
	}
	return v4, v6
}
