package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/colo-portal/portal/models"
)

// Single sign-on is off by default; once its issuer is set it needs the
// client, the role mapping and a callback URL, reads the secret from a
// file too, and hands the web side its configuration with the default
// callback under PORTAL_BASE_URL.
func TestSSOSettings(t *testing.T) {
	c, err := loadConfig(env(nil))
	if err != nil || c.ssoDeps() != nil {
		t.Fatalf("defaults: %+v, %v; want single sign-on off", c.SSO, err)
	}
	secret := filepath.Join(t.TempDir(), "oidc-secret")
	if err := os.WriteFile(secret, []byte("s3cret-from-a-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = loadConfig(env(map[string]string{"PORTAL_OIDC_ISSUER": "https://sso.idc.example/realms/staff",
		"PORTAL_OIDC_CLIENT_ID": "portal", "PORTAL_OIDC_CLIENT_SECRET_FILE": secret, "PORTAL_BASE_URL": "https://portal.idc.example/",
		"PORTAL_OIDC_ROLES": "/staff/noc=engineer, /staff/admins=admin", "PORTAL_OIDC_BREAK_GLASS": "Root@IDC.example",
		"PORTAL_OIDC_SCOPES": "openid email profile groups"}))
	if err != nil {
		t.Fatal(err)
	}
	d := c.ssoDeps()
	if d == nil || d.ClientSecret != "s3cret-from-a-file" || d.RedirectURL != "https://portal.idc.example/login/sso/callback" ||
		d.GroupsClaim != "groups" || d.Roles["/staff/noc"] != models.RoleEngineer || d.Roles["/staff/admins"] != models.RoleAdmin ||
		!slices.Equal(d.BreakGlass, []string{"root@idc.example"}) || !slices.Equal(d.Scopes, []string{"email", "profile", "groups"}) {
		t.Errorf("web side's configuration: %+v", d)
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"PORTAL_OIDC_ISSUER": "http://sso.idc.example"}, "PORTAL_OIDC_ISSUER"},
		{map[string]string{"PORTAL_OIDC_ISSUER": "https://sso.idc.example"}, "PORTAL_OIDC_CLIENT_ID"},
		{map[string]string{"PORTAL_OIDC_ISSUER": "https://sso.idc.example", "PORTAL_OIDC_CLIENT_ID": "p",
			"PORTAL_OIDC_CLIENT_SECRET": "s", "PORTAL_BASE_URL": "https://portal.example"}, "PORTAL_OIDC_ROLES"},
		{map[string]string{"PORTAL_OIDC_ISSUER": "https://sso.idc.example", "PORTAL_OIDC_CLIENT_ID": "p",
			"PORTAL_OIDC_CLIENT_SECRET": "s", "PORTAL_OIDC_ROLES": "g=admin"}, "PORTAL_BASE_URL"},
		{map[string]string{"PORTAL_OIDC_ROLES": "g=customer"}, "PORTAL_OIDC_ROLES"},
		{map[string]string{"PORTAL_OIDC_REDIRECT_URL": "https://portal.example/callback"}, "PORTAL_OIDC_REDIRECT_URL"},
		{map[string]string{"PORTAL_OIDC_BREAK_GLASS": "root"}, "PORTAL_OIDC_BREAK_GLASS"},
	} {
		if _, err := loadConfig(env(tc.env)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error naming %s", tc.env, err, tc.want)
		}
	}
	// A secret never shows in an error.
	if _, err := loadConfig(env(map[string]string{"PORTAL_OIDC_CLIENT_SECRET": "very-secret-value", "PORTAL_OIDC_CLIENT_SECRET_FILE": secret})); err == nil ||
		strings.Contains(err.Error(), "very-secret-value") {
		t.Errorf("both the secret and its file: %v", err)
	}
	// An issuer on a loopback address may be plain http (a test's).
	if _, err := loadConfig(env(map[string]string{"PORTAL_OIDC_ISSUER": "http://127.0.0.1:5556/dex", "PORTAL_OIDC_CLIENT_ID": "p",
		"PORTAL_OIDC_CLIENT_SECRET": "s", "PORTAL_OIDC_ROLES": "g=admin", "PORTAL_OIDC_REDIRECT_URL": "http://127.0.0.1:8080/login/sso/callback"})); err != nil {
		t.Errorf("a loopback issuer: %v", err)
	}
}
