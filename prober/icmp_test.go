package prober

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/colo-portal/portal/models"
)

// newTestPinger opens a Pinger (mode "" = the default choice) and closes it
// when the test ends. It skips when ICMP sockets cannot be had at all.
func newTestPinger(t *testing.T, mode string) (*Pinger, *bytes.Buffer) {
	t.Helper()
	var logBuf bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logBuf}, nil))
	p, err := newPinger(log, mode)
	if err != nil {
		if os.Geteuid() == 0 {
			t.Fatalf("NewPinger as root: %v", err)
		}
		t.Skipf("no ICMP socket without root here: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p, &logBuf
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// socketFDs counts the sockets this process holds open.
func socketFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return n
}

func TestPingLoopbackAnswers(t *testing.T) {
	p, logBuf := newTestPinger(t, "")
	t.Logf("icmp mode: %s", p.Mode())
	if !strings.Contains(logBuf.String(), "icmp_mode="+p.Mode()) {
		t.Errorf("log does not say the icmp mode:\n%s", logBuf)
	}
	out := p.Ping(context.Background(), netip.MustParseAddr("127.0.0.1"), 2*time.Second)
	if !out.OK || out.RTT <= 0 || out.Reason != "" {
		t.Fatalf("ping 127.0.0.1 = %+v, want OK with RTT > 0", out)
	}
}

func TestPingManyLoopbackTargetsShareOneSocket(t *testing.T) {
	p, _ := newTestPinger(t, "")
	if v4, _ := p.sockets(); v4 != 1 {
		t.Fatalf("pinger holds %d IPv4 sockets, want 1", v4)
	}
	before := socketFDs(t)

	const n = 200
	outs := make([]Outcome, n)
	addrs := make([]netip.Addr, n)
	var wg sync.WaitGroup
	for i := range n {
		// Distinct 127.x.y.z addresses: loopback answers all of 127/8.
		addrs[i] = netip.AddrFrom4([4]byte{127, byte(1 + i/250), byte(i % 7), byte(1 + i%250)})
		wg.Go(func() {
			outs[i] = p.Ping(context.Background(), addrs[i], 5*time.Second)
		})
	}
	wg.Wait()
	for i, out := range outs {
		if !out.OK || out.RTT <= 0 {
			t.Errorf("ping %s = %+v, want OK", addrs[i], out)
		}
	}
	if after := socketFDs(t); after > before {
		t.Errorf("sockets open: %d before the pings, %d after; want no new ones", before, after)
	}
	if v4, _ := p.sockets(); v4 != 1 {
		t.Errorf("pinger holds %d IPv4 sockets, want 1", v4)
	}
	p.v4.mu.Lock()
	left := len(p.v4.waiting)
	p.v4.mu.Unlock()
	if left != 0 {
		t.Errorf("%d probes still registered after all returned", left)
	}
}

func TestPingIPv6Loopback(t *testing.T) {
	if !hasIPv6Loopback() {
		t.Skip("this host has no ::1")
	}
	p, _ := newTestPinger(t, "")
	if _, v6 := p.sockets(); v6 != 1 {
		t.Fatalf("pinger has no IPv6 socket on a host with ::1")
	}
	out := p.Ping(context.Background(), netip.MustParseAddr("::1"), 2*time.Second)
	if !out.OK || out.RTT <= 0 {
		t.Fatalf("ping ::1 = %+v, want OK", out)
	}
}

func hasIPv6Loopback() bool {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

func TestPingSequenceNumbersWrapAt16Bits(t *testing.T) {
	p, _ := newTestPinger(t, "")
	p.v4.mu.Lock()
	p.v4.nextSeq = 0xffff
	p.v4.mu.Unlock()
	for i := range 3 {
		if out := p.Ping(context.Background(), netip.MustParseAddr("127.0.0.1"), 2*time.Second); !out.OK {
			t.Fatalf("ping %d across the wrap = %+v", i, out)
		}
	}
	p.v4.mu.Lock()
	next := p.v4.nextSeq
	p.v4.mu.Unlock()
	if next != 2 {
		t.Errorf("next sequence = %d, want 2 after 65535, 0, 1", next)
	}
}

func TestPingAfterCloseFails(t *testing.T) {
	p, _ := newTestPinger(t, "")
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	out := p.Ping(context.Background(), netip.MustParseAddr("127.0.0.1"), time.Second)
	if out.OK || out.Reason != models.ReasonError {
		t.Errorf("ping after Close = %+v, want %s", out, models.ReasonError)
	}
}

func TestPingHonoursContext(t *testing.T) {
	p, _ := newTestPinger(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// The reply may win the race with the cancelled context; either way
	// Ping must return, and a failure must say why.
	out := p.Ping(ctx, netip.MustParseAddr("127.0.0.1"), time.Second)
	if !out.OK && out.Reason != models.ReasonError {
		t.Errorf("ping with a cancelled context = %+v", out)
	}
	out = p.Ping(context.Background(), netip.MustParseAddr("127.0.0.1"), 0)
	if !out.OK && out.Reason != models.ReasonTimeout {
		t.Errorf("ping with no time = %+v, want OK or %s", out, models.ReasonTimeout)
	}
}

// echoReply builds the ICMP echo reply bytes a socket would read.
func echoReply(t *testing.T, proto, id int, seq uint16, token uint64) []byte {
	t.Helper()
	data := make([]byte, echoPayloadLen)
	binary.BigEndian.PutUint64(data, token)
	typ := icmp.Type(ipv4.ICMPTypeEchoReply)
	if proto == protoICMPv6 {
		typ = ipv6.ICMPTypeEchoReply
	}
	b, err := (&icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: int(seq), Data: data}}).Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// unreachable builds an IPv4 destination-unreachable message quoting our
// echo request to dst.
func unreachable(t *testing.T, dst netip.Addr, id int, seq uint16, token uint64) []byte {
	t.Helper()
	data := make([]byte, echoPayloadLen)
	binary.BigEndian.PutUint64(data, token)
	req, err := (&icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: int(seq), Data: data}}).Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	hdr := make([]byte, 20)
	hdr[0] = 0x45
	hdr[8] = 64
	hdr[9] = protoICMP
	copy(hdr[12:16], []byte{127, 0, 0, 1})
	d4 := dst.As4()
	copy(hdr[16:20], d4[:])
	b, err := (&icmp.Message{Type: ipv4.ICMPTypeDestinationUnreachable, Code: 1,
		Body: &icmp.DstUnreach{Data: append(hdr, req...)}}).Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPingMatchesRepliesByIDSequenceAndToken feeds packets straight to a
// socket's matcher, as its reader would.
func TestPingMatchesRepliesByIDSequenceAndToken(t *testing.T) {
	dst := netip.MustParseAddr("127.0.0.9")
	const id, seq, token = 4242, 7, uint64(0x1122334455667788)
	tests := []struct {
		name   string
		packet func(t *testing.T) []byte
		from   netip.Addr
		want   string // "" = not delivered, "ok" = echo reply, else the reason
	}{
		{"the matching reply is delivered", func(t *testing.T) []byte { return echoReply(t, protoICMP, id, seq, token) }, dst, "ok"},
		{"a reply from another address is dropped", func(t *testing.T) []byte { return echoReply(t, protoICMP, id, seq, token) }, netip.MustParseAddr("127.0.0.8"), ""},
		{"a reply with another identifier is dropped", func(t *testing.T) []byte { return echoReply(t, protoICMP, id+1, seq, token) }, dst, ""},
		{"a reply to an unknown sequence number is dropped", func(t *testing.T) []byte { return echoReply(t, protoICMP, id, seq+1, token) }, dst, ""},
		{"a stale reply to a reused sequence number is dropped by its token", func(t *testing.T) []byte { return echoReply(t, protoICMP, id, seq, token+1) }, dst, ""},
		{"a reply without our payload is dropped", func(t *testing.T) []byte {
			b, _ := (&icmp.Message{Type: ipv4.ICMPTypeEchoReply, Body: &icmp.Echo{ID: id, Seq: seq}}).Marshal(nil)
			return b
		}, dst, ""},
		{"an echo request is not a reply", func(t *testing.T) []byte {
			b, _ := (&icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: seq, Data: make([]byte, 16)}}).Marshal(nil)
			return b
		}, dst, ""},
		{"garbage is dropped", func(*testing.T) []byte { return []byte{0, 1, 2} }, dst, ""},
		{"destination unreachable quoting the probe fails it", func(t *testing.T) []byte { return unreachable(t, dst, id, seq, token) }, netip.MustParseAddr("127.0.0.1"), models.ReasonUnreachable},
		{"destination unreachable for another destination is dropped", func(t *testing.T) []byte {
			return unreachable(t, netip.MustParseAddr("127.0.0.10"), id, seq, token)
		}, netip.MustParseAddr("127.0.0.1"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &icmpSocket{proto: protoICMP, id: id, waiting: map[uint16]*echoWait{}}
			w := &echoWait{dst: dst, token: token, done: make(chan echoResult, 1)}
			s.waiting[seq] = w
			at := time.Now()
			s.deliver(tt.packet(t), tt.from, at)
			// A duplicate must neither block the reader nor deliver twice.
			s.deliver(tt.packet(t), tt.from, at)
			var got string
			select {
			case r := <-w.done:
				got = "ok"
				if r.reason != "" {
					got = r.reason
				}
				if !r.at.Equal(at) {
					t.Errorf("reply time %v, want %v", r.at, at)
				}
			default:
			}
			if got != tt.want {
				t.Errorf("delivered %q, want %q", got, tt.want)
			}
			if _, still := s.waiting[seq]; still == (tt.want != "") {
				t.Errorf("probe registered after delivery: %v", still)
			}
		})
	}
}

