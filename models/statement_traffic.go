package models

import (
	"cmp"
	"slices"
	"time"

	"gorm.io/gorm"
)

// PortTraffic is one switch port of the organization on its monthly
// statement: the month's 95th-percentile rates (burstable billing's
// basis), shown for information only. It gives no credit and changes no
// other figure; a closed statement keeps the figures it was closed with.
type PortTraffic struct {
	PortID       int64
	Ref          string // the port's traffic page
	Port         string // its label (ifName, else ifDescr)
	Alias        string `json:",omitempty"`
	Switch       string // the network device's name
	ContractID   *int64 `json:",omitempty"`
	Contract     string `json:",omitempty"` // its number
	Samples      int    // 5-minute slots with a rate
	InP95Bps     int64
	OutP95Bps    int64
	BilledP95Bps int64 // the higher of the two
}

// statementTraffic lists the ports mapped to orgID that were monitored in
// the month [from, to), by network device and interface, each with the
// month's figures: those the janitor stored (BuildTrafficMonths), else
// counted from the samples (TrafficMonthOf's rule). Only the
// organization's own period counts: a port mapped to it during the month
// is counted from the samples since (visibleFrom), one mapped after the
// month is left out.
func (s *Store) statementTraffic(db *gorm.DB, orgID int64, month string, from, to time.Time) ([]PortTraffic, error) {
	type portRow struct {
		SwitchPort
		SwitchName string
	}
	var ports []portRow
	if err := db.Table("switch_ports AS p").Select("p.*, w.name AS switch_name").
		Joins("JOIN switches w ON w.id = p.switch_id").
		Where("p.org_id = ? AND p.created_at < ?", orgID, to).Find(&ports).Error; err != nil {
		return nil, err
	}
	ports = slices.DeleteFunc(ports, func(p portRow) bool { return p.MappedSince != nil && !p.MappedSince.Before(to) })
	if len(ports) == 0 {
		return nil, nil
	}
	slices.SortFunc(ports, func(a, b portRow) int {
		return cmp.Or(cmp.Compare(a.SwitchName, b.SwitchName), cmp.Compare(a.IfIndex, b.IfIndex), cmp.Compare(a.ID, b.ID))
	})
	ids, contractIDs := make([]int64, len(ports)), []int64{}
	for i, p := range ports {
		ids[i] = p.ID
		if p.ContractID != nil {
			contractIDs = append(contractIDs, *p.ContractID)
		}
	}
	var stored []TrafficMonth
	if err := findIn(db, ids, &stored, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return q.Where("month = ? AND port_id IN ?", month, chunk)
	}); err != nil {
		return nil, err
	}
	byPort := map[int64]TrafficMonth{}
	for _, m := range stored {
		byPort[m.PortID] = m
	}
	var contracts []Contract
	if err := findIn(db, contractIDs, &contracts, inOrg(orgID, whereID)); err != nil {
		return nil, err
	}
	numbers := map[int64]string{}
	for i := range contracts {
		numbers[contracts[i].ID] = contracts[i].Number()
	}
	out := make([]PortTraffic, len(ports))
	for i, p := range ports {
		m, ok := byPort[p.ID]
		lo := visibleFrom(OrgScope(orgID), &p.SwitchPort, from)
		if !ok || lo.After(from) {
			var err error
			if m, err = countTrafficMonth(db, p.ID, month, lo, to); err != nil {
				return nil, err
			}
		}
		pt := PortTraffic{PortID: p.ID, Ref: p.Ref, Port: p.Label(), Alias: p.Alias, Switch: p.SwitchName,
			Samples: m.Samples, InP95Bps: m.InP95Bps, OutP95Bps: m.OutP95Bps, BilledP95Bps: m.BilledP95Bps()}
		if p.ContractID != nil {
			if n, ok := numbers[*p.ContractID]; ok {
				pt.ContractID, pt.Contract = p.ContractID, n
			}
		}
		out[i] = pt
	}
	return out, nil
}
