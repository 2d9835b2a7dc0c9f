package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/colo-portal/portal/models"
)

// The tokens page points to the API's own description, where someone
// making a token looks for what it can do.
func TestTokensPageLinksTheOpenAPIDocument(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		r := e.as(t, e.fx.CustA).get("/account/tokens")
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, zh("tokens.about_docs"), `<a href="/api/v1/openapi.json">`)
		wantStatus(t, newClient(t, e.app).get("/api/v1/openapi.json"), http.StatusOK)
	})
}

// A new endpoint's secret is in a read-only field with a Copy button, like
// a new token's, and the endpoint's page says how a receiver checks a
// signature; the secret is on the creation answer only.
func TestWebhookSecretCopyAndVerifyHint(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		if err := e.store.SetOrgAdmin(ctx, models.SystemActor("test"), e.fx.CustA.ID, true); err != nil {
			t.Fatal(err)
		}
		a := e.as(t, e.fx.CustA)
		r := a.submit("/webhooks/new", "/webhooks", url.Values{"url": {"https://hooks.alpha.example/in"}, "events": {models.HookVisitApproved}})
		wantStatus(t, r, http.StatusCreated)
		secretField := regexp.MustCompile(`<textarea[^>]*id="hook-secret"[^>]*readonly[^>]*>whsec_[A-Za-z0-9_-]{43}</textarea>`)
		if !secretField.MatchString(r.Body) {
			t.Errorf("the new secret is not in a read-only field:\n%s", r.Body)
		}
		wantBody(t, r, `data-copy="hook-secret"`, zh("tokens.copy"), zh("webhooks.verify_hint"))
		later := a.get(r.Header.Get("Location"))
		wantStatus(t, later, http.StatusOK)
		wantBody(t, later, zh("webhooks.verify_hint"))
		wantNoBody(t, later, `id="hook-secret"`, "whsec_")
	})
}
