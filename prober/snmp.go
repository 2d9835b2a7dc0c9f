package prober

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/colo-portal/portal/models"
)

// The objects the SNMP client reads: the system group, and the columns of
// IF-MIB's ifTable and ifXTable (each followed by .ifIndex).
const (
	oidSysDescr  = ".1.3.6.1.2.1.1.1.0"
	oidSysUpTime = ".1.3.6.1.2.1.1.3.0"
	oidSysName   = ".1.3.6.1.2.1.1.5.0"

	oidIfDescr       = ".1.3.6.1.2.1.2.2.1.2"
	oidIfType        = ".1.3.6.1.2.1.2.2.1.3"
	oidIfSpeed       = ".1.3.6.1.2.1.2.2.1.5"
	oidIfAdminStatus = ".1.3.6.1.2.1.2.2.1.7"
	oidIfOperStatus  = ".1.3.6.1.2.1.2.2.1.8"
	oidIfInOctets    = ".1.3.6.1.2.1.2.2.1.10"
	oidIfInDiscards  = ".1.3.6.1.2.1.2.2.1.13"
	oidIfInErrors    = ".1.3.6.1.2.1.2.2.1.14"
	oidIfOutOctets   = ".1.3.6.1.2.1.2.2.1.16"
	oidIfOutDiscards = ".1.3.6.1.2.1.2.2.1.19"
	oidIfOutErrors   = ".1.3.6.1.2.1.2.2.1.20"

	oidIfName        = ".1.3.6.1.2.1.31.1.1.1.1"
	oidIfHCInOctets  = ".1.3.6.1.2.1.31.1.1.1.6"
	oidIfHCOutOctets = ".1.3.6.1.2.1.31.1.1.1.10"
	oidIfHighSpeed   = ".1.3.6.1.2.1.31.1.1.1.15"
	oidIfAlias       = ".1.3.6.1.2.1.31.1.1.1.18"
)

// snmpDefaultPort is the agent's port when an address names none.
const snmpDefaultPort = 161

// snmpRetries is how many times a request that got no answer is sent
// again (UDP loses packets) before the poll gives up.
const snmpRetries = 1

// Kinds of SNMP failures, for errors.Is on what SNMPPoll and SNMPDiscover
// return (pages translate them; the poller shows the text).
var (
	// ErrSNMPNoAnswer: no answer in time. The agent is unreachable, or it
	// does not accept the v2c community, or cannot decrypt a v3 request
	// (a wrong privacy key): agents drop such requests without a word.
	ErrSNMPNoAnswer = errors.New("no answer")
	// ErrSNMPRefused: the agent refused the v3 credentials (unknown user,
	// wrong authentication key or protocol, security level) or does not
	// let them read.
	ErrSNMPRefused = errors.New("credentials refused")
	// ErrSNMPConfig: the switch's settings cannot be used (an address or
	// a protocol the client does not know).
	ErrSNMPConfig = errors.New("bad settings")
)

// SNMPError is every error SNMPPoll and SNMPDiscover return. Its text is
// the client's own wording: it never holds the community or a v3 key,
// whatever the library's error said (an unforeseen library error is
// quoted with every secret of the switch cut out). errors.Is matches its
// kind (ErrSNMPNoAnswer, ErrSNMPRefused, ErrSNMPConfig, or the context's
// error when the poll was cancelled).
type SNMPError struct {
	Op      string // "poll" or "discover"
	Address string
	Msg     string
	kind    error
	cause   error
}

func (e *SNMPError) Error() string {
	return "prober: snmp " + e.Op + " " + e.Address + ": " + e.Msg
}

