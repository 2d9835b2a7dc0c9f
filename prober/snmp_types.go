package prober

import (
	"context"

	"github.com/colo-portal/portal/models"
)

// PollPort is one interface a poll reads: its ifIndex, and whether to read
// its 64-bit counters (ifHCInOctets/ifHCOutOctets) or the 32-bit ones.
type PollPort struct {
	IfIndex int
	HC      bool
}

// PollResult is what one poll of a switch read: sysUpTime and each port's
// counters (keyed by ifIndex; a port the agent did not answer for is
// missing), with how many SNMP requests it took.
type PollResult struct {
	Uptime   uint32
	Readings map[int]models.CounterReading
	Requests int
}

// SysInfo is what discovery reads of the agent itself.
type SysInfo struct {
	Name   string
	Descr  string
	Uptime uint32
}

// PollFunc polls the given ports of a switch in as few GET requests as the
// agent's limit (creds.MaxOIDs variables per request) allows, all
// readings stamped with the time of the poll. Tests inject a fake.
type PollFunc func(ctx context.Context, creds models.SNMPCredentials, ports []PollPort) (PollResult, error)

// DiscoverFunc walks a switch's IF-MIB (ifTable and ifXTable) and reads its
// system group: what staff pick monitored ports from.
type DiscoverFunc func(ctx context.Context, creds models.SNMPCredentials) (SysInfo, []models.Interface, error)
