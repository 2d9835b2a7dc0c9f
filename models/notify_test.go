package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// failOutage drives a check into an outage starting at start, confirmed 5
// minutes later, and returns the outage.
func failOutage(t *testing.T, s *models.Store, orgID int64, c models.Check, start time.Time) models.Outage {
	t.Helper()
	ctx := context.Background()
	rs := []models.ProbeResult{
		{CheckID: c.ID, At: start, Reason: models.ReasonTimeout},
		{CheckID: c.ID, At: start.Add(5 * time.Minute), Reason: models.ReasonTimeout},
	}
	if _, err := s.RecordResults(ctx, rs); err != nil {
		t.Fatal(err)
	}
	os, err := s.ListOutages(ctx, models.AllOrgs(), orgID, c.DeviceID, 1)
	if err != nil || len(os) != 1 || !os[0].StartedAt.Equal(start) {
		t.Fatalf("outages = %+v, %v", os, err)
	}
	return os[0]
}

func recoverCheck(t *testing.T, s *models.Store, c models.Check, at time.Time) {
	t.Helper()
	if _, err := s.RecordResults(context.Background(), []models.ProbeResult{{CheckID: c.ID, At: at, OK: true, RTTus: 300}}); err != nil {
		t.Fatal(err)
	}
}

func emailOnly(ch models.Channel) string {
	if ch == models.ChannelEmail {
		return models.TransportEmail
	}
	return ""
}

