package notify

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// Attributing part of an outage to an operation emails the customer user
// who asked for the work, in their language, with the exempt part and
// what still counts; nobody else is written to and no SLA clock moves.
func TestCauseSpanFromAnOperationEmailsTheRequester(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			s := openStore(t, db, clock)
			fx := dbtest.Seed(t, s)
			org := fx.OrgA.ID
			w := newWorld(t, s, fx, fx.OrgA, "web-01", "10.0.0.5")
			if err := s.SetLocale(ctx, fx.CustA.ID, "en"); err != nil {
				t.Fatal(err)
			}
			sun := w.contact(t, models.ContactInput{Name: "孙丽", Email: "sun.li@alpha.test", OfficePhone: "010 5555 0001",
				Channels: []models.Channel{models.ChannelOffice}, Locale: "zh-CN"})
			o := w.fail(t, clock.Now())
			t0 := o.StartedAt
			eng := models.UserActor(fx.Engineer, "10.0.0.1")
			cust := models.UserActor(fx.CustA, "192.0.2.10")
			req, err := s.CreateRequest(ctx, cust, org, models.RequestInput{Title: "Replace failed disk",
				Work: "Swap the disk.", Urgency: "urgent", DeviceIDs: []int64{w.dev.ID}, RequestedBy: &fx.CustA.ID})
			if err != nil {
				t.Fatal(err)
			}
			clock.Advance(t0.Add(22 * time.Minute).Sub(clock.Now()))
			if _, err := s.RecordPhoneAuthorization(ctx, eng, org, req.ID, models.PhoneInput{ContactID: sun.ID, Passphrase: "blue harbour 42"}); err != nil {
				t.Fatal(err)
			}
			clock.Advance(3 * time.Minute)
			if err := s.SetOperationState(ctx, eng, org, req.ID, models.StateInput{State: models.OpInProgress}); err != nil {
				t.Fatal(err)
			}
			clock.Advance(13 * time.Minute)
			w.recover(t, clock.Now()) // t0+38m
			clock.Advance(2 * time.Minute)
			d, err := s.GetRequestDetail(ctx, models.AllOrgs(), org, req.ID)
			if err != nil {
				t.Fatal(err)
			}
			clocksBefore := requestClocks(t, s, org, req.ID)
			if _, err := s.ApplyOperationCause(ctx, eng, d, o.ID, "Power off for the swap"); err != nil {
				t.Fatal(err)
			}
			sink := startSMTP(t, ModeNone, nil, "", "")
			r := startDispatchers(t, clock, newDispatcher(t, s, clock, "portal-a", sink.port(t), ""))
			r.until(time.Minute, "the cause span emailed", sentAll(t, s, sink, org, models.EventOutageCauseSpan, 1))
			r.step(time.Minute)

			ms := eventMails(t, sink, models.EventOutageCauseSpan)
			if len(ms) != 1 || ms[0].To.Address != "a@alpha.test" {
				t.Fatalf("cause-span emails = %+v, want one to the requester", ms)
			}
			m := ms[0]
			number := req.Number()
			if want := "[" + number + "] Part of an outage of web-01 attributed to your operation"; m.Subject != want {
				t.Errorf("subject = %q, want %q", m.Subject, want)
			}
			// Shanghai time: t0 is 16:55, work from 17:20, outage ended 17:33.
			mustContain(t, "body", m.Body, "Dear Alice Alpha,", "to the operation you asked for, "+number+" (Replace failed disk)",
				"Attributed to the operation: 2026-11-02 17:20:00 UTC+08:00 – 2026-11-02 17:33:00 UTC+08:00 (13 min).",
				"The outage: 2026-11-02 16:55:00 UTC+08:00 – 2026-11-02 17:33:00 UTC+08:00.",
				"Of it, 25 min counts against availability and 13 min is exempt.",
				"https://portal.example/outages/"+strconv.FormatInt(o.ID, 10))
			checkEmailOnly(t, customerDeliveries(t, s, org))
			if after := requestClocks(t, s, org, req.ID); len(after) != len(clocksBefore) {
				t.Errorf("request clocks changed: %+v -> %+v", clocksBefore, after)
			}
		})
	}
}
