package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Lists of shipments (the customer's, reception's desk), the CSV export,
// the held-too-long sweep, the purge of collectors' identity numbers and
// what the emails say.

// ShipmentRow is a shipment as a list shows it.
type ShipmentRow struct {
	Shipment
	OrgName string
}

// ShipmentFilter narrows a list of shipments.
type ShipmentFilter struct {
	OrgID     int64  // staff: one organization; 0 all that the scope sees
	Direction string // "", ShipIn or ShipOut
	State     string // "" every state
	Open      bool   // only shipments still waiting for something
	Limit     int    // 0: 200
	Offset    int
}

// shipmentRows selects shipments sc sees as ShipmentRows.
func shipmentRows(db *gorm.DB, sc Scope) *gorm.DB {
	return sc.apply(db.Table("shipments"), "org_id").Select("shipments.*, organizations.name AS org_name").
		Joins("JOIN organizations ON organizations.id = shipments.org_id")
}

var openShipmentStates = []string{ShipmentAnnounced, ShipmentArrived, ShipmentRequested}

// ListShipments lists the shipments sc sees, newest first.
func (s *Store) ListShipments(ctx context.Context, sc Scope, f ShipmentFilter) ([]ShipmentRow, error) {
	q := shipmentRows(s.db.WithContext(ctx), sc)
	if f.OrgID != 0 {
		q = q.Where("shipments.org_id = ?", f.OrgID)
	}
	if f.Direction != "" {
		q = q.Where("shipments.direction = ?", f.Direction)
	}
	if f.State != "" {
		q = q.Where("shipments.state = ?", f.State)
	}
	if f.Open {
		q = q.Where("shipments.state IN ?", openShipmentStates)
	}
	if f.Limit <= 0 {
		f.Limit = 200
	}
	var out []ShipmentRow
	err := q.Order("shipments.created_at DESC, shipments.id DESC").Limit(f.Limit).Offset(f.Offset).Scan(&out).Error
	return out, wrap(err, "list shipments")
}

// ShipmentDesk is reception's overview.
type ShipmentDesk struct {
	Expected []ShipmentRow // announced, expected by the end of today (overdue ones too)
	Later    int           // announced for a later day
	Held     []ShipmentRow // arrived, in store, longest held first
	Outbound []ShipmentRow // outbound requested, by the day wanted
	Recent   []ShipmentRow // collected or handed over lately, newest first
}

// deskRows bounds each list of reception's overview.
const deskRows = 200

// ShipmentDeskOf is reception's overview at now.
func (s *Store) ShipmentDeskOf(ctx context.Context, sc Scope, now time.Time) (*ShipmentDesk, error) {
	db := s.db.WithContext(ctx)
	tomorrow := shipDayStart(now, s.zone).AddDate(0, 0, 1)
	d := &ShipmentDesk{}
	err := shipmentRows(db, sc).Where("shipments.state = ? AND shipments.expected_on < ?", ShipmentAnnounced, tomorrow).
		Order("shipments.expected_on, shipments.id").Limit(deskRows).Scan(&d.Expected).Error
	if err != nil {
		return nil, wrap(err, "shipment desk")
	}
	var later int64
	if err := sc.apply(db.Model(&Shipment{}), "org_id").Where("state = ? AND expected_on >= ?", ShipmentAnnounced, tomorrow).
		Count(&later).Error; err != nil {
		return nil, wrap(err, "shipment desk")
	}
	d.Later = int(later)
	if err := shipmentRows(db, sc).Where("shipments.state = ?", ShipmentArrived).
		Order("shipments.arrived_at, shipments.id").Limit(deskRows).Scan(&d.Held).Error; err != nil {
		return nil, wrap(err, "shipment desk")
	}
	if err := shipmentRows(db, sc).Where("shipments.state = ?", ShipmentRequested).
		Order("shipments.expected_on, shipments.id").Limit(deskRows).Scan(&d.Outbound).Error; err != nil {
		return nil, wrap(err, "shipment desk")
	}
	if err := shipmentRows(db, sc).Where("shipments.state IN ? AND shipments.ended_at >= ?",
		[]string{ShipmentCollected, ShipmentHandedOver}, now.UTC().AddDate(0, 0, -7)).
		Order("shipments.ended_at DESC, shipments.id DESC").Limit(50).Scan(&d.Recent).Error; err != nil {
		return nil, wrap(err, "shipment desk")
	}
	return d, nil
}