// Unwrap gives the kind and the library's error (whose own text is never
// part of Error).
func (e *SNMPError) Unwrap() []error {
	var errs []error
	if e.kind != nil {
		errs = append(errs, e.kind)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

// SNMPPoll is the PollFunc of the poller: one round of GET requests to
// the switch reading sysUpTime.0 and, for each port, its octet counters
// (ifHCInOctets/ifHCOutOctets for an HC port, else ifInOctets/ifOutOctets),
// ifOperStatus, ifInErrors, ifOutErrors, ifInDiscards, ifOutDiscards,
// its speed (ifHighSpeed for an HC port, else ifSpeed) and ifAdminStatus, creds.MaxOIDs
// variables a request. An agent that answers tooBig gets the same
// variables in requests half as large, for the rest of the poll. An HC
// port whose 64-bit counters the agent does not have is read again with
// the 32-bit ones (its reading says HC false). A port the agent does not
// have is left out of the readings. Every reading is stamped with the
// poll's start (UTC, to the millisecond).
func SNMPPoll(ctx context.Context, creds models.SNMPCredentials, ports []PollPort) (PollResult, error) {
	s, err := openSNMP(ctx, creds, "poll")
	if err != nil {
		return PollResult{}, err
	}
	defer s.close()
	at := time.Now().UTC().Truncate(time.Millisecond)

	ports = uniquePorts(ports)
	oids := make([]string, 0, 1+portVars*len(ports))
	oids = append(oids, oidSysUpTime)
	for _, p := range ports {
		oids = append(oids, portOIDs(p)...)
	}
	vals, err := s.get(oids)
	res := PollResult{Requests: s.requests}
	if err != nil {
		return res, err
	}
	up, ok := pduUint(vals[0])
	if !ok {
		return res, s.errorf(nil, nil, "the agent has no sysUpTime")
	}
	res.Uptime = uint32(up)
	res.Readings = make(map[int]models.CounterReading, len(ports))

	var fallback []int // the HC ports without 64-bit counters
	for i, p := range ports {
		v := vals[1+portVars*i : 1+portVars*(i+1)]
		oper, ok := pduUint(v[2])
		if !ok {
			continue // no such interface
		}
		admin, _ := pduUint(v[8])
		r := models.CounterReading{At: at, Uptime: res.Uptime, HC: p.HC, OperUp: oper == 1, AdminUp: admin == 1}
		in, okIn := pduUint(v[0])
		out, okOut := pduUint(v[1])
		if !okIn || !okOut {
			if p.HC {
				fallback = append(fallback, i)
			}
			continue
		}
		r.InOctets, r.OutOctets = in, out
		r.InErrors, r.OutErrors = pduUint32(v[3]), pduUint32(v[4])
		r.InDiscards, r.OutDiscards = pduUint32(v[5]), pduUint32(v[6])
		if speed, ok := pduUint(v[7]); ok {
			if p.HC {
				speed *= 1_000_000 // ifHighSpeed is in Mb/s
			}
			r.SpeedBps = int64(speed)
		}
		res.Readings[p.IfIndex] = r
	}
	if len(fallback) == 0 {
		return res, nil
	}

	// The 32-bit counters of the HC ports the agent has no 64-bit ones for.
	oids = oids[:0]
	for _, i := range fallback {
		ix := "." + strconv.Itoa(ports[i].IfIndex)
		oids = append(oids, oidIfInOctets+ix, oidIfOutOctets+ix, oidIfSpeed+ix)
	}
	more, err := s.get(oids)
	res.Requests = s.requests
	if err != nil {
		return res, err
	}
	for j, i := range fallback {
		v := more[3*j : 3*(j+1)]
		first := vals[1+portVars*i : 1+portVars*(i+1)]
		in, okIn := pduUint(v[0])
		out, okOut := pduUint(v[1])
		if !okIn || !okOut {
			continue
		}
		oper, _ := pduUint(first[2])
		admin, _ := pduUint(first[8])
		speed, _ := pduUint(v[2])
		res.Readings[ports[i].IfIndex] = models.CounterReading{At: at, Uptime: res.Uptime,
			InOctets: in, OutOctets: out, OperUp: oper == 1, AdminUp: admin == 1,
			InErrors: pduUint32(first[3]), OutErrors: pduUint32(first[4]),
			InDiscards: pduUint32(first[5]), OutDiscards: pduUint32(first[6]),
			SpeedBps: int64(speed)}
	}
	return res, nil
}

// portVars is how many variables a poll reads of each port.
const portVars = 9

// portOIDs are the variables a poll reads of port p, in the order
// SNMPPoll takes them apart.
func portOIDs(p PollPort) []string {
	ix := "." + strconv.Itoa(p.IfIndex)
	in, out, speed := oidIfInOctets, oidIfOutOctets, oidIfSpeed
	if p.HC {
		in, out, speed = oidIfHCInOctets, oidIfHCOutOctets, oidIfHighSpeed
	}
	return []string{in + ix, out + ix, oidIfOperStatus + ix,
		oidIfInErrors + ix, oidIfOutErrors + ix, oidIfInDiscards + ix, oidIfOutDiscards + ix,
		speed + ix, oidIfAdminStatus + ix}
}

// uniquePorts drops repeated ifIndexes (the first one stays).
func uniquePorts(ports []PollPort) []PollPort {
	seen := make(map[int]bool, len(ports))
	out := make([]PollPort, 0, len(ports))
	for _, p := range ports {
		if !seen[p.IfIndex] {
			seen[p.IfIndex] = true
			out = append(out, p)
		}
	}
	return out
}

// SNMPDiscover is the DiscoverFunc of the network pages: the switch's
// system group (sysName, sysDescr, sysUpTime) and its interfaces from a
// walk (GETBULK) of the ifTable and ifXTable columns staff pick ports by,
// sorted by ifIndex. An interface is HC when the agent has its
// ifHCInOctets; its speed is ifHighSpeed in Mb/s when the agent gives one,
// else ifSpeed.
func SNMPDiscover(ctx context.Context, creds models.SNMPCredentials) (SysInfo, []models.Interface, error) {
	s, err := openSNMP(ctx, creds, "discover")
	if err != nil {
		return SysInfo{}, nil, err
	}
	defer s.close()

	vals, err := s.get([]string{oidSysName, oidSysDescr, oidSysUpTime})
	if err != nil {
		return SysInfo{}, nil, err
	}
	up, _ := pduUint(vals[2])
	info := SysInfo{Name: pduString(vals[0]), Descr: pduString(vals[1]), Uptime: uint32(up)}

	ifs := map[int]*models.Interface{}
	var ifSpeed, ifHighSpeed = map[int]uint64{}, map[int]uint64{}
	columns := []struct {
		oid string
		set func(i *models.Interface, p gosnmp.SnmpPDU)
	}{
		{oidIfDescr, func(i *models.Interface, p gosnmp.SnmpPDU) { i.Descr = pduString(p) }},
		{oidIfType, func(i *models.Interface, p gosnmp.SnmpPDU) { v, _ := pduUint(p); i.TypeNumber = int(v) }},
		{oidIfSpeed, func(i *models.Interface, p gosnmp.SnmpPDU) { ifSpeed[i.IfIndex], _ = pduUint(p) }},
		{oidIfAdminStatus, func(i *models.Interface, p gosnmp.SnmpPDU) { v, _ := pduUint(p); i.AdminUp = v == 1 }},
		{oidIfOperStatus, func(i *models.Interface, p gosnmp.SnmpPDU) { v, _ := pduUint(p); i.OperUp = v == 1 }},
		{oidIfName, func(i *models.Interface, p gosnmp.SnmpPDU) { i.Name = pduString(p) }},
		{oidIfAlias, func(i *models.Interface, p gosnmp.SnmpPDU) { i.Alias = pduString(p) }},
		{oidIfHighSpeed, func(i *models.Interface, p gosnmp.SnmpPDU) { ifHighSpeed[i.IfIndex], _ = pduUint(p) }},
		{oidIfHCInOctets, func(i *models.Interface, p gosnmp.SnmpPDU) { _, i.HC = pduUint(p) }},
	}
	for _, col := range columns {
		prefix := col.oid + "."
		err := s.walk(col.oid, func(p gosnmp.SnmpPDU) error {
			ix, err := strconv.Atoi(strings.TrimPrefix(p.Name, prefix))
			if err != nil || !strings.HasPrefix(p.Name, prefix) || ix <= 0 {
				return nil // not a row of this column
			}
			i := ifs[ix]
			if i == nil {
				i = &models.Interface{IfIndex: ix}
				ifs[ix] = i
			}
			col.set(i, p)
			return nil
		})
		if err != nil {
			return SysInfo{}, nil, err
		}
	}

	out := make([]models.Interface, 0, len(ifs))
	for ix, i := range ifs {
		if hs := ifHighSpeed[ix]; hs > 0 {
			i.SpeedBps = int64(hs) * 1_000_000
		} else {
			i.SpeedBps = int64(ifSpeed[ix])
		}
		out = append(out, *i)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].IfIndex < out[b].IfIndex })
	return info, out, nil
}

