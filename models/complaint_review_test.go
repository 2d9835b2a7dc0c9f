package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// A complaint naming an employee leaves no trace for them in the audit
// trail nor among the failed deliveries of the on-call page (both showed
// it before: an admin could be named and read the complaint's records; an
// engineer saw the bounced reply to its customer).
func TestAComplaintLeavesNoTraceForTheNamedInAuditAndDeliveries(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		fx := dbtest.Seed(t, s)
		ctx := context.Background()
		desk := models.UserActor(fx.Service, "10.0.0.2")
		deskView := models.Viewer{Scope: models.ScopeOf(fx.Service), UserID: fx.Service.ID}
		for _, named := range []*models.User{fx.Admin, fx.Engineer} {
			c, err := s.CreateComplaint(ctx, desk, fx.OrgA.ID, models.ComplaintInput{Category: models.ComplaintEmployee, NamedUserID: named.ID,
				Subject: "rude on the phone", Description: "…", Channel: "phone", ReceivedAt: clock.Now(), FiledBy: fx.CustA.ID})
			if err != nil {
				t.Fatal(err)
			}
			line, err := s.WriteComplaintReport(ctx, desk, deskView, c.ID, models.ReportInput{Found: "f", Done: "d", Next: "n"})
			if err != nil {
				t.Fatal(err)
			}
			// The reply to the customer bounced.
			var evID int64
			raw := rawDB(t, db)
			if err := raw.Table("outbox").Select("id").Where("kind = ? AND ref_id = ?", models.EventComplaintReply, line.ID).Scan(&evID).Error; err != nil || evID == 0 {
				t.Fatalf("outbox event of the report: %d (%v)", evID, err)
			}
			now := clock.Now()
			if err := raw.Create(&models.Delivery{OrgID: fx.OrgA.ID, EventID: evID, Event: models.EventComplaintReply, Channel: models.ChannelEmail,
				Transport: models.TransportEmail, Address: "a@alpha.test", Locale: "en", Status: models.DeliveryBounced, NextAttemptAt: now,
				LeaseUntil: now, CreatedAt: now, DoneAt: &now}).Error; err != nil {
				t.Fatal(err)
			}
			clock.Advance(time.Minute)
			for _, reader := range []*models.User{named, fx.Service} {
				sc := models.ScopeOf(reader)
				evs, err := s.ListAudit(ctx, sc, models.AuditFilter{Limit: 500})
				if err != nil {
					t.Fatal(err)
				}
				about := 0
				for _, ev := range evs {
					if ev.TargetType == "complaint" && ev.TargetID != nil && *ev.TargetID == c.ID {
						about++
					}
				}
				failed, err := s.FailedDeliveries(ctx, sc, now.Add(-time.Hour), 50)
				if err != nil {
					t.Fatal(err)
				}
				n, err := s.CountFailedDeliveries(ctx, sc, now.Add(-time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				mine := 0
				for _, f := range failed {
					if f.Delivery.EventID == evID {
						mine++
					}
				}
				if reader == named && (about != 0 || mine != 0) {
					t.Errorf("%s, named, reads %d audit records and %d failed deliveries of the complaint", reader.Email, about, mine)
				}
				if reader == fx.Service && (about < 2 || mine != 1 || n < 1) {
					t.Errorf("the desk reads %d audit records, %d failed deliveries (count %d) of the complaint", about, mine, n)
				}
			}
		}
	})
}

// A complaint exactly 24 hours old is not yet overdue: a report written at
// that moment is met (it was counted overdue before).
func TestAComplaintIsOverdueOnlyPastItsDeadline(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		fx := dbtest.Seed(t, s)
		ctx := context.Background()
		if _, err := s.CreateComplaint(ctx, models.UserActor(fx.CustA, ""), fx.OrgA.ID, models.ComplaintInput{Category: models.ComplaintNetwork,
			Subject: "loss", Description: "…"}); err != nil {
			t.Fatal(err)
		}
		view := models.Viewer{Scope: models.ScopeOf(fx.Service), UserID: fx.Service.ID}
		clock.Advance(24 * time.Hour)
		if n, err := s.CountComplaints(ctx, view, models.ComplaintFilter{}); err != nil || n.Overdue != 0 || n.Open != 1 {
			t.Fatalf("at 24 h: %+v (%v), want open and not overdue", n, err)
		}
		clock.Advance(time.Second)
		if n, err := s.CountComplaints(ctx, view, models.ComplaintFilter{}); err != nil || n.Overdue != 1 {
			t.Fatalf("past 24 h: %+v (%v), want overdue", n, err)
		}
		// The desk cannot record a complaint about itself.
		_, err := s.CreateComplaint(ctx, models.UserActor(fx.Service, ""), fx.OrgA.ID, models.ComplaintInput{Category: models.ComplaintEmployee,
			NamedUserID: fx.Service.ID, Subject: "x", Description: "y", Channel: "email", FiledBy: fx.CustA.ID})
		wantInvalid(t, err, "named_user", "complaints.error.named_self")
	})
}
