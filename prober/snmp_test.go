package prober

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/prober/snmptest"
)

// The tests against Debian's snmpd (prober/snmptest) read this machine's
// own interfaces; `lo` is on every Linux machine.

// discoverLoopback discovers the agent's interfaces and returns them with
// the loopback's.
func discoverLoopback(t *testing.T, creds models.SNMPCredentials) ([]models.Interface, models.Interface) {
	t.Helper()
	_, ifs, err := SNMPDiscover(context.Background(), creds)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		if i.Name == "lo" {
			return ifs, i
		}
	}
	t.Fatalf("no interface lo among %+v", ifs)
	return nil, models.Interface{}
}

func TestSNMPDiscoverListsTheLoopbackWithHCCounters(t *testing.T) {
	a := snmptest.Start(t)
	info, ifs, err := SNMPDiscover(context.Background(), a.V2c())
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	if info.Name != host || !strings.Contains(info.Descr, "Linux") || info.Uptime == 0 {
		t.Errorf("system group %+v, want sysName %q, a Linux sysDescr and an uptime", info, host)
	}
	var lo *models.Interface
	for i := range ifs {
		if i > 0 && ifs[i].IfIndex <= ifs[i-1].IfIndex {
			t.Errorf("interfaces not sorted by ifIndex: %d after %d", ifs[i].IfIndex, ifs[i-1].IfIndex)
		}
		if ifs[i].Name == "lo" {
			lo = &ifs[i]
		}
	}
	if lo == nil {
		t.Fatalf("no interface lo among %+v", ifs)
	}
	if !lo.HC || lo.Descr != "lo" || lo.TypeNumber != 24 || !lo.AdminUp || !lo.OperUp || lo.SpeedBps <= 0 {
		t.Errorf("lo = %+v, want HC, ifDescr lo, softwareLoopback (24), admin and oper up, a speed", *lo)
	}

	// The same over v3 (authPriv).
	_, ifs3, err := SNMPDiscover(context.Background(), a.V3())
	if err != nil {
		t.Fatal(err)
	}
	if len(ifs3) != len(ifs) {
		t.Errorf("v3 discovery lists %d interfaces, v2c %d", len(ifs3), len(ifs))
	}
}

func TestSNMPPollOverV2cAndV3(t *testing.T) {
	a := snmptest.Start(t)
	_, lo := discoverLoopback(t, a.V2c())
	for _, creds := range []models.SNMPCredentials{a.V2c(), a.V3()} {
		t.Run("v"+creds.Version, func(t *testing.T) {
			before := time.Now().UTC()
			res, err := SNMPPoll(context.Background(), creds, []PollPort{{IfIndex: lo.IfIndex, HC: true}})
			if err != nil {
				t.Fatal(err)
			}
			r, ok := res.Readings[lo.IfIndex]
			if !ok || len(res.Readings) != 1 {
				t.Fatalf("readings %+v, want lo's alone", res.Readings)
			}
			if res.Requests != 1 || res.Uptime == 0 || r.Uptime != res.Uptime {
				t.Errorf("requests %d, uptime %d (reading %d), want 1 request and the uptime", res.Requests, res.Uptime, r.Uptime)
			}
			if !r.HC || !r.OperUp || r.InOctets == 0 || r.OutOctets == 0 || r.SpeedBps != lo.SpeedBps {
				t.Errorf("lo's reading %+v, want HC, up, counters, speed %d", r, lo.SpeedBps)
			}
			if r.At.Location() != time.UTC || r.At.Before(before.Truncate(time.Millisecond)) || !r.At.Equal(r.At.Truncate(time.Millisecond)) {
				t.Errorf("reading at %v, want the poll's start in UTC to the millisecond (after %v)", r.At, before)
			}
		})
	}
}

