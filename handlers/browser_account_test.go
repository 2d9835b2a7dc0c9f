package handlers_test

import (
	"bytes"
	"context"
	"image"
	_ "image/png"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/pquerna/otp/totp"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// scanQR reads the QR code in a picture, the way a phone's camera does.
func scanQR(t *testing.T, pic []byte) string {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(pic))
	if err != nil {
		t.Fatalf("decode the screenshot of the QR code: %v", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("the QR code on the page does not scan: %v", err)
	}
	return res.GetText()
}

// both takes a screenshot of the page at desktop and phone width and
// fails when the page scrolls sideways on the phone.
func both(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	for _, w := range []struct {
		width, height int64
		suffix        string
	}{{1366, 900, "-1366"}, {390, 844, "-390"}} {
		if _, err := chromedp.Run(ctx, chromedp.EmulateViewport(w.width, w.height)); err != nil {
			t.Fatal(err)
		}
		shot(t, ctx, name+w.suffix)
		if w.width == 390 {
			wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > 390`))
			if err != nil || wide {
				t.Errorf("%s scrolls sideways at 390 px (%v)", name, err)
			}
		}
	}
	if _, err := chromedp.Run(ctx, chromedp.EmulateViewport(1366, 900)); err != nil {
		t.Fatal(err)
	}
}

// submitSecondFactor types a code on the second-factor page and sends it.
func submitSecondFactor(t *testing.T, ctx context.Context, base, email, code string) string {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#f-email")),
		chromedp.SendKeys(chromedp.CSS("#f-email"), email),
		chromedp.SendKeys(chromedp.CSS("#f-password"), dbtest.Password),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/login/totp"] #f-code`)),
	)
	if err != nil {
		t.Fatalf("password step: %v", err)
	}
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#f-code"), code),
		chromedp.Click(chromedp.CSS(`form[action="/login/totp"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("main h1")),
		chromedp.Sleep(200*time.Millisecond),
	)
	if err != nil {
		t.Fatalf("second-factor step: %v", err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func signOutInBrowser(t *testing.T, ctx context.Context) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#f-email")),
	)
	if err != nil {
		t.Fatalf("sign out: %v", err)
	}
}

// A customer sets up two-step verification by scanning the QR code on the
// page, signs in with a code from the scanned key, and later with a
// recovery code, which then does not work a second time.
func TestBrowserTOTPEnrolmentByScanningAndRecoveryCodes(t *testing.T) {
	base, fx := startPortal(t)
	ctx := newBrowser(t)
	zhT := locales.For("zh-CN")
	u := fx.CustA

	signInInBrowser(t, ctx, base, u.Email)
	both(t, ctx, "account-before-totp")
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/account/totp"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/account/totp/begin"] button`)),
		chromedp.Click(chromedp.CSS(`form[action="/account/totp/begin"] button`)),
		chromedp.WaitVisible(chromedp.CSS("img.qr")),
	)
	if err != nil {
		t.Fatalf("begin set-up: %v", err)
	}
	// The image has loaded: an image templ refused would have no width.
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(function(){var i=document.querySelector('img.qr');return i.complete && i.naturalWidth > 0})()`))
	if err != nil || !loaded {
		t.Fatalf("the QR image did not load (%v)", err)
	}
	both(t, ctx, "totp-setup")

	// Scan what is on screen, as a phone would.
	pic, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS("img.qr")))
	if err != nil {
		t.Fatal(err)
	}
	uri := scanQR(t, pic)
	key, err := url.Parse(uri)
	if err != nil || key.Scheme != "otpauth" {
		t.Fatalf("scanned %q, not an otpauth URI", uri)
	}
	secret := key.Query().Get("secret")
	shown := strings.ReplaceAll(text(t, ctx, "code.secret"), " ", "")
	if secret == "" || shown != secret {
		t.Fatalf("scanned secret %q, the page shows %q", secret, shown)
	}
	if !strings.Contains(key.Query().Get("issuer")+key.Path, u.Email) && !strings.Contains(uri, url.QueryEscape(u.Email)) {
		t.Errorf("scanned URI %q does not name the account %s", uri, u.Email)
	}

	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#f-code"), code),
		chromedp.Click(chromedp.CSS(`form[action="/account/totp/confirm"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#recovery-codes")),
	)
	if err != nil {
		t.Fatalf("confirm: %v", err)
	}
	codes, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#recovery-codes code')).map(function(c){return c.textContent})`))
	if err != nil || len(codes) != 10 {
		t.Fatalf("recovery codes on the page: %v (%v)", codes, err)
	}
	both(t, ctx, "recovery-codes")
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/account"), chromedp.WaitVisible(chromedp.CSS("main h1"))); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, "main"); !strings.Contains(got, zhT.T("account.recovery_left", 10)) {
		t.Errorf("account page does not say 10 codes are left:\n%s", got)
	}
	both(t, ctx, "account-totp-on")
	signOutInBrowser(t, ctx)

	// Sign in with the next code of the scanned key (the current one was
	// used to confirm, and a code works once).
	next, err := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if loc := submitSecondFactor(t, ctx, base, u.Email, next); strings.Contains(loc, "/login") {
		t.Fatalf("the scanned key's code did not sign in: at %s, page:\n%s", loc, text(t, ctx, "main"))
	}
	signOutInBrowser(t, ctx)

	// A recovery code signs in once; the page says so.
	loc := submitSecondFactor(t, ctx, base, u.Email, codes[0])
	if !strings.HasSuffix(loc, "/account") {
		t.Fatalf("after a recovery code at %s, want /account", loc)
	}
	if got := text(t, ctx, "main"); !strings.Contains(got, zhT.T("flash.recovery_code_used")) || !strings.Contains(got, zhT.T("account.recovery_left", 9)) {
		t.Errorf("the account page does not tell of the used code:\n%s", got)
	}
	both(t, ctx, "account-after-recovery")
	signOutInBrowser(t, ctx)

	// The same code again is refused, and the page says why.
	loc = submitSecondFactor(t, ctx, base, u.Email, codes[0])
	if !strings.HasSuffix(loc, "/login/totp") {
		t.Fatalf("the used recovery code was taken again: at %s", loc)
	}
	if got := text(t, ctx, "main"); !strings.Contains(got, zhT.T("totp.bad_code")) {
		t.Errorf("no refusal on the page:\n%s", got)
	}
	both(t, ctx, "second-factor-refused")
}