func TestPingDropsRepliesAfterTimeout(t *testing.T) {
	s := &icmpSocket{proto: protoICMPv6, id: 9, waiting: map[uint16]*echoWait{}}
	dst := netip.MustParseAddr("::1")
	w := &echoWait{dst: dst, token: 1, done: make(chan echoResult, 1)}
	seq, ok := s.register(w)
	if !ok {
		t.Fatal("register failed")
	}
	s.unregister(seq, w) // the probe timed out
	s.deliver(echoReply(t, protoICMPv6, 9, seq, 1), dst, time.Now())
	select {
	case r := <-w.done:
		t.Fatalf("a reply after the timeout was delivered: %+v", r)
	default:
	}
	// Unregistering must not drop a later probe that got the same number.
	w2 := &echoWait{dst: dst, token: 2, done: make(chan echoResult, 1)}
	s.waiting[seq] = w2
	s.unregister(seq, w)
	if s.waiting[seq] != w2 {
		t.Fatal("unregistering a finished probe removed the next one")
	}
}

// TestPingInNetworkNamespace runs the pinger in a network namespace of its
// own, where it may change sysctls: datagram mode (ping_group_range opened
// to every group), and a timeout when the kernel ignores echo requests, in
// both modes. The test binary re-runs itself under unshare.
func TestPingInNetworkNamespace(t *testing.T) {
	if os.Getenv("PROBER_NETNS_CHILD") == "1" {
		netnsChild(t)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a network namespace")
	}
	for _, tool := range []string{"unshare", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s: %v", tool, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "--net", "--", os.Args[0],
		"-test.run=^TestPingInNetworkNamespace$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "PROBER_NETNS_CHILD=1")
	out, err := cmd.CombinedOutput()
	t.Logf("in the namespace:\n%s", out)
	if err != nil {
		if strings.Contains(string(out), "unshare failed") || strings.Contains(string(out), "Operation not permitted") {
			t.Skipf("cannot make a network namespace here: %v", err)
		}
		t.Fatalf("pinger in a network namespace: %v", err)
	}
}

func netnsChild(t *testing.T) {
	run := func(args ...string) {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	sysctl := func(path, value string) bool {
		err := os.WriteFile("/proc/sys/net/"+path, []byte(value), 0o644)
		if err != nil && !os.IsNotExist(err) {
			t.Fatalf("set %s: %v", path, err)
		}
		return err == nil
	}
	run("ip", "link", "set", "lo", "up")
	sysctl("ipv4/ping_group_range", "0 2147483647")

	targets := []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	if hasIPv6Loopback() {
		targets = append(targets, netip.MustParseAddr("::1"))
	}
	for _, mode := range []string{icmpModeDatagram, icmpModeRaw} {
		t.Run(mode, func(t *testing.T) {
			p, _ := newTestPinger(t, mode)
			if p.Mode() != mode {
				t.Fatalf("mode %s, want %s", p.Mode(), mode)
			}
			t.Logf("echo identifier %d", p.v4.id)
			ctx := context.Background()
			for _, a := range targets {
				if out := p.Ping(ctx, a, 2*time.Second); !out.OK {
					t.Errorf("ping %s = %+v, want OK", a, out)
				}
			}
			// The kernel stops answering: probes time out, and their
			// replies, were any to come late, find nobody waiting.
			ign4 := sysctl("ipv4/icmp_echo_ignore_all", "1")
			ign6 := sysctl("ipv6/icmp/echo_ignore_all", "1")
			for _, a := range targets {
				if (a.Is4() && !ign4) || (a.Is6() && !ign6) {
					continue
				}
				start := time.Now()
				out := p.Ping(ctx, a, 200*time.Millisecond)
				if out.OK || out.Reason != models.ReasonTimeout {
					t.Errorf("ping %s ignored = %+v, want %s", a, out, models.ReasonTimeout)
				}
				if d := time.Since(start); d > 2*time.Second {
					t.Errorf("timeout of 200ms took %v", d)
				}
			}
			sysctl("ipv4/icmp_echo_ignore_all", "0")
			sysctl("ipv6/icmp/echo_ignore_all", "0")
			for _, a := range targets {
				if out := p.Ping(ctx, a, 2*time.Second); !out.OK {
					t.Errorf("ping %s after answering again = %+v, want OK", a, out)
				}
			}
		})
	}
}

func TestICMPProbeFunc(t *testing.T) {
	p, _ := newTestPinger(t, "")
	ch := NewChecker(p, nil)
	// A resolver that cannot reach any server, so no query leaves the host.
	broken := &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, fmt.Errorf("no DNS server in this test")
	}}
	tests := []struct {
		name     string
		target   string
		resolver *net.Resolver
		want     string
	}{
		{"an IPv4 literal is pinged", "127.0.0.1", nil, ""},
		{"another loopback address is pinged", "127.3.2.1", nil, ""},
		{"localhost is resolved and pinged", "localhost", nil, ""},
		{"an unresolvable name fails with dns", "device.example.invalid", broken, models.ReasonDNS},
	}
	if hasIPv6Loopback() {
		tests = append(tests, struct {
			name     string
			target   string
			resolver *net.Resolver
			want     string
		}{"an IPv6 literal is pinged", "::1", nil, ""})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := *ch
			if tt.resolver != nil {
				c.resolver = tt.resolver
			}
			out := c.Probe(context.Background(), &models.Check{Kind: models.KindICMP, Target: tt.target, TimeoutMs: 2000})
			if tt.want == "" && (!out.OK || out.RTT <= 0) {
				t.Fatalf("probe %s = %+v, want OK", tt.target, out)
			}
			if tt.want != "" && (out.OK || out.Reason != tt.want) {
				t.Fatalf("probe %s = %+v, want %s", tt.target, out, tt.want)
			}
		})
	}
	t.Run("an icmp check without a pinger fails", func(t *testing.T) {
		out := NewChecker(nil, nil).Probe(context.Background(), &models.Check{Kind: models.KindICMP, Target: "127.0.0.1", TimeoutMs: 500})
		if out.OK || out.Reason != models.ReasonError {
			t.Fatalf("got %+v", out)
		}
	})
}

