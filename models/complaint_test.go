package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

func TestCreateComplaintStartsItsClockWhenReceived(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		fx := dbtest.Seed(t, s)
		ctx := context.Background()
		// Filed in the portal: received now, filed by the customer.
		c, err := s.CreateComplaint(ctx, models.UserActor(fx.CustA, "10.0.0.1"), fx.OrgA.ID, models.ComplaintInput{
			Category: models.ComplaintEmployee, NamedUserID: fx.Engineer.ID, Subject: "<script>alert(1)</script>",
			Description: "'; DROP TABLE complaints; -- 工程师态度差"})
		if err != nil {
			t.Fatal(err)
		}
		if c.Number() != "CP-2026-0001" || c.State != models.ComplaintOpen || c.Channel != "portal" || !c.ReceivedAt.Equal(clock.Now()) ||
			*c.FiledBy != fx.CustA.ID || *c.NamedUserID != fx.Engineer.ID {
			t.Fatalf("complaint = %+v", c)
		}
		// Recorded by the desk: a call at 10:00 entered at 11:00 counts from 10:00.
		clock.Advance(2 * time.Hour) // 11:00
		desk := models.UserActor(fx.Service, "10.0.0.2")
		called := clock.Now().Add(-time.Hour)
		c2, err := s.CreateComplaint(ctx, desk, fx.OrgA.ID, models.ComplaintInput{Category: models.ComplaintNetwork,
			Subject: "丢包", Description: "Packet loss every evening", Channel: "phone", ReceivedAt: called, FiledBy: fx.CustA.ID})
		if err != nil {
			t.Fatal(err)
		}
		k, err := s.ComplaintClock(ctx, c2)
		if err != nil || !k.StartedAt.Equal(called) || !k.DeadlineAt.Equal(called.Add(24*time.Hour)) || k.Outcome != models.ClockRunning {
			t.Fatalf("clock %+v (%v), want from %s", k, err, called)
		}
		// The named engineer and another organization see neither exists.
		if _, err := s.GetComplaintByRef(ctx, models.Viewer{Scope: models.ScopeOf(fx.Engineer), UserID: fx.Engineer.ID}, c.Ref); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("named engineer: %v", err)
		}
		if _, err := s.GetComplaintByRef(ctx, models.Viewer{Scope: models.ScopeOf(fx.CustB), UserID: fx.CustB.ID}, c.Ref); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("other organization: %v", err)
		}
		got, err := s.GetComplaintByRef(ctx, models.Viewer{Scope: models.ScopeOf(fx.Service), UserID: fx.Service.ID}, c.Ref)
		if err != nil || got.Subject != "<script>alert(1)</script>" || got.Description != "'; DROP TABLE complaints; -- 工程师态度差" {
			t.Fatalf("desk reads %+v (%v)", got, err)
		}
		// Rules: future receipt, a named employee who is not staff.
		_, err = s.CreateComplaint(ctx, desk, fx.OrgA.ID, models.ComplaintInput{Category: models.ComplaintNetwork, Subject: "x",
			Description: "y", Channel: "letter", ReceivedAt: clock.Now().Add(time.Minute), FiledBy: fx.CustA.ID})
		wantInvalid(t, err, "received_at", "complaints.error.received_future")
		_, err = s.CreateComplaint(ctx, models.UserActor(fx.CustA, ""), fx.OrgA.ID, models.ComplaintInput{Category: models.ComplaintEmployee,
			NamedUserID: fx.CustB.ID, Subject: "x", Description: "y"})
		wantInvalid(t, err, "named_user", "complaints.error.named_user")
	})
}
