package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/colo-portal/portal/assets"
)

func TestSecurityHeaders(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		c := e.as(t, e.fx.CustA)
		anon := newClient(t, e.app)
		responses := []struct {
			name string
			r    *response
		}{
			{"the sign-in page", anon.get("/login")},
			{"a signed-in page", c.get("/")},
			{"a redirect", anon.get("/")},
			{"an error page", c.get("/admin/users")},
			{"a not-found page", anon.get("/nothing-here")},
			{"an asset", anon.get(assets.URL("portal.css"))},
		}
		for _, tc := range responses {
			t.Run(tc.name+" carries the security headers", func(t *testing.T) {
				h := tc.r.Header
				csp := h.Get("Content-Security-Policy")
				if csp == "" {
					t.Fatal("no Content-Security-Policy")
				}
				for _, bad := range []string{"'unsafe-inline'", "'unsafe-eval'", "*"} {
					if strings.Contains(csp, bad) {
						t.Errorf("CSP allows %s: %s", bad, csp)
					}
				}
				for _, want := range []string{"frame-ancestors 'none'", "default-src 'self'", "object-src 'none'"} {
					if !strings.Contains(csp, want) {
						t.Errorf("CSP lacks %s: %s", want, csp)
					}
				}
				if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
					t.Errorf("X-Content-Type-Options %q, want nosniff", got)
				}
				if got := h.Get("Referrer-Policy"); got != "strict-origin-when-cross-origin" {
					t.Errorf("Referrer-Policy %q, want strict-origin-when-cross-origin", got)
				}
			})
		}

		t.Run("pages are not stored in caches", func(t *testing.T) {
			for _, r := range []*response{responses[0].r, responses[1].r} {
				if got := r.Header.Get("Cache-Control"); !strings.Contains(got, "no-store") {
					t.Errorf("%s: Cache-Control %q, want no-store", r.Request.URL.Path, got)
				}
			}
		})

		for _, name := range []string{"portal.css", "portal.js", "favicon.svg"} {
			t.Run("the fingerprinted "+name+" is cached for a year", func(t *testing.T) {
				url := assets.URL(name)
				if !strings.HasPrefix(url, "/assets/") || strings.HasSuffix(url, "/"+name) {
					t.Fatalf("asset URL %q is not fingerprinted", url)
				}
				r := anon.get(url)
				wantStatus(t, r, http.StatusOK)
				cc := r.Header.Get("Cache-Control")
				if !strings.Contains(cc, "max-age=31536000") || !strings.Contains(cc, "immutable") {
					t.Errorf("Cache-Control %q, want max-age=31536000 and immutable", cc)
				}
				if r.Body == "" {
					t.Error("empty asset")
				}
			})
		}

		t.Run("the login page links its assets by fingerprinted URL", func(t *testing.T) {
			wantBody(t, responses[0].r, assets.URL("portal.css"), assets.URL("portal.js"))
		})

		t.Run("a wrong asset hash is not found", func(t *testing.T) {
			for _, p := range []string{"/assets/portal.0000000000.css", "/assets/portal.css", "/assets/..%2Fassets.go"} {
				r := anon.get(p)
				wantStatus(t, r, http.StatusNotFound)
				if strings.Contains(r.Header.Get("Cache-Control"), "immutable") {
					t.Errorf("%s: a 404 is marked immutable", p)
				}
			}
		})
	})
}
