package snmpagent

import (
	"go/parser"
	"go/token"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// clock is a test's clock, moved by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testInterfaces: a 10G port with 64-bit counters, a 100M port served
// with 32-bit counters only whose counters are near their wrap, and a port
// that is down.
func testInterfaces() []Interface {
	return []Interface{
		{Index: 1, Name: "xe-0/0/1", Descr: "Ethernet 1", Alias: "cust-a", SpeedBps: 10_000_000_000, InBps: 800_000_000, OutBps: 80_000_000},
		{Index: 2, Name: "fe-0/0/2", Descr: "Ethernet 2", SpeedBps: 100_000_000, Only32: true, InBps: 8_000_000, OutBps: 4_000_000,
			InStart: 1<<32 - 100_000_000},
		{Index: 7, Name: "xe-0/0/7", Descr: "Ethernet 7", SpeedBps: 10_000_000_000, OperDown: true},
	}
}

func startTest(t *testing.T, cfg Config) (*Agent, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	if cfg.Now == nil {
		cfg.Now = clk.now
	}
	if cfg.Interfaces == nil {
		cfg.Interfaces = testInterfaces()
	}
	a, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a, clk
}

func client(t *testing.T, a *Agent, community string) *gosnmp.GoSNMP {
	t.Helper()
	host, port, err := net.SplitHostPort(a.Addr())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	g := &gosnmp.GoSNMP{Target: host, Port: uint16(p), Community: community, Version: gosnmp.Version2c,
		Timeout: 2 * time.Second, Retries: 0, MaxOids: 100}
	if err := g.Connect(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Conn.Close() })
	return g
}

func get(t *testing.T, g *gosnmp.GoSNMP, oids ...string) []gosnmp.SnmpPDU {
	t.Helper()
	r, err := g.Get(oids)
	if err != nil {
		t.Fatal(err)
	}
	if r.Error != gosnmp.NoError {
		t.Fatalf("GET %v: %s", oids, r.Error)
	}
	return r.Variables
}

func TestGetServesTheSystemGroupAndCounters(t *testing.T) {
	a, _ := startTest(t, Config{SysName: "sw1", SysDescr: "bench switch", Uptime0: 4200})
	g := client(t, a, "public")
	vs := get(t, g, ".1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.3.0", ".1.3.6.1.2.1.31.1.1.1.6.1", ".1.3.6.1.2.1.2.2.1.10.2",
		".1.3.6.1.2.1.31.1.1.1.6.2", ".1.3.6.1.2.1.2.2.1.8.7", ".1.3.6.1.2.1.2.2.1.8.1", ".1.3.6.1.4.1.9.9.1.0",
		".1.3.6.1.2.1.31.1.1.1.15.1")
	if string(vs[0].Value.([]byte)) != "sw1" {
		t.Errorf("sysName = %v", vs[0].Value)
	}
	if vs[1].Type != gosnmp.TimeTicks || vs[1].Value.(uint32) != 4200 {
		t.Errorf("sysUpTime = %v %v, want 4200 at the start", vs[1].Type, vs[1].Value)
	}
	if vs[2].Type != gosnmp.Counter64 || gosnmp.ToBigInt(vs[2].Value).Uint64() != 0 {
		t.Errorf("ifHCInOctets.1 = %v %v, want Counter64 0", vs[2].Type, vs[2].Value)
	}
	if vs[3].Type != gosnmp.Counter32 || vs[3].Value.(uint) != 1<<32-100_000_000 {
		t.Errorf("ifInOctets.2 = %v %v", vs[3].Type, vs[3].Value)
	}
	if vs[4].Type != gosnmp.NoSuchInstance {
		t.Errorf("ifHCInOctets.2 of a 32-bit-only interface = %v, want noSuchInstance", vs[4].Type)
	}
	if vs[5].Value.(int) != 2 || vs[6].Value.(int) != 1 {
		t.Errorf("ifOperStatus 7 and 1 = %v, %v; want down (2) and up (1)", vs[5].Value, vs[6].Value)
	}
	if vs[7].Type != gosnmp.NoSuchObject {
		t.Errorf("an object the agent lacks = %v, want noSuchObject", vs[7].Type)
	}
	if vs[8].Value.(uint) != 10_000 {
		t.Errorf("ifHighSpeed.1 = %v, want 10000 Mb/s", vs[8].Value)
	}
	if st := a.Stats(); st.Requests != 1 || st.Variables != 9 || st.BytesIn == 0 || st.BytesOut <= st.BytesIn {
		t.Errorf("stats %+v, want one request of 9 variables, an answer bigger than the question", st)
	}
}