// The add-check form shows only the fields of the chosen kind (static
// script: the CSP forbids inline script).
func TestBrowserAddCheckFormShowsTheFieldsOfItsKind(t *testing.T) {
	base, fx, store := startPortalStore(t)
	dev, err := store.CreateDevice(context.Background(), models.SystemActor("test"), models.DeviceInput{OrgID: fx.OrgA.ID, Name: "web-01", Address: "127.0.0.20"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := newBrowser(t)
	signInInBrowser(t, ctx, base, fx.Engineer.Email)
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/devices/"+ids(dev.ID)+"/edit"), chromedp.WaitVisible(chromedp.CSS("#f-kind"))); err != nil {
		t.Fatal(err)
	}
	visible := func(kind string) map[string]bool {
		t.Helper()
		js := `(function(){var s=document.getElementById('f-kind');s.value='` + kind + `';s.dispatchEvent(new Event('change',{bubbles:true}));
			var v=function(sel){var e=document.querySelector(sel);return !!e && e.offsetParent !== null};
			return {expect: v('#f-expect_min'), keyword: v('#f-keyword'), starttls: v('input[name=starttls]'), target: v('#f-target'), interval: v('#f-interval')}})()`
		got, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]bool](js))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	for kind, want := range map[string]map[string]bool{
		"icmp":  {"expect": false, "keyword": false, "starttls": false, "target": true, "interval": true},
		"https": {"expect": true, "keyword": true, "starttls": false, "target": true, "interval": true},
		"smtp":  {"expect": false, "keyword": false, "starttls": true, "target": true, "interval": true},
		"tcp":   {"expect": false, "keyword": false, "starttls": false, "target": true, "interval": true},
	} {
		got := visible(kind)
		for f, w := range want {
			if got[f] != w {
				t.Errorf("kind %s: field %s visible %v, want %v", kind, f, got[f], w)
			}
		}
	}
	visible("http")
	shot(t, ctx, "add-check-http-1366")
}
