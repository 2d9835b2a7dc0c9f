package handlers_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models/dbtest"
)

func TestLanguage(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		fx := e.fx
		if locales.For("en").T("login.title") == locales.For("zh-CN").T("login.title") {
			t.Fatal("login.title is the same in both languages; the test cannot tell them apart")
		}

		cases := []struct {
			name, accept, lang string
		}{
			{"English is chosen from Accept-Language en", "en", "en"},
			{"English is chosen from a regional English tag", "en-GB,en;q=0.9", "en"},
			{"Chinese is chosen from Accept-Language zh-CN", "zh-CN", "zh-CN"},
			{"Chinese is chosen from a traditional Chinese tag", "zh-TW", "zh-CN"},
			{"the higher quality of two supported languages wins", "en;q=0.4, zh;q=0.8", "zh-CN"},
			{"Chinese is the default without Accept-Language", "", "zh-CN"},
			{"Chinese is the default for an unsupported language", "fr-FR", "zh-CN"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := newClient(t, e.app)
				if tc.accept != "" {
					c.header.Set("Accept-Language", tc.accept)
				}
				r := c.get("/login")
				wantStatus(t, r, http.StatusOK)
				wantBody(t, r, tr(tc.lang, "login.title"), `<html lang="`+tc.lang+`"`)
				other := "en"
				if tc.lang == "en" {
					other = "zh-CN"
				}
				wantNoBody(t, r, tr(other, "login.intro"))
				if got := r.Header.Get("Content-Language"); got != tc.lang {
					t.Errorf("Content-Language %q, want %q", got, tc.lang)
				}
			})
		}

		t.Run("the login page says Sign in in English and 登录 in Chinese", func(t *testing.T) {
			en := newClient(t, e.app)
			en.header.Set("Accept-Language", "en")
			wantBody(t, en.get("/login"), "Sign in")
			zhc := newClient(t, e.app)
			zhc.header.Set("Accept-Language", "zh-CN")
			wantBody(t, zhc.get("/login"), "登录")
		})

		t.Run("a chosen language outranks Accept-Language", func(t *testing.T) {
			c := newClient(t, e.app)
			c.header.Set("Accept-Language", "zh-CN")
			r := c.submit("/login", "/lang", url.Values{"lang": {"en"}, "next": {"/login"}})
			wantRedirect(t, r, "/login")
			wantBody(t, c.get("/login"), tr("en", "login.title"))
		})

		t.Run("the language switch does not redirect off-site", func(t *testing.T) {
			c := newClient(t, e.app)
			r := c.submit("/login", "/lang", url.Values{"lang": {"en"}, "next": {"https://evil.example/"}})
			wantRedirect(t, r, "/")
		})

		t.Run("an unsupported language is a bad request", func(t *testing.T) {
			c := newClient(t, e.app)
			wantStatus(t, c.submit("/login", "/lang", url.Values{"lang": {"fr"}}), http.StatusBadRequest)
		})

		t.Run("the language switch needs the CSRF token", func(t *testing.T) {
			c := newClient(t, e.app)
			c.get("/login")
			wantStatus(t, c.post("/lang", url.Values{"lang": {"en"}}), http.StatusForbidden)
		})

		t.Run("a signed-in user's language is remembered in a new session", func(t *testing.T) {
			c := e.as(t, fx.CustA)
			c.header.Set("Accept-Language", "zh-CN")
			wantBody(t, c.get("/"), tr("zh-CN", "home.service_rep"))
			wantRedirect(t, c.submit("/", "/lang", url.Values{"lang": {"en"}, "next": {"/"}}), "/")
			wantBody(t, c.get("/"), tr("en", "home.service_rep"))
			if got := e.user(t, fx.CustA.ID).Locale; got != "en" {
				t.Fatalf("user locale %q, want en", got)
			}

			// Another browser, asking for Chinese, with no language cookie.
			fresh := newClient(t, e.app)
			fresh.header.Set("Accept-Language", "zh-CN")
			wantRedirect(t, fresh.login(fx.CustA.Email, dbtest.Password), "/")
			delete(fresh.cookies, "portal_lang") // the profile alone must decide
			r := fresh.get("/")
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, tr("en", "home.service_rep"), `<html lang="en"`)
			wantNoBody(t, r, tr("zh-CN", "home.service_rep"))

			// Switching back is remembered too.
			wantRedirect(t, fresh.submit("/", "/lang", url.Values{"lang": {"zh-CN"}, "next": {"/"}}), "/")
			if got := e.user(t, fx.CustA.ID).Locale; got != "zh-CN" {
				t.Fatalf("user locale %q, want zh-CN", got)
			}
		})
	})
}
