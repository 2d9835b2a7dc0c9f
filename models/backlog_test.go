package models_test

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// NotifyBacklog counts what waits for the dispatcher and how late the
// oldest due email or webhook delivery is (call tasks left out);
// ClockCounts counts running, overdue and missed clocks by kind, every
// known kind at 0 when it has none.
func TestNotifyBacklogAndClockCounts(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			clock := dbtest.NewClock()
			s := dbtest.Open(t, db, models.WithClock(clock.Now))
			fx := dbtest.Seed(t, s)
			now := clock.Now().UTC().Truncate(time.Second)
			org := fx.OrgA.ID

			b, err := s.NotifyBacklog(ctx)
			if err != nil || b.OutboxPending != 0 || !b.OutboxOldest.IsZero() || !b.OldestDue.IsZero() || len(b.Pending) != 0 {
				t.Fatalf("empty database: %+v, %v", b, err)
			}
			done := now.Add(-time.Minute)
			err = models.RunTx(ctx, s, false, func(tx *gorm.DB) error {
				for _, ev := range []models.OutboxEvent{
					{Kind: "test.a", OrgID: org, CreatedAt: now.Add(-7 * time.Minute), LeaseUntil: now},
					{Kind: "test.b", OrgID: org, CreatedAt: now.Add(-2 * time.Minute), LeaseUntil: now},
					{Kind: "test.c", OrgID: org, CreatedAt: now.Add(-time.Hour), LeaseUntil: now, DoneAt: &done},
				} {
					if err := tx.Create(&ev).Error; err != nil {
						return err
					}
				}
				for _, d := range []models.Delivery{
					{Transport: models.TransportEmail, Status: models.DeliveryPending, NextAttemptAt: now.Add(-3 * time.Minute)},
					{Transport: models.TransportEmail, Status: models.DeliveryPending, NextAttemptAt: now.Add(time.Minute)}, // not due
					{Transport: models.TransportWebhook, Status: models.DeliveryPending, NextAttemptAt: now.Add(-time.Minute)},
					{Transport: models.TransportCall, Status: models.DeliveryPending, NextAttemptAt: now.Add(-time.Hour)}, // staff's
					{Transport: models.TransportWebhook, Status: models.DeliveryAccepted, NextAttemptAt: now.Add(-2 * time.Hour)},
				} {
					d.OrgID, d.Event, d.Channel, d.Address, d.CreatedAt, d.LeaseUntil = org, "test", models.ChannelEmail, "x@alpha.test", now, now
					if err := tx.Create(&d).Error; err != nil {
						return err
					}
				}
				for i, c := range []models.Clock{
					{Kind: models.ClockEmergencyNotice, Outcome: models.ClockRunning, DeadlineAt: now.Add(10 * time.Minute)},
					{Kind: models.ClockEmergencyNotice, Outcome: models.ClockRunning, DeadlineAt: now.Add(-time.Minute)}, // overdue
					{Kind: models.ClockEmergencyNotice, Outcome: models.ClockMet, DeadlineAt: now.Add(-time.Hour)},
					{Kind: models.ClockComplaintResponse, Outcome: models.ClockMissed, DeadlineAt: now.Add(-time.Hour)},
					{Kind: models.ClockComplaintResponse, Outcome: models.ClockMissed, DeadlineAt: now.Add(-2 * time.Hour)},
					{Kind: "custom_kind", Outcome: models.ClockRunning, DeadlineAt: now.Add(time.Hour)},
				} {
					c.OrgID, c.RefID, c.StartedAt, c.CreatedAt = org, int64(1000+i), now.Add(-15*time.Minute), now
					if err := tx.Create(&c).Error; err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}

			b, err = s.NotifyBacklog(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if b.OutboxPending != 2 || !b.OutboxOldest.Equal(now.Add(-7*time.Minute)) {
				t.Errorf("outbox: %d pending, oldest %v; want 2, %v", b.OutboxPending, b.OutboxOldest, now.Add(-7*time.Minute))
			}
			if b.Pending[models.TransportEmail] != 2 || b.Pending[models.TransportWebhook] != 1 || b.Pending[models.TransportCall] != 1 {
				t.Errorf("pending deliveries %v, want email 2, webhook 1, call 1", b.Pending)
			}
			if !b.OldestDue.Equal(now.Add(-3 * time.Minute)) {
				t.Errorf("oldest due %v, want %v (the email; the call task is staff's)", b.OldestDue, now.Add(-3*time.Minute))
			}

			cs, err := s.ClockCounts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]models.ClockCount{}
			for i, c := range cs {
				got[c.Kind] = c
				if i > 0 && cs[i-1].Kind >= c.Kind {
					t.Errorf("kinds not in order: %q before %q", cs[i-1].Kind, c.Kind)
				}
			}
			want := map[string]models.ClockCount{
				models.ClockEmergencyNotice:   {Kind: models.ClockEmergencyNotice, Running: 2, Overdue: 1},
				models.ClockComplaintResponse: {Kind: models.ClockComplaintResponse, Missed: 2},
				"custom_kind":                 {Kind: "custom_kind", Running: 1},
			}
			for _, k := range models.ClockKinds {
				if _, ok := want[k]; !ok {
					want[k] = models.ClockCount{Kind: k}
				}
			}
			if len(got) != len(want) {
				t.Errorf("clock counts %+v, want %+v", cs, want)
			}
			for k, w := range want {
				if got[k] != w {
					t.Errorf("clocks of %s: %+v, want %+v", k, got[k], w)
				}
			}
		})
	}
}