// MatchTracking finds the announced or arrived (in store) inbound
// shipments sc sees whose tracking number is the normalized tracking:
// what a scanner typed at the desk; a parcel already in store is shown as
// itself rather than offered to be logged again. Staff see every
// organization's.
func (s *Store) MatchTracking(ctx context.Context, sc Scope, tracking string) ([]ShipmentRow, error) {
	t := NormalizeTracking(tracking)
	if t == "" {
		return nil, nil
	}
	var out []ShipmentRow
	err := shipmentRows(s.db.WithContext(ctx), sc).Where("shipments.direction = ? AND shipments.tracking = ? AND shipments.state IN ?",
		ShipIn, t, []string{ShipmentAnnounced, ShipmentArrived}).Order("shipments.expected_on, shipments.id").Limit(50).Scan(&out).Error
	return out, wrap(err, "match tracking")
}

// RecordedTracking finds the inbound shipments sc sees whose tracking
// number is the normalized tracking and that are no longer announced
// nor in store (MatchTracking finds those): collected or cancelled. The
// desk says the parcel is already recorded rather than invite a second,
// unannounced record of it.
func (s *Store) RecordedTracking(ctx context.Context, sc Scope, tracking string) ([]ShipmentRow, error) {
	t := NormalizeTracking(tracking)
	if t == "" {
		return nil, nil
	}
	var out []ShipmentRow
	err := shipmentRows(s.db.WithContext(ctx), sc).Where("shipments.direction = ? AND shipments.tracking = ? AND shipments.state <> ?",
		ShipIn, t, ShipmentAnnounced).Order("shipments.id DESC").Limit(10).Scan(&out).Error
	return out, wrap(err, "recorded tracking")
}

// ShipmentCounts are the figures of an organization's home card.
type ShipmentCounts struct {
	Held     int // arrived and waiting
	HeldLong int // of them, held longer than the limit
	Expected int // announced
	Outbound int // outbound requested
	HoldDays int // the hold limit
}

// CountShipments counts organization orgID's open shipments at now.
func (s *Store) CountShipments(ctx context.Context, sc Scope, orgID int64, now time.Time) (ShipmentCounts, error) {
	c := ShipmentCounts{HoldDays: int(s.ShipmentHold() / (24 * time.Hour))}
	if !sc.Allows(orgID) {
		return c, wrap(ErrNotFound, "count shipments")
	}
	// One statement: the customer's home reads it on every visit.
	var rows []struct {
		State    string
		N        int
		HeldLong int
	}
	if err := s.db.WithContext(ctx).Model(&Shipment{}).
		Select("state, COUNT(*) AS n, SUM(CASE WHEN arrived_at < ? THEN 1 ELSE 0 END) AS held_long", now.UTC().Add(-s.ShipmentHold())).
		Where("org_id = ? AND state IN ?", orgID, openShipmentStates).Group("state").Scan(&rows).Error; err != nil {
		return c, wrap(err, "count shipments")
	}
	for _, r := range rows {
		switch r.State {
		case ShipmentArrived:
			c.Held, c.HeldLong = r.N, r.HeldLong
		case ShipmentAnnounced:
			c.Expected = r.N
		case ShipmentRequested:
			c.Outbound = r.N
		}
	}
	return c, nil
}

// DeskCounts are the figures of the desk's card on the staff home.
type DeskCounts struct {
	ExpectedToday int // announced for today or earlier
	InStore       int
	HeldLong      int // of them, held longer than the limit
	Outbound      int // outbound requested
	HoldDays      int
}

// CountDesk counts the open shipments sc sees at now, in one statement.
func (s *Store) CountDesk(ctx context.Context, sc Scope, now time.Time) (DeskCounts, error) {
	c := DeskCounts{HoldDays: int(s.ShipmentHold() / (24 * time.Hour))}
	var rows []struct {
		State    string
		N        int
		Due      int
		HeldLong int
	}
	err := sc.apply(s.db.WithContext(ctx).Model(&Shipment{}), "org_id").
		Select("state, COUNT(*) AS n, SUM(CASE WHEN expected_on < ? THEN 1 ELSE 0 END) AS due, "+
			"SUM(CASE WHEN arrived_at < ? THEN 1 ELSE 0 END) AS held_long",
			shipDayStart(now, s.zone).AddDate(0, 0, 1), now.UTC().Add(-s.ShipmentHold())).
		Where("state IN ?", openShipmentStates).Group("state").Scan(&rows).Error
	if err != nil {
		return c, wrap(err, "count desk")
	}
	for _, r := range rows {
		switch r.State {
		case ShipmentAnnounced:
			c.ExpectedToday = r.Due
		case ShipmentArrived:
			c.InStore, c.HeldLong = r.N, r.HeldLong
		case ShipmentRequested:
			c.Outbound = r.N
		}
	}
	return c, nil
}

