package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

func TestAllowanceIsATenthOfAPercentOfTheWatchedPart(t *testing.T) {
	nov := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	dec := nov.AddDate(0, 1, 0)
	for _, c := range []struct {
		name  string
		since time.Time
		want  time.Duration
	}{
		{"watched all month: 43.2 minutes", time.Time{}, 43*time.Minute + 12*time.Second},
		{"added before the month: the same", nov.AddDate(0, -2, 0), 43*time.Minute + 12*time.Second},
		{"added on the 30th: one day's 1.44 minutes", time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), time.Minute + 26400*time.Millisecond},
		{"added after the month: nothing", dec.Add(time.Hour), 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := models.Allowance(nov, dec, c.since); got != c.want {
				t.Fatalf("Allowance = %v, want %v", got, c.want)
			}
		})
	}
}

func TestRequestsAwaitingCustomer(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		f := newOpFixture(t, s)
		org := f.fx.OrgA.ID
		newReq := func(title string) *models.OperationRequest {
			r, err := s.CreateRequest(ctx, f.customer, org, models.RequestInput{Title: title, Work: "work", Urgency: "normal",
				DeviceIDs: []int64{f.dev.ID}, RequestedBy: &f.fx.CustA.ID})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		phoned := newReq("phoned")
		if _, err := s.RecordPhoneAuthorization(ctx, f.eng, org, phoned.ID, models.PhoneInput{ContactID: f.signer.ID,
			Passphrase: "blue harbour 42", FollowUp: 24 * time.Hour}); err != nil {
			t.Fatal(err)
		}
		uploaded := newReq("uploaded")
		if _, err := s.AddWrittenAuthorization(ctx, f.eng, f.blobs, org, uploaded.ID, f.signer.ID, mustUpload(t), scanPNG(t)); err != nil {
			t.Fatal(err)
		}
		got, err := s.RequestsAwaitingCustomer(ctx, models.OrgScope(org), org)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("awaiting = %+v, want the phoned request and the first one", got)
		}
		if got[0].Request.ID != phoned.ID || got[0].Kind != models.AwaitConfirm || got[0].FollowUp == nil ||
			!got[0].FollowUp.DeadlineAt.Equal(clock.Now().Add(24*time.Hour)) {
			t.Fatalf("first = %+v, want the phoned request with its follow-up deadline", got[0])
		}
		if got[1].Request.ID != f.req.ID || got[1].Kind != models.AwaitSign {
			t.Fatalf("second = %+v, want the request waiting for a form", got[1])
		}
		if _, err := s.RequestsAwaitingCustomer(ctx, models.OrgScope(f.fx.OrgB.ID), org); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("another organization's scope: %v, want ErrNotFound", err)
		}
		if other, err := s.RequestsAwaitingCustomer(ctx, models.AllOrgs(), f.fx.OrgB.ID); err != nil || len(other) != 0 {
			t.Fatalf("organization B = %+v, %v, want nothing", other, err)
		}
	})
}

func mustUpload(t *testing.T) *models.CheckedUpload {
	t.Helper()
	up, err := models.CheckUpload("scan.png", scanPNG(t), models.DefaultUploadLimits)
	if err != nil {
		t.Fatal(err)
	}
	return up
}

func TestMissedClocksOfAMonth(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		n := newNoticeScene(t, s, clock)
		n.contact("Sun Li", "sun.li@alpha.test", true)
		n.confirm()
		o := n.miss(models.DeliveryFailed)
		from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		got, _, err := s.MissedClocks(ctx, models.OrgScope(n.org), n.org, from, from.AddDate(0, 1, 0), 500)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Clock.RefID != o.ID || got[0].Clock.Outcome != models.ClockMissed || got[0].Device != "web-1" {
			t.Fatalf("missed = %+v, want the outage's notice on web-1", got)
		}
		if got[0].Deduction == nil || got[0].Deduction.Outcome() != models.OutcomeCharged {
			t.Fatalf("deduction = %+v, want a day's fee charged", got[0].Deduction)
		}
		if prev, _, err := s.MissedClocks(ctx, models.OrgScope(n.org), n.org, from.AddDate(0, -1, 0), from, 500); err != nil || len(prev) != 0 {
			t.Fatalf("the month before = %+v, %v, want nothing", prev, err)
		}
		if _, _, err := s.MissedClocks(ctx, models.OrgScope(n.fx.OrgB.ID), n.org, from, from.AddDate(0, 1, 0), 500); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("another organization's scope: %v, want ErrNotFound", err)
		}
	})
}
