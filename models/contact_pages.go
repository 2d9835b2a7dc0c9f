package models

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"

	"gorm.io/gorm"
)

// ListNotifyOptOuts lists the events the contacts of orgID chose not to
// receive.
func (s *Store) ListNotifyOptOuts(ctx context.Context, sc Scope, orgID int64) ([]NotifyOptOut, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "list notify opt outs")
	}
	var out []NotifyOptOut
	err := s.db.WithContext(ctx).Where("org_id = ?", orgID).Order("contact_id, event").Find(&out).Error
	return out, wrap(err, "list notify opt outs")
}

// SetNotifyOptOuts replaces orgID's notification settings: every contact
// gets every event in NotifyEvents except those listed. A contact of another
// organization is not found. A save that changes something is audited with
// the opt-outs before and after.
func (s *Store) SetNotifyOptOuts(ctx context.Context, actor Actor, orgID int64, optouts []NotifyOptOut) error {
	want := map[NotifyOptOut]bool{}
	for _, o := range optouts {
		if !slices.Contains(NotifyEvents, o.Event) {
			return Invalid("events", "error.event_invalid")
		}
		want[NotifyOptOut{OrgID: orgID, ContactID: o.ContactID, Event: o.Event}] = true
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var contacts []Contact
		if err := tx.Select("id", "name").Where("org_id = ?", orgID).Find(&contacts).Error; err != nil {
			return err
		}
		names := map[int64]string{}
		for _, c := range contacts {
			names[c.ID] = c.Name
		}
		for o := range want {
			if _, ok := names[o.ContactID]; !ok {
				return ErrNotFound
			}
		}
		var before []NotifyOptOut
		if err := tx.Where("org_id = ?", orgID).Find(&before).Error; err != nil {
			return err
		}
		// Opt-outs of contacts since removed are dropped with the rest.
		had := map[NotifyOptOut]bool{}
		for _, o := range before {
			if _, ok := names[o.ContactID]; ok {
				had[o] = true
			}
		}
		if maps.Equal(had, want) && len(before) == len(had) {
			return nil
		}
		if err := tx.Where("org_id = ?", orgID).Delete(&NotifyOptOut{}).Error; err != nil {
			return err
		}
		rows := sortedOptOuts(want)
		if len(rows) > 0 {
			if err := createInChunks(tx, rows); err != nil {
				return err
			}
		}
		return s.audit(tx, actor, AuditNotifySettings, "organization", &orgID, &orgID, map[string]any{
			"before": optOutDetail(sortedOptOuts(had), names), "after": optOutDetail(rows, names)})
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("models: notification settings of org %d: %w", orgID, err)
	}
	return wrap(err, "set notify opt outs")
}

func sortedOptOuts(m map[NotifyOptOut]bool) []NotifyOptOut {
	out := make([]NotifyOptOut, 0, len(m))
	for o := range m {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ContactID != out[j].ContactID {
			return out[i].ContactID < out[j].ContactID
		}
		return out[i].Event < out[j].Event
	})
	return out
}

// optOutDetail is the audit form of opt-outs: who does not get which event.
func optOutDetail(os []NotifyOptOut, names map[int64]string) []map[string]any {
	out := make([]map[string]any, 0, len(os))
	for _, o := range os {
		out = append(out, map[string]any{"contact_id": o.ContactID, "contact": names[o.ContactID], "event": o.Event})
	}
	return out
}

// OpenContactFlags lists the details of orgID's contacts that staff marked
// wrong and the customer has not corrected yet, newest first.
func (s *Store) OpenContactFlags(ctx context.Context, sc Scope, orgID int64) ([]ContactFlag, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "open contact flags")
	}
	var out []ContactFlag
	err := s.db.WithContext(ctx).Where("org_id = ? AND cleared_at IS NULL", orgID).Order("marked_at DESC, id DESC").Find(&out).Error
	return out, wrap(err, "open contact flags")
}

// ContactChangeLog lists what the customer's history page shows, newest
// first: every change to orgID's contacts, the confirmations of the list
// and the changes of the notification settings.
func (s *Store) ContactChangeLog(ctx context.Context, sc Scope, orgID int64, limit int) ([]AuditEvent, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "contact change log")
	}
	if limit <= 0 || limit > 500 {
		limit = 200
	}
	var out []AuditEvent
	err := s.db.WithContext(ctx).Where("org_id = ? AND (target_type = ? OR action IN ?)", orgID, "contact",
		[]string{AuditContactsConfirmed, AuditNotifySettings}).Order("id DESC").Limit(limit).Find(&out).Error
	return out, wrap(err, "contact change log")
}
