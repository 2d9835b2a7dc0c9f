package models_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// hasInvalid reports whether err holds key on field among its problems.
func hasInvalid(err error, field, key string) bool {
	for _, v := range models.Validations(err) {
		if v.Field == field && v.Key == key {
			return true
		}
	}
	return false
}

// visitAt asks for f.input() moved by days, as an emergency or not.
func (f *visitFixture) visitAt(t *testing.T, s *models.Store, days int, emergency bool) *models.Visit {
	t.Helper()
	in := f.input()
	in.PlannedFrom, in.PlannedTo = in.PlannedFrom.AddDate(0, 0, days), in.PlannedTo.AddDate(0, 0, days)
	in.Emergency = emergency
	v, err := s.CreateVisit(context.Background(), f.customer, f.fx.OrgA.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func visitOf(t *testing.T, s *models.Store, ref string) *models.Visit {
	t.Helper()
	v, err := s.GetVisitByRef(context.Background(), models.AllOrgs(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// outboxKinds lists the kinds of the outbox events about visits, oldest first.
func outboxKinds(t *testing.T, db dbtest.DB) []string {
	t.Helper()
	var kinds []string
	if err := rawDB(t, db).Table("outbox").Where("kind LIKE ?", "visit.%").Order("id").Pluck("kind", &kinds).Error; err != nil {
		t.Fatal(err)
	}
	return kinds
}

func TestReceptionQueueIsEmergenciesFirstThenSoonest(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		f := newVisitFixture(t, s, clock)
		ctx := context.Background()
		later := f.visitAt(t, s, 2, false)
		urgent := f.visitAt(t, s, 3, true) // an emergency, yet later than both
		soon := f.visitAt(t, s, 0, false)
		decided := f.visitAt(t, s, 1, false)
		rec := models.UserActor(f.fx.Reception, "10.0.0.9")
		if _, err := s.ApproveVisit(ctx, rec, f.fx.OrgA.ID, decided.ID, models.ApproveInput{EscortID: f.fx.Engineer.ID}); err != nil {
			t.Fatal(err)
		}
		q, total, err := s.ReceptionQueue(ctx, models.ScopeOf(f.fx.Reception), 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range q {
			got = append(got, it.Number())
		}
		if want := []string{urgent.Number(), soon.Number(), later.Number()}; !reflect.DeepEqual(got, want) || total != 3 {
			t.Fatalf("queue = %v (%d pending), want %v (3)", got, total, want)
		}
		if it := q[0]; !it.Emergency || it.OrgName != f.fx.OrgA.Name || it.VisitorCount != 2 || it.Requester != f.fx.CustA.Name ||
			it.ChangedAfterApproval() {
			t.Fatalf("first line = %+v", it)
		}
		if q, total, err = s.ReceptionQueue(ctx, models.ScopeOf(f.fx.Reception), 1); err != nil || len(q) != 1 || total != 3 {
			t.Fatalf("limited queue = %d lines, %d pending (%v), want 1 of 3", len(q), total, err)
		}
		if q, total, err = s.ReceptionQueue(ctx, models.ScopeOf(f.fx.CustB), 10); err != nil || len(q) != 0 || total != 0 {
			t.Fatalf("another organization's queue = %d lines, %d pending (%v), want nothing", len(q), total, err)
		}
		up, err := s.UpcomingVisits(ctx, models.ScopeOf(f.fx.Reception), clock.Now(), 10)
		if err != nil || len(up) != 1 || up[0].ID != decided.ID || up[0].Escort != f.fx.Engineer.Name || up[0].VisitorCount != 2 {
			t.Fatalf("upcoming visits = %+v (%v), want the approved one with its escort", up, err)
		}
		day := decided.PlannedFrom.Truncate(24 * time.Hour)
		if n, err := s.VisitorsExpected(ctx, models.ScopeOf(f.fx.Reception), day, day.Add(24*time.Hour)); err != nil || n != 2 {
			t.Fatalf("visitors expected that day = %d (%v), want the approved visit's 2", n, err)
		}
	})
}

func TestApproveVisitWithAnEscort(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		f := newVisitFixture(t, s, clock)
		ctx := context.Background()
		rec := models.UserActor(f.fx.Reception, "10.0.0.9")
		org := f.fx.OrgA.ID
		v := f.visitAt(t, s, 0, false)
		for _, c := range []struct {
			name   string
			escort int64
			key    string
		}{
			{"no escort", 0, "reception.error.escort_required"},
			{"a customer as escort", f.fx.CustA.ID, "reception.error.escort"},
			{"nobody", 999999, "reception.error.escort"},
		} {
			if _, err := s.ApproveVisit(ctx, rec, org, v.ID, models.ApproveInput{EscortID: c.escort}); !hasInvalid(err, "escort", c.key) {
				t.Errorf("%s: %v, want %s", c.name, err, c.key)
			}
		}
		if _, err := s.ApproveVisit(ctx, rec, f.fx.OrgB.ID, v.ID, models.ApproveInput{EscortID: f.fx.Engineer.ID}); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("approved through another organization: %v", err)
		}
		if got := visitOf(t, s, v.Ref); got.State != models.VisitPending || len(auditOf(t, s, models.AuditVisitApproved)) != 0 {
			t.Fatalf("refused approvals changed %+v", got)
		}
		got, err := s.ApproveVisit(ctx, rec, org, v.ID, models.ApproveInput{EscortID: f.fx.Engineer.ID, Note: "bring the RMA number"})
		if err != nil {
			t.Fatal(err)
		}
		stored := visitOf(t, s, v.Ref)
		if got.State != models.VisitApproved || stored.State != models.VisitApproved || *stored.EscortID != f.fx.Engineer.ID ||
			*stored.DecidedBy != f.fx.Reception.ID || stored.DecidedAt == nil || !stored.PlannedFrom.Equal(v.PlannedFrom) ||
			stored.DecisionNote != "bring the RMA number" {
			t.Fatalf("approved visit = %+v", stored)
		}
		evs := auditOf(t, s, models.AuditVisitApproved)
		if len(evs) != 1 || *evs[0].ActorID != f.fx.Reception.ID {
			t.Fatalf("audit = %+v", evs)
		}
		d := detailOf(t, evs[0])
		if d["visit"] != v.Number() || d["escort"] != f.fx.Engineer.Name || d["escort_id"] != float64(f.fx.Engineer.ID) || d["adjusted"] != false {
			t.Fatalf("audit detail = %v", d)
		}
		if k := outboxKinds(t, db); !reflect.DeepEqual(k, []string{models.EventVisitApproved}) {
			t.Fatalf("outbox = %v", k)
		}
		// Only a pending visit is decided.
		if _, err := s.ApproveVisit(ctx, rec, org, v.ID, models.ApproveInput{EscortID: f.fx.Engineer.ID}); !hasInvalid(err, "decision", "reception.error.not_pending") {
			t.Fatalf("approved twice: %v", err)
		}
		if _, err := s.RefuseVisit(ctx, rec, org, v.ID, "too late", time.Time{}); !hasInvalid(err, "decision", "reception.error.not_pending") {
			t.Fatalf("refused an approved visit: %v", err)
		}
		if n := len(auditOf(t, s, models.AuditVisitApproved)) + len(auditOf(t, s, models.AuditVisitRefused)); n != 1 {
			t.Fatalf("%d decision records, want 1", n)
		}
	})
}

func TestApprovingABusyEscortWarnsFirst(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		f := newVisitFixture(t, s, clock)
		ctx := context.Background()
		rec := models.UserActor(f.fx.Reception, "10.0.0.9")
		org := f.fx.OrgA.ID
		first := f.visitAt(t, s, 0, false)
		second := f.visitAt(t, s, 0, false) // the same hours
		other := f.visitAt(t, s, 1, false)  // the next day
		escort := models.ApproveInput{EscortID: f.fx.Service.ID}
		if _, err := s.ApproveVisit(ctx, rec, org, first.ID, escort); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ApproveVisit(ctx, rec, org, other.ID, escort); err != nil {
			t.Fatalf("the next day is free: %v", err)
		}
		_, err := s.ApproveVisit(ctx, rec, org, second.ID, escort)
		var busy *models.EscortBusy
		if !errors.As(err, &busy) || busy.Escort != f.fx.Service.Name || len(busy.Visits) != 1 ||
			busy.Visits[0].Number != first.Number() || !busy.Visits[0].PlannedFrom.Equal(first.PlannedFrom) ||
			busy.Visits[0].OrgName != f.fx.OrgA.Name {
			t.Fatalf("busy escort: %v (%+v), want a warning naming %s", err, busy, first.Number())
		}
		if got := visitOf(t, s, second.Ref); got.State != models.VisitPending || got.EscortID != nil {
			t.Fatalf("a warning changed the visit: %+v", got)
		}
		// Another escort is free; the same one, confirmed, is taken.
		ov, err := s.EscortOverlaps(ctx, f.fx.Engineer.ID, second.PlannedFrom, second.PlannedTo, second.ID)
		if err != nil || len(ov) != 0 {
			t.Fatalf("engineer's overlaps = %v (%v)", ov, err)
		}
		escort.Confirmed = true
		if _, err := s.ApproveVisit(ctx, rec, org, second.ID, escort); err != nil {
			t.Fatalf("confirmed: %v", err)
		}
		evs := auditOf(t, s, models.AuditVisitApproved)
		if d := detailOf(t, evs[0]); !reflect.DeepEqual(d["escort_overlaps"], []any{first.Number()}) {
			t.Fatalf("audit of the confirmed approval = %v", d)
		}
	})
}