// snmpSession is one conversation with an agent: a connected client whose
// socket is closed when ctx ends (so a request waiting for its answer
// returns at once), the number of GET requests sent, and the largest
// request the agent took.
type snmpSession struct {
	ctx      context.Context
	g        *gosnmp.GoSNMP
	creds    models.SNMPCredentials
	op       string
	batch    int
	requests int
	stop     func() bool
}

// openSNMP makes a client for creds and opens its socket (UDP: nothing is
// sent yet).
func openSNMP(ctx context.Context, creds models.SNMPCredentials, op string) (*snmpSession, error) {
	s := &snmpSession{ctx: ctx, creds: creds, op: op, batch: creds.MaxOIDs}
	if s.batch <= 0 {
		s.batch = models.SwitchMaxOIDsDefault
	}
	host, port, err := splitSNMPAddress(creds.Address)
	if err != nil {
		return nil, s.errorf(ErrSNMPConfig, nil, "%s", err)
	}
	timeout := creds.Timeout
	if timeout <= 0 {
		timeout = models.SwitchTimeoutDefault * time.Millisecond
	}
	g := &gosnmp.GoSNMP{
		Target:         host,
		Port:           port,
		Transport:      "udp",
		Context:        ctx,
		Timeout:        timeout,
		Retries:        snmpRetries,
		MaxOids:        s.batch,
		MaxRepetitions: uint32(s.batch),
	}
	switch creds.Version {
	case models.SNMPv2c:
		g.Version = gosnmp.Version2c
		g.Community = creds.Community
	case models.SNMPv3:
		if err := setV3(g, creds); err != nil {
			return nil, s.errorf(ErrSNMPConfig, nil, "%s", err)
		}
	default:
		return nil, s.errorf(ErrSNMPConfig, nil, "unknown SNMP version %q", creds.Version)
	}
	if err := g.Connect(); err != nil {
		return nil, s.fail(err)
	}
	s.g = g
	conn := g.Conn
	s.stop = context.AfterFunc(ctx, func() { conn.Close() })
	return s, nil
}