// TestSNMPPollBatchesToMaxOIDs polls every interface and two the agent
// does not have, 8 variables a port and sysUpTime, in requests of at most
// 5 and of at most 30 variables: the requests are as many as that takes,
// and both polls read the same (the agent serves both from one load of
// its interface cache).
func TestSNMPPollBatchesToMaxOIDs(t *testing.T) {
	a := snmptest.Start(t)
	ifs, _ := discoverLoopback(t, a.V2c())
	var ports []PollPort
	for _, i := range ifs {
		ports = append(ports, PollPort{IfIndex: i.IfIndex, HC: i.HC})
	}
	ports = append(ports, PollPort{IfIndex: 999_999, HC: true}, PollPort{IfIndex: 999_998})
	vars := 1 + portVars*len(ports)

	a.WaitCache()
	var polls []PollResult
	for _, max := range []int{5, 30} {
		creds := a.V2c()
		creds.MaxOIDs = max
		res, err := SNMPPoll(context.Background(), creds, ports)
		if err != nil {
			t.Fatal(err)
		}
		if want := (vars + max - 1) / max; res.Requests != want {
			t.Errorf("MaxOIDs %d: %d requests for %d variables, want %d", max, res.Requests, vars, want)
		}
		if len(res.Readings) != len(ifs) {
			t.Errorf("MaxOIDs %d: %d readings, want one for each of the %d interfaces, none for the missing ports", max, len(res.Readings), len(ifs))
		}
		for ix, r := range res.Readings {
			r.At, r.Uptime = time.Time{}, 0
			res.Readings[ix] = r
		}
		polls = append(polls, res)
	}
	if !reflect.DeepEqual(polls[0].Readings, polls[1].Readings) {
		t.Errorf("polls in batches of 5 and 30 differ:\n%+v\n%+v", polls[0].Readings, polls[1].Readings)
	}
}

// TestSNMPPollFallsBackTo32BitCounters: an agent without ifXTable has no
// ifHCInOctets; a port polled as HC is read again with ifInOctets and
// ifOutOctets, and its reading says HC false.
func TestSNMPPollFallsBackTo32BitCounters(t *testing.T) {
	a := snmptest.Start(t, "ifXTable")
	_, ifs, err := SNMPDiscover(context.Background(), a.V2c())
	if err != nil {
		t.Fatal(err)
	}
	var lo *models.Interface
	for i := range ifs {
		if ifs[i].Descr == "lo" {
			lo = &ifs[i]
		}
	}
	if lo == nil || lo.HC || lo.Name != "" || lo.SpeedBps <= 0 {
		t.Fatalf("lo = %+v among %+v, want it without HC counters nor ifName, with its ifSpeed", lo, ifs)
	}

	a.WaitCache()
	hc, err := SNMPPoll(context.Background(), a.V2c(), []PollPort{{IfIndex: lo.IfIndex, HC: true}})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := SNMPPoll(context.Background(), a.V2c(), []PollPort{{IfIndex: lo.IfIndex}})
	if err != nil {
		t.Fatal(err)
	}
	if hc.Requests != 2 || plain.Requests != 1 {
		t.Errorf("requests %d (HC asked) and %d, want 2 (the fallback) and 1", hc.Requests, plain.Requests)
	}
	r, p := hc.Readings[lo.IfIndex], plain.Readings[lo.IfIndex]
	if r.HC || r.InOctets == 0 || r.SpeedBps != lo.SpeedBps || !r.OperUp {
		t.Errorf("fallback reading %+v, want 32-bit counters, the ifSpeed, up", r)
	}
	r.At, r.Uptime, p.At, p.Uptime = time.Time{}, 0, time.Time{}, 0
	if r != p {
		t.Errorf("fallback reading %+v, want the 32-bit poll's %+v", r, p)
	}
}

// TestSNMPWrongCredentialsFailWithoutSecrets: a wrong community or v3
// privacy key gets no answer (snmpd drops what it cannot read), a wrong
// v3 user, authentication key or protocol or security level is refused;
// no error text holds a secret, neither the one tried nor the agent's.
func TestSNMPWrongCredentialsFailWithoutSecrets(t *testing.T) {
	a := snmptest.Start(t)
	wrong := func(c models.SNMPCredentials, change func(*models.SNMPCredentials)) models.SNMPCredentials {
		c.Timeout = 300 * time.Millisecond
		change(&c)
		return c
	}
	cases := []struct {
		name  string
		creds models.SNMPCredentials
		kind  error
	}{
		{"community", wrong(a.V2c(), func(c *models.SNMPCredentials) { c.Community = "wrong-" + a.Community }), ErrSNMPNoAnswer},
		{"auth key", wrong(a.V3(), func(c *models.SNMPCredentials) { c.V3AuthKey = "wrong-" + a.V3AuthKey }), ErrSNMPRefused},
		{"priv key", wrong(a.V3(), func(c *models.SNMPCredentials) { c.V3PrivKey = "wrong-" + a.V3PrivKey }), ErrSNMPNoAnswer},
		{"user", wrong(a.V3(), func(c *models.SNMPCredentials) { c.V3User = "nobody" }), ErrSNMPRefused},
		{"auth protocol", wrong(a.V3(), func(c *models.SNMPCredentials) { c.V3AuthProto = "MD5" }), ErrSNMPRefused},
		{"security level", wrong(a.V3(), func(c *models.SNMPCredentials) { c.V3PrivProto, c.V3PrivKey = "", "" }), ErrSNMPRefused},
	}
	secrets := []string{a.Community, a.V3AuthKey, a.V3PrivKey}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := SNMPPoll(context.Background(), tc.creds, []PollPort{{IfIndex: 1, HC: true}})
			_, _, derr := SNMPDiscover(context.Background(), tc.creds)
			for _, err := range []error{err, derr} {
				if !errors.Is(err, tc.kind) {
					t.Errorf("error %v, want %v", err, tc.kind)
				}
				var serr *SNMPError
				if !errors.As(err, &serr) || serr.Address != a.Address {
					t.Errorf("error %#v, want an SNMPError naming %s", err, a.Address)
				}
				text := err.Error() + fmt.Sprintf(" %v %+v %s", err, err, err)
				for _, s := range append(secrets, tc.creds.Community, tc.creds.V3AuthKey, tc.creds.V3PrivKey) {
					if s != "" && strings.Contains(text, s) {
						t.Errorf("error %q holds a secret", text)
					}
				}
			}
		})
	}
}

