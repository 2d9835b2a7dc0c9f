package handlers_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

var qrSrcRE = regexp.MustCompile(`<img class="qr" src="([^"]*)"`)

// The set-up page's QR code is an image the browser can show: a PNG in a
// data: URL, not the address templ puts in place of a URL it refused.
func TestTOTPSetupShowsTheQRCode(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		c := e.as(t, e.fx.CustA)
		wantRedirect(t, c.submit("/account/totp", "/account/totp/begin", nil), "/account/totp")
		r := c.get("/account/totp")
		wantStatus(t, r, http.StatusOK)
		m := qrSrcRE.FindStringSubmatch(r.Body)
		if m == nil {
			t.Fatalf("no QR image on the page:\n%s", clip(r.Body))
		}
		const prefix = "data:image/png;base64,"
		if len(m[1]) < len(prefix) || m[1][:len(prefix)] != prefix {
			t.Fatalf("QR image src is %.60q, want a %s URL", m[1], prefix)
		}
		b, err := base64.StdEncoding.DecodeString(m[1][len(prefix):])
		if err != nil {
			t.Fatalf("QR image is not base64: %v", err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("QR image is not a PNG: %v", err)
		}
		if w := img.Bounds().Dx(); w < 100 {
			t.Errorf("QR image is %d px wide", w)
		}
	})
}

// The language chosen on the sign-in page is the session's, even when the
// user saved another one earlier.
func TestTheSignInPageLanguageWinsForTheSession(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		u := e.fx.CustA
		if err := e.store.SetLocale(context.Background(), u.ID, "zh-CN"); err != nil {
			t.Fatal(err)
		}
		c := newClient(t, e.app)
		wantRedirect(t, c.submit("/login", "/lang", url.Values{"lang": {"en"}, "next": {"/login"}}), "/login")
		wantRedirect(t, c.login(u.Email, "correct horse battery"), "/")
		r := c.get("/account")
		wantStatus(t, r, http.StatusOK)
		if got := r.Header.Get("Content-Language"); got != "en" {
			t.Errorf("Content-Language %q after choosing English on the sign-in page, want en", got)
		}
		wantBody(t, r, tr("en", "account.title"))

		// Another browser without a choice follows the saved language.
		other := signIn(t, e.app, u.Email, "correct horse battery")
		if got := other.get("/account").Header.Get("Content-Language"); got != "zh-CN" {
			t.Errorf("Content-Language %q without a choice, want the saved zh-CN", got)
		}
	})
}

func TestAdminRequiringASecondFactorSaysSo(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		admin := e.as(t, e.fx.Admin)
		page := "/admin/users/" + ids(e.fx.CustA.ID)
		wantRedirect(t, admin.submit(page, page+"/totp-required", url.Values{"required": {"1"}}), page)
		r := admin.get(page)
		wantBody(t, r, zh("flash.totp_required_on"))
		wantNoBody(t, r, zh("flash.saved"))
		wantRedirect(t, admin.submit(page, page+"/totp-required", url.Values{"required": {"0"}}), page)
		wantBody(t, admin.get(page), zh("flash.totp_required_off"))
	})
}

// Every mistake of the password form shows at once, translated.
func TestPasswordFormShowsEveryError(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		for _, lang := range []string{"en", "zh-CN"} {
			c := e.as(t, e.fx.CustA)
			c.cookies["portal_lang"] = lang
			if err := e.store.SetLocale(context.Background(), e.fx.CustA.ID, lang); err != nil {
				t.Fatal(err)
			}
			r := c.submit("/account", "/account/password", url.Values{"current": {""}, "password": {"short"}, "confirm": {"other"}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, tr(lang, "error.required"), tr(lang, "error.password_too_short", models.MinPasswordLen),
				tr(lang, "error.password_mismatch"), tr(lang, "account.password_retype"))
		}
	})
}

// A disabled user is never offered, nor accepted, as a requester.
func TestDisabledUserIsNoRequester(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		fx := e.fx
		gone, err := e.store.CreateUser(ctx, models.SystemActor("test"), models.UserInput{Email: "gone@alpha.test", Name: "Gone Gopher",
			Role: models.RoleCustomer, OrgID: &fx.OrgA.ID, Password: dbtest.Password})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.store.SetUserDisabled(ctx, models.SystemActor("test"), gone.ID, true); err != nil {
			t.Fatal(err)
		}
		dev, err := e.store.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: fx.OrgA.ID, Name: "web-01", Address: "127.0.0.20"})
		if err != nil {
			t.Fatal(err)
		}
		eng := e.as(t, fx.Engineer)
		page := "/orgs/" + ids(fx.OrgA.ID) + "/operations/new"
		r := eng.get(page)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, fx.CustA.Email)
		wantNoBody(t, r, "gone@alpha.test")
		r = eng.submit(page, "/orgs/"+ids(fx.OrgA.ID)+"/operations", url.Values{"title": {"Reboot"}, "work": {"Reboot the box"},
			"urgency": {"normal"}, "channel": {"phone"}, "requested_by": {ids(gone.ID)}, "devices": {ids(dev.ID)}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("operation.error.requester_disabled"))
	})
}
