package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	"gorm.io/gorm"
)

// visitStates sets what reception and the desk would have done, by raw
// SQL: approval, refusals, check-ins and check-outs belong to other parts.
type visitStates struct {
	t  *testing.T
	db *gorm.DB
}

func (vs visitStates) approve(v *models.Visit, escort *models.User) {
	vs.t.Helper()
	if err := vs.db.Exec("UPDATE visits SET state = ?, escort_id = ?, decided_by = ?, decided_at = ? WHERE id = ?",
		models.VisitApproved, escort.ID, escort.ID, v.CreatedAt, v.ID).Error; err != nil {
		vs.t.Fatal(err)
	}
}

func (vs visitStates) set(v *models.Visit, state string) {
	vs.t.Helper()
	if err := vs.db.Exec("UPDATE visits SET state = ? WHERE id = ?", state, v.ID).Error; err != nil {
		vs.t.Fatal(err)
	}
}

// visit records visitor seq of v in at in and out at out (nil: still inside).
func (vs visitStates) visit(v *models.Visit, seq int, in time.Time, out *time.Time) {
	vs.t.Helper()
	if err := vs.db.Exec("UPDATE visit_visitors SET checked_in_at = ?, checked_out_at = ?, badge_number = ? WHERE visit_id = ? AND seq = ?",
		in.UTC(), utcOrNil(out), "B-17", v.ID, seq).Error; err != nil {
		vs.t.Fatal(err)
	}
}

func utcOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}

// inputB is f.input() for OrgB's device and cabinet.
func (f *visitFixture) inputB() models.VisitInput {
	in := f.input()
	in.DeviceIDs, in.Cabinets = []int64{f.devB.ID}, []string{"B07"}
	return in
}

type visitorRow struct {
	VisitID     int64
	Seq         int
	Name        string
	IDSealed    string
	IDMasked    string
	PhoneSealed string
	PhoneMasked string
	PurgedAt    *time.Time
}

func visitorRows(t *testing.T, db *gorm.DB, v *models.Visit) []visitorRow {
	t.Helper()
	var rows []visitorRow
	if err := db.Table("visit_visitors").Where("visit_id = ?", v.ID).Order("seq").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestPurgeVisitorsAfterTheVisitEnds(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		f := newVisitFixture(t, s, clock)
		ctx := context.Background()
		raw := rawDB(t, db)
		vs := visitStates{t, raw}
		mk := func() *models.Visit {
			t.Helper()
			v, err := s.CreateVisit(ctx, f.customer, f.fx.OrgA.ID, f.input())
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		// done: both came and left on time. late: one left two days after
		// the planned exit. inside: one has not left. cancelled: nobody came.
		done, late, inside, cancelled := mk(), mk(), mk(), mk()
		for _, v := range []*models.Visit{done, late, inside} {
			vs.approve(v, f.fx.Engineer)
		}
		vs.set(cancelled, models.VisitCancelled)
		end := done.PlannedTo
		vs.visit(done, 1, done.PlannedFrom, &end)
		vs.visit(done, 2, done.PlannedFrom, &end)
		lateOut := end.Add(48 * time.Hour)
		vs.visit(late, 1, late.PlannedFrom, &lateOut)
		vs.visit(inside, 1, inside.PlannedFrom, nil)

		clock.Advance(end.Sub(clock.Now()) + 179*24*time.Hour)
		got, err := s.PurgeVisitors(ctx, clock.Now())
		if err != nil || got.Visitors != 0 {
			t.Fatalf("179 days after: purged %+v (%v), want none", got, err)
		}
		if evs := auditOf(t, s, models.AuditVisitorsPurged); len(evs) != 0 {
			t.Fatalf("a run that purged nothing wrote %d records", len(evs))
		}

		clock.Advance(2 * 24 * time.Hour) // 181 days after the planned exit
		got, err = s.PurgeVisitors(ctx, clock.Now())
		if err != nil || got != (models.VisitorsPurged{Visitors: 4, Visits: 2}) {
			t.Fatalf("181 days after: purged %+v (%v), want the 4 visitors of done and cancelled", got, err)
		}
		for _, v := range []*models.Visit{done, cancelled} {
			for _, r := range visitorRows(t, raw, v) {
				if r.IDSealed != "" || r.IDMasked != "" || r.PhoneSealed != "" || r.PhoneMasked != "" || r.PurgedAt == nil || r.Name == "" {
					t.Errorf("visit %s visitor %d after the purge: %+v", v.Number(), r.Seq, r)
				}
			}
		}
		for _, v := range []*models.Visit{late, inside} {
			for _, r := range visitorRows(t, raw, v) {
				if r.IDSealed == "" || r.IDMasked == "" || r.PurgedAt != nil {
					t.Errorf("visit %s visitor %d purged too early: %+v", v.Number(), r.Seq, r)
				}
			}
		}
		// Pages get nothing to show, reception's reveal included.
		d, err := s.VisitDetailOf(ctx, models.AllOrgs(), done, true)
		if err != nil || d.Visitors[0].ID != "" || d.Visitors[0].Phone != "" || d.Visitors[0].PurgedAt == nil || d.Visitors[0].Name != "张伟" {
			t.Fatalf("purged detail %+v (%v)", d, err)
		}
		evs := auditOf(t, s, models.AuditVisitorsPurged)
		if len(evs) != 1 {
			t.Fatalf("%d purge records, want 1", len(evs))
		}
		if det := detailOf(t, evs[0]); det["visitors"] != float64(4) || det["visits"] != float64(2) || det["purge_days"] != float64(180) {
			t.Fatalf("purge record %v", det)
		}
		for _, secret := range []string{"张伟", "Anna", residentA, "13812345678", "C01X00T47"} {
			if strings.Contains(evs[0].Detail, secret) {
				t.Fatalf("purge record holds %q: %s", secret, evs[0].Detail)
			}
		}
		if got, err := s.PurgeVisitors(ctx, clock.Now()); err != nil || got.Visitors != 0 {
			t.Fatalf("second run purged %+v (%v)", got, err)
		}

		// The late visit ended at its last check-out: two days later it goes,
		// both its visitors; the visit with someone inside stays.
		clock.Advance(2 * 24 * time.Hour)
		got, err = s.PurgeVisitors(ctx, clock.Now())
		if err != nil || got != (models.VisitorsPurged{Visitors: 2, Visits: 1}) {
			t.Fatalf("after the late check-out: %+v (%v)", got, err)
		}
		for _, r := range visitorRows(t, raw, inside) {
			if r.PurgedAt != nil {
				t.Errorf("a visit with a visitor inside was purged: %+v", r)
			}
		}
		// A check-out forgotten at the desk keeps them 30 days more, not
		// for ever.
		clock.Advance(end.Add(180*24*time.Hour + 30*24*time.Hour + time.Minute).Sub(clock.Now()))
		got, err = s.PurgeVisitors(ctx, clock.Now())
		if err != nil || got != (models.VisitorsPurged{Visitors: 2, Visits: 1}) {
			t.Fatalf("30 days past the purge with a check-out forgotten: %+v (%v)", got, err)
		}
	})
}

