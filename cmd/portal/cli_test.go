package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// cli runs the portal command line against one database and data dir.
type cli struct {
	t   *testing.T
	env map[string]string
}

func newCLI(t *testing.T, dbURL string) *cli {
	return &cli{t: t, env: map[string]string{
		"PORTAL_DATABASE_URL": dbURL,
		"PORTAL_DATA_DIR":     t.TempDir(),
		"PORTAL_LOG_LEVEL":    "warn",
	}}
}

// run runs args with stdin and returns what went to stdout and the error.
func (c *cli) run(stdin string, args ...string) (string, error) {
	c.t.Helper()
	var out bytes.Buffer
	err := run(c.t.Context(), args, strings.NewReader(stdin), &out, env(c.env))
	return out.String(), err
}

// secret is the key the CLI keeps in its data dir.
func (c *cli) secret() []byte {
	c.t.Helper()
	cfg, err := loadConfig(env(c.env))
	if err != nil {
		c.t.Fatal(err)
	}
	if err := cfg.loadOrCreateSecret(); err != nil {
		c.t.Fatal(err)
	}
	return cfg.Secret
}

// isEnglish reports text in ASCII with no untranslated locale key.
func isEnglish(s string) bool {
	for _, r := range s {
		if r > unicode.MaxASCII {
			return false
		}
	}
	return !strings.Contains(s, "error.")
}

func TestCLIOrgAndUserAdd(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			c := newCLI(t, db.URL)
			if out, err := c.run("", "migrate"); err != nil {
				t.Fatalf("migrate: %v (output %q)", err, out)
			}
			// Migrating again is a no-op.
			if _, err := c.run("", "migrate"); err != nil {
				t.Fatalf("second migrate: %v", err)
			}

			out, err := c.run("", "org", "add", "--slug", "acme", "--name", "Acme 艾克米")
			if err != nil {
				t.Fatalf("org add: %v", err)
			}
			if !regexp.MustCompile(`^organization \d+ created`).MatchString(out) {
				t.Errorf("org add printed %q, want organization N created", out)
			}
			if !strings.Contains(out, "Acme 艾克米") || !strings.Contains(out, "(acme)") {
				t.Errorf("org add output %q lacks the name and slug", out)
			}

			_, err = c.run("", "org", "add", "--slug", "acme", "--name", "Another Acme")
			if err == nil {
				t.Fatal("duplicate slug accepted")
			}
			if !strings.Contains(err.Error(), "slug") {
				t.Errorf("duplicate slug error %q does not mention slug", err)
			}
			if !isEnglish(err.Error()) {
				t.Errorf("duplicate slug error %q is not plain English", err)
			}

			out, err = c.run("a-very-good-passphrase\n", "user", "add", "--email", "ops@acme.example", "--name", "Ops",
				"--role", "customer", "--org", "acme")
			if err != nil {
				t.Fatalf("user add: %v", err)
			}
			if !regexp.MustCompile(`^user \d+ created: Ops <ops@acme.example> role customer`).MatchString(out) {
				t.Errorf("user add printed %q", out)
			}

			failures := []struct {
				name, stdin string
				args        []string
				want        string
			}{
				{"customer without org", "another-good-passphrase\n",
					[]string{"--email", "noorg@acme.example", "--name", "No Org", "--role", "customer"}, "org"},
				{"bogus role", "another-good-passphrase\n",
					[]string{"--email", "bogus@acme.example", "--name", "Bogus", "--role", "bogus"}, "--role"},
				{"unknown org", "another-good-passphrase\n",
					[]string{"--email", "x@acme.example", "--name", "X", "--role", "customer", "--org", "nope"}, "nope"},
				{"staff with org", "another-good-passphrase\n",
					[]string{"--email", "eng@acme.example", "--name", "Eng", "--role", "engineer", "--org", "acme"}, "org"},
				{"weak password", "password123\n",
					[]string{"--email", "weak@acme.example", "--name", "Weak", "--role", "customer", "--org", "acme"}, "password"},
				{"short password", "short\n",
					[]string{"--email", "short@acme.example", "--name", "Short", "--role", "customer", "--org", "acme"}, "password"},
				{"duplicate email", "another-good-passphrase\n",
					[]string{"--email", "OPS@acme.example", "--name", "Ops Again", "--role", "customer", "--org", "acme"}, "email"},
				{"unknown flag", "another-good-passphrase\n",
					[]string{"--mail", "x@acme.example"}, "usage"},
			}
			for _, f := range failures {
				t.Run(f.name, func(t *testing.T) {
					out, err := c.run(f.stdin, append([]string{"user", "add"}, f.args...)...)
					if err == nil {
						t.Fatalf("accepted; printed %q", out)
					}
					if !strings.Contains(err.Error(), f.want) {
						t.Errorf("error %q does not mention %q", err, f.want)
					}
					if !isEnglish(err.Error()) {
						t.Errorf("error %q is not plain English", err)
					}
					if out != "" {
						t.Errorf("printed %q on failure", out)
					}
				})
			}

			store := openTestStore(t, db.URL, c.secret())
			if n, err := store.CountUsers(context.Background()); err != nil || n != 1 {
				t.Errorf("CountUsers = %d, %v; want only the one good user", n, err)
			}
			signInAndSeeHome(t, store, c.secret(), "ops@acme.example", "a-very-good-passphrase", "Acme 艾克米")
		})
	}
}