// Extra objects answer their function's integer at the agent's time (a
// negative one too), noSuchInstance when it says there is none, and a
// walk of their subtree finds those with a value, in order.
func TestExtraObjectsAnswerTheirFunction(t *testing.T) {
	var (
		mu    sync.Mutex
		power int64 = 1500
	)
	a, clk := startTest(t, Config{Extra: map[string]func(time.Time) (int64, bool){
		".1.3.6.1.4.1.99999.1.1": func(time.Time) (int64, bool) { mu.Lock(); defer mu.Unlock(); return power, true },
		"1.3.6.1.4.1.99999.1.2":  func(now time.Time) (int64, bool) { return int64(now.Minute()) - 30, true },
		".1.3.6.1.4.1.99999.1.3": func(time.Time) (int64, bool) { return 0, false },
	}})
	g := client(t, a, "public")
	vs := get(t, g, ".1.3.6.1.4.1.99999.1.1", ".1.3.6.1.4.1.99999.1.2", ".1.3.6.1.4.1.99999.1.3")
	if vs[0].Type != gosnmp.Integer || vs[0].Value.(int) != 1500 || vs[1].Value.(int) != -30 || vs[2].Type != gosnmp.NoSuchInstance {
		t.Errorf("extra objects %+v, want 1500, -30 and noSuchInstance", vs)
	}
	mu.Lock()
	power = 0
	mu.Unlock()
	clk.add(5 * time.Minute)
	vs = get(t, g, ".1.3.6.1.4.1.99999.1.1", ".1.3.6.1.4.1.99999.1.2")
	if vs[0].Value.(int) != 0 || vs[1].Value.(int) != -25 {
		t.Errorf("after a change: %+v, want 0 and -25", vs)
	}
	var walked []string
	if err := g.BulkWalk(".1.3.6.1.4.1.99999", func(p gosnmp.SnmpPDU) error { walked = append(walked, p.Name); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(walked, " ") != ".1.3.6.1.4.1.99999.1.1 .1.3.6.1.4.1.99999.1.2" {
		t.Errorf("walk %v", walked)
	}
}

func TestCountersAdvanceAtTheirRate(t *testing.T) {
	a, clk := startTest(t, Config{})
	g := client(t, a, "public")
	read := func() (hcIn, hcOut uint64, in32 uint, uptime uint32) {
		vs := get(t, g, ".1.3.6.1.2.1.31.1.1.1.6.1", ".1.3.6.1.2.1.31.1.1.1.10.1", ".1.3.6.1.2.1.2.2.1.10.2", ".1.3.6.1.2.1.1.3.0")
		return gosnmp.ToBigInt(vs[0].Value).Uint64(), gosnmp.ToBigInt(vs[1].Value).Uint64(), vs[2].Value.(uint), vs[3].Value.(uint32)
	}
	in0, out0, w0, up0 := read()
	clk.add(300 * time.Second)
	in1, out1, w1, up1 := read()
	if in1-in0 != 800_000_000/8*300 || out1-out0 != 80_000_000/8*300 {
		t.Errorf("64-bit deltas over 300 s: in %d, out %d; want %d and %d", in1-in0, out1-out0, 800_000_000/8*300, 80_000_000/8*300)
	}
	if up1-up0 != 30_000 {
		t.Errorf("sysUpTime advanced %d, want 30000 hundredths", up1-up0)
	}
	// 8 Mb/s for 300 s is 300,000,000 octets: the 32-bit counter, 10⁸
	// short of its wrap, went round once.
	if w1 >= w0 || uint32(w1)-uint32(w0) != 300_000_000 {
		t.Errorf("ifInOctets.2 went %d → %d, want a wrap and 300000000 modulo 2³²", w0, w1)
	}

	// A new rate from now on, then "clear counters" on port 1, then a restart.
	a.SetRate(1, 8_000_000, 0)
	clk.add(10 * time.Second)
	in2, out2, _, _ := read()
	if in2-in1 != 10_000_000 || out2 != out1 {
		t.Errorf("after SetRate: in +%d, out +%d; want +10000000 and +0", in2-in1, out2-out1)
	}
	a.ResetCounters(1)
	clk.add(time.Second)
	in3, _, _, up3 := read()
	if in3 != 1_000_000 || up3 != up1+1100 {
		t.Errorf("after a reset: in %d, uptime %d; want 1000000 (one second from 0) and uptime going on (%d)", in3, up3, up1+1100)
	}
	a.Restart()
	clk.add(2 * time.Second)
	in4, _, w4, up4 := read()
	if up4 != 200 || in4 != 2_000_000 || w4 != 2_000_000 {
		t.Errorf("after a restart: uptime %d, in %d, in32 %d; want 200, 2000000, 2000000", up4, in4, w4)
	}
}

func TestCountersFunctionAndOperState(t *testing.T) {
	ifs := []Interface{{Index: 3, Name: "p3", Counters: func(d time.Duration) Counters {
		s := uint32(d / time.Second)
		return Counters{InOctets: uint64(s) * 1000, OutOctets: uint64(s) * 10, InErrors: s, OutErrors: 2 * s, InDiscards: 3 * s, OutDiscards: 4 * s}
	}}}
	a, clk := startTest(t, Config{Interfaces: ifs})
	g := client(t, a, "public")
	clk.add(5 * time.Second)
	a.SetOper(3, false)
	vs := get(t, g, ".1.3.6.1.2.1.2.2.1.10.3", ".1.3.6.1.2.1.2.2.1.14.3", ".1.3.6.1.2.1.2.2.1.20.3", ".1.3.6.1.2.1.2.2.1.13.3",
		".1.3.6.1.2.1.2.2.1.19.3", ".1.3.6.1.2.1.2.2.1.8.3", ".1.3.6.1.2.1.2.2.1.9.3")
	want := []uint{5000, 5, 10, 15, 20}
	for i, w := range want {
		if vs[i].Value.(uint) != w {
			t.Errorf("variable %d (%s) = %v, want %d", i, vs[i].Name, vs[i].Value, w)
		}
	}
	if vs[5].Value.(int) != 2 || vs[6].Value.(uint32) != 500 {
		t.Errorf("ifOperStatus %v, ifLastChange %v; want down (2) since 500", vs[5].Value, vs[6].Value)
	}
}

func TestBulkWalkOfTheIFMIB(t *testing.T) {
	a, _ := startTest(t, Config{MaxOIDs: 7, SysName: "sw1"})
	g := client(t, a, "public")
	cols := map[string]int{}
	err := g.BulkWalk(".1.3.6.1.2.1.2.2", func(p gosnmp.SnmpPDU) error {
		cols[p.Name[:strings.LastIndexByte(p.Name, '.')]]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cols) != 15 || cols[".1.3.6.1.2.1.2.2.1.2"] != 3 || cols[".1.3.6.1.2.1.2.2.1.10"] != 3 {
		t.Errorf("ifTable walk: %v, want 15 columns of 3 rows", cols)
	}
	x, err := g.BulkWalkAll(".1.3.6.1.2.1.31.1.1.1.6")
	if err != nil {
		t.Fatal(err)
	}
	if len(x) != 2 || x[0].Name != ".1.3.6.1.2.1.31.1.1.1.6.1" || x[1].Name != ".1.3.6.1.2.1.31.1.1.1.6.7" {
		t.Errorf("ifHCInOctets walk %v, want interfaces 1 and 7 (2 serves 32-bit counters only)", x)
	}
	// Everything the agent serves, in order (gosnmp checks the OIDs
	// increase), with GETBULK answers cut to 7 variables.
	before := a.Stats().Requests
	all, err := g.BulkWalkAll(".1.3.6.1")
	if err != nil {
		t.Fatal(err)
	}
	want := 7 + 1 + 15*3 + 3*3 + 2*2 // system, ifNumber, ifTable, ifXTable's other columns × 3, its HC columns × 2
	if len(all) != want {
		t.Errorf("whole walk: %d variables, want %d", len(all), want)
	}
	if n := a.Stats().Requests - before; n < int64(len(all)/7) {
		t.Errorf("whole walk took %d requests for %d variables: GETBULK answers not cut to 7", n, len(all))
	}
	// GETNEXT from the system group's last object goes on to ifNumber;
	// past the end is endOfMibView.
	r, err := g.GetNext([]string{".1.3.6.1.2.1.1.7.0", ".1.3.6.1.2.1.99"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Variables[0].Name != ".1.3.6.1.2.1.2.1.0" || r.Variables[0].Value.(int) != 3 || r.Variables[1].Type != gosnmp.EndOfMibView {
		t.Errorf("GETNEXT: %v", r.Variables)
	}
}

func TestTooManyVariablesAreTooBig(t *testing.T) {
	a, _ := startTest(t, Config{MaxOIDs: 5})
	g := client(t, a, "public")
	oids := []string{}
	for i := range 6 {
		oids = append(oids, ".1.3.6.1.2.1.1."+strconv.Itoa(i+1)+".0")
	}
	r, err := g.Get(oids)
	if err != nil {
		t.Fatal(err)
	}
	if r.Error != gosnmp.TooBig || len(r.Variables) != 0 {
		t.Errorf("6 variables against a limit of 5: %s with %d variables, want tooBig and none", r.Error, len(r.Variables))
	}
	if vs := get(t, g, oids[:5]...); len(vs) != 5 {
		t.Errorf("5 variables: %d answered", len(vs))
	}
	if st := a.Stats(); st.Requests != 2 || st.TooBig != 1 || st.Variables != 11 {
		t.Errorf("stats %+v, want 2 requests (one tooBig) of 11 variables", st)
	}
}

func TestWrongCommunityAndDownAreNotAnswered(t *testing.T) {
	a, _ := startTest(t, Config{Community: "s3cret"})
	bad := client(t, a, "public")
	bad.Timeout = 200 * time.Millisecond
	if _, err := bad.Get([]string{".1.3.6.1.2.1.1.3.0"}); err == nil {
		t.Error("a wrong community was answered")
	}
	good := client(t, a, "s3cret")
	get(t, good, ".1.3.6.1.2.1.1.3.0")
	a.SetDown(true)
	good.Timeout = 200 * time.Millisecond
	if _, err := good.Get([]string{".1.3.6.1.2.1.1.3.0"}); err == nil {
		t.Error("a down agent answered")
	}
	if st := a.Stats(); st.Requests != 1 || st.Dropped != 2 {
		t.Errorf("stats %+v, want 1 answered and 2 dropped", st)
	}
}

func TestBadConfig(t *testing.T) {
	for _, ifs := range [][]Interface{{{Index: 0}}, {{Index: 1}, {Index: 1}}} {
		if a, err := Start(Config{Interfaces: ifs}); err == nil {
			_ = a.Close()
			t.Errorf("interfaces %v accepted", ifs)
		}
	}
}

func TestOctets(t *testing.T) {
	for _, c := range []struct {
		bps  int64
		d    time.Duration
		want uint64
	}{
		{8, time.Second, 1},
		{100_000_000_000, 400 * 24 * time.Hour, 100_000_000_000 / 8 * 400 * 86400}, // past 2⁶⁴ bit·ns
		{1000, 1500 * time.Millisecond, 187},
		{-5, time.Second, 0},
	} {
		if got := octets(c.bps, c.d); got != c.want {
			t.Errorf("octets(%d, %s) = %d, want %d", c.bps, c.d, got, c.want)
		}
	}
}

// The agent is a test and benchmark tool anyone may use: it imports
// nothing of ours.
func TestImportsNothingOfOurs(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files: %v", err)
	}
	for _, f := range files {
		ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range ast.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); strings.HasPrefix(p, "github.com/colo-portal/portal") {
				t.Errorf("%s imports %s", f, p)
			}
		}
	}
}
