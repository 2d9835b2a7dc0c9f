// Package snmpagent is a small SNMP v2c agent over UDP, in process, for
// tests, the benchmark and the demo: it serves the system group and
// IF-MIB's ifTable and ifXTable of a configured set of interfaces whose
// counters are a function of time (a constant rate per interface, or any
// function) and any extra INTEGER objects (Config.Extra), answers GET, GETNEXT and GETBULK with gosnmp's own packet
// encoding, refuses requests over a variables-per-request limit with
// tooBig as a switch does, and counts requests and bytes. Agent restarts,
// counter resets, 32-bit-only interfaces and ports going down are there
// for tests of the poller. It imports nothing of ours.
package snmpagent

import (
	"errors"
	"fmt"
	"math/bits"
	"net"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosnmp/gosnmp"
)

// Config is what an agent serves.
type Config struct {
	// Addr is the UDP address to listen on; "127.0.0.1:0" (a random port)
	// when empty.
	Addr string
	// Community is the v2c community the agent answers; "public" when
	// empty. Requests with another community are dropped unanswered, as
	// agents do.
	Community string
	// MaxOIDs is the most variables a request may ask for: beyond it the
	// answer is tooBig. It also bounds the variables of a GETBULK answer
	// (which the agent may truncate). 0: no limit but the datagram's.
	MaxOIDs int
	// The system group.
	SysName, SysDescr, SysContact, SysLocation string
	// Uptime0 is sysUpTime at the start, in hundredths of a second (to
	// test its 497-day wrap).
	Uptime0 uint32
	// Interfaces are the rows of ifTable and ifXTable; their set is fixed.
	Interfaces []Interface
	// Extra are more objects the agent serves, by OID (".1.3.6.1.4.1…",
	// the leading dot optional), each an INTEGER its function gives at the
	// agent's time: a PDU's power, a sensor's temperature. ok false
	// answers noSuchInstance (a sensor unplugged).
	Extra map[string]func(now time.Time) (v int64, ok bool)
	// Now is the agent's clock (time.Now when nil): counters and
	// sysUpTime follow it, so a test or a benchmark can move time on.
	Now func() time.Time
	// MeasureCPU serves from a goroutine locked to its own OS thread and
	// keeps that thread's CPU time (CPU), so that a benchmark running the
	// agent in its own process can take the agent's share out of its
	// figures (Linux; 0 elsewhere).
	MeasureCPU bool
}

// Interface is one interface of the agent. Its counters start at InStart
// and OutStart and grow at InBps and OutBps, unless Counters is set.
type Interface struct {
	Index    int
	Name     string // ifName
	Descr    string // ifDescr
	Alias    string // ifAlias
	Type     int    // ifType; 6 (ethernetCsmacd) when 0
	SpeedBps int64  // ifSpeed (capped at 2³²−1) and ifHighSpeed (Mb/s)
	// Only32 leaves out ifHCInOctets and ifHCOutOctets: an old agent, or
	// an interface served with 32-bit counters only.
	Only32    bool
	AdminDown bool
	OperDown  bool
	// InBps and OutBps are the traffic rates, in bits per second.
	InBps, OutBps int64
	// InStart and OutStart are the octet counters when the agent starts
	// (to see a 32-bit wrap soon).
	InStart, OutStart uint64
	// Counters, when set, gives the interface's counters at elapsed since
	// they started (the agent's start, Restart or ResetCounters), in place
	// of the rates.
	Counters func(elapsed time.Duration) Counters
}

// Counters are an interface's counters as the agent serves them. Octets
// are 64-bit (ifInOctets and ifOutOctets are their low 32 bits).
type Counters struct {
	InOctets, OutOctets     uint64
	InErrors, OutErrors     uint32
	InDiscards, OutDiscards uint32
}

// Stats are what an agent has seen. Bytes are the UDP payloads.
type Stats struct {
	Requests  int64 // requests answered, tooBig answers included
	Variables int64 // variables asked for in those requests
	TooBig    int64 // requests answered tooBig
	Dropped   int64 // datagrams not answered: undecodable, another version or community, or the agent down
	BytesIn   int64 // bytes of the requests answered
	BytesOut  int64 // bytes of the answers (counted as they are sent)
}

