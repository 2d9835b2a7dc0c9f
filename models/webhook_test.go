package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// Endpoint URLs are https to public hosts unless the deployment says
// otherwise, the events are the public ones, and the form is checked
// whole; the secret is whsec_…, stored sealed, and opens for the sender.
func TestWebhookEndpointRulesAndSealedSecret(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			s := dbtest.Open(t, db)
			f := dbtest.Seed(t, s)
			a, sc := models.UserActor(f.CustA, "192.0.2.1"), models.ScopeOf(f.CustA)
			create := func(st *models.Store, url string, events ...string) error {
				_, _, err := st.CreateWebhook(ctx, a, sc, f.OrgA.ID, models.WebhookInput{URL: url, Events: events})
				return err
			}
			for url, key := range map[string]string{
				"http://hooks.example.com/in":         "webhooks.error.url_https",
				"ftp://hooks.example.com/in":          "webhooks.error.url_invalid",
				"https://user:pw@hooks.example.com/":  "webhooks.error.url_invalid",
				"hooks.example.com/in":                "webhooks.error.url_invalid",
				"https://127.0.0.1/in":                "webhooks.error.url_private",
				"https://10.1.2.3/in":                 "webhooks.error.url_private",
				"https://169.254.169.254/latest":      "webhooks.error.url_private",
				"https://[::1]:8443/in":               "webhooks.error.url_private",
				"https://[::ffff:192.168.1.1]/in":     "webhooks.error.url_private",
				"https://100.64.0.9/in":               "webhooks.error.url_private",
				"https://localhost/in":                "webhooks.error.url_private",
				"https://0.0.0.0/in":                  "webhooks.error.url_private",
				"":                                    "error.required",
				"https://hooks.example.com/in\x00bad": "error.control_chars",
			} {
				err := create(s, url, models.HookVisitApproved)
				v, ok := models.AsValidation(err)
				if !ok || v.Field != "url" || (v.Key != key && key != "error.control_chars") {
					t.Errorf("%q: %v, want %s", url, err, key)
				}
			}
			if err := create(s, "https://hooks.example.com/in"); !hasKey(err, "webhooks.error.events_required") {
				t.Errorf("no events: %v", err)
			}
			if err := create(s, "https://hooks.example.com/in", "visit.approved", "ping"); !hasKey(err, "webhooks.error.event_unknown") {
				t.Errorf("ping chosen: %v", err)
			}
			// Both problems at once.
			if vs := models.Validations(create(s, "http://x.example/", "nope")); len(vs) != 2 {
				t.Errorf("%d problems reported, want the URL's and the events'", len(vs))
			}
			open := dbtest.Open(t, db, models.WithHookRules(models.HookRules{AllowHTTP: true, AllowPrivate: true}))
			_, _, err := open.CreateWebhook(ctx, a, sc, f.OrgA.ID,
				models.WebhookInput{URL: "http://127.0.0.1:18105/in", Events: []string{models.HookVisitApproved}})
			if err != nil {
				t.Errorf("with both settings, http to loopback: %v", err)
			}

			e, secret, err := s.CreateWebhook(ctx, a, sc, f.OrgA.ID, models.WebhookInput{URL: "https://hooks.example.com/in",
				Events: []string{models.HookVisitRefused, models.HookVisitApproved, models.HookVisitApproved}})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(secret, "whsec_") || len(secret) < 40 || strings.Contains(e.Secret, secret) || e.Secret == "" {
				t.Fatalf("secret %q stored as %q", secret, e.Secret)
			}
			if e.Events != "visit.approved,visit.refused" || !e.Enabled {
				t.Errorf("endpoint %+v", e)
			}
			for i := 2; i < models.MaxWebhooksPerOrg; i++ { // the one above, and this
				if err := create(s, "https://hooks.example.com/in", models.HookVisitApproved); err != nil {
					t.Fatal(err)
				}
			}
			if err := create(s, "https://hooks.example.com/more", models.HookVisitApproved); !hasKey(err, "webhooks.error.too_many") {
				t.Errorf("over the limit: %v", err)
			}
		})
	}
}