func (s *snmpSession) close() {
	s.stop()
	s.g.Conn.Close()
}

// setV3 configures g for the v3 user of creds, at the security level the
// set keys make: noAuthNoPriv without an authentication protocol,
// authNoPriv without a privacy protocol, else authPriv.
func setV3(g *gosnmp.GoSNMP, creds models.SNMPCredentials) error {
	if creds.V3User == "" {
		return errors.New("SNMPv3 needs a user name")
	}
	auth, ok := map[string]gosnmp.SnmpV3AuthProtocol{"": gosnmp.NoAuth, "MD5": gosnmp.MD5, "SHA": gosnmp.SHA,
		"SHA224": gosnmp.SHA224, "SHA256": gosnmp.SHA256, "SHA384": gosnmp.SHA384, "SHA512": gosnmp.SHA512}[creds.V3AuthProto]
	if !ok {
		return fmt.Errorf("unknown authentication protocol %q", creds.V3AuthProto)
	}
	priv, ok := map[string]gosnmp.SnmpV3PrivProtocol{"": gosnmp.NoPriv, "DES": gosnmp.DES, "AES": gosnmp.AES,
		"AES192": gosnmp.AES192, "AES256": gosnmp.AES256}[creds.V3PrivProto]
	if !ok {
		return fmt.Errorf("unknown privacy protocol %q", creds.V3PrivProto)
	}
	usm := &gosnmp.UsmSecurityParameters{UserName: creds.V3User,
		AuthenticationProtocol: auth, PrivacyProtocol: priv}
	switch {
	case auth == gosnmp.NoAuth && priv != gosnmp.NoPriv:
		return errors.New("a privacy protocol needs an authentication protocol")
	case auth == gosnmp.NoAuth:
		g.MsgFlags = gosnmp.NoAuthNoPriv
	case creds.V3AuthKey == "":
		return errors.New("the authentication key is not set")
	case priv == gosnmp.NoPriv:
		g.MsgFlags = gosnmp.AuthNoPriv
		usm.AuthenticationPassphrase = creds.V3AuthKey
	case creds.V3PrivKey == "":
		return errors.New("the privacy key is not set")
	default:
		g.MsgFlags = gosnmp.AuthPriv
		usm.AuthenticationPassphrase = creds.V3AuthKey
		usm.PrivacyPassphrase = creds.V3PrivKey
	}
	g.Version = gosnmp.Version3
	g.SecurityModel = gosnmp.UserSecurityModel
	g.SecurityParameters = usm
	return nil
}