func TestEmergencyClock(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx, _, chk := probeFixture(t, s)
		org := fx.OrgA.ID
		actor := models.UserActor(fx.CustA, "127.0.0.1")
		ct, err := s.CreateContact(ctx, actor, org, models.ContactInput{Name: "Sun Li", Email: "Sun.Li@alpha.test",
			Mobile: "138 0013 8000", Channels: []models.Channel{models.ChannelEmail}, MayAuthorize: true, Passphrase: "blue harbour 42", Locale: "zh-CN"})
		if err != nil {
			t.Fatal(err)
		}
		if ct.Mobile != "+8613800138000" || ct.Email != "sun.li@alpha.test" {
			t.Fatalf("contact not normalized: %q %q", ct.Mobile, ct.Email)
		}
		if !s.VerifyPassphrase(ct, "blue harbour 42") || s.VerifyPassphrase(ct, "blue harbour 43") {
			t.Fatal("passphrase check is wrong")
		}
		if err := s.ConfirmContacts(ctx, actor, org, fx.CustA.ID); err != nil {
			t.Fatal(err)
		}
		expand := func() []models.Delivery {
			t.Helper()
			evs, err := s.ClaimEvents(ctx, "me", time.Minute, 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range evs {
				if _, err := s.ExpandEvent(ctx, ev, "me", emailOnly); err != nil {
					t.Fatal(err)
				}
			}
			ds, err := s.ClaimDeliveries(ctx, "me", time.Minute, 100, []string{models.TransportEmail})
			if err != nil {
				t.Fatal(err)
			}
			return ds
		}

		t.Run("a delivery accepted within 15 minutes stops the clock as met", func(t *testing.T) {
			start := clock.Now()
			o := failOutage(t, s, org, chk, start)
			ds := expand()
			if len(ds) != 1 || ds[0].Address != "sun.li@alpha.test" || !ds[0].Authorized {
				t.Fatalf("deliveries = %+v", ds)
			}
			clock.Advance(7 * time.Minute)
			if err := s.RecordAttempt(ctx, "me", ds[0].ID, models.DeliveryAccepted, "", nil); err != nil {
				t.Fatal(err)
			}
			c, err := s.OutageClock(ctx, models.AllOrgs(), org, o.ID)
			if err != nil || c == nil || c.Outcome != models.ClockMet || c.StoppedAt == nil {
				t.Fatalf("clock = %+v, %v", c, err)
			}
			if got := c.Took(clock.Now()); got != 2*time.Minute {
				t.Fatalf("clock took %v; confirmed at +5 min, delivered at +7 min", got)
			}
			recoverCheck(t, s, chk, start.Add(10*time.Minute))
			if ds := expand(); len(ds) != 1 || ds[0].Event != models.EventOutageClosed {
				t.Fatalf("recovery notice deliveries = %+v", ds)
			} else if err := s.RecordAttempt(ctx, "me", ds[0].ID, models.DeliveryAccepted, "", nil); err != nil {
				t.Fatal(err)
			}
		})

		t.Run("an undelivered notice misses after 15 minutes and costs one day", func(t *testing.T) {
			clock.Advance(time.Hour)
			start := clock.Now()
			o := failOutage(t, s, org, chk, start)
			ds := expand()
			retry := clock.Now().Add(time.Minute)
			if err := s.RecordAttempt(ctx, "me", ds[0].ID, models.DeliveryFailed, "connection refused", &retry); err != nil {
				t.Fatal(err)
			}
			// Confirmed at +5 min, so the deadline is +20 min.
			clock.Advance(19 * time.Minute)
			if n, _ := s.SweepClocks(ctx); n != 0 {
				t.Fatal("clock missed before its deadline")
			}
			clock.Advance(2 * time.Minute)
			if n, err := s.SweepClocks(ctx); err != nil || n != 1 {
				t.Fatalf("sweep = %d, %v", n, err)
			}
			c, _ := s.OutageClock(ctx, models.AllOrgs(), org, o.ID)
			if c.Outcome != models.ClockMissed {
				t.Fatalf("clock = %+v", c)
			}
			day := start.Format("2006-01-02")
			lines, _ := s.ListDeductions(ctx, models.AllOrgs(), org, day, "9999")
			if len(lines) != 1 || lines[0].Days != 1 || lines[0].Waived {
				t.Fatalf("deductions = %+v", lines)
			}
			recoverCheck(t, s, chk, clock.Now())
			expand()
		})

		t.Run("a second miss the same day has its line but adds no second day", func(t *testing.T) {
			clock.Advance(time.Hour)
			failOutage(t, s, org, chk, clock.Now())
			expand()
			clock.Advance(25 * time.Minute)
			if _, err := s.SweepClocks(ctx); err != nil {
				t.Fatal(err)
			}
			lines, _ := s.ListDeductions(ctx, models.AllOrgs(), org, clock.Now().Format("2006-01-02"), "9999")
			days := 0
			for _, l := range lines {
				days += l.Days
			}
			if len(lines) != 2 || days != 1 || lines[1].Outcome() != models.OutcomeNotFirst {
				t.Fatalf("deductions = %+v", lines)
			}
			recoverCheck(t, s, chk, clock.Now())
			expand()
		})

		t.Run("a miss on details staff marked wrong is waived with the reason", func(t *testing.T) {
			clock.Advance(24 * time.Hour)
			if err := s.MarkContactDetailWrong(ctx, models.UserActor(fx.Engineer, "10.0.0.1"), ct.ID, models.ChannelEmail, "mailbox does not exist"); err != nil {
				t.Fatal(err)
			}
			if h, _ := s.ContactChangeLog(ctx, models.AllOrgs(), org, 50); len(h) == 0 || h[0].Action != models.AuditContactMarkedWrong {
				t.Fatalf("contact history = %+v, want the mark first", h)
			}
			failOutage(t, s, org, chk, clock.Now())
			expand()
			clock.Advance(25 * time.Minute)
			if _, err := s.SweepClocks(ctx); err != nil {
				t.Fatal(err)
			}
			lines, _ := s.ListDeductions(ctx, models.AllOrgs(), org, clock.Now().Format("2006-01-02"), "9999")
			if len(lines) != 1 || !lines[0].Waived || lines[0].Days != 0 || lines[0].WaiverReason != models.WaiverWrongDetails {
				t.Fatalf("deductions = %+v", lines)
			}
		})

		t.Run("another organization sees no contact, clock or delivery", func(t *testing.T) {
			if _, err := s.GetContact(ctx, models.OrgScope(fx.OrgB.ID), ct.ID); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("org B reads org A's contact: %v", err)
			}
			cs, _ := s.ListContacts(ctx, models.AllOrgs(), fx.OrgB.ID)
			if len(cs) != 0 {
				t.Fatal("org B lists org A's contacts")
			}
			h, _ := s.ContactChangeLog(ctx, models.AllOrgs(), org, 50)
			if len(h) < 2 {
				t.Fatalf("contact history has %d events, want at least create and confirm", len(h))
			}
		})
	})
}