func hasKey(err error, key string) bool {
	for _, v := range models.Validations(err) {
		if v.Key == key {
			return true
		}
	}
	return false
}

// Another organization's endpoint, and its deliveries, are not found by
// any method, exactly like one that does not exist; nothing changes.
func TestWebhooksKeepOrganizationsApart(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		f := dbtest.Seed(t, s)
		a := models.UserActor(f.CustA, "192.0.2.1")
		e, _, err := s.CreateWebhook(ctx, a, models.ScopeOf(f.CustA), f.OrgA.ID, models.WebhookInput{URL: "https://hooks.example.com/a",
			Events: []string{models.HookVisitApproved}})
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.SendWebhookTest(ctx, a, models.ScopeOf(f.CustA), e.Ref)
		if err != nil {
			t.Fatal(err)
		}
		b, sb := models.UserActor(f.CustB, "192.0.2.2"), models.ScopeOf(f.CustB)
		notFound := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, models.ErrNotFound) {
				t.Errorf("%s: %v, want not found", what, err)
			}
		}
		_, _, err = s.CreateWebhook(ctx, b, sb, f.OrgA.ID, models.WebhookInput{URL: "https://x.example/", Events: []string{models.HookVisitApproved}})
		notFound("create in another organization", err)
		_, err = s.GetWebhook(ctx, sb, e.Ref)
		notFound("get", err)
		_, err = s.ListWebhooks(ctx, sb, f.OrgA.ID)
		notFound("list", err)
		notFound("update", s.UpdateWebhook(ctx, b, sb, e.Ref, models.WebhookInput{URL: "https://x.example/", Events: []string{models.HookVisitApproved}}))
		notFound("update with mistakes", s.UpdateWebhook(ctx, b, sb, e.Ref, models.WebhookInput{URL: "http://x"}))
		_, err = s.RotateWebhookSecret(ctx, b, sb, e.Ref)
		notFound("rotate", err)
		notFound("disable", s.SetWebhookEnabled(ctx, b, sb, e.Ref, false))
		_, err = s.SendWebhookTest(ctx, b, sb, e.Ref)
		notFound("test", err)
		_, err = s.ListWebhookDeliveries(ctx, sb, e, 0, 10)
		notFound("log", err)
		_, _, err = s.GetWebhookDelivery(ctx, sb, e, d.ID)
		notFound("delivery", err)
		notFound("redeliver", s.RedeliverWebhook(ctx, b, sb, e.Ref, d.ID))
		notFound("delete", s.DeleteWebhook(ctx, b, sb, e.Ref))
		_, err = s.GetWebhook(ctx, models.Scope{}, e.Ref)
		notFound("the zero scope", err)
		got, err := s.GetWebhook(ctx, models.ScopeOf(f.CustA), e.Ref)
		if err != nil || got.URL != e.URL || !got.Enabled || got.Secret != e.Secret {
			t.Fatalf("after another organization's attempts: %+v (%v)", got, err)
		}
	})
}

