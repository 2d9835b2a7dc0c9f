package models

import (
	"context"
	"fmt"

	"gorm.io/gorm"
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
	// A notice's delivery (NoticeID set): Count is how many outages it
	// covers, with those of the notices merged into a storm summary
	// (Notices counts those notices, 1 otherwise), Recovered how many of
	// them ended. With one outage the fields above tell of it; with more,
	// Items lists the first by start (at most the maximum asked for) and
	// Outage is the first of them.
	NoticeID  int64
	Count     int
	Recovered int
	Notices   int
	Items     []NoticeItem
}

// NoticeItem is one outage a notice of several lists.
type NoticeItem struct {
	Outage Outage
	Device Device // empty when deleted since
	Check  Check  // empty when deleted since
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

// DeliveryNoticeFacts loads what delivery deliveryID of a notice of orgID
// to contactID says: the outages of its notice and of the notices merged
// into it (a storm summary). With one outage it is NoticeFacts of that
// outage (at most maxProbes failed probes); with more, the count, how
// many recovered, and the first maxListed outages by start with their
// devices and checks. A delivery, or every outage it covered, that no
// longer exists is ErrNotFound.
func (s *Store) DeliveryNoticeFacts(ctx context.Context, sc Scope, orgID, deliveryID, contactID int64, maxProbes, maxListed int) (*NoticeFacts, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "delivery notice facts")
	}
	db := s.db.WithContext(ctx)
	var d Delivery
	if err := db.Where("org_id = ? AND id = ?", orgID, deliveryID).First(&d).Error; err != nil {
		return nil, wrap(notFound(err), "delivery notice facts")
	}
	covered := func() *gorm.DB {
		return db.Model(&Outage{}).Where("org_id = ? AND id IN (?)", orgID, noticeOutageIDs(db, d.ID))
	}
	var count, recovered, notices int64
	if err := covered().Count(&count).Error; err != nil {
		return nil, wrap(err, "delivery notice facts")
	}
	if count == 0 {
		return nil, wrap(ErrNotFound, "delivery notice facts")
	}
	if err := covered().Where("ended_at IS NOT NULL").Count(&recovered).Error; err != nil {
		return nil, wrap(err, "delivery notice facts")
	}
	if err := db.Model(&Delivery{}).Where("(id = ? OR merged_into = ?) AND notice_id <> 0", d.ID, d.ID).Count(&notices).Error; err != nil {
		return nil, wrap(err, "delivery notice facts")
	}
	var os []Outage
	if err := covered().Order("started_at, id").Limit(max(maxListed, 1)).Find(&os).Error; err != nil {
		return nil, wrap(err, "delivery notice facts")
	}
	if count == 1 {
		f, err := s.NoticeFacts(ctx, sc, orgID, os[0].ID, contactID, maxProbes)
		if err != nil {
			return nil, err
		}
		f.NoticeID, f.Count, f.Recovered, f.Notices = d.NoticeID, 1, int(recovered), int(notices)
		return f, nil
	}
	f := &NoticeFacts{NoticeID: d.NoticeID, Count: int(count), Recovered: int(recovered), Notices: int(notices), Outage: os[0]}
	if err := optionalRow(db.First(&f.Org, orgID).Error); err != nil {
		return nil, fmt.Errorf("models: delivery notice facts: %w", err)
	}
	var c Contact
	if err := optionalRow(db.Select("id", "name").Where("org_id = ? AND id = ?", orgID, contactID).First(&c).Error); err != nil {
		return nil, fmt.Errorf("models: delivery notice facts: %w", err)
	}
	f.ContactName = c.Name
	var deviceIDs, checkIDs []int64
	for _, o := range os {
		deviceIDs, checkIDs = append(deviceIDs, o.DeviceID), append(checkIDs, o.CheckID)
	}
	var devs []Device
	var checks []Check
	if err := findIn(db, deviceIDs, &devs, inOrg(orgID, whereID)); err != nil {
		return nil, fmt.Errorf("models: delivery notice facts: %w", err)
	}
	if err := findIn(db, checkIDs, &checks, inOrg(orgID, whereID)); err != nil {
		return nil, fmt.Errorf("models: delivery notice facts: %w", err)
	}
	devByID, checkByID := map[int64]Device{}, map[int64]Check{}
	for _, dv := range devs {
		devByID[dv.ID] = dv
	}
	for _, ck := range checks {
		checkByID[ck.ID] = ck
	}
	f.Items = make([]NoticeItem, len(os))
	for i, o := range os {
		f.Items[i] = NoticeItem{Outage: o, Device: devByID[o.DeviceID], Check: checkByID[o.CheckID]}
	}
	f.Device, f.Check = f.Items[0].Device, f.Items[0].Check
	return f, nil
}