// splitSNMPAddress reads host[:port] (an IPv6 literal in brackets when it
// has a port); the port defaults to 161.
func splitSNMPAddress(addr string) (string, uint16, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return "", 0, errors.New("no address")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		// No port: a host name, an IPv4 address or a bare IPv6 address.
		host = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
		return host, snmpDefaultPort, nil
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 || host == "" {
		return "", 0, fmt.Errorf("bad address %q", addr)
	}
	return host, uint16(n), nil
}

// get reads oids in GET requests of at most s.batch variables, halving
// the batch when the agent answers tooBig, and returns the variables in
// the order of oids. A variable the agent does not have comes back as
// noSuchObject or noSuchInstance.
func (s *snmpSession) get(oids []string) ([]gosnmp.SnmpPDU, error) {
	out := make([]gosnmp.SnmpPDU, 0, len(oids))
	for len(oids) > 0 {
		n := min(s.batch, len(oids))
		s.requests++
		res, err := s.g.Get(oids[:n])
		if err != nil {
			return nil, s.fail(err)
		}
		if res.Error == gosnmp.TooBig {
			if n == 1 {
				return nil, s.errorf(nil, nil, "the agent answers tooBig to a single variable")
			}
			s.batch = n / 2
			continue
		}
		if res.Error == gosnmp.AuthorizationError || res.Error == gosnmp.NoAccess {
			return nil, s.errorf(ErrSNMPRefused, nil, "the agent does not let these credentials read (%s: access or security level)", res.Error)
		}
		if res.Error != gosnmp.NoError {
			return nil, s.errorf(nil, nil, "the agent answered %s", res.Error)
		}
		if len(res.Variables) != n {
			return nil, s.errorf(nil, nil, "the agent answered %d variables to a request of %d", len(res.Variables), n)
		}
		for i, v := range res.Variables {
			if strings.TrimPrefix(v.Name, ".") != strings.TrimPrefix(oids[i], ".") {
				return nil, s.errorf(nil, nil, "the agent answered %s for %s", v.Name, oids[i])
			}
		}
		out = append(out, res.Variables...)
		oids = oids[n:]
	}
	return out, nil
}