// Expanding an outbox event gives each enabled endpoint subscribed to its
// public event one delivery with the payload frozen, once, in the
// expansion's transaction; a disabled or unsubscribed endpoint gets none.
func TestExpandEventFansOutToSubscribedEndpointsOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		f := dbtest.Seed(t, s)
		a, sc := models.UserActor(f.CustA, "192.0.2.1"), models.ScopeOf(f.CustA)
		mk := func(url string, events ...string) *models.WebhookEndpoint {
			e, _, err := s.CreateWebhook(ctx, a, sc, f.OrgA.ID, models.WebhookInput{URL: url, Events: events})
			if err != nil {
				t.Fatal(err)
			}
			return e
		}
		want := mk("https://hooks.example.com/yes", models.HookVisitApproved)
		other := mk("https://hooks.example.com/other", models.HookOutageClosed)
		off := mk("https://hooks.example.com/off", models.HookVisitApproved)
		if err := s.SetWebhookEnabled(ctx, a, sc, off.Ref, false); err != nil {
			t.Fatal(err)
		}
		sites, err := s.ListSites(ctx)
		if err != nil || len(sites) == 0 {
			t.Fatalf("sites %v (%v)", sites, err)
		}
		day := clock.Now().In(s.Zone()).AddDate(0, 0, 2)
		from := time.Date(day.Year(), day.Month(), day.Day(), 10, 0, 0, 0, s.Zone())
		v, err := s.CreateVisit(ctx, a, f.OrgA.ID, models.VisitInput{SiteID: sites[0].ID, Activity: "tour", Reason: "a tour",
			PlannedFrom: from, PlannedTo: from.Add(4 * time.Hour), Locale: "en",
			Visitors: []models.VisitorInput{{Name: "张伟", IDType: models.IDResident, IDNumber: "110101199003071233", Phone: "13812345678"}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ApproveVisit(ctx, models.UserActor(f.Reception, "10.0.0.9"), f.OrgA.ID, v.ID, models.ApproveInput{EscortID: f.Engineer.ID}); err != nil {
			t.Fatal(err)
		}
		evs, err := s.ClaimEvents(ctx, "one", time.Minute, 100)
		if err != nil {
			t.Fatal(err)
		}
		none := func(models.Channel) string { return "" }
		expanded := 0
		for _, ev := range evs {
			if ev.Kind != models.EventVisitApproved {
				continue
			}
			expanded++
			for range 2 { // the second finds it done
				if _, err := s.ExpandEvent(ctx, ev, "one", none); err != nil {
					t.Fatal(err)
				}
			}
		}
		if expanded != 1 {
			t.Fatalf("%d approval events, want 1", expanded)
		}
		log := func(e *models.WebhookEndpoint) []models.WebhookDelivery {
			ds, err := s.ListWebhookDeliveries(ctx, sc, e, 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			return ds
		}
		ds := log(want)
		if len(ds) != 1 || ds[0].Event != models.HookVisitApproved || ds[0].Status != models.HookPending || ds[0].EventID == nil {
			t.Fatalf("subscribed endpoint's deliveries %+v", ds)
		}
		if n, m := len(log(other)), len(log(off)); n != 0 || m != 0 {
			t.Errorf("unsubscribed endpoint got %d, disabled one %d deliveries", n, m)
		}
		d, _, err := s.GetWebhookDelivery(ctx, sc, want, ds[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range []string{`"type":"visit.approved"`, `"ref":"` + v.Ref + `"`, `"slug":"alpha"`, `"id":"evt_`} {
			if !strings.Contains(d.Payload, part) {
				t.Errorf("payload %s lacks %s", d.Payload, part)
			}
		}
		// The sender gets the URL and the opened secret.
		jobs, err := s.ClaimHookDeliveries(ctx, "sender", time.Minute, 10)
		if err != nil || len(jobs) != 1 || jobs[0].URL != want.URL || !strings.HasPrefix(jobs[0].Secret, "whsec_") {
			t.Fatalf("claimed %+v (%v)", jobs, err)
		}
		// Another claimer finds it leased; a record by someone else is refused.
		if again, err := s.ClaimHookDeliveries(ctx, "other", time.Minute, 10); err != nil || len(again) != 0 {
			t.Fatalf("claimed twice: %+v (%v)", again, err)
		}
		if _, err := s.RecordHookAttempt(ctx, "other", d.ID, models.HookResult{Delivered: true, StatusCode: 200}, 15); !errors.Is(err, models.ErrLeaseLost) {
			t.Fatalf("record by a non-holder: %v", err)
		}
		if _, err := s.RecordHookAttempt(ctx, "sender", d.ID, models.HookResult{Delivered: true, StatusCode: 200, Response: strings.Repeat("é", 700)}, 15); err != nil {
			t.Fatal(err)
		}
		d, as, err := s.GetWebhookDelivery(ctx, sc, want, d.ID)
		if err != nil || d.Status != models.HookDelivered || len(as) != 1 || len(as[0].Response) > models.HookResponseKept || !strings.HasPrefix(as[0].Response, "éé") {
			t.Fatalf("delivered: %+v %+v (%v)", d, as, err)
		}
	})
}
