package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
)

// SSOConfig is single sign-on for staff (PORTAL_OIDC_*); off while
// Issuer is empty.
type SSOConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	RedirectURL  string
	Scopes       []string
	GroupsClaim  string
	Roles        models.SSORoles
	BreakGlass   []string
}

// ssoDeps is the single sign-on the web side takes; nil when off.
func (c *Config) ssoDeps() *handlers.SSOConfig {
	s := c.SSO
	if s.Issuer == "" {
		return nil
	}
	redirect := s.RedirectURL
	if redirect == "" && c.BaseURL != "" {
		redirect = c.BaseURL + "/login/sso/callback"
	}
	return &handlers.SSOConfig{Issuer: s.Issuer, ClientID: s.ClientID, ClientSecret: s.ClientSecret, RedirectURL: redirect,
		Scopes: s.Scopes, GroupsClaim: s.GroupsClaim, Roles: s.Roles, BreakGlass: s.BreakGlass}
}

// httpsURL accepts https://, and http:// only on a loopback host (an
// issuer on the same machine, in a test).
func httpsURL(v string) (*url.URL, error) {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("want an https:// URL")
	}
	if u.Scheme == "http" {
		host := u.Hostname()
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, errors.New("want an https:// URL (http:// only on a loopback address)")
		}
	}
	return u, nil
}

// ssoSettings are the single sign-on settings.
func ssoSettings() []setting {
	return []setting{
		{name: "PORTAL_OIDC_ISSUER", help: "OpenID Connect issuer URL for staff single sign-on; empty: off",
			set: func(c *Config, v string) error {
				if v == "" {
					return nil
				}
				if _, err := httpsURL(v); err != nil {
					return err
				}
				c.SSO.Issuer = v
				return nil
			}},
		{name: "PORTAL_OIDC_CLIENT_ID", help: "the portal's client ID at the issuer",
			set: func(c *Config, v string) error { c.SSO.ClientID = v; return nil }},
		{name: "PORTAL_OIDC_CLIENT_SECRET", secret: true, help: "the portal's client secret at the issuer",
			set: func(c *Config, v string) error { c.SSO.ClientSecret = v; return nil }},
		{name: "PORTAL_OIDC_REDIRECT_URL", help: "the callback registered at the issuer; default: PORTAL_BASE_URL/login/sso/callback",
			set: func(c *Config, v string) error {
				if v == "" {
					return nil
				}
				u, err := httpsURL(v)
				if err != nil {
					return err
				}
				if u.Path != "/login/sso/callback" {
					return errors.New("want a URL ending in /login/sso/callback")
				}
				c.SSO.RedirectURL = v
				return nil
			}},
		{name: "PORTAL_OIDC_SCOPES", def: "email profile", help: "scopes asked for besides openid, separated by spaces",
			set: func(c *Config, v string) error {
				for _, s := range strings.Fields(v) {
					if s != "openid" {
						c.SSO.Scopes = append(c.SSO.Scopes, s)
					}
				}
				return nil
			}},
		{name: "PORTAL_OIDC_GROUPS_CLAIM", def: "groups", help: "the ID token claim listing the staff member's groups",
			set: func(c *Config, v string) error { c.SSO.GroupsClaim = v; return nil }},
		{name: "PORTAL_OIDC_ROLES", help: "group=role,…: the staff role of each group (reception, engineer, service, admin); several groups give the highest",
			set: func(c *Config, v string) error {
				m, err := models.ParseSSORoles(v)
				if err != nil {
					return err
				}
				c.SSO.Roles = m
				return nil
			}},
		{name: "PORTAL_OIDC_BREAK_GLASS", help: "comma-separated emails of the admins whose passwords still work while single sign-on is on",
			set: func(c *Config, v string) error {
				var bad []string
				for _, e := range strings.Split(v, ",") {
					if e = strings.TrimSpace(e); e == "" {
						continue
					}
					n, err := models.NormalizeEmail(e)
					if err != nil {
						bad = append(bad, e)
						continue
					}
					c.SSO.BreakGlass = append(c.SSO.BreakGlass, n)
				}
				if bad != nil {
					return fmt.Errorf("not email addresses: %s", strings.Join(bad, ", "))
				}
				return nil
			}},
	}
}

// crossCheck reports what single sign-on lacks once its issuer is set.
func (s *SSOConfig) crossCheck(baseURL string) []error {
	if s.Issuer == "" {
		return nil
	}
	var errs []error
	if s.ClientID == "" || s.ClientSecret == "" {
		errs = append(errs, errors.New("PORTAL_OIDC_ISSUER needs PORTAL_OIDC_CLIENT_ID and PORTAL_OIDC_CLIENT_SECRET (or its _FILE)"))
	}
	if len(s.Roles) == 0 {
		errs = append(errs, errors.New("PORTAL_OIDC_ISSUER needs PORTAL_OIDC_ROLES: without a mapped group nobody can sign in"))
	}
	if s.RedirectURL == "" && baseURL == "" {
		errs = append(errs, errors.New("PORTAL_OIDC_ISSUER needs PORTAL_OIDC_REDIRECT_URL or PORTAL_BASE_URL"))
	}
	return errs
}
