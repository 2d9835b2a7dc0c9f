package bench

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/prober"
)

// stopgapPoll stands in for prober.SNMPPoll until that is on main: a plain
// v2c poll with gosnmp, sysUpTime and then seven variables a port (the
// octet counters, 64-bit or 32-bit, errors, discards, ifOperStatus) in
// GETs of creds.MaxOIDs variables. When prober.SNMPPoll is merged, the
// benchmark uses it instead and this file goes.
func stopgapPoll(ctx context.Context, creds models.SNMPCredentials, ports []prober.PollPort) (prober.PollResult, error) {
	host, portStr, err := net.SplitHostPort(creds.Address)
	if err != nil {
		host, portStr = creds.Address, "161"
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return prober.PollResult{}, fmt.Errorf("snmp %s: bad port", creds.Address)
	}
	g := &gosnmp.GoSNMP{Target: host, Port: uint16(port), Community: creds.Community, Version: gosnmp.Version2c,
		Timeout: creds.Timeout, Retries: 1, MaxOids: creds.MaxOIDs, Context: ctx}
	if err := g.Connect(); err != nil {
		return prober.PollResult{}, err
	}
	defer g.Conn.Close()

	type slot struct{ port, field int } // port -1: sysUpTime
	oids := []string{".1.3.6.1.2.1.1.3.0"}
	slots := []slot{{-1, 0}}
	for i, p := range ports {
		in, out := ".1.3.6.1.2.1.2.2.1.10.", ".1.3.6.1.2.1.2.2.1.16."
		if p.HC {
			in, out = ".1.3.6.1.2.1.31.1.1.1.6.", ".1.3.6.1.2.1.31.1.1.1.10."
		}
		idx := strconv.Itoa(p.IfIndex)
		for f, prefix := range []string{in, out, ".1.3.6.1.2.1.2.2.1.14.", ".1.3.6.1.2.1.2.2.1.20.",
			".1.3.6.1.2.1.2.2.1.13.", ".1.3.6.1.2.1.2.2.1.19.", ".1.3.6.1.2.1.2.2.1.8."} {
			oids = append(oids, prefix+idx)
			slots = append(slots, slot{i, f})
		}
	}
	res := prober.PollResult{Readings: make(map[int]models.CounterReading, len(ports))}
	readings := make([]models.CounterReading, len(ports))
	answered := make([]int, len(ports))
	now := time.Now().UTC()
	per := max(creds.MaxOIDs, 1)
	for start := 0; start < len(oids); start += per {
		end := min(start+per, len(oids))
		r, err := g.Get(oids[start:end])
		res.Requests++
		if err != nil {
			return res, err
		}
		if r.Error != gosnmp.NoError {
			return res, fmt.Errorf("snmp %s: %s", creds.Address, r.Error)
		}
		for k, v := range r.Variables {
			s := slots[start+k]
			if v.Type == gosnmp.NoSuchInstance || v.Type == gosnmp.NoSuchObject || v.Type == gosnmp.EndOfMibView {
				continue
			}
			n := gosnmp.ToBigInt(v.Value).Uint64()
			if s.port < 0 {
				res.Uptime = uint32(n)
				continue
			}
			rd := &readings[s.port]
			switch s.field {
			case 0:
				rd.InOctets = n
			case 1:
				rd.OutOctets = n
			case 2:
				rd.InErrors = uint32(n)
			case 3:
				rd.OutErrors = uint32(n)
			case 4:
				rd.InDiscards = uint32(n)
			case 5:
				rd.OutDiscards = uint32(n)
			case 6:
				rd.OperUp = n == 1
			}
			answered[s.port]++
		}
	}
	for i, p := range ports {
		if answered[i] == 7 {
			rd := readings[i]
			rd.At, rd.Uptime, rd.HC = now, res.Uptime, p.HC
			res.Readings[p.IfIndex] = rd
		}
	}
	return res, nil
}
