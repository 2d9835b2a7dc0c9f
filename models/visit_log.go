package models

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
)

// MaxVisitLogDays is the longest period one visitor log export may cover.
const MaxVisitLogDays = 366

// visitLogChunk is how many visits the log reads at a time.
const visitLogChunk = 200

// VisitLogRow is one visitor of one approved visit, as the visitor log
// (the data center's access log) lists them. ID and Phone are opened for
// an export that reveals them, masked otherwise, and empty once purged.
type VisitLogRow struct {
	Visit         Visit
	OrgName       string
	SiteName      string
	Escort        string // the escort reception assigned
	EscortPresent string // the escort recorded at check-in
	Visitor       Visitor
	ID            string
	Phone         string
}

// Purged reports whether the visitor's identity number and phone are gone.
func (r *VisitLogRow) Purged() bool { return r.Visitor.PurgedAt != nil }

// visitLogIDs lists the approved visits of sc whose planned stay overlaps
// [from, to), by planned entry.
func visitLogIDs(db *gorm.DB, sc Scope, from, to time.Time) ([]int64, error) {
	var ids []int64
	err := sc.apply(db.Model(&Visit{}), "org_id").
		Where("state = ? AND planned_from < ? AND planned_to > ?", VisitApproved, to, from).
		Order("planned_from, id").Pluck("id", &ids).Error
	return ids, err
}