// Agent is a running agent; Close stops it.
type Agent struct {
	conn      net.PacketConn
	community string
	maxOIDs   int
	now       func() time.Time
	measure   bool
	dec       *gosnmp.GoSNMP
	mib       []entry          // sorted by OID
	objects   map[string]bool  // OIDs of the objects (an entry's OID but its last arc)
	byName    map[string]int   // entry index by OID
	ifs       map[int]*ifState // by ifIndex

	mu      sync.Mutex
	started time.Time // of the uptime
	uptime0 uint32
	down    bool

	requests, variables, tooBig, dropped, bytesIn, bytesOut atomic.Int64
	cpu                                                     atomic.Int64
	done                                                    chan struct{}
}

// ifState is an interface as it is now.
type ifState struct {
	Interface
	epoch      time.Time // its counters start here (at base)
	baseIn     uint64
	baseOut    uint64
	lastChange uint32 // sysUpTime of the last change of ifOperStatus
}

// entry is one object instance the agent serves.
type entry struct {
	oid  []uint32
	name string // ".1.3.6…"
	get  func(now time.Time) (gosnmp.Asn1BER, any)
}

// maxBulkVars bounds a GETBULK answer without MaxOIDs, well inside a UDP
// datagram.
const maxBulkVars = 1000

// Start listens and serves until Close.
func Start(cfg Config) (*Agent, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Community == "" {
		cfg.Community = "public"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxOIDs < 0 {
		return nil, errors.New("snmpagent: MaxOIDs must not be negative")
	}
	a := &Agent{community: cfg.Community, maxOIDs: cfg.MaxOIDs, now: cfg.Now, measure: cfg.MeasureCPU,
		dec: &gosnmp.GoSNMP{Version: gosnmp.Version2c}, ifs: map[int]*ifState{},
		uptime0: cfg.Uptime0, done: make(chan struct{})}
	a.started = a.now()
	for _, ifc := range cfg.Interfaces {
		if ifc.Index <= 0 || a.ifs[ifc.Index] != nil {
			return nil, fmt.Errorf("snmpagent: interface index %d is not positive or repeated", ifc.Index)
		}
		if ifc.Type == 0 {
			ifc.Type = 6
		}
		a.ifs[ifc.Index] = &ifState{Interface: ifc, epoch: a.started, baseIn: ifc.InStart, baseOut: ifc.OutStart,
			lastChange: cfg.Uptime0}
	}
	a.buildMIB(cfg)
	conn, err := net.ListenPacket("udp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("snmpagent: %w", err)
	}
	a.conn = conn
	go a.serve()
	return a, nil
}

// Addr is the agent's address, host:port.
func (a *Agent) Addr() string { return a.conn.LocalAddr().String() }

// Close stops the agent and waits for its goroutine.
func (a *Agent) Close() error {
	err := a.conn.Close()
	<-a.done
	return err
}

// Stats are the agent's counts so far.
func (a *Agent) Stats() Stats {
	return Stats{Requests: a.requests.Load(), Variables: a.variables.Load(), TooBig: a.tooBig.Load(),
		Dropped: a.dropped.Load(), BytesIn: a.bytesIn.Load(), BytesOut: a.bytesOut.Load()}
}

// CPU is the CPU time the agent's serving thread has used, when
// Config.MeasureCPU is set (Linux; 0 otherwise).
func (a *Agent) CPU() time.Duration { return time.Duration(a.cpu.Load()) }

// Restart is the agent restarting: sysUpTime starts again from 0 and every
// counter from 0.
func (a *Agent) Restart() {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	a.started, a.uptime0 = now, 0
	for _, s := range a.ifs {
		s.epoch, s.baseIn, s.baseOut, s.lastChange = now, 0, 0, 0
	}
}

// ResetCounters sets an interface's counters back to 0 (as "clear
// counters" does on a switch); sysUpTime goes on.
func (a *Agent) ResetCounters(ifIndex int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s := a.ifs[ifIndex]; s != nil {
		s.epoch, s.baseIn, s.baseOut = a.now(), 0, 0
	}
}

// SetRate changes an interface's traffic rates from now on.
func (a *Agent) SetRate(ifIndex int, inBps, outBps int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s := a.ifs[ifIndex]; s != nil {
		now := a.now()
		c := s.counters(now)
		s.epoch, s.baseIn, s.baseOut = now, c.InOctets, c.OutOctets
		s.InBps, s.OutBps = inBps, outBps
	}
}

// SetOper sets an interface's operational state (ifOperStatus).
func (a *Agent) SetOper(ifIndex int, up bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s := a.ifs[ifIndex]; s != nil && s.OperDown == up {
		s.OperDown = !up
		s.lastChange = a.uptimeLocked(a.now())
	}
}

// SetDown makes the agent drop every request (an unreachable switch) or
// answer again.
func (a *Agent) SetDown(down bool) {
	a.mu.Lock()
	a.down = down
	a.mu.Unlock()
}

// counters are the interface's counters at now.
func (s *ifState) counters(now time.Time) Counters {
	elapsed := max(now.Sub(s.epoch), 0)
	if s.Counters != nil {
		return s.Counters(elapsed)
	}
	return Counters{InOctets: s.baseIn + octets(s.InBps, elapsed), OutOctets: s.baseOut + octets(s.OutBps, elapsed)}
}

// octets is what bps bits per second make over d, exactly (128-bit
// intermediate), in whole octets.
func octets(bps int64, d time.Duration) uint64 {
	if bps <= 0 || d <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(bps), uint64(d))
	q, _ := bits.Div64(hi%8e9, lo, 8e9) // bits·ns → octets; hi%8e9 keeps Div64 from panicking on absurd inputs
	return q
}

