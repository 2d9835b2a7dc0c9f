package handlers_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// checkShownPage runs the walk's checks (width on a 390 px phone, touch
// targets, axe-core) on the page the browser shows now: the answer page of
// a POST, which the walk of GET routes never reaches.
func checkShownPage(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	m, err := chromedp.Run(ctx, chromedp.Evaluate[pageCheck](overflowJS))
	if err != nil {
		t.Fatalf("measure %s: %v", name, err)
	}
	if m.Viewport != phoneWidth {
		t.Fatalf("%s: the viewport is %d px wide, want %d", name, m.Viewport, phoneWidth)
	}
	if m.ScrollWidth > m.Viewport {
		t.Errorf("%s is %d px wide on a %d px phone; too wide: %s", name, m.ScrollWidth, m.Viewport, strings.Join(m.Wide, ", "))
	}
	if len(m.Tiny) > 0 {
		t.Errorf("%s: touch targets under 24 × 24 px: %s", name, strings.Join(m.Tiny, ", "))
	}
	shot(t, ctx, "tokens-"+regexp.MustCompile(`[^A-Za-z0-9-]+`).ReplaceAllString(name, "_"))
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](axeSource)); err != nil {
		t.Fatalf("inject axe-core into %s: %v", name, err)
	}
	vs, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](axeJS, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe-core on %s: %v", name, err)
	}
	for _, v := range vs {
		t.Errorf("%s: axe-core: %s", name, v)
	}
}

// On a phone, in both languages: a customer makes a token through the
// form, sees it once in a read-only field whose Copy button selects it
// whole, and the list afterwards shows only its first characters; an admin
// sees it among every live token. Each page fits and passes axe-core.
func TestBrowserTokenPagesOnAPhone(t *testing.T) {
	base, fx, store := startPortalStore(t)
	ctx := newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(phoneWidth, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2))); err != nil {
		t.Fatal(err)
	}
	signInInBrowser(t, ctx, base, fx.CustA.Email)
	secretRE := regexp.MustCompile(`^cpt_[A-Za-z0-9_-]{43}$`)
	var secrets []string
	for _, lang := range []string{"zh-CN", "en"} {
		if lang == "en" {
			switchLanguage(t, ctx, "en")
		}
		visit(t, ctx, base, "/account/tokens", "customer", true)
		err := chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.CSS("#f-name"), "Zabbix "+lang),
			chromedp.Click(chromedp.CSS(`input[name=scope][value=write]`)),
			chromedp.SetValue(chromedp.CSS("#f-days"), "30"),
			chromedp.Click(chromedp.CSS(`form[action="/account/tokens"] button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS("#f-new-token")),
		)
		if err != nil {
			t.Fatalf("%s: make a token: %v", lang, err)
		}
		checkShownPage(t, ctx, "the new token's page ("+lang+")")
		secret, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('f-new-token').value`))
		if err != nil || !secretRE.MatchString(secret) {
			t.Fatalf("%s: the field holds %q (%v)", lang, secret, err)
		}
		secrets = append(secrets, secret)
		// The Copy button, hidden without the script, selects the whole token.
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`button[data-copy="f-new-token"]`)),
			chromedp.Click(chromedp.CSS(`button[data-copy="f-new-token"]`))); err != nil {
			t.Fatalf("%s: press Copy: %v", lang, err)
		}
		sel, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const f = document.getElementById('f-new-token');
			return document.activeElement === f && f.selectionStart === 0 && f.selectionEnd === f.value.length; })()`))
		if err != nil || !sel {
			t.Errorf("%s: after Copy the token is not selected whole (%v)", lang, err)
		}
	}
	// Used from a long address, which the lists must wrap.
	if _, _, err := store.AuthenticateToken(context.Background(), secrets[0], "2001:db8:1234:5678:9abc:def0:1234:5678"); err != nil {
		t.Fatal(err)
	}
	// Later: the list, its first characters only, never a secret.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/account/tokens"), chromedp.WaitVisible(chromedp.CSS("main h1"))); err != nil {
		t.Fatal(err)
	}
	body, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if strings.Contains(body, s) || !strings.Contains(body, s[:10]+"…") {
			t.Errorf("the list afterwards: secret shown %v, prefix shown %v", strings.Contains(body, s), strings.Contains(body, s[:10]+"…"))
		}
	}
	checkShownPage(t, ctx, "/account/tokens with two tokens (en)")

	actx, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	defer cancel()
	if err := chromedp.Do(actx, chromedp.EmulateViewport(phoneWidth, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2))); err != nil {
		t.Fatal(err)
	}
	signInInBrowser(t, actx, base, fx.Admin.Email)
	for _, lang := range []string{"zh-CN", "en"} {
		if lang == "en" {
			switchLanguage(t, actx, "en")
		}
		visit(t, actx, base, "/admin/tokens", "admin", true)
		if n, err := chromedp.Run(actx, chromedp.Evaluate[int](`document.querySelectorAll('form[action^="/admin/tokens/"]').length`)); err != nil || n != 2 {
			t.Errorf("%s: the admin list has %d revoke buttons (%v), want 2", lang, n, err)
		}
	}
}