// TestSNMPErrorsCutOutSecrets: an error of the library the client does
// not know is quoted with the switch's secrets cut out.
func TestSNMPErrorsCutOutSecrets(t *testing.T) {
	creds := models.SNMPCredentials{Address: "192.0.2.1", Version: models.SNMPv3, Community: "comm-sekrit",
		V3User: "u", V3AuthKey: "auth-sekrit", V3PrivKey: "priv-sekrit"}
	s := &snmpSession{ctx: context.Background(), creds: creds, op: "poll"}
	err := s.fail(errors.New("odd packet comm-sekrit / auth-sekrit / priv-sekrit"))
	if text := err.Error(); strings.Contains(text, "sekrit") || !strings.Contains(text, "odd packet *** / *** / ***") {
		t.Errorf("error %q, want the secrets cut out", text)
	}
	if _, err := SNMPPoll(context.Background(), models.SNMPCredentials{Address: "127.0.0.1:1", Version: "1",
		Community: "comm-sekrit"}, nil); !errors.Is(err, ErrSNMPConfig) || strings.Contains(err.Error(), "sekrit") {
		t.Errorf("SNMPv1: %v, want ErrSNMPConfig without the community", err)
	}
	bad := creds
	bad.V3AuthProto, bad.V3PrivProto = "SHA", "ROT13"
	if _, err := SNMPPoll(context.Background(), bad, nil); !errors.Is(err, ErrSNMPConfig) || strings.Contains(err.Error(), "sekrit") {
		t.Errorf("unknown privacy protocol: %v, want ErrSNMPConfig without a key", err)
	}
}

// TestSNMPLoopbackTrafficShowsAsItsRate sends 1 GiB over a TCP connection
// on the loopback between two polls of `lo`: the sample the two readings
// make (models.NewTrafficSample) counts those octets within 10 % in each
// direction (a loopback packet is counted out and in), and its rates are
// those octets over the time between the polls. Loopback carries other
// traffic (other tests, the SNMP requests themselves), which is noise
// beside 1 GiB.
//
// net-snmp serves interface counters from a cache it reloads when a
// request finds it older than its timeout (3 s): the test waits that long
// before each poll (Agent.WaitCache), so each poll's counters are read
// from the kernel at the poll.
func TestSNMPLoopbackTrafficShowsAsItsRate(t *testing.T) {
	a := snmptest.Start(t)
	_, lo := discoverLoopback(t, a.V2c())
	creds := a.V2c()
	ports := []PollPort{{IfIndex: lo.IfIndex, HC: true}}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	received := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			received <- -1
			return
		}
		n, _ := io.Copy(io.Discard, c)
		c.Close()
		received <- n
	}()

	a.WaitCache()
	first, err := SNMPPoll(context.Background(), creds, ports)
	if err != nil {
		t.Fatal(err)
	}

	const sent = 1 << 30
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for range sent / len(chunk) {
		if _, err := c.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	if n := <-received; n != sent {
		t.Fatalf("the listener received %d octets of %d", n, sent)
	}

	a.WaitCache()
	second, err := SNMPPoll(context.Background(), creds, ports)
	if err != nil {
		t.Fatal(err)
	}
	prev, cur := first.Readings[lo.IfIndex], second.Readings[lo.IfIndex]
	// lo's ifHighSpeed (10 Mb/s) is made up by the kernel; at its word,
	// the sample would take 1 GiB in seconds for a reset.
	prev.SpeedBps, cur.SpeedBps = 0, 0
	s := models.NewTrafficSample(1, &prev, cur, time.Hour)
	if !s.Valid || s.Ms != cur.At.Sub(prev.At).Milliseconds() {
		t.Fatalf("sample %+v from %+v and %+v, want a valid one over the time between the polls", s, prev, cur)
	}
	for dir, octets := range map[string]int64{"in": s.InOctets, "out": s.OutOctets} {
		if octets < sent*9/10 || octets > sent*11/10 {
			t.Errorf("%s: %d octets counted, %d sent: more than 10 %% apart", dir, octets, int64(sent))
		}
	}
	wantBps := int64(sent) * 8000 / s.Ms
	for dir, bps := range map[string]int64{"in": s.InBps(), "out": s.OutBps()} {
		if bps < wantBps*9/10 || bps > wantBps*11/10 {
			t.Errorf("%s: %d b/s, %d b/s sent over %d ms: more than 10 %% apart", dir, bps, wantBps, s.Ms)
		}
	}
	t.Logf("sent %d octets; counted in %d, out %d over %d ms (%d b/s in)", int64(sent), s.InOctets, s.OutOctets, s.Ms, s.InBps())
}