// uptimeLocked is sysUpTime at now, in hundredths of a second (wrapping).
func (a *Agent) uptimeLocked(now time.Time) uint32 {
	return a.uptime0 + uint32(max(now.Sub(a.started), 0)/(10*time.Millisecond))
}

// OIDs of what the agent serves.
const (
	oidSystem   = ".1.3.6.1.2.1.1"
	oidIfNumber = ".1.3.6.1.2.1.2.1.0"
	oidIfEntry  = ".1.3.6.1.2.1.2.2.1"
	oidIfXEntry = ".1.3.6.1.2.1.31.1.1.1"
)

// buildMIB lists every object instance the agent serves, in OID order.
func (a *Agent) buildMIB(cfg Config) {
	add := func(name string, get func(now time.Time) (gosnmp.Asn1BER, any)) {
		a.mib = append(a.mib, entry{oid: parseOID(name), name: name, get: get})
	}
	str := func(v string) func(time.Time) (gosnmp.Asn1BER, any) {
		return func(time.Time) (gosnmp.Asn1BER, any) { return gosnmp.OctetString, v }
	}
	add(oidSystem+".1.0", str(cfg.SysDescr))
	add(oidSystem+".2.0", func(time.Time) (gosnmp.Asn1BER, any) { return gosnmp.ObjectIdentifier, ".1.3.6.1.4.1.8072.3.2.10" })
	add(oidSystem+".3.0", func(now time.Time) (gosnmp.Asn1BER, any) {
		a.mu.Lock()
		defer a.mu.Unlock()
		return gosnmp.TimeTicks, a.uptimeLocked(now)
	})
	add(oidSystem+".4.0", str(cfg.SysContact))
	add(oidSystem+".5.0", str(cfg.SysName))
	add(oidSystem+".6.0", str(cfg.SysLocation))
	add(oidSystem+".7.0", func(time.Time) (gosnmp.Asn1BER, any) { return gosnmp.Integer, 6 })
	add(oidIfNumber, func(time.Time) (gosnmp.Asn1BER, any) { return gosnmp.Integer, len(cfg.Interfaces) })

	// ifc reads one interface's state under the lock.
	ifc := func(s *ifState, f func(s *ifState, now time.Time) (gosnmp.Asn1BER, any)) func(time.Time) (gosnmp.Asn1BER, any) {
		return func(now time.Time) (gosnmp.Asn1BER, any) {
			a.mu.Lock()
			defer a.mu.Unlock()
			return f(s, now)
		}
	}
	status := func(down bool) int {
		if down {
			return 2
		}
		return 1
	}
	type column struct {
		entry string
		col   int
		hc    bool // only for interfaces with 64-bit counters
		get   func(s *ifState, now time.Time) (gosnmp.Asn1BER, any)
	}
	cols := []column{
		{oidIfEntry, 1, false, func(s *ifState, _ time.Time) (gosnmp.Asn1BER, any) { return gosnmp.Integer, s.Index }},
		{oidIfEntry, 2, false, func(s *ifState, _ time.Time) (gosnmp.Asn1BER, any) { return gosnmp.OctetString, s.Descr }},
		{oidIfEntry, 3, false, func(s *ifState, _ time.Time) (gosnmp.Asn1BER, any) { return gosnmp.Integer, s.Type }},
		{oidIfEntry, 4, false, func(*ifState, time.Time) (gosnmp.Asn1BER, any) { return gosnmp.Integer, 1500 }},
		{oidIfEntry, 5, false, func(s *ifState, _ time.Time) (gosnmp.Asn1BER, any) {
			return gosnmp.Gauge32, uint32(min(max(s.SpeedBps, 0), 1<<32-1))
		}},
		{oidIfEntry, 6, false, func(s *ifState, _ time.Time) (gosnmp.Asn1BER, any) {
			return gosnmp.OctetString, []byte{2, 0, 0, byte(s.Index >> 16), byte(s.Index >> 8), byte(s.Index)}
		}},
		{oidIfEntry, 7, false, func(s *ifState, _ time.Time) (gosnmp.Asn1BER, any) { return gosnmp.Integer, status(s.AdminDown) }},
		{oidIfEntry, 8, false, func(s *ifState, _ time.Time) (gosnmp.Asn1BER, any) {
			return gosnmp.Integer, status(s.OperDown || s.AdminDown)
		}},
		{oidIfEntry, 9, false, func(s *ifState, _ time.Time) (gosnmp.Asn1BER, any) { return gosnmp.TimeTicks, s.lastChange }},
		{oidIfEntry, 10, false, func(s *ifState, now time.Time) (gosnmp.Asn1BER, any) {
			return gosnmp.Counter32, uint32(s.counters(now).InOctets)
		}},
		{oidIfEntry, 13, false, func(s *ifState, now time.Time) (gosnmp.Asn1BER, any) {
			return gosnmp.Counter32, s.counters(now).InDiscards
		}},
		{oidIfEntry, 14, false, func(s *ifState, now time.Time) (gosnmp.Asn1BER, any) {
			return gosnmp.Counter32, s.counters(now).InErrors
		}},
		{oidIfEntry, 16, false, func(s *ifState, now time.Time) (gosnmp.Asn1BER, any) {
			return gosnmp.Counter32, uint32(s.counters(now).OutOctets)
		}},
		{oidIfEntry, 19, false, func(s *ifState, now time.Time) (gosnmp.Asn1BER, any) {
			return gosnmp.Counter32, s.counters(now).OutDiscards
		}},
		{oidIfEntry, 20, false, func(s *ifState, now time.Time) (gosnmp.Asn1BER, any) {
			return gosnmp.Counter32, s.counters(now).OutErrors
		}},
		{oidIfXEntry, 1, false, func(s *ifState, _ time.Time) (gosnmp.Asn1BER, any) { return gosnmp.OctetString, s.Name }},
		{oidIfXEntry, 6, true, func(s *ifState, now time.Time) (gosnmp.Asn1BER, any) {
			return gosnmp.Counter64, s.counters(now).InOctets
		}},
		{oidIfXEntry, 10, true, func(s *ifState, now time.Time) (gosnmp.Asn1BER, any) {
			return gosnmp.Counter64, s.counters(now).OutOctets
		}},
		{oidIfXEntry, 15, false, func(s *ifState, _ time.Time) (gosnmp.Asn1BER, any) {
			return gosnmp.Gauge32, uint32(min(max(s.SpeedBps, 0)/1_000_000, 1<<32-1))
		}},
		{oidIfXEntry, 18, false, func(s *ifState, _ time.Time) (gosnmp.Asn1BER, any) { return gosnmp.OctetString, s.Alias }},
	}
	for name, f := range cfg.Extra {
		add(canonical(name), func(now time.Time) (gosnmp.Asn1BER, any) {
			v, ok := f(now)
			if !ok {
				return gosnmp.NoSuchInstance, nil
			}
			return gosnmp.Integer, int(v)
		})
	}
	for _, c := range cols {
		for _, ifcfg := range cfg.Interfaces {
			s := a.ifs[ifcfg.Index]
			if c.hc && s.Only32 {
				continue
			}
			add(c.entry+"."+strconv.Itoa(c.col)+"."+strconv.Itoa(s.Index), ifc(s, c.get))
		}
	}
	sort.Slice(a.mib, func(i, j int) bool { return compareOIDs(a.mib[i].oid, a.mib[j].oid) < 0 })
	a.byName = make(map[string]int, len(a.mib))
	a.objects = map[string]bool{}
	for i, e := range a.mib {
		a.byName[e.name] = i
		a.objects[e.name[:strings.LastIndexByte(e.name, '.')]] = true
	}
}