func TestApproveVisitWithAdjustedTimes(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		f := newVisitFixture(t, s, clock)
		ctx := context.Background()
		rec := models.UserActor(f.fx.Reception, "10.0.0.9")
		org := f.fx.OrgA.ID
		v := f.visitAt(t, s, 0, false) // tomorrow 10:00–16:00 UTC, the portal's zone here
		at := func(d time.Duration) *time.Time { t := v.PlannedFrom.Truncate(24 * time.Hour).Add(d); return &t }
		in := models.ApproveInput{EscortID: f.fx.Engineer.ID, From: at(13 * time.Hour), To: at(17 * time.Hour)}
		if _, err := s.ApproveVisit(ctx, rec, org, v.ID, in); !hasInvalid(err, "note", "reception.error.note_required") {
			t.Fatalf("adjusted without a note: %v", err)
		}
		in.Note = "  "
		if _, err := s.ApproveVisit(ctx, rec, org, v.ID, in); !hasInvalid(err, "note", "reception.error.note_required") {
			t.Fatalf("adjusted with a blank note: %v", err)
		}
		in.Note = "the loading dock is busy in the morning"
		in.To = at(22*time.Hour + 30*time.Minute)
		if _, err := s.ApproveVisit(ctx, rec, org, v.ID, in); !hasInvalid(err, "planned_from", "visits.error.hours") {
			t.Fatalf("adjusted past the visiting hours: %v", err)
		}
		in.To = at(12 * time.Hour)
		if _, err := s.ApproveVisit(ctx, rec, org, v.ID, in); !hasInvalid(err, "planned_to", "visits.error.exit_before_entry") {
			t.Fatalf("adjusted exit before entry: %v", err)
		}
		if got := visitOf(t, s, v.Ref); got.State != models.VisitPending || !got.PlannedTo.Equal(v.PlannedTo) {
			t.Fatalf("refused adjustments changed %+v", got)
		}
		// Sooner than the minimum notice is reception's call.
		in.From, in.To = ptr(clock.Now().Add(30*time.Minute)), ptr(clock.Now().Add(3*time.Hour))
		got, err := s.ApproveVisit(ctx, rec, org, v.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		stored := visitOf(t, s, v.Ref)
		if !stored.PlannedFrom.Equal(*in.From) || !stored.PlannedTo.Equal(*in.To) || !got.PlannedTo.Equal(*in.To) ||
			stored.DecisionNote != in.Note {
			t.Fatalf("adjusted visit = %+v", stored)
		}
		d := detailOf(t, auditOf(t, s, models.AuditVisitApproved)[0])
		if d["adjusted"] != true || d["note"] != in.Note || d["requested"] == nil {
			t.Fatalf("audit detail = %v", d)
		}
		var payload string
		if err := rawDB(t, db).Table("outbox").Where("kind = ?", models.EventVisitApproved).Pluck("payload", &payload).Error; err != nil {
			t.Fatal(err)
		}
		var dec models.VisitDecision
		if err := json.Unmarshal([]byte(payload), &dec); err != nil || !dec.Adjusted || !dec.From.Equal(*in.From) || dec.EscortID != f.fx.Engineer.ID {
			t.Fatalf("event payload %s (%v)", payload, err)
		}
	})
}