// fakeAgent is a v2c agent on loopback answering GET requests with
// answer (nil variables: no answer at all), keeping the size of each
// request.
type fakeAgent struct {
	addr  string
	mu    sync.Mutex
	sizes []int
}

func startFakeAgent(t *testing.T, answer func(oids []string) (gosnmp.SNMPError, []gosnmp.SnmpPDU)) *fakeAgent {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	f := &fakeAgent{addr: pc.LocalAddr().String()}
	go func() {
		buf := make([]byte, 65536)
		dec := &gosnmp.GoSNMP{Version: gosnmp.Version2c}
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			req, err := dec.SnmpDecodePacket(buf[:n])
			if err != nil || req.PDUType != gosnmp.GetRequest {
				continue
			}
			oids := make([]string, len(req.Variables))
			for i, v := range req.Variables {
				oids[i] = v.Name
			}
			f.mu.Lock()
			f.sizes = append(f.sizes, len(oids))
			f.mu.Unlock()
			status, vars := answer(oids)
			if vars == nil {
				continue
			}
			resp := &gosnmp.SnmpPacket{Version: req.Version, Community: req.Community, PDUType: gosnmp.GetResponse,
				RequestID: req.RequestID, Error: status, Variables: vars}
			out, err := resp.MarshalMsg()
			if err != nil {
				t.Error(err)
				return
			}
			pc.WriteTo(out, from)
		}
	}()
	return f
}

// requests is the size of each request the agent got so far.
func (f *fakeAgent) requests() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.sizes...)
}

// counterOf is the fake agent's value of an OID.
func counterOf(oid string) uint64 {
	h := fnv.New64a()
	io.WriteString(h, strings.TrimPrefix(oid, "."))
	return h.Sum64() >> 1
}

