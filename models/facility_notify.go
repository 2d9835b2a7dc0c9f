package models

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Whom the meters' events are emailed to (ExpandEvent):
//   - facility.threshold: the organization's contacts with an email
//     channel, and the organization's engineer (organizations.engineer_user_id);
//   - power.proposed: the organization's engineer, or every engineer when
//     it has none (staff decide whether the incident was one).
//
// One email per address, in the recipient's language.
func (s *Store) facilityDeliveries(tx *gorm.DB, ev OutboxEvent, now time.Time, channelFor func(Channel) string) ([]Delivery, error) {
	t := channelFor(ChannelEmail)
	if t == "" {
		return nil, nil
	}
	var rs []emailRecipient
	if ev.Kind == EventFacilityThreshold {
		var cs []Contact
		if err := tx.Select("id", "email", "locale", "channels").Where("org_id = ? AND email <> ''", ev.OrgID).
			Order("priority, id").Find(&cs).Error; err != nil {
			return nil, err
		}
		for _, c := range cs {
			if slices.Contains(c.ChannelList(), ChannelEmail) {
				rs = append(rs, emailRecipient{ContactID: c.ID, Address: c.Email, Locale: c.Locale})
			}
		}
	}
	var o Organization
	if err := tx.Select("id", "engineer_user_id").First(&o, ev.OrgID).Error; err != nil {
		return nil, optionalRow(err)
	}
	var engineers []User
	q := tx.Where("role = ? AND disabled_at IS NULL AND email <> ''", RoleEngineer).Order("id")
	switch {
	case o.EngineerUserID != nil:
		q = q.Where("id = ?", *o.EngineerUserID)
	case ev.Kind == EventFacilityThreshold:
		q = nil // no engineer of its own: the contacts only
	}
	if q != nil {
		if err := q.Find(&engineers).Error; err != nil {
			return nil, err
		}
		if len(engineers) == 0 && ev.Kind == EventPowerProposed && o.EngineerUserID != nil {
			// Its engineer left: every engineer.
			if err := tx.Where("role = ? AND disabled_at IS NULL AND email <> ''", RoleEngineer).Order("id").
				Find(&engineers).Error; err != nil {
				return nil, err
			}
		}
	}
	for _, u := range engineers {
		rs = append(rs, emailRecipient{Address: u.Email, Locale: u.Locale})
	}
	seen := map[string]bool{}
	var ds []Delivery
	for _, r := range rs {
		key := strings.ToLower(strings.TrimSpace(r.Address))
		if key == "" || seen[key] {
			continue
		}
		seen[key] = true
		locale := r.Locale
		if locale == "" {
			locale = defaultLocale
		}
		ds = append(ds, Delivery{OrgID: ev.OrgID, EventID: ev.ID, Event: ev.Kind, ContactID: r.ContactID, Channel: ChannelEmail,
			Transport: t, Address: strings.TrimSpace(r.Address), Locale: locale, Status: DeliveryPending, NextAttemptAt: now,
			LeaseUntil: neverLeased, CreatedAt: now})
	}
	return ds, nil
}

// FacilityThresholdFacts is what a threshold email says.
type FacilityThresholdFacts struct {
	Org       Organization
	Meter     FacilityMeter
	Device    string // the PDU's or sensor's name
	Alert     FacilityAlert
	Threshold FacilityThreshold
	To        string // the recipient's name
}

// FacilityThresholdFacts loads outbox event eventID of orgID (a
// threshold crossing) with its meter and alert, and the name of the
// recipient (contact contactID, else the staff user at address). A meter
// that no longer exists is ErrNotFound.
func (s *Store) FacilityThresholdFacts(ctx context.Context, sc Scope, orgID, eventID, contactID int64, address string) (*FacilityThresholdFacts, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "facility threshold facts")
	}
	db := s.db.WithContext(ctx)
	var ev OutboxEvent
	if err := db.Where("org_id = ? AND id = ? AND kind = ?", orgID, eventID, EventFacilityThreshold).First(&ev).Error; err != nil {
		return nil, wrap(notFound(err), "facility threshold facts")
	}
	f := &FacilityThresholdFacts{}
	if err := json.Unmarshal([]byte(ev.Payload), &f.Threshold); err != nil {
		return nil, fmt.Errorf("models: facility threshold facts of event %d: %w", eventID, err)
	}
	if err := db.First(&f.Alert, ev.RefID).Error; err != nil {
		return nil, wrap(notFound(err), "facility threshold facts")
	}
	if err := db.Where("id = ? AND org_id = ?", f.Threshold.MeterID, orgID).First(&f.Meter).Error; err != nil {
		return nil, wrap(notFound(err), "facility threshold facts")
	}
	var sw Switch
	if err := optionalRow(db.Select("id", "name").First(&sw, f.Meter.SwitchID).Error); err != nil {
		return nil, wrap(err, "facility threshold facts")
	}
	f.Device = sw.Name
	if err := optionalRow(db.First(&f.Org, orgID).Error); err != nil {
		return nil, wrap(err, "facility threshold facts")
	}
	to, err := s.facilityRecipientName(db, orgID, contactID, address)
	f.To = to
	return f, wrap(err, "facility threshold facts")
}

// PowerProposalFacts is what a proposal email says.
type PowerProposalFacts struct {
	Org      Organization
	Proposal PowerProposal
	To       string
}

// PowerProposalFacts loads outbox event eventID of orgID (a power
// incident proposed by the meters) with its proposal and the name of the
// staff user at address.
func (s *Store) PowerProposalFacts(ctx context.Context, sc Scope, orgID, eventID int64, address string) (*PowerProposalFacts, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "power proposal facts")
	}
	db := s.db.WithContext(ctx)
	var ev OutboxEvent
	if err := db.Where("org_id = ? AND id = ? AND kind = ?", orgID, eventID, EventPowerProposed).First(&ev).Error; err != nil {
		return nil, wrap(notFound(err), "power proposal facts")
	}
	f := &PowerProposalFacts{}
	if err := db.Where("id = ? AND org_id = ?", ev.RefID, orgID).First(&f.Proposal).Error; err != nil {
		return nil, wrap(notFound(err), "power proposal facts")
	}
	if err := optionalRow(db.First(&f.Org, orgID).Error); err != nil {
		return nil, wrap(err, "power proposal facts")
	}
	to, err := s.facilityRecipientName(db, orgID, 0, address)
	f.To = to
	return f, wrap(err, "power proposal facts")
}

// facilityRecipientName is contact contactID's name, else the name of the
// staff user at address ("" when neither is found).
func (s *Store) facilityRecipientName(db *gorm.DB, orgID, contactID int64, address string) (string, error) {
	if contactID != 0 {
		var c Contact
		err := db.Select("id", "name").Where("org_id = ? AND id = ?", orgID, contactID).First(&c).Error
		return c.Name, optionalRow(err)
	}
	var u User
	err := db.Select("id", "name").Where("email = ? AND role IN ?", address, EscortRoles).First(&u).Error
	return u.Name, optionalRow(err)
}