// ShipmentExportRow is one shipment of the CSV export with its people's
// names and masked identity numbers.
type ShipmentExportRow struct {
	ShipmentRow
	People string // "name (ID type masked-number); …"
}

// ExportShipments calls fn for each shipment sc sees created in
// [from, to), oldest first, then records the export. Identity numbers
// stay masked.
func (s *Store) ExportShipments(ctx context.Context, sc Scope, actor Actor, from, to time.Time, fn func(*ShipmentExportRow) error) (int, error) {
	if err := checkVisitLogPeriod(from, to); err != nil {
		return 0, wrap(err, "export shipments")
	}
	utc(&from, &to)
	db := s.db.WithContext(ctx)
	var ids []int64
	if err := sc.apply(db.Model(&Shipment{}), "org_id").Where("created_at >= ? AND created_at < ?", from, to).
		Order("created_at, id").Pluck("id", &ids).Error; err != nil {
		return 0, wrap(err, "export shipments")
	}
	n := 0
	for chunk := range chunksOf(ids, 200) {
		var rows []ShipmentRow
		if err := shipmentRows(db, sc).Where("shipments.id IN ?", chunk).Order("shipments.created_at, shipments.id").Scan(&rows).Error; err != nil {
			return 0, wrap(err, "export shipments")
		}
		var people []ShipmentPerson
		if err := db.Where("shipment_id IN ?", chunk).Order("shipment_id, seq").Find(&people).Error; err != nil {
			return 0, wrap(err, "export shipments")
		}
		byShipment := map[int64]string{}
		for _, p := range people {
			if byShipment[p.ShipmentID] != "" {
				byShipment[p.ShipmentID] += "; "
			}
			byShipment[p.ShipmentID] += fmt.Sprintf("%s (%s %s)", p.Name, p.IDType, p.IDMasked)
		}
		for i := range rows {
			n++
			if err := fn(&ShipmentExportRow{ShipmentRow: rows[i], People: byShipment[rows[i].ID]}); err != nil {
				return 0, wrap(err, "export shipments")
			}
		}
	}
	var orgID *int64
	if id, ok := sc.Org(); ok {
		orgID = &id
	}
	err := s.Audit(ctx, actor, AuditShipmentsExported, "shipment", nil, orgID, map[string]any{
		"from": from, "to": to, "rows": n})
	return n, wrap(err, "export shipments")
}

// SweepHeldShipments flags the parcels held longer than ShipmentHold at
// now that were not flagged yet, and emails their organizations once
// (one outbox event each). It returns how many it flagged.
func (s *Store) SweepHeldShipments(ctx context.Context, now time.Time) (int, error) {
	cutoff := now.UTC().Add(-s.ShipmentHold())
	var ids []int64
	if err := s.db.WithContext(ctx).Model(&Shipment{}).Where("state = ? AND held_notice_at IS NULL AND arrived_at < ?", ShipmentArrived, cutoff).
		Order("id").Limit(1000).Pluck("id", &ids).Error; err != nil {
		return 0, wrap(err, "sweep held shipments")
	}
	n := 0
	for _, id := range ids {
		err := s.tx(ctx, func(tx *gorm.DB) error {
			var sh Shipment
			if err := forUpdate(tx).First(&sh, id).Error; err != nil {
				return optionalRow(err)
			}
			if sh.State != ShipmentArrived || sh.HeldNoticeAt != nil {
				return nil
			}
			if err := tx.Model(&Shipment{}).Where("id = ?", id).Update("held_notice_at", now.UTC()).Error; err != nil {
				return err
			}
			if err := s.outbox(tx, EventShipmentHeld, sh.OrgID, sh.ID, ""); err != nil {
				return err
			}
			n++
			return s.audit(tx, SystemActor("shipment sweep"), AuditShipmentHeld, "shipment", &sh.ID, &sh.OrgID, map[string]any{
				"shipment": sh.Number(), "arrived": sh.ArrivedAt, "hold_days": int(s.ShipmentHold() / (24 * time.Hour))})
		})
		if err != nil {
			return n, wrap(err, "sweep held shipments")
		}
	}
	return n, nil
}

