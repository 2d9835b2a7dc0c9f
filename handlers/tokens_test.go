package handlers_test

import (
	"bytes"
	"context"
	"errors"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
)

// tokenSecretRE finds a new token in the read-only field of its answer page.
var tokenSecretRE = regexp.MustCompile(`<textarea[^>]* id="f-new-token"[^>]* readonly[^>]*>(cpt_[A-Za-z0-9_-]{43})</textarea>`)

// makeToken makes a token named name on c's token page, through the form
// with its CSRF and one-time tokens, and returns the answer and the secret
// on it.
func makeToken(t *testing.T, c *client, name, scope, days string) (*response, string) {
	t.Helper()
	csrf, once := c.formTokens("/account/tokens", "/account/tokens")
	r := c.post("/account/tokens", url.Values{"_csrf": {csrf}, "_once": {once}, "name": {name}, "scope": {scope}, "days": {days}})
	wantStatus(t, r, http.StatusOK)
	m := tokenSecretRE.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no new token on the answer page:\n%s", clip(r.Body))
	}
	return r, m[1]
}

// tokenIDOf is the ID of a user's token by its name.
func tokenIDOf(t *testing.T, e *env, u *models.User, name string) int64 {
	t.Helper()
	ts, err := e.store.ListAPITokens(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range ts {
		if tok.Name == name {
			return tok.ID
		}
	}
	t.Fatalf("%s has no token %q: %+v", u.Email, name, ts)
	return 0
}

// Every role has a token page, reached from the account page; only admins
// have the list of everyone's tokens, in their menu.
func TestTokenPagesForEveryRole(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		fx := e.fx
		for _, u := range []*models.User{fx.CustA, fx.Reception, fx.Engineer, fx.Service, fx.Admin} {
			c := e.as(t, u)
			acc := c.get("/account")
			wantStatus(t, acc, http.StatusOK)
			wantBody(t, acc, `href="/account/tokens"`)
			r := c.get("/account/tokens")
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, zh("tokens.title"), zh("tokens.none"), `action="/account/tokens"`, `name="_once"`,
				`<option value="90" selected>`, `name="scope" value="read" checked`)
			admin := c.get("/admin/tokens")
			if u.Role == models.RoleAdmin {
				wantStatus(t, admin, http.StatusOK)
				wantBody(t, admin, zh("tokens.admin_title"), zh("tokens.admin_none"))
				wantBody(t, acc, `href="/admin/tokens"`)
			} else {
				wantStatus(t, admin, http.StatusForbidden)
				wantNoBody(t, acc, `href="/admin/tokens"`)
			}
		}
		wantRedirect(t, newClient(t, e.app).get("/account/tokens"), "/login?next=%2Faccount%2Ftokens")
	})
}