// walk reads the subtree under root with GETBULK requests.
func (s *snmpSession) walk(root string, fn gosnmp.WalkFunc) error {
	if err := s.g.BulkWalk(root, fn); err != nil {
		return s.fail(err)
	}
	return nil
}

// fail turns a library error into an SNMPError worded by the client.
func (s *snmpSession) fail(err error) error {
	if cerr := s.ctx.Err(); cerr != nil {
		return s.errorf(cerr, err, "%s", cerr)
	}
	var nerr net.Error
	switch {
	case errors.Is(err, gosnmp.ErrWrongDigest):
		return s.errorf(ErrSNMPRefused, err, "authentication failed (wrong authentication key or protocol)")
	case errors.Is(err, gosnmp.ErrDecryption):
		return s.errorf(ErrSNMPRefused, err, "decryption failed (wrong privacy key or protocol)")
	case strings.Contains(err.Error(), "not authentic"):
		// The agent's report of a wrong digest or an unknown user, which
		// it sends unauthenticated and the library discards.
		return s.errorf(ErrSNMPRefused, err, "authentication failed (wrong user, authentication key or protocol)")
	case errors.Is(err, gosnmp.ErrUnknownUsername):
		return s.errorf(ErrSNMPRefused, err, "unknown SNMPv3 user")
	case errors.Is(err, gosnmp.ErrUnknownSecurityLevel):
		return s.errorf(ErrSNMPRefused, err, "the agent does not accept this security level for the user")
	case errors.Is(err, gosnmp.ErrMaxRetriesExceeded), errors.As(err, &nerr) && nerr.Timeout():
		return s.errorf(ErrSNMPNoAnswer, err, "no answer within %s (the agent is unreachable, or ignores these credentials)", s.g.Timeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		return s.errorf(ErrSNMPNoAnswer, err, "port unreachable")
	}
	return s.errorf(nil, err, "%s", s.scrub(err.Error()))
}

// errorf makes the session's error of kind (may be nil) with cause (may be
// nil) and the client's own message, with every secret cut out.
func (s *snmpSession) errorf(kind, cause error, format string, args ...any) error {
	return &SNMPError{Op: s.op, Address: s.creds.Address, kind: kind, cause: cause,
		Msg: s.scrub(fmt.Sprintf(format, args...))}
}

// scrub cuts the switch's secrets out of text.
func (s *snmpSession) scrub(text string) string {
	for _, secret := range []string{s.creds.Community, s.creds.V3AuthKey, s.creds.V3PrivKey} {
		if secret != "" {
			text = strings.ReplaceAll(text, secret, "***")
		}
	}
	return text
}

// pduUint is a numeric variable's value; false when the agent has no such
// object or instance (or sent something else).
func pduUint(p gosnmp.SnmpPDU) (uint64, bool) {
	switch p.Type {
	case gosnmp.Counter32, gosnmp.Counter64, gosnmp.Gauge32, gosnmp.TimeTicks, gosnmp.Integer, gosnmp.Uinteger32:
		v := gosnmp.ToBigInt(p.Value)
		if v.Sign() < 0 || !v.IsUint64() {
			return 0, false
		}
		return v.Uint64(), true
	}
	return 0, false
}

// pduUint32 is a Counter32 value, 0 when the agent has none.
func pduUint32(p gosnmp.SnmpPDU) uint32 {
	v, _ := pduUint(p)
	return uint32(v)
}

// pduString is a DisplayString variable's value ("" when there is none).
func pduString(p gosnmp.SnmpPDU) string {
	if b, ok := p.Value.([]byte); ok && p.Type == gosnmp.OctetString {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return ""
}

// Both functions are the ones the poller and the pages use.
var (
	_ PollFunc     = SNMPPoll
	_ DiscoverFunc = SNMPDiscover
)