// FuzzICMPParseReply feeds arbitrary packets, as the network may, to the
// reply parser and the matcher.
func FuzzICMPParseReply(f *testing.F) {
	tok := make([]byte, 16)
	for _, seed := range [][]byte{
		{0, 0, 0, 0, 0x10, 0x92, 0, 7},
		append([]byte{0, 0, 0, 0, 0x10, 0x92, 0, 7}, tok...),
		{3, 1, 0, 0, 0, 0, 0, 0, 0x45, 0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0, 127, 0, 0, 1, 127, 0, 0, 9, 8, 0, 0, 0, 0x10, 0x92, 0, 7},
		{129, 0, 0, 0, 0, 1, 0, 2},
		{1, 0, 0, 0, 0, 0, 0, 0, 0x60},
	} {
		f.Add(true, seed)
		f.Add(false, seed)
	}
	f.Fuzz(func(t *testing.T, v4 bool, b []byte) {
		proto := protoICMP
		if !v4 {
			proto = protoICMPv6
		}
		r, ok := parseReply(proto, b)
		if ok && r.unreachable && !r.dst.IsValid() {
			t.Fatalf("unreachable without a destination: %+v", r)
		}
		s := &icmpSocket{proto: proto, id: r.id, waiting: map[uint16]*echoWait{}}
		w := &echoWait{dst: r.dst, token: r.token, done: make(chan echoResult, 1)}
		s.waiting[r.seq] = w
		s.deliver(b, r.dst, time.Now())
		s.deliver(b, r.dst, time.Now())
	})
}
