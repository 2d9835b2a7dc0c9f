package models

import (
	"fmt"
	"slices"

	"gorm.io/gorm"
)

// Coverage is what a contract covers: the devices named on it and those
// in the cabinets named on it (every device of the organization whose
// cabinet is one of them), and the cabinets those devices stand in. Power
// incidents touch a contract through Cabinets; outages through Devices.
type Coverage struct {
	Devices  []int64  // sorted, each once
	Cabinets []string // sorted, each once: named ones and the devices' own
}

// contractCoverage returns the coverage of each of orgID's contracts ids,
// read in tx, keyed by contract ID.
func contractCoverage(tx *gorm.DB, orgID int64, ids []int64) (map[int64]*Coverage, error) {
	out := make(map[int64]*Coverage, len(ids))
	for _, id := range ids {
		out[id] = &Coverage{}
	}
	if len(ids) == 0 {
		return out, nil
	}
	var targets []ContractTarget
	if err := findIn(tx, ids, &targets, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return q.Where("org_id = ? AND contract_id IN ?", orgID, chunk)
	}); err != nil {
		return nil, fmt.Errorf("models: contract coverage: %w", err)
	}
	var devices []Device
	if err := tx.Select("id", "cabinet").Where("org_id = ?", orgID).Find(&devices).Error; err != nil {
		return nil, fmt.Errorf("models: contract coverage: %w", err)
	}
	cabinetOf := make(map[int64]string, len(devices))
	inCabinet := map[string][]int64{}
	for _, d := range devices {
		cabinetOf[d.ID] = d.Cabinet
		if d.Cabinet != "" {
			inCabinet[d.Cabinet] = append(inCabinet[d.Cabinet], d.ID)
		}
	}
	for _, t := range targets {
		c := out[t.ContractID]
		switch {
		case t.DeviceID != nil:
			if cab, ok := cabinetOf[*t.DeviceID]; ok {
				c.Devices = append(c.Devices, *t.DeviceID)
				if cab != "" {
					c.Cabinets = append(c.Cabinets, cab)
				}
			}
		case t.Cabinet != "":
			c.Cabinets = append(c.Cabinets, t.Cabinet)
			c.Devices = append(c.Devices, inCabinet[t.Cabinet]...)
		}
	}
	for _, c := range out {
		slices.Sort(c.Devices)
		c.Devices = slices.Compact(c.Devices)
		slices.Sort(c.Cabinets)
		c.Cabinets = slices.Compact(c.Cabinets)
	}
	return out, nil
}
