package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
)

// A failed, bounced or unanswered delivery can be queued again from its
// outage's page, by the staff who handle failed notifications; customers
// and reception see no form and are refused, and a delivery that is not
// one of the outage's is not found.
func TestOutagePageRetriesAFailedDelivery(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		fx := e.fx
		n := seedNotices(t, e)
		o, call, email := ids(n.outage.ID), ids(n.call.ID), ids(n.email.ID)
		page := "/outages/" + o
		retryCall := page + "/deliveries/" + call + "/retry"
		retryEmail := page + "/deliveries/" + email + "/retry"
		callTask := zh("oncall.group_call", fx.OrgA.Name, "Sun Li", "手机", "+86 138 0013 8000")

		// Organization B has an outage with a bounced email of its own.
		cb, err := e.store.CreateContact(ctx, models.UserActor(fx.CustB, "127.0.0.1"), fx.OrgB.ID, models.ContactInput{
			Name: "Qian Bo", Email: "qian.bo@beta.test", Channels: []models.Channel{models.ChannelEmail},
			MayAuthorize: true, Passphrase: passphrase, Locale: "zh-CN"})
		if err != nil {
			t.Fatal(err)
		}
		db, err := e.store.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: fx.OrgB.ID, Name: "web-b", Address: "127.0.0.3"})
		if err != nil {
			t.Fatal(err)
		}
		cs, err := e.store.ListChecks(ctx, models.AllOrgs(), fx.OrgB.ID, db.ID)
		if err != nil || len(cs) != 1 {
			t.Fatalf("checks = %+v, %v", cs, err)
		}
		ob := failDevice(t, e, fx.OrgB.ID, cs[0], e.clock.Now())
		e.clock.Advance(30 * time.Second)
		expandAll(t, e)
		ds, err := e.store.ClaimDeliveries(ctx, "test", time.Minute, 10, []string{models.TransportEmail})
		if err != nil || len(ds) != 1 || ds[0].ContactID != cb.ID {
			t.Fatalf("organization B's email = %+v, %v", ds, err)
		}
		if err := e.store.RecordAttempt(ctx, "test", ds[0].ID, models.DeliveryBounced, n.emailBounced, nil); err != nil {
			t.Fatal(err)
		}
		emailB := ids(ds[0].ID)

		t.Run("staff who handle failures see a form for the bounced email only", func(t *testing.T) {
			for _, who := range []*models.User{fx.Engineer, fx.Service, fx.Admin} {
				r := e.as(t, who).get(page)
				wantStatus(t, r, http.StatusOK)
				wantBody(t, r, `action="`+retryEmail+`"`, zh("oncall.retry"), `<th scope="col">`+zh("common.actions"))
				wantNoBody(t, r, `action="`+retryCall+`"`)
			}
		})
		t.Run("customers and reception see no form and are refused", func(t *testing.T) {
			for _, who := range []*models.User{fx.CustA, fx.Reception} {
				c := e.as(t, who)
				r := c.get(page)
				wantStatus(t, r, http.StatusOK)
				wantNoBody(t, r, "/retry", `<th scope="col">`+zh("common.actions"))
				wantStatus(t, c.submit("/", retryEmail, nil), http.StatusForbidden)
			}
			wantStatus(t, e.as(t, fx.CustB).submit("/", retryEmail, nil), http.StatusForbidden)
			if d, err := e.store.GetDelivery(ctx, models.AllOrgs(), n.email.ID); err != nil || d.Status != models.DeliveryBounced {
				t.Fatalf("email after refused retries = %+v, %v", d, err)
			}
		})
		t.Run("the POST needs the CSRF token", func(t *testing.T) {
			wantStatus(t, e.as(t, fx.Engineer).post(retryEmail, url.Values{}), http.StatusForbidden)
		})
		t.Run("a pending call is not retried", func(t *testing.T) {
			wantStatus(t, e.as(t, fx.Engineer).submit(page, retryCall, nil), http.StatusNotFound)
		})
		t.Run("a delivery that is not the outage's is not found", func(t *testing.T) {
			eng := e.as(t, fx.Engineer)
			for _, path := range []string{
				page + "/deliveries/" + emailB + "/retry",                    // another organization's, through this outage
				"/outages/" + ids(ob.ID) + "/deliveries/" + email + "/retry", // this one's, through another organization's outage
				page + "/deliveries/999999/retry",
				"/outages/999999/deliveries/" + email + "/retry",
			} {
				wantStatus(t, eng.submit(page, path, nil), http.StatusNotFound)
			}
			for _, id := range []int64{ds[0].ID, n.email.ID} {
				if d, err := e.store.GetDelivery(ctx, models.AllOrgs(), id); err != nil || d.Status != models.DeliveryBounced {
					t.Fatalf("delivery %d after a retry not found = %+v, %v", id, d, err)
				}
			}
		})
		t.Run("an unanswered call is queued again and the on-call line covers it", func(t *testing.T) {
			eng := e.as(t, fx.Engineer)
			wantRedirect(t, eng.submit("/oncall", "/deliveries/"+call+"/call", url.Values{"answered": {"no"}}), "/oncall#calls")
			if d, err := e.store.GetDelivery(ctx, models.AllOrgs(), n.call.ID); err != nil || d.Status != models.DeliveryNoAnswer {
				t.Fatalf("call after no answer = %+v, %v", d, err)
			}
			wantNoBody(t, eng.get("/oncall"), callTask)
			wantBody(t, eng.get(page), `action="`+retryCall+`"`, zh("delivery.status.no_answer"))

			svc := e.as(t, fx.Service)
			wantRedirect(t, svc.submit(page, retryCall, nil), page+"#delivery-"+call)
			d, err := e.store.GetDelivery(ctx, models.AllOrgs(), n.call.ID)
			if err != nil || d.Status != models.DeliveryPending {
				t.Fatalf("call after retry = %+v, %v", d, err)
			}
			r := svc.get(page)
			wantBody(t, r, zh("flash.delivery_retried"), zh("delivery.status.pending"))
			wantNoBody(t, r, `action="`+retryCall+`"`)
			wantBody(t, eng.get("/oncall"), callTask, `action="/orgs/`+ids(fx.OrgA.ID)+`/calls"`)
			evs, _ := e.store.ListAudit(ctx, models.AllOrgs(), models.AuditFilter{Action: models.AuditDeliveryRetried})
			if len(evs) != 1 || evs[0].ActorEmail != fx.Service.Email || *evs[0].TargetID != n.call.ID {
				t.Fatalf("retry audit = %+v", evs)
			}
			// Queued again, it is not retried twice.
			wantStatus(t, svc.submit(page, retryCall, nil), http.StatusNotFound)
		})
	})
}