func TestPurgeVisitorsFollowsThePurgeSetting(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now), models.WithVisitRules(models.VisitRules{PurgeAfter: 10 * 24 * time.Hour}))
		f := newVisitFixture(t, s, clock)
		ctx := context.Background()
		v, err := s.CreateVisit(ctx, f.customer, f.fx.OrgA.ID, f.input())
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(v.PlannedTo.Sub(clock.Now()) + 9*24*time.Hour)
		if got, err := s.PurgeVisitors(ctx, clock.Now()); err != nil || got.Visitors != 0 {
			t.Fatalf("9 of 10 days: %+v (%v)", got, err)
		}
		clock.Advance(2 * 24 * time.Hour)
		if got, err := s.PurgeVisitors(ctx, clock.Now()); err != nil || got.Visitors != 2 {
			t.Fatalf("11 of 10 days: %+v (%v)", got, err)
		}
	})
}

func TestExportVisitLog(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		f := newVisitFixture(t, s, clock)
		ctx := context.Background()
		raw := rawDB(t, db)
		vs := visitStates{t, raw}
		a, err := s.CreateVisit(ctx, f.customer, f.fx.OrgA.ID, f.input())
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.CreateVisit(ctx, models.UserActor(f.fx.CustB, "10.0.0.2"), f.fx.OrgB.ID, f.inputB())
		if err != nil {
			t.Fatal(err)
		}
		pending, err := s.CreateVisit(ctx, f.customer, f.fx.OrgA.ID, f.input())
		if err != nil {
			t.Fatal(err)
		}
		vs.approve(a, f.fx.Engineer)
		vs.approve(b, f.fx.Service)
		out := a.PlannedTo.Add(-time.Hour)
		vs.visit(a, 2, a.PlannedFrom.Add(5*time.Minute), &out)
		if err := raw.Exec("UPDATE visit_visitors SET id_sealed = '', id_masked = '', phone_sealed = '', phone_masked = '', purged_at = ? WHERE visit_id = ? AND seq = 1",
			clock.Now(), b.ID).Error; err != nil {
			t.Fatal(err)
		}
		day := a.PlannedFrom.Truncate(24 * time.Hour)
		reception := models.UserActor(f.fx.Reception, "10.0.0.9")

		var rows []models.VisitLogRow
		n, err := s.ExportVisitLog(ctx, models.AllOrgs(), reception, day, day.Add(24*time.Hour), true, func(r *models.VisitLogRow) error {
			rows = append(rows, *r)
			return nil
		})
		if err != nil || n != 4 || len(rows) != 4 {
			t.Fatalf("export: %d rows (%v), want the 4 visitors of the 2 approved visits", n, err)
		}
		for _, r := range rows {
			if r.Visit.ID == pending.ID {
				t.Fatalf("the pending visit is in the log")
			}
		}
		if r := rows[0]; r.Visit.ID != a.ID || r.ID != residentA || r.Phone != "13812345678" || r.Escort != f.fx.Engineer.Name || r.OrgName != f.fx.OrgA.Name || r.SiteName != f.site.Name {
			t.Fatalf("row 1 = %+v", r)
		}
		if r := rows[1]; r.ID != "C01X00T47" || r.Phone != "+49 30 1234567" || r.Visitor.CheckedInAt == nil || r.Visitor.BadgeNumber != "B-17" {
			t.Fatalf("row 2 = %+v", r)
		}
		if r := rows[2]; r.Visit.ID != b.ID || !r.Purged() || r.ID != "" || r.Phone != "" || r.Visitor.Name != "张伟" {
			t.Fatalf("purged row = %+v", r)
		}
		evs := auditOf(t, s, models.AuditVisitsExported)
		if len(evs) != 1 || evs[0].ActorID == nil || *evs[0].ActorID != f.fx.Reception.ID || evs[0].OrgID != nil {
			t.Fatalf("export records %+v", evs)
		}
		if det := detailOf(t, evs[0]); det["rows"] != float64(4) || det["revealed"] != true || det["from"] == nil || det["to"] == nil {
			t.Fatalf("export record %v", det)
		}
		if strings.Contains(evs[0].Detail, residentA) || strings.Contains(evs[0].Detail, "13812345678") {
			t.Fatalf("export record holds personal data: %s", evs[0].Detail)
		}

		// A customer's history: its own visits, masked.
		rows = nil
		n, err = s.ExportVisitLog(ctx, models.ScopeOf(f.fx.CustA), f.customer, day, day.Add(24*time.Hour), false, func(r *models.VisitLogRow) error {
			rows = append(rows, *r)
			return nil
		})
		if err != nil || n != 2 || rows[0].ID != "110***********1233" || rows[1].Phone != "+49*******4567" {
			t.Fatalf("customer's export: %d (%v) %+v", n, err, rows)
		}
		if evs := auditOf(t, s, models.AuditVisitsExported); len(evs) != 2 || evs[0].OrgID == nil || *evs[0].OrgID != f.fx.OrgA.ID {
			t.Fatalf("customer's export record %+v", evs)
		}

		// The preview is masked whoever asks and counts the whole period.
		prev, total, err := s.VisitLogPreview(ctx, models.AllOrgs(), day, day.Add(24*time.Hour), 3)
		if err != nil || total != 4 || len(prev) != 3 || prev[0].ID != "110***********1233" {
			t.Fatalf("preview %d of %d (%v): %+v", len(prev), total, err, prev)
		}
		// A period outside the visits is empty; bad periods are refused.
		if n, err := s.ExportVisitLog(ctx, models.AllOrgs(), reception, day.Add(48*time.Hour), day.Add(72*time.Hour), true, func(*models.VisitLogRow) error { return nil }); err != nil || n != 0 {
			t.Fatalf("empty period: %d (%v)", n, err)
		}
		_, err = s.ExportVisitLog(ctx, models.AllOrgs(), reception, day, day.AddDate(0, 0, 367), true, func(*models.VisitLogRow) error { return nil })
		wantInvalid(t, err, "to", "visitlog.error.period_long")
		_, _, err = s.VisitLogPreview(ctx, models.AllOrgs(), day, day, 10)
		wantInvalid(t, err, "to", "visitlog.error.period_order")
		if _, err := s.ExportVisitLog(ctx, models.AllOrgs(), reception, day, day.AddDate(0, 0, 366), true, func(*models.VisitLogRow) error { return nil }); err != nil {
			t.Fatalf("366 days: %v", err)
		}
		// A failing writer stops the export and nothing is recorded.
		before := len(auditOf(t, s, models.AuditVisitsExported))
		boom := errors.New("disk full")
		if _, err := s.ExportVisitLog(ctx, models.AllOrgs(), reception, day, day.Add(24*time.Hour), true, func(*models.VisitLogRow) error { return boom }); !errors.Is(err, boom) {
			t.Fatalf("failing writer: %v", err)
		}
		if after := len(auditOf(t, s, models.AuditVisitsExported)); after != before {
			t.Fatalf("a failed export was recorded")
		}
	})
}
