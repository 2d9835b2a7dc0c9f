package prober

import (
	"context"
	"strings"

	"github.com/gosnmp/gosnmp"

	"github.com/colo-portal/portal/models"
)

// MeterReadFunc reads the integer values of oids from a PDU or an
// environment sensor, creds.MaxOIDs variables a GET request: the values
// by OID as given, an OID the agent does not have (noSuchObject,
// noSuchInstance, or not an integer) missing. Tests may inject a fake.
type MeterReadFunc func(ctx context.Context, creds models.SNMPCredentials, oids []string) (map[string]int64, error)

// SNMPReadMeters is the MeterReadFunc of the poller: GET requests through
// the same session as SNMPPoll (halving on tooBig, errors worded alike).
func SNMPReadMeters(ctx context.Context, creds models.SNMPCredentials, oids []string) (map[string]int64, error) {
	s, err := openSNMP(ctx, creds, "poll")
	if err != nil {
		return nil, err
	}
	defer s.close()
	seen := make(map[string]bool, len(oids))
	ask := make([]string, 0, len(oids))
	for _, o := range oids {
		o = "." + strings.TrimPrefix(strings.TrimSpace(o), ".")
		if !seen[o] {
			seen[o] = true
			ask = append(ask, o)
		}
	}
	vals, err := s.get(ask)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(ask))
	byOID := make(map[string]int64, len(ask))
	for i, v := range vals {
		if n, ok := pduInt(v); ok {
			byOID[ask[i]] = n
		}
	}
	for _, o := range oids {
		if n, ok := byOID["."+strings.TrimPrefix(strings.TrimSpace(o), ".")]; ok {
			out[o] = n
		}
	}
	return out, nil
}

// pduInt is a numeric variable's value as a signed integer (a
// temperature below zero is a negative Integer32); false when the agent
// has no such object or sent something else.
func pduInt(p gosnmp.SnmpPDU) (int64, bool) {
	switch p.Type {
	case gosnmp.Counter32, gosnmp.Counter64, gosnmp.Gauge32, gosnmp.Integer, gosnmp.Uinteger32:
		v := gosnmp.ToBigInt(p.Value)
		if !v.IsInt64() {
			return 0, false
		}
		return v.Int64(), true
	}
	return 0, false
}

var _ MeterReadFunc = SNMPReadMeters