// serve answers datagrams until the socket is closed.
func (a *Agent) serve() {
	defer close(a.done)
	var base time.Duration // what the thread had used before it served
	if a.measure {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		base = threadCPU()
	}
	buf := make([]byte, 65535)
	for {
		n, from, err := a.conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if out := a.handle(buf[:n]); out != nil {
			_, _ = a.conn.WriteTo(out, from)
		}
		if a.measure {
			// Stored after the answer went: a reader that got the answer
			// may see the CPU of all but this last bit of work.
			a.cpu.Store(int64(threadCPU() - base))
		}
	}
}

// handle answers one request; nil drops it.
func (a *Agent) handle(b []byte) []byte {
	a.mu.Lock()
	down := a.down
	a.mu.Unlock()
	req, err := a.dec.SnmpDecodePacket(b)
	if down || err != nil || req.Version != gosnmp.Version2c || req.Community != a.community {
		a.dropped.Add(1)
		return nil
	}
	resp := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: a.community, PDUType: gosnmp.GetResponse,
		RequestID: req.RequestID}
	vars := req.Variables
	switch req.PDUType {
	case gosnmp.GetRequest, gosnmp.GetNextRequest, gosnmp.GetBulkRequest:
		if a.maxOIDs > 0 && len(vars) > a.maxOIDs {
			resp.Error = gosnmp.TooBig
			a.tooBig.Add(1)
			break
		}
		now := a.now()
		switch req.PDUType {
		case gosnmp.GetRequest:
			resp.Variables = a.get(vars, now)
		case gosnmp.GetNextRequest:
			resp.Variables = a.getNext(vars, now)
		default:
			resp.Variables = a.getBulk(vars, int(req.NonRepeaters), int(req.MaxRepetitions), now)
		}
	case gosnmp.SetRequest:
		resp.Error, resp.ErrorIndex, resp.Variables = gosnmp.NoAccess, 1, vars
	default:
		a.dropped.Add(1)
		return nil
	}
	out, err := resp.MarshalMsg()
	if err != nil {
		resp.Error, resp.ErrorIndex, resp.Variables = gosnmp.GenErr, 0, nil
		if out, err = resp.MarshalMsg(); err != nil {
			a.dropped.Add(1)
			return nil
		}
	}
	// Counted before the answer goes, so that whoever has the answer sees it counted.
	a.requests.Add(1)
	a.variables.Add(int64(len(vars)))
	a.bytesIn.Add(int64(len(b)))
	a.bytesOut.Add(int64(len(out)))
	return out
}