// The weak-password message is the English text of the locale key.
func TestCLIWeakPasswordMessage(t *testing.T) {
	db := dbtest.Databases(t)[0]
	c := newCLI(t, db.URL)
	if _, err := c.run("", "org", "add", "--slug", "acme", "--name", "Acme"); err != nil {
		t.Fatal(err)
	}
	_, err := c.run("password1234\n", "user", "add", "--email", "weak@acme.example", "--name", "Weak", "--role", "customer", "--org", "acme")
	if err == nil {
		t.Fatal("weak password accepted")
	}
	want := "user add: password: This password is too common. Choose one that is harder to guess."
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

func TestCLIUsageErrors(t *testing.T) {
	db := dbtest.Databases(t)[0]
	c := newCLI(t, db.URL)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"org"}, "usage: portal org add"},
		{[]string{"org", "remove"}, "usage: portal org add"},
		{[]string{"user", "list"}, "usage: portal user add"},
		{[]string{"org", "add", "--name", "No Slug"}, "slug"},
		{[]string{"org", "add", "--slug", "ok"}, "name"},
		{[]string{"org", "add", "--slug", "Bad Slug!", "--name", "X"}, "slug"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := c.run("", tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want mention of %q", err, tt.want)
			}
		})
	}
	out, err := c.run("", "help")
	if err != nil || !strings.Contains(out, "Usage:") {
		t.Errorf("help: %v, %q", err, out)
	}
}

// openTestStore opens and migrates a store on url as cmd/portal would.
func openTestStore(t *testing.T, dbURL string, secret []byte) *models.Store {
	t.Helper()
	ctx := context.Background()
	gdb, _, err := models.Open(ctx, models.OpenOptions{URL: dbURL})
	if err != nil {
		t.Fatalf("open %s: %v", dbURL, err)
	}
	s := models.NewStore(gdb, models.WithSecretKey(secret))
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}

var csrfInput = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// signInAndSeeHome signs in through the real /login form and checks that
// the home page shows want.
func signInAndSeeHome(t *testing.T, store *models.Store, secret []byte, email, password, want string) {
	t.Helper()
	app := handlers.New(handlers.Deps{Store: store, Secret: secret,
		Sessions: models.DefaultSessionPolicy, SignIn: models.DefaultSignInLimits})
	do := func(req *http.Request) (*http.Response, string) {
		t.Helper()
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatalf("%s %s: %v", req.Method, req.URL, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}

	resp, body := do(httptest.NewRequest(http.MethodGet, "/login", nil))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /login: status %d", resp.StatusCode)
	}
	m := csrfInput.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("GET /login: no _csrf input in\n%s", body)
	}
	cookies := resp.Cookies()
	if len(cookies) == 0 {
		t.Fatal("GET /login set no cookies; the anonymous CSRF key needs one")
	}

	form := url.Values{"email": {email}, "password": {password}, "_csrf": {m[1]}}
	req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, ck := range cookies {
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	resp, body = do(req)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /login: status %d, want 303\n%s", resp.StatusCode, body)
	}
	if loc := resp.Header.Get("Location"); loc != "/" {
		t.Errorf("POST /login: Location %q, want /", loc)
	}
	var sess *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "portal_session" && ck.Value != "" {
			sess = ck
		}
	}
	if sess == nil {
		t.Fatalf("POST /login set no portal_session cookie: %v", resp.Header.Values("Set-Cookie"))
	}
	if !sess.HttpOnly {
		t.Error("portal_session cookie is not HttpOnly")
	}

	req = httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(&http.Cookie{Name: sess.Name, Value: sess.Value})
	resp, body = do(req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / signed in: status %d\n%s", resp.StatusCode, body)
	}
	if !strings.Contains(body, want) {
		t.Errorf("GET / does not show %q:\n%s", want, body)
	}

	// A wrong password does not get a session.
	form.Set("password", "not-the-password")
	req = httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, ck := range cookies {
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	resp, _ = do(req)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST /login with a wrong password: status %d, want 401", resp.StatusCode)
	}
}
