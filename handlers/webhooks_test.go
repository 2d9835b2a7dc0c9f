package handlers_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
)

var (
	hookPathRE     = regexp.MustCompile(`^/webhooks/([0-9a-f]{16})$`)
	hookDeliveryRE = regexp.MustCompile(`^/webhooks/[0-9a-f]{16}/deliveries/(\d+)$`)
	hookSecretRE   = regexp.MustCompile(`whsec_[A-Za-z0-9_-]{43}`)
	hookOnceRE     = regexp.MustCompile(`name="_once" value="([0-9a-f]+)"`)
)

// An organization's administrator manages its webhook endpoints: the
// secret is shown on the answer that made it only, every change is
// audited, a form's mistakes come back together with the input kept, a
// colleague only reads, and another organization finds nothing (404).
func TestWebhookPages(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		fx := e.fx
		staff := e.as(t, fx.Admin)
		colleague, err := e.store.CreateUser(ctx, models.SystemActor("test"), models.UserInput{Email: "carl@alpha.test",
			Name: "Carl Alpha", Role: models.RoleCustomer, OrgID: &fx.OrgA.ID, Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}

		// Step: Before Alice administers Alpha she reads only.
		a := e.as(t, fx.CustA)
		r := a.get("/webhooks")
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, zh("webhooks.admin_only"), zh("webhooks.none"))
		wantStatus(t, a.get("/webhooks/new"), http.StatusForbidden)
		wantStatus(t, a.submit("/webhooks", "/webhooks", url.Values{"url": {"https://hooks.alpha.example/in"}, "events": {models.HookPing}}), http.StatusForbidden)
		wantStatus(t, staff.get("/webhooks"), http.StatusForbidden) // customers' own pages
		if err := e.store.SetOrgAdmin(ctx, models.SystemActor("test"), fx.CustA.ID, true); err != nil {
			t.Fatal(err)
		}

		// Step: Every mistake at once, the input kept.
		r = a.get("/webhooks/new")
		wantBody(t, r, `name="_once"`, zh("webhooks.event."+models.HookOutageConfirmed))
		r = a.submit("/webhooks/new", "/webhooks", url.Values{"url": {"http://hooks.alpha.example/in"}, "description": {"bad\x01"}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, html.EscapeString(zh("webhooks.error.url_https")), zh("webhooks.error.events_required"), `value="http://hooks.alpha.example/in"`)
		r = a.submit("/webhooks/new", "/webhooks", url.Values{"url": {"https://127.0.0.1:8443/in"}, "events": {models.HookVisitApproved}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, html.EscapeString(zh("webhooks.error.url_private")), `value="visit.approved" checked`)
		r = a.submit("/webhooks/new", "/webhooks", url.Values{"url": {"https://hooks.alpha.example/in"}, "events": {"nope"}})
		wantBody(t, r, zh("webhooks.error.event_unknown"))

		// Step: The endpoint is made; its secret is on this answer only.
		page := a.get("/webhooks/new")
		once := hookOnceRE.FindStringSubmatch(page.Body)
		if once == nil {
			t.Fatal("no _once field on the form")
		}
		form := url.Values{"_once": {once[1]}, "url": {"https://hooks.alpha.example/in"}, "description": {"<b>pager</b> bridge"},
			"events": {models.HookVisitApproved, models.HookOutageClosed}}
		r = a.submit("/webhooks/new", "/webhooks", form)
		wantStatus(t, r, http.StatusCreated)
		secret := hookSecretRE.FindString(r.Body)
		if secret == "" || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("no secret shown (Cache-Control %q):\n%s", r.Header.Get("Cache-Control"), clip(r.Body))
		}
		m := hookPathRE.FindStringSubmatch(r.Header.Get("Location"))
		if m == nil {
			t.Fatalf("Location %q", r.Header.Get("Location"))
		}
		ref, path := m[1], "/webhooks/"+m[1]
		wantBody(t, r, "&lt;b&gt;pager&lt;/b&gt; bridge")
		wantNoBody(t, r, "<b>pager</b>")
		// The same form again leads to the endpoint, without a second one
		// or the secret.
		r = a.submit("/webhooks/new", "/webhooks", form)
		wantRedirect(t, r, path)
		eps, err := e.store.ListWebhooks(ctx, models.AllOrgs(), fx.OrgA.ID)
		if err != nil || len(eps) != 1 {
			t.Fatalf("%d endpoints (%v), want 1", len(eps), err)
		}
		ep := eps[0]
		r = a.get(path)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, "https://hooks.alpha.example/in", "visit.approved", "outage.closed", zh("webhooks.log_empty"))
		wantNoBody(t, r, secret, "whsec_")
		wantNoBody(t, a.get("/webhooks"), zh("webhooks.admin_only"))
		wantBody(t, a.get("/webhooks"), "https://hooks.alpha.example/in")
		wantAudit(t, staff, models.AuditWebhookCreated, fx.CustA.Email, ids(ep.ID))
		wantNoBody(t, staff.get("/admin/audit"), secret)

		// Step: A change with mistakes keeps them; a good one is saved.
		r = a.submit(path, path, url.Values{"url": {"ftp://x"}, "events": {models.HookStatementClosed}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("webhooks.error.url_invalid"), `value="ftp://x"`)
		wantRedirect(t, a.submit(path, path, url.Values{"url": {"https://hooks.alpha.example/v2"}, "description": {"bridge"},
			"events": {models.HookStatementClosed}}), path)
		wantBody(t, a.get(path), "https://hooks.alpha.example/v2", "statement.closed", zh("flash.webhook_updated"))
		wantAudit(t, staff, models.AuditWebhookUpdated, fx.CustA.Email, ids(ep.ID))

		// Step: A test event is queued and shown with its payload.
		r = a.submit(path, path+"/test", nil)
		m = hookDeliveryRE.FindStringSubmatch(r.Header.Get("Location"))
		if r.StatusCode != http.StatusSeeOther || m == nil {
			t.Fatalf("test: %d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		dpath := r.Header.Get("Location")
		r = a.get(dpath)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, "&#34;type&#34;:&#34;ping&#34;", zh("webhooks.state.pending"), zh("webhooks.no_attempts"))
		wantNoBody(t, r, zh("webhooks.redeliver"))
		wantAudit(t, staff, models.AuditWebhookTested, fx.CustA.Email, ids(ep.ID))
		wantBody(t, a.get(path), "ping", "#"+m[1])
		// A second test while the first is pending is refused, translated.
		wantRedirect(t, a.submit(path, path+"/test", nil), path)
		wantBody(t, a.get(path), zh("flash.webhook_test_pending"))
		// Still pending: not redelivered.
		wantRedirect(t, a.submit(dpath, dpath+"/redeliver", nil), dpath)
		wantBody(t, a.get(dpath), zh("flash.webhook_still_pending"))
		// It fails for good; then the administrator sends it again.
		jobs, err := e.store.ClaimHookDeliveries(ctx, "test", time.Minute, 10)
		if err != nil || len(jobs) != 1 || jobs[0].Secret != secret || jobs[0].URL != "https://hooks.alpha.example/v2" {
			t.Fatalf("claimed %+v (%v)", jobs, err)
		}
		if _, err := e.store.RecordHookAttempt(ctx, "test", jobs[0].Delivery.ID, models.HookResult{StatusCode: 410,
			Problem: "answered 410 Gone", Response: "<gone>"}, 15); err != nil {
			t.Fatal(err)
		}
		r = a.get(dpath)
		wantBody(t, r, zh("webhooks.state.failed"), "410 · answered 410 Gone", "&lt;gone&gt;", zh("webhooks.redeliver"))
		wantRedirect(t, a.submit(dpath, dpath+"/redeliver", nil), dpath)
		wantBody(t, a.get(dpath), zh("webhooks.state.pending"), zh("flash.webhook_redelivered"))

		// Step: Rotating shows a new secret once; the old one is gone.
		r = a.submit(path, path+"/rotate", nil)
		wantStatus(t, r, http.StatusOK)
		fresh := hookSecretRE.FindString(r.Body)
		if fresh == "" || fresh == secret {
			t.Fatalf("rotated secret %q (was %q)", fresh, secret)
		}
		wantNoBody(t, a.get(path), fresh)
		wantAudit(t, staff, models.AuditWebhookRotated, fx.CustA.Email, ids(ep.ID))
		if jobs, err := e.store.ClaimHookDeliveries(ctx, "test", time.Minute, 10); err != nil || len(jobs) != 1 || jobs[0].Secret != fresh {
			t.Fatalf("after rotation the sender signs with %+v (%v)", jobs, err)
		}

		// Step: Disabled and enabled again.
		wantRedirect(t, a.submit(path, path+"/disable", nil), path)
		wantBody(t, a.get(path), zh("webhooks.disabled"), zh("webhooks.enable"))
		wantRedirect(t, a.submit(path, path+"/enable", nil), path)
		wantBody(t, a.get(path), zh("webhooks.enabled"))

		// Step: Every form carries its CSRF token: without it, refused.
		for _, p := range []string{path, path + "/test", path + "/rotate", path + "/delete", path + "/enable", dpath + "/redeliver", "/webhooks"} {
			wantStatus(t, a.post(p, url.Values{"url": {"https://x.example/"}, "events": {models.HookPing}}), http.StatusForbidden)
		}

		// Step: A colleague reads, and may change nothing.
		c := e.as(t, colleague)
		r = c.get(path)
		wantStatus(t, r, http.StatusOK)
		wantNoBody(t, r, zh("webhooks.edit"), zh("webhooks.send_test"))
		wantStatus(t, c.get(dpath), http.StatusOK)
		for _, p := range []string{path, path + "/test", path + "/rotate", path + "/delete", path + "/disable", dpath + "/redeliver"} {
			wantStatus(t, c.submit(path, p, url.Values{"url": {"https://x.example/"}, "events": {models.HookPing}}), http.StatusForbidden)
		}
		wantStatus(t, c.get("/webhooks/new"), http.StatusForbidden)

		// Step: Another organization's administrator finds nothing of it.
		if err := e.store.SetOrgAdmin(ctx, models.SystemActor("test"), fx.CustB.ID, true); err != nil {
			t.Fatal(err)
		}
		b := e.as(t, fx.CustB)
		wantNoBody(t, b.get("/webhooks"), "hooks.alpha.example")
		wantStatus(t, b.get(path), http.StatusNotFound)
		wantStatus(t, b.get(dpath), http.StatusNotFound)
		for _, p := range []string{path, path + "/test", path + "/rotate", path + "/delete", path + "/enable", path + "/disable", dpath + "/redeliver"} {
			wantStatus(t, b.submit("/webhooks", p, url.Values{"url": {"https://x.example/"}, "events": {models.HookPing}}), http.StatusNotFound)
		}
		wantStatus(t, b.get("/webhooks/0123456789abcdef"), http.StatusNotFound)
		wantStatus(t, b.get("/webhooks/not-a-ref"), http.StatusNotFound)
		if got, err := e.store.GetWebhook(ctx, models.AllOrgs(), ref); err != nil || got.URL != "https://hooks.alpha.example/v2" || !got.Enabled {
			t.Fatalf("Alpha's endpoint after Bravo's posts: %+v (%v)", got, err)
		}

		// Step: Deleted, with its log.
		wantRedirect(t, a.submit(path, path+"/delete", nil), "/webhooks")
		wantStatus(t, a.get(path), http.StatusNotFound)
		wantStatus(t, a.get(dpath), http.StatusNotFound)
		wantAudit(t, staff, models.AuditWebhookDeleted, fx.CustA.Email, ids(ep.ID))
		if strings.Contains(a.get("/webhooks").Body, "hooks.alpha.example") {
			t.Error("the deleted endpoint is still listed")
		}
	})
}