// get answers a GET: each variable's value, noSuchObject for an object
// the agent does not have, noSuchInstance for an instance it does not.
func (a *Agent) get(vars []gosnmp.SnmpPDU, now time.Time) []gosnmp.SnmpPDU {
	out := make([]gosnmp.SnmpPDU, len(vars))
	for i, v := range vars {
		name := canonical(v.Name)
		if k, ok := a.byName[name]; ok {
			out[i] = a.value(k, now)
			continue
		}
		out[i] = gosnmp.SnmpPDU{Name: name, Type: gosnmp.NoSuchObject}
		if j := strings.LastIndexByte(name, '.'); j > 0 && a.objects[name[:j]] {
			out[i].Type = gosnmp.NoSuchInstance
		}
	}
	return out
}

// getNext answers a GETNEXT: each variable's successor, endOfMibView past
// the last.
func (a *Agent) getNext(vars []gosnmp.SnmpPDU, now time.Time) []gosnmp.SnmpPDU {
	out := make([]gosnmp.SnmpPDU, len(vars))
	for i, v := range vars {
		out[i] = a.next(canonical(v.Name), now)
	}
	return out
}

// getBulk answers a GETBULK: the non-repeaters' successors, then up to
// maxRep rows of the repeaters' successors, truncated to the agent's limit.
func (a *Agent) getBulk(vars []gosnmp.SnmpPDU, nonRep, maxRep int, now time.Time) []gosnmp.SnmpPDU {
	limit := maxBulkVars
	if a.maxOIDs > 0 {
		limit = a.maxOIDs
	}
	nonRep = min(max(nonRep, 0), len(vars))
	out := make([]gosnmp.SnmpPDU, 0, min(limit, nonRep+(len(vars)-nonRep)*max(maxRep, 0)))
	for _, v := range vars[:nonRep] {
		out = append(out, a.next(canonical(v.Name), now))
	}
	last := make([]string, 0, len(vars)-nonRep)
	for _, v := range vars[nonRep:] {
		last = append(last, canonical(v.Name))
	}
	for r := 0; r < maxRep && len(last) > 0; r++ {
		if len(out)+len(last) > limit {
			break // a whole row or nothing
		}
		ended := true
		for j, name := range last {
			pdu := a.next(name, now)
			out = append(out, pdu)
			last[j] = pdu.Name
			ended = ended && pdu.Type == gosnmp.EndOfMibView
		}
		if ended {
			break
		}
	}
	return out
}