// TestSNMPPollHalvesItsRequestsOnTooBig: an agent that answers tooBig to
// more than 5 variables gets a poll of 28 variables (MaxOIDs 10) as one
// refused request of 10, then requests of 5; the readings are its values.
// Port 3's 64-bit counters are missing, so it is read again with the
// 32-bit ones.
func TestSNMPPollHalvesItsRequestsOnTooBig(t *testing.T) {
	f := startFakeAgent(t, func(oids []string) (gosnmp.SNMPError, []gosnmp.SnmpPDU) {
		vars := make([]gosnmp.SnmpPDU, len(oids))
		if len(oids) > 5 {
			for i, o := range oids {
				vars[i] = gosnmp.SnmpPDU{Name: o, Type: gosnmp.Null}
			}
			return gosnmp.TooBig, vars
		}
		for i, o := range oids {
			switch {
			case o == oidSysUpTime:
				vars[i] = gosnmp.SnmpPDU{Name: o, Type: gosnmp.TimeTicks, Value: uint32(123456)}
			case o == oidIfHCInOctets+".3" || o == oidIfHCOutOctets+".3":
				vars[i] = gosnmp.SnmpPDU{Name: o, Type: gosnmp.NoSuchInstance}
			case strings.HasPrefix(o, oidIfHCInOctets+".") || strings.HasPrefix(o, oidIfHCOutOctets+"."):
				vars[i] = gosnmp.SnmpPDU{Name: o, Type: gosnmp.Counter64, Value: counterOf(o)}
			case strings.HasPrefix(o, oidIfOperStatus+"."), strings.HasPrefix(o, oidIfAdminStatus+"."):
				vars[i] = gosnmp.SnmpPDU{Name: o, Type: gosnmp.Integer, Value: 1}
			case strings.HasPrefix(o, oidIfHighSpeed+"."):
				vars[i] = gosnmp.SnmpPDU{Name: o, Type: gosnmp.Gauge32, Value: uint(10_000)}
			case strings.HasPrefix(o, oidIfSpeed+"."):
				vars[i] = gosnmp.SnmpPDU{Name: o, Type: gosnmp.Gauge32, Value: uint(100_000_000)}
			default:
				vars[i] = gosnmp.SnmpPDU{Name: o, Type: gosnmp.Counter32, Value: uint(counterOf(o) % (1 << 32))}
			}
		}
		return gosnmp.NoError, vars
	})
	creds := models.SNMPCredentials{Address: f.addr, Version: models.SNMPv2c, Community: "c",
		Timeout: time.Second, MaxOIDs: 10}
	res, err := SNMPPoll(context.Background(), creds, []PollPort{{IfIndex: 1, HC: true}, {IfIndex: 2, HC: true}, {IfIndex: 3, HC: true}})
	if err != nil {
		t.Fatal(err)
	}
	// 28 variables: 10 refused, then 5 × 5 and 3; then the fallback's 3 in one.
	if got, want := f.requests(), []int{10, 5, 5, 5, 5, 5, 3, 3}; !reflect.DeepEqual(got, want) || res.Requests != len(want) {
		t.Errorf("requests of %v (%d counted), want %v", got, res.Requests, want)
	}
	if res.Uptime != 123456 || len(res.Readings) != 3 {
		t.Fatalf("poll %+v, want the uptime and 3 readings", res)
	}
	for _, ix := range []int{1, 2} {
		r := res.Readings[ix]
		s := fmt.Sprintf(".%d", ix)
		if !r.HC || r.InOctets != counterOf(oidIfHCInOctets+s) || r.OutOctets != counterOf(oidIfHCOutOctets+s) ||
			r.InErrors != uint32(counterOf(oidIfInErrors+s)) || r.OutDiscards != uint32(counterOf(oidIfOutDiscards+s)) ||
			r.SpeedBps != 10_000_000_000 || !r.OperUp || r.Uptime != 123456 {
			t.Errorf("port %d: %+v, want the agent's 64-bit values and 10 Gb/s", ix, r)
		}
	}
	r := res.Readings[3]
	if r.HC || r.InOctets != counterOf(oidIfInOctets+".3")%(1<<32) || r.InErrors != uint32(counterOf(oidIfInErrors+".3")) ||
		r.SpeedBps != 100_000_000 || !r.OperUp {
		t.Errorf("port 3: %+v, want the agent's 32-bit values and ifSpeed", r)
	}
}

// TestSNMPPollStopsWithItsContext: a poll waiting for an agent that never
// answers (with a timeout of an hour) returns when its context is
// cancelled, with the context's error.
func TestSNMPPollStopsWithItsContext(t *testing.T) {
	f := startFakeAgent(t, func([]string) (gosnmp.SNMPError, []gosnmp.SnmpPDU) { return 0, nil })
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			if len(f.requests()) > 0 {
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	creds := models.SNMPCredentials{Address: f.addr, Version: models.SNMPv2c, Community: "c", Timeout: time.Hour}
	_, err := SNMPPoll(ctx, creds, []PollPort{{IfIndex: 1}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

func TestSplitSNMPAddress(t *testing.T) {
	for addr, want := range map[string]string{
		"10.0.0.1":         "10.0.0.1 161",
		"10.0.0.1:1161":    "10.0.0.1 1161",
		"sw1.example.net":  "sw1.example.net 161",
		"[2001:db8::1]:16": "2001:db8::1 16",
		"2001:db8::1":      "2001:db8::1 161",
		"[2001:db8::1]":    "2001:db8::1 161",
		"10.0.0.1:x":       "error",
		"10.0.0.1:0":       "error",
		"":                 "error",
	} {
		host, port, err := splitSNMPAddress(addr)
		got := fmt.Sprintf("%s %d", host, port)
		if err != nil {
			got = "error"
		}
		if got != want {
			t.Errorf("%q: %s, want %s", addr, got, want)
		}
	}
}