func TestRefuseVisitNeedsAReason(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		f := newVisitFixture(t, s, clock)
		ctx := context.Background()
		rec := models.UserActor(f.fx.Reception, "10.0.0.9")
		org := f.fx.OrgA.ID
		v := f.visitAt(t, s, 0, false)
		if _, err := s.RefuseVisit(ctx, rec, org, v.ID, " \n ", time.Time{}); !hasInvalid(err, "reason", "reception.error.reason_required") {
			t.Fatalf("refused without a reason: %v", err)
		}
		if _, err := s.RefuseVisit(ctx, rec, f.fx.OrgB.ID, v.ID, "no", time.Time{}); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("refused through another organization: %v", err)
		}
		if got := visitOf(t, s, v.Ref); got.State != models.VisitPending || len(outboxKinds(t, db)) != 0 {
			t.Fatalf("refused refusals changed %+v", got)
		}
		if _, err := s.RefuseVisit(ctx, rec, org, v.ID, "机房当天停电检修 The site is closed for maintenance", time.Time{}); err != nil {
			t.Fatal(err)
		}
		got := visitOf(t, s, v.Ref)
		if got.State != models.VisitRefused || got.DecisionNote != "机房当天停电检修 The site is closed for maintenance" ||
			*got.DecidedBy != f.fx.Reception.ID || got.EscortID != nil {
			t.Fatalf("refused visit = %+v", got)
		}
		evs := auditOf(t, s, models.AuditVisitRefused)
		if len(evs) != 1 || detailOf(t, evs[0])["reason"] != got.DecisionNote {
			t.Fatalf("audit = %+v", evs)
		}
		if k := outboxKinds(t, db); !reflect.DeepEqual(k, []string{models.EventVisitRefused}) {
			t.Fatalf("outbox = %v", k)
		}
		if _, err := s.ApproveVisit(ctx, rec, org, v.ID, models.ApproveInput{EscortID: f.fx.Engineer.ID}); !hasInvalid(err, "decision", "reception.error.not_pending") {
			t.Fatalf("approved a refused visit: %v", err)
		}
		if q, total, err := s.ReceptionQueue(ctx, models.AllOrgs(), 10); err != nil || len(q) != 0 || total != 0 {
			t.Fatalf("queue after the refusal = %v, %d (%v)", q, total, err)
		}
	})
}
