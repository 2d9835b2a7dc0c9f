package models

import (
	"context"
	"fmt"
)

// NoticeFacts is what a notification about an outage says: who the
// customer is, which device and check, the outage's times and the failed
// probes behind it, and whom it is addressed to.
type NoticeFacts struct {
	Org    Organization
	Device Device
	Check  Check
	Outage Outage
	// Evidence is the first failed probes, oldest first; EvidenceTotal
	// counts all that are kept.
	Evidence      []OutageProbe
	EvidenceTotal int
	// ContactName is empty when the contact was deleted since.
	ContactName string
}

// NoticeFacts loads what a notification of an outage of orgID to
// contactID says, with at most maxProbes failed probes. An outage that no
// longer exists (or is another organization's) is ErrNotFound; a deleted
// device, check or contact leaves its part empty.
func (s *Store) NoticeFacts(ctx context.Context, sc Scope, orgID, outageID, contactID int64, maxProbes int) (*NoticeFacts, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "notice facts")
	}
	db := s.db.WithContext(ctx)
	f := &NoticeFacts{}
	if err := db.Where("org_id = ? AND id = ?", orgID, outageID).First(&f.Outage).Error; err != nil {
		return nil, wrap(notFound(err), "notice facts")
	}
	if err := optionalRow(db.First(&f.Org, orgID).Error); err != nil {
		return nil, fmt.Errorf("models: notice facts: %w", err)
	}
	if err := optionalRow(db.Where("org_id = ? AND id = ?", orgID, f.Outage.DeviceID).First(&f.Device).Error); err != nil {
		return nil, fmt.Errorf("models: notice facts: %w", err)
	}
	if err := optionalRow(db.Where("org_id = ? AND id = ?", orgID, f.Outage.CheckID).First(&f.Check).Error); err != nil {
		return nil, fmt.Errorf("models: notice facts: %w", err)
	}
	var c Contact
	if err := optionalRow(db.Select("id", "name").Where("org_id = ? AND id = ?", orgID, contactID).First(&c).Error); err != nil {
		return nil, fmt.Errorf("models: notice facts: %w", err)
	}
	f.ContactName = c.Name
	var n int64
	if err := db.Model(&OutageProbe{}).Where("outage_id = ?", outageID).Count(&n).Error; err != nil {
		return nil, fmt.Errorf("models: notice facts: %w", err)
	}
	f.EvidenceTotal = int(n)
	if maxProbes > 0 && n > 0 {
		if err := db.Where("outage_id = ?", outageID).Order("at").Limit(maxProbes).Find(&f.Evidence).Error; err != nil {
			return nil, fmt.Errorf("models: notice facts: %w", err)
		}
	}
	return f, nil
}
