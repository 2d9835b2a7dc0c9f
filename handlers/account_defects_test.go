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
