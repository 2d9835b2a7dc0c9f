package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
)

// The pages that show a missed notice's deduction or waiver show what it
// is now and why, in both languages, and staff who bill close a month.
func TestNoticeOutcomePages(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		fx := e.fx
		if err := e.store.ConfirmContacts(ctx, models.UserActor(fx.CustA, "127.0.0.1"), fx.OrgA.ID, fx.CustA.ID); err != nil {
			t.Fatal(err)
		}
		n := seedNotices(t, e) // a call pending, an email bounced
		day := n.t0.Format("2006-01-02")
		month := n.t0.Format("2006-01")
		e.clock.Advance(20 * time.Minute)
		if _, err := e.store.SweepClocks(ctx); err != nil {
			t.Fatal(err)
		}
		outage := "/outages/" + ids(n.outage.ID)
		en := func(c *client, path string) *response {
			return c.do(http.MethodGet, path, nil, http.Header{"Accept-Language": {"en"}})
		}
		cust, eng := e.as(t, fx.CustA), e.as(t, fx.Engineer)

		t.Run("the outage page, on-call and contacts show the day deducted", func(t *testing.T) {
			wantBody(t, cust.get(outage), zh("clock.deducted", day), zh("clock.outcome_open", month))
			wantBody(t, en(cust, outage), tr("en", "clock.deducted", day), tr("en", "clock.outcome_open", month))
			wantBody(t, eng.get("/oncall"), zh("clock.deducted", day))
			wantBody(t, cust.get("/contacts"), zh("contacts.outcomes_title"), zh("clock.deducted", day), `href="`+outage+`"`)
		})

		t.Run("force majeure set after the sweep shows the waiver and its reason everywhere", func(t *testing.T) {
			wantRedirect(t, eng.submit(outage, outage+"/cause", url.Values{"cause": {string(models.CauseFMNatural)}, "note": {"typhoon"}, "confirmed": {"1"}}),
				"/devices/"+ids(n.device.ID)+"#outage-"+ids(n.outage.ID))
			waived := zh("clock.waived", zh("waiver.force_majeure"))
			wantBody(t, cust.get(outage), waived)
			wantNoBody(t, cust.get(outage), zh("clock.deducted", day))
			wantBody(t, en(cust, outage), tr("en", "clock.waived", tr("en", "waiver.force_majeure")))
			wantBody(t, eng.get("/oncall"), waived)
			wantBody(t, cust.get("/contacts"), waived)
		})

		t.Run("only customer service and admins close a month, once it has ended", func(t *testing.T) {
			org := "/orgs/" + ids(fx.OrgA.ID)
			for _, u := range []*models.User{fx.Engineer, fx.Reception} {
				wantStatus(t, e.as(t, u).submit(org, org+"/months/close", url.Values{"month": {month}}), http.StatusForbidden)
			}
			svc := e.as(t, fx.Service)
			r := svc.submit(org, org+"/months/close", url.Values{"month": {month}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, zh("error.month_not_ended"))
			e.clock.Advance(40 * 24 * time.Hour)
			svc, cust, eng := e.as(t, fx.Service), e.as(t, fx.CustA), e.as(t, fx.Engineer) // sessions ended meanwhile
			wantRedirect(t, svc.submit(org, org+"/months/close", url.Values{"month": {month}}), org+"#months-h")
			wantBody(t, svc.get(org), zh("months.title"), month)
			wantBody(t, cust.get(outage), zh("clock.outcome_final", month))
			// Reclassified after closing: the cause is kept, the outcome is not changed.
			wantRedirect(t, eng.submit(outage, outage+"/cause", url.Values{"cause": {string(models.CauseProviderNetwork)}, "confirmed": {"1"}}),
				"/devices/"+ids(n.device.ID)+"#outage-"+ids(n.outage.ID))
			wantBody(t, cust.get(outage), zh("cause.provider_network"), zh("clock.waived", zh("waiver.force_majeure")))
		})
	})
}