// A new token is on the answer page of its POST and nowhere else: not in a
// header, a cookie, a later page or the log. It works as its user; the list
// shows only its first characters.
func TestTokenIsShownOnce(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		var logs bytes.Buffer
		e.app = newApp(e.store, func(d *handlers.Deps) {
			d.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		})
		cust := e.as(t, e.fx.CustA)

		// No CSRF token: refused, nothing made.
		wantStatus(t, cust.post("/account/tokens", url.Values{"name": {"nocsrf"}, "scope": {"read"}, "days": {"30"}}), http.StatusForbidden)
		if ts, err := e.store.ListAPITokens(t.Context(), e.fx.CustA.ID); err != nil || len(ts) != 0 {
			t.Fatalf("after a post without CSRF: %d tokens, %v", len(ts), err)
		}

		r, secret := makeToken(t, cust, "Zabbix <prod>", "write", "30")
		wantBody(t, r, zh("tokens.once"), tr("zh-CN", "tokens.new_title", "Zabbix <prod>"), zh("tokens.scope_write"), `data-copy="f-new-token"`)
		if loc := r.Header.Get("Location"); loc != "" {
			t.Errorf("the answer redirects to %q", loc)
		}
		if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("the answer page may be stored: Cache-Control %q", cc)
		}
		for k, vs := range r.Header {
			for _, v := range vs {
				if strings.Contains(v, secret) || strings.Contains(v, secret[len(models.TokenPrefix):]) {
					t.Errorf("header %s holds the token", k)
				}
			}
		}
		for k, v := range cust.cookies {
			if strings.Contains(v, secret) {
				t.Errorf("cookie %s holds the token", k)
			}
		}
		tok, u, err := e.store.AuthenticateToken(t.Context(), secret, "192.0.2.7")
		if err != nil || u.ID != e.fx.CustA.ID || !tok.CanWrite() || tok.Name != "Zabbix <prod>" {
			t.Fatalf("the token shown: %+v %+v %v", tok, u, err)
		}

		// Later pages: its name and first characters, never the rest.
		list := cust.get("/account/tokens")
		wantBody(t, list, html.EscapeString("Zabbix <prod>"), secret[:10]+"…", zh("tokens.state.live"), "192.0.2.7",
			`action="/account/tokens/`+ids(tok.ID)+`/revoke"`)
		wantNoBody(t, list, secret, zh("tokens.once"), "<prod>")
		admin := e.as(t, e.fx.Admin)
		adm := admin.get("/admin/tokens")
		wantBody(t, adm, e.fx.CustA.Email, e.fx.OrgA.Name, secret[:10]+"…", "192.0.2.7", tr("zh-CN", "tokens.admin_count", 1))
		for _, page := range []*response{cust.get("/account"), cust.get("/"), adm, admin.get("/admin/audit")} {
			wantNoBody(t, page, secret)
		}

		// The same form again, after or in parallel: no second token, and
		// the repeat lands on the list, without the secret.
		csrf, once := cust.formTokens("/account/tokens", "/account/tokens")
		form := url.Values{"_csrf": {csrf}, "_once": {once}, "name": {"ticketing"}, "scope": {"read"}, "days": {"7"}}
		first := cust.post("/account/tokens", form)
		wantStatus(t, first, http.StatusOK)
		again := cust.post("/account/tokens", form)
		wantRedirect(t, again, "/account/tokens")
		m := tokenSecretRE.FindStringSubmatch(first.Body)
		if m == nil {
			t.Fatalf("no token on the first post's page:\n%s", clip(first.Body))
		}
		wantNoBody(t, cust.get("/account/tokens"), m[1])
		csrf, once = cust.formTokens("/account/tokens", "/account/tokens")
		form = url.Values{"_csrf": {csrf}, "_once": {once}, "name": {"parallel"}, "scope": {"read"}, "days": {"7"}}
		for _, resp := range cust.parallel("/account/tokens", form, 5) {
			if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusSeeOther {
				t.Errorf("a parallel post answered %d", resp.StatusCode)
			}
		}
		ts, err := e.store.ListAPITokens(t.Context(), e.fx.CustA.ID)
		if err != nil || len(ts) != 3 {
			t.Fatalf("after one token, a repeated form and five parallel posts: %d tokens (%v), want 3", len(ts), err)
		}

		if ev := auditEvents(t, e, models.AuditTokenCreated); len(ev) != 3 || ev[len(ev)-1].OrgID == nil ||
			*ev[len(ev)-1].OrgID != e.fx.OrgA.ID || strings.Contains(ev[len(ev)-1].Detail, secret) {
			t.Fatalf("audit of the creations: %+v", ev)
		}
		if strings.Contains(logs.String(), secret) || strings.Contains(logs.String(), secret[len(models.TokenPrefix):]) {
			t.Fatalf("the log holds the token:\n%s", logs.String())
		}
		if !strings.Contains(logs.String(), "/account/tokens") {
			t.Fatalf("the requests were not logged:\n%s", logs.String())
		}
	})
}

// A refused token form says what is wrong next to each field, translated,
// and keeps what was typed and chosen.
func TestTokenFormRefusesBadInput(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		cust := e.as(t, e.fx.CustA)
		for _, tc := range []struct {
			name        string
			form        url.Values
			want, avoid []string
		}{
			{"no name", url.Values{"name": {"  "}, "scope": {"write"}, "days": {"180"}},
				[]string{zh("error.required"), `aria-invalid="true" aria-describedby="h-name e-name"`, `<option value="180" selected>`, `name="scope" value="write" checked`},
				[]string{zh("tokens.error.days", "366")}},
			{"expiry not a number", url.Values{"name": {"监控 <a>"}, "scope": {"write"}, "days": {"soon"}},
				[]string{zh("tokens.error.days", "366"), `value="` + html.EscapeString("监控 <a>") + `"`, `name="scope" value="write" checked`,
					`id="f-days" name="days" aria-invalid="true" aria-describedby="h-days e-days"`, `<option value="90" selected>`},
				[]string{zh("error.required"), "监控 <a>"}},
			{"expiry too long", url.Values{"name": {"x"}, "scope": {"read"}, "days": {"367"}},
				[]string{zh("tokens.error.days", "366"), `value="x"`, `name="scope" value="read" checked`}, []string{`aria-describedby="h-name e-name"`}},
			{"both", url.Values{"name": {""}, "days": {"0"}},
				[]string{zh("tokens.error.days", "366"), zh("error.required")}, nil},
			{"a control character", url.Values{"name": {"a\x07b"}, "days": {"30"}},
				[]string{`aria-describedby="h-name e-name"`, `<option value="30" selected>`}, []string{`aria-describedby="h-days e-days"`}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := cust.submit("/account/tokens", "/account/tokens", tc.form)
				wantStatus(t, r, http.StatusUnprocessableEntity)
				wantBody(t, r, tc.want...)
				wantNoBody(t, r, tc.avoid...)
				if tokenSecretRE.MatchString(r.Body) {
					t.Fatalf("a refused form shows a token")
				}
			})
		}
		// An expiry the menu does not offer but the rule allows is made
		// as asked.
		_, secret := makeToken(t, cust, "forty-five", "read", "45")
		tok, _, err := e.store.AuthenticateToken(t.Context(), secret, "")
		if err != nil || tok.ExpiresAt.Sub(tok.CreatedAt).Hours() != 45*24 {
			t.Fatalf("a 45-day token: %+v %v", tok, err)
		}
		if ts, err := e.store.ListAPITokens(t.Context(), e.fx.CustA.ID); err != nil || len(ts) != 1 {
			t.Fatalf("the refused forms made tokens: %d, %v", len(ts), err)
		}
		// English too.
		en := e.as(t, e.fx.CustB)
		wantRedirect(t, en.submit("/account/tokens", "/lang", url.Values{"lang": {"en"}, "next": {"/account/tokens"}}), "/account/tokens")
		r := en.submit("/account/tokens", "/account/tokens", url.Values{"name": {""}, "days": {"0"}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, tr("en", "tokens.error.days", "366"), tr("en", "error.required"), tr("en", "tokens.title"))
	})
}