// next is the first instance after name, or endOfMibView.
func (a *Agent) next(name string, now time.Time) gosnmp.SnmpPDU {
	oid := parseOID(name)
	k := sort.Search(len(a.mib), func(i int) bool { return compareOIDs(a.mib[i].oid, oid) > 0 })
	for ; k < len(a.mib); k++ {
		// An extra object without a value now is passed over.
		if v := a.value(k, now); v.Type != gosnmp.NoSuchInstance {
			return v
		}
	}
	return gosnmp.SnmpPDU{Name: name, Type: gosnmp.EndOfMibView}
}

func (a *Agent) value(k int, now time.Time) gosnmp.SnmpPDU {
	e := &a.mib[k]
	t, v := e.get(now)
	return gosnmp.SnmpPDU{Name: e.name, Type: t, Value: v}
}

// canonical is an OID with its leading dot, as the table names them.
func canonical(name string) string {
	if strings.HasPrefix(name, ".") {
		return name
	}
	return "." + name
}

// parseOID reads ".1.3.6…" (the leading dot optional); an arc that is not
// a number reads as 0.
func parseOID(name string) []uint32 {
	parts := strings.Split(strings.TrimPrefix(name, "."), ".")
	oid := make([]uint32, 0, len(parts))
	for _, p := range parts {
		if p == "" {
			continue
		}
		n, _ := strconv.ParseUint(p, 10, 32)
		oid = append(oid, uint32(n))
	}
	return oid
}

// compareOIDs orders OIDs arc by arc, a prefix first.
func compareOIDs(x, y []uint32) int {
	for i := range min(len(x), len(y)) {
		if x[i] != y[i] {
			if x[i] < y[i] {
				return -1
			}
			return 1
		}
	}
	return len(x) - len(y)
}