// shipmentPurgeGrace is how long after its expected day an announced
// shipment that never arrived keeps its collectors' data beyond the
// purge period.
const shipmentPurgeGrace = 30 * 24 * time.Hour

// PurgeShipmentPeople clears the identity numbers and phones of the people
// of shipments that ended (collected, handed over, cancelled) more than
// the visitors' purge period before now, and of announcements that never
// arrived or outbound requests never handed over (counted from their day
// plus a grace), and the hand-over's identity number; names stay.
func (s *Store) PurgeShipmentPeople(ctx context.Context, now time.Time) (int, error) {
	cutoff := now.UTC().Add(-s.visitRules.PurgeAfter)
	got := 0
	err := s.tx(ctx, func(tx *gorm.DB) error {
		got = 0
		var ids []int64
		if err := tx.Model(&Shipment{}).Where("purged_at IS NULL AND ((ended_at IS NOT NULL AND ended_at < ?) OR (state IN ? AND expected_on < ?))",
			cutoff, []string{ShipmentAnnounced, ShipmentRequested}, cutoff.Add(-shipmentPurgeGrace)).Order("id").Limit(visitPurgeBatch).Pluck("id", &ids).Error; err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		for chunk := range chunks(ids) {
			if err := tx.Model(&ShipmentPerson{}).Where("shipment_id IN ? AND purged_at IS NULL", chunk).Updates(map[string]any{
				"id_sealed": "", "id_masked": "", "phone_sealed": "", "phone_masked": "", "purged_at": now.UTC()}).Error; err != nil {
				return err
			}
			res := tx.Model(&Shipment{}).Where("id IN ? AND purged_at IS NULL", chunk).Updates(map[string]any{
				"handed_to_id_sealed": "", "handed_to_id_masked": "", "purged_at": now.UTC()})
			if res.Error != nil {
				return res.Error
			}
			got += int(res.RowsAffected)
		}
		return s.audit(tx, SystemActor("shipment purge"), AuditShipmentsPurged, "shipment", nil, nil, map[string]any{
			"shipments": got, "ended_before": cutoff, "purge_days": int(s.visitRules.PurgeAfter / (24 * time.Hour))})
	})
	if err != nil {
		return 0, wrap(err, "purge shipment people")
	}
	return got, nil
}

// ShipmentFacts is what an email about a shipment says.
type ShipmentFacts struct {
	Event    string
	Org      Organization
	Shipment Shipment
	HoldDays int
}

// ShipmentFactsOf loads outbox event eventID of orgID (an arrival or a
// held-too-long reminder) with its shipment. What no longer exists is
// ErrNotFound.
func (s *Store) ShipmentFactsOf(ctx context.Context, sc Scope, orgID, eventID int64) (*ShipmentFacts, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "shipment facts")
	}
	db := s.db.WithContext(ctx)
	var ev OutboxEvent
	if err := db.Where("org_id = ? AND id = ? AND kind IN ?", orgID, eventID, []string{EventShipmentArrived, EventShipmentHeld}).
		First(&ev).Error; err != nil {
		return nil, wrap(notFound(err), "shipment facts")
	}
	f := &ShipmentFacts{Event: ev.Kind, HoldDays: int(s.ShipmentHold() / (24 * time.Hour))}
	if err := db.Where("org_id = ? AND id = ?", orgID, ev.RefID).First(&f.Shipment).Error; err != nil {
		return nil, wrap(notFound(err), "shipment facts")
	}
	if err := optionalRow(db.First(&f.Org, orgID).Error); err != nil {
		return nil, fmt.Errorf("models: shipment facts of event %d: %w", eventID, err)
	}
	return f, nil
}

// shipmentRecipients are whom a shipment's arrival or reminder goes to:
// the organization's contacts with an email channel, then the user who
// announced it, if still enabled.
func shipmentRecipients(tx *gorm.DB, orgID, shipmentID int64) ([]emailRecipient, error) {
	out, err := maintenanceRecipients(tx, orgID)
	if err != nil {
		return nil, err
	}
	var sh Shipment
	if err := tx.Select("id", "requested_by").Where("org_id = ? AND id = ?", orgID, shipmentID).First(&sh).Error; err != nil {
		return out, optionalRow(err)
	}
	users, err := customerUserRecipients(tx, orgID, sh.RequestedBy)
	return append(out, users...), err
}