// A user revokes their own token; another customer's revoke of it is 404
// (as a token that does not exist) and changes nothing; staff other than
// admins have no admin list; an admin revokes anyone's, from either page.
// Each revocation is audited, and the token stops working.
func TestTokenRevocation(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		fx := e.fx
		custA, custB, eng, admin := e.as(t, fx.CustA), e.as(t, fx.CustB), e.as(t, fx.Engineer), e.as(t, fx.Admin)
		_, secA := makeToken(t, custA, "mine", "read", "30")
		_, secA2 := makeToken(t, custA, "second", "write", "90")
		_, secE := makeToken(t, eng, "engineer's", "read", "7")
		idA, idA2, idE := tokenIDOf(t, e, fx.CustA, "mine"), tokenIDOf(t, e, fx.CustA, "second"), tokenIDOf(t, e, fx.Engineer, "engineer's")
		live := func(secret string) bool {
			_, _, err := e.store.AuthenticateToken(t.Context(), secret, "")
			if err != nil && !errors.Is(err, models.ErrTokenInvalid) {
				t.Fatal(err)
			}
			return err == nil
		}

		// Refusals first: nothing changes.
		wantNoBody(t, custB.get("/account/tokens"), "mine", "second")
		for _, tc := range []struct {
			name   string
			c      *client
			path   string
			status int
		}{
			{"another customer's token", custB, "/account/tokens/" + ids(idA) + "/revoke", http.StatusNotFound},
			{"staff's token by a customer", custB, "/account/tokens/" + ids(idE) + "/revoke", http.StatusNotFound},
			{"a customer's token by an engineer", eng, "/account/tokens/" + ids(idA) + "/revoke", http.StatusNotFound},
			{"no such token", custA, "/account/tokens/999999/revoke", http.StatusNotFound},
			{"not an ID", custA, "/account/tokens/x/revoke", http.StatusNotFound},
			{"the admin list by a customer", custA, "/admin/tokens/" + ids(idA) + "/revoke", http.StatusForbidden},
			{"the admin list by an engineer", eng, "/admin/tokens/" + ids(idA) + "/revoke", http.StatusForbidden},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantStatus(t, tc.c.submit("/account/tokens", tc.path, nil), tc.status)
			})
		}
		wantStatus(t, custA.post("/account/tokens/"+ids(idA)+"/revoke", nil), http.StatusForbidden) // no CSRF token
		wantStatus(t, admin.post("/admin/tokens/"+ids(idA)+"/revoke", nil), http.StatusForbidden)
		if !live(secA) || !live(secA2) || !live(secE) {
			t.Fatal("a refused revocation revoked a token")
		}
		if n := len(auditEvents(t, e, models.AuditTokenRevoked)); n != 0 {
			t.Fatalf("%d revocations audited after refusals", n)
		}

		// Its own user.
		r := custA.submit("/account/tokens", "/account/tokens/"+ids(idA)+"/revoke", nil)
		wantRedirect(t, r, "/account/tokens")
		list := custA.get("/account/tokens")
		wantBody(t, list, zh("flash.api_token_revoked"), zh("tokens.state.revoked"), `action="/account/tokens/`+ids(idA2)+`/revoke"`)
		wantNoBody(t, list, `action="/account/tokens/`+ids(idA)+`/revoke"`)
		if live(secA) || !live(secA2) {
			t.Fatal("revoking one token: the wrong one stopped working")
		}
		// Twice: nothing more happens, and nothing more is audited.
		wantRedirect(t, custA.submit("/account/tokens", "/account/tokens/"+ids(idA)+"/revoke", nil), "/account/tokens")

		// An admin, from the list of every live token and from the account page's route.
		adm := admin.get("/admin/tokens")
		wantBody(t, adm, fx.Engineer.Email, zh("tokens.staff"), `action="/admin/tokens/`+ids(idA2)+`/revoke"`)
		wantNoBody(t, adm, `action="/admin/tokens/`+ids(idA)+`/revoke"`)
		wantRedirect(t, admin.submit("/admin/tokens", "/admin/tokens/"+ids(idA2)+"/revoke", nil), "/admin/tokens")
		wantRedirect(t, admin.submit("/account/tokens", "/account/tokens/"+ids(idE)+"/revoke", nil), "/account/tokens")
		if live(secA2) || live(secE) {
			t.Fatal("an admin's revocation left a token working")
		}
		wantBody(t, admin.get("/admin/tokens"), zh("tokens.admin_none"))

		ev := auditEvents(t, e, models.AuditTokenRevoked)
		if len(ev) != 3 {
			t.Fatalf("%d revocations audited, want 3: %+v", len(ev), ev)
		}
		byTarget := map[int64]models.AuditEvent{}
		for _, x := range ev {
			byTarget[*x.TargetID] = x
		}
		if a := byTarget[idA]; a.ActorID == nil || *a.ActorID != fx.CustA.ID || a.OrgID == nil || *a.OrgID != fx.OrgA.ID {
			t.Errorf("the owner's revocation: %+v", a)
		}
		if a := byTarget[idA2]; a.ActorID == nil || *a.ActorID != fx.Admin.ID || a.OrgID == nil || *a.OrgID != fx.OrgA.ID {
			t.Errorf("the admin's revocation of a customer's token: %+v", a)
		}
		if a := byTarget[idE]; a.ActorID == nil || *a.ActorID != fx.Admin.ID || a.OrgID != nil {
			t.Errorf("the admin's revocation of an engineer's token: %+v", a)
		}
		// The audit log reads them as sentences.
		wantBody(t, admin.get("/admin/audit"), strings.ReplaceAll(zh("audit.say.auth.token_revoked"), "{name}", "second"))
	})
}