// eachVisitLogRow calls fn for each visitor of the approved visits of sc
// overlapping [from, to), by planned entry, visit and visitor, reading
// visitLogChunk visits at a time. reveal opens the sealed values.
func (s *Store) eachVisitLogRow(ctx context.Context, sc Scope, from, to time.Time, reveal bool, fn func(*VisitLogRow) error) error {
	utc(&from, &to)
	db := s.db.WithContext(ctx)
	ids, err := visitLogIDs(db, sc, from, to)
	if err != nil {
		return err
	}
	orgs, sites := map[int64]string{}, map[int64]string{}
	for chunk := range chunksOf(ids, visitLogChunk) {
		var visits []Visit
		if err := db.Where("id IN ?", chunk).Find(&visits).Error; err != nil {
			return err
		}
		slices.SortFunc(visits, func(a, b Visit) int {
			if c := a.PlannedFrom.Compare(b.PlannedFrom); c != 0 {
				return c
			}
			return int(a.ID - b.ID)
		})
		var visitors []Visitor
		if err := db.Where("visit_id IN ?", chunk).Order("visit_id, seq").Find(&visitors).Error; err != nil {
			return err
		}
		var people []*int64
		for _, v := range visits {
			people = append(people, v.EscortID)
			if err := s.lookupName(db, &Organization{}, v.OrgID, orgs); err != nil {
				return err
			}
			if err := s.lookupName(db, &Site{}, v.SiteID, sites); err != nil {
				return err
			}
		}
		for _, x := range visitors {
			people = append(people, x.EscortPresentID)
		}
		names, err := s.userNames(db, people...)
		if err != nil {
			return err
		}
		byVisit := map[int64][]Visitor{}
		for _, x := range visitors {
			byVisit[x.VisitID] = append(byVisit[x.VisitID], x)
		}
		for _, v := range visits {
			for _, x := range byVisit[v.ID] {
				r := &VisitLogRow{Visit: v, OrgName: orgs[v.OrgID], SiteName: sites[v.SiteID], Visitor: x, ID: x.IDMasked, Phone: x.PhoneMasked}
				if v.EscortID != nil {
					r.Escort = names[*v.EscortID]
				}
				if x.EscortPresentID != nil {
					r.EscortPresent = names[*x.EscortPresentID]
				}
				switch {
				case x.PurgedAt != nil:
					r.ID, r.Phone = "", ""
				case reveal:
					if r.ID, err = s.piiKey.Open(x.IDSealed); err != nil {
						return fmt.Errorf("open visitor %d: %w", x.ID, err)
					}
					if r.Phone, err = s.piiKey.Open(x.PhoneSealed); err != nil {
						return fmt.Errorf("open visitor %d: %w", x.ID, err)
					}
				}
				if err := fn(r); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// lookupName reads the name of row id of model into names, once.
func (s *Store) lookupName(db *gorm.DB, model any, id int64, names map[int64]string) error {
	if _, ok := names[id]; ok {
		return nil
	}
	var name string
	if err := db.Model(model).Where("id = ?", id).Pluck("name", &name).Error; err != nil {
		return err
	}
	names[id] = name
	return nil
}

// checkVisitLogPeriod refuses a period that is empty or longer than
// MaxVisitLogDays.
func checkVisitLogPeriod(from, to time.Time) error {
	switch {
	case !to.After(from):
		return Invalid("to", "visitlog.error.period_order")
	case to.Sub(from) > (MaxVisitLogDays*24+1)*time.Hour: // a day of 25 hours at a clock change
		return Invalid("to", "visitlog.error.period_long", Number(MaxVisitLogDays))
	}
	return nil
}

// VisitLogPreview returns the first limit rows of the visitor log of sc
// over [from, to), masked whoever asks, and how many rows the period has
// in all. It is not audited: it opens nothing.
func (s *Store) VisitLogPreview(ctx context.Context, sc Scope, from, to time.Time, limit int) ([]VisitLogRow, int, error) {
	if err := checkVisitLogPeriod(from, to); err != nil {
		return nil, 0, wrap(err, "visit log preview")
	}
	var rows []VisitLogRow
	n := 0
	err := s.eachVisitLogRow(ctx, sc, from, to, false, func(r *VisitLogRow) error {
		if n++; len(rows) < limit {
			rows = append(rows, *r)
		}
		return nil
	})
	return rows, n, wrap(err, "visit log preview")
}

// ExportVisitLog calls fn for each row of the visitor log of sc over
// [from, to) and then records the export (the period, the row count,
// whether identity numbers and phones were opened; never a value). reveal
// opens the sealed values: only reception's export passes true. A caller
// that buffers the rows sends them only once this returns without error,
// so no export leaves without its record.
func (s *Store) ExportVisitLog(ctx context.Context, sc Scope, actor Actor, from, to time.Time, reveal bool, fn func(*VisitLogRow) error) (int, error) {
	if err := checkVisitLogPeriod(from, to); err != nil {
		return 0, wrap(err, "export visit log")
	}
	n := 0
	err := s.eachVisitLogRow(ctx, sc, from, to, reveal, func(r *VisitLogRow) error {
		n++
		return fn(r)
	})
	if err != nil {
		return 0, wrap(err, "export visit log")
	}
	var orgID *int64
	if id, ok := sc.Org(); ok {
		orgID = &id
	}
	err = s.Audit(ctx, actor, AuditVisitsExported, "visit", nil, orgID, map[string]any{
		"from": from.UTC(), "to": to.UTC(), "rows": n, "revealed": reveal})
	return n, wrap(err, "export visit log")
}

// visitPurgeBatch is the most visitors one purge run clears; the next run
// goes on.
const visitPurgeBatch = 5000

// VisitorsPurged is what one purge run did.
type VisitorsPurged struct {
	Visitors int
	Visits   int
}

// visitPurgeGrace is how much longer than the purge period a visit whose
// visitor was never checked out keeps its visitors' data: a forgotten
// check-out must not keep them for ever.
const visitPurgeGrace = 30 * 24 * time.Hour

// PurgeVisitors clears the identity numbers and phones (sealed and
// masked) of the visitors of visits that ended more than PurgeAfter
// before now, and marks them purged; names and times stay, so the log
// still says who came. A visit ends at the later of its planned exit and
// its last check-out; one with a visitor still inside has not ended,
// unless its planned exit is visitPurgeGrace older still (a check-out
// forgotten at the desk).
// A refused, cancelled or never decided visit ends at its planned exit.
// One run clears at most visitPurgeBatch visitors in one transaction with
// one audit record of the counts (no personal data); nothing to clear
// writes nothing.
func (s *Store) PurgeVisitors(ctx context.Context, now time.Time) (VisitorsPurged, error) {
	cutoff := now.UTC().Add(-s.visitRules.PurgeAfter)
	var got VisitorsPurged
	err := s.tx(ctx, func(tx *gorm.DB) error {
		got = VisitorsPurged{}
		var rows []struct{ ID, VisitID int64 }
		err := tx.Model(&Visitor{}).Select("visit_visitors.id, visit_visitors.visit_id").
			Joins("JOIN visits ON visits.id = visit_visitors.visit_id").
			Where("visit_visitors.purged_at IS NULL AND visits.planned_to < ?", cutoff).
			Where(`(NOT EXISTS (SELECT 1 FROM visit_visitors o WHERE o.visit_id = visits.id
				AND o.checked_in_at IS NOT NULL AND (o.checked_out_at IS NULL OR o.checked_out_at >= ?)) OR visits.planned_to < ?)`,
				cutoff, cutoff.Add(-visitPurgeGrace)).
			Order("visit_visitors.id").Limit(visitPurgeBatch).Scan(&rows).Error
		if err != nil || len(rows) == 0 {
			return err
		}
		ids := make([]int64, len(rows))
		visits := map[int64]bool{}
		for i, r := range rows {
			ids[i] = r.ID
			visits[r.VisitID] = true
		}
		for chunk := range chunks(ids) {
			res := tx.Model(&Visitor{}).Where("id IN ? AND purged_at IS NULL", chunk).Updates(map[string]any{
				"id_sealed": "", "id_masked": "", "phone_sealed": "", "phone_masked": "", "purged_at": now.UTC()})
			if res.Error != nil {
				return res.Error
			}
			got.Visitors += int(res.RowsAffected)
		}
		got.Visits = len(visits)
		return s.audit(tx, SystemActor("visitor purge"), AuditVisitorsPurged, "visit", nil, nil, map[string]any{
			"visitors": got.Visitors, "visits": got.Visits, "ended_before": cutoff,
			"purge_days": int(s.visitRules.PurgeAfter / (24 * time.Hour))})
	})
	if err != nil {
		return VisitorsPurged{}, wrap(err, "purge visitors")
	}
	return got, nil
}