// A token made on the page works on the API as its user, is noted as used
// on the page, and is refused (401, WWW-Authenticate: Bearer) once revoked
// on the page, by its user or by an admin; it never opens a page.
func TestTokenFromThePageWorksOnTheAPIUntilRevoked(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		orgs := handlers.APIPrefix + "/organizations"
		cust, admin := e.as(t, e.fx.CustA), e.as(t, e.fx.Admin)
		for _, by := range []struct {
			name string
			c    *client
			page string
			path string
		}{
			{"its user", cust, "/account/tokens", "/account/tokens/"},
			{"an admin", admin, "/admin/tokens", "/admin/tokens/"},
		} {
			t.Run(by.name, func(t *testing.T) {
				_, secret := makeToken(t, cust, "api "+by.name, "read", "7")
				api := newAPIClient(t, e.app, secret)
				r := api.get(orgs)
				wantAPIStatus(t, r, http.StatusOK)
				var list handlers.List[handlers.APIOrganization]
				r.JSON(t, &list)
				if len(list.Data) != 1 || list.Data[0].ID != e.fx.OrgA.ID {
					t.Fatalf("the token's organizations: %+v", list)
				}
				// Seen on the page as used; the token opens no page.
				id := tokenIDOf(t, e, e.fx.CustA, "api "+by.name)
				ts, err := e.store.ListAPITokens(t.Context(), e.fx.CustA.ID)
				if err != nil {
					t.Fatal(err)
				}
				var used models.APIToken
				for _, x := range ts {
					if x.ID == id {
						used = x
					}
				}
				if used.LastUsedAt == nil || used.LastUsedIP == "" {
					t.Fatalf("the API's use was not noted: %+v", used)
				}
				wantBody(t, cust.get("/account/tokens"), `<tr id="token-`+ids(id)+`"`, tr("zh-CN", "tokens.from", used.LastUsedIP))
				page := newClient(t, e.app)
				page.header.Set("Authorization", "Bearer "+secret)
				wantRedirect(t, page.get("/account/tokens"), "/login?next=%2Faccount%2Ftokens")

				wantRedirect(t, by.c.submit(by.page, by.path+ids(id)+"/revoke", nil), by.page)
				r = api.get(orgs)
				wantAPIStatus(t, r, http.StatusUnauthorized)
				if h := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") {
					t.Fatalf("WWW-Authenticate %q after revocation", h)
				}
				r.Problem(t)
			})
		}
	})
}
