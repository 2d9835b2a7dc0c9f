package handlers

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gofiber/fiber/v2"
	"golang.org/x/oauth2"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// SSOConfig is single sign-on for staff through an OpenID Connect issuer
// (PORTAL_OIDC_*). Nil Deps.SSO: off, and every staff password works.
type SSOConfig struct {
	// Issuer is the issuer's URL; its discovery document is read at the
	// first sign-in (and again until it answers).
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is this portal's /login/sso/callback as registered at
	// the issuer; empty: Deps.BaseURL's, else the request's own.
	RedirectURL string
	// Scopes are asked for besides openid (email and profile by default;
	// some issuers want "groups" too).
	Scopes []string
	// GroupsClaim names the ID token's claim listing the groups ("groups").
	GroupsClaim string
	// Roles maps groups to staff roles; a member of none is refused.
	Roles models.SSORoles
	// BreakGlass are the admins (by email) whose passwords still work;
	// every other staff password is refused while single sign-on is on.
	BreakGlass []string
	// HTTPClient talks to the issuer; nil: a client with a 10 s timeout.
	HTTPClient *http.Client
}

// ssoStateLife is how long a sign-in may stay at the issuer.
const ssoStateLife = 10 * time.Minute

// ssoClient is the configured issuer, discovered on first use.
type ssoClient struct {
	cfg  SSOConfig
	http *http.Client

	mu       sync.Mutex
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func newSSOClient(cfg *SSOConfig) *ssoClient {
	if cfg == nil || cfg.Issuer == "" {
		return nil
	}
	c := &ssoClient{cfg: *cfg, http: cfg.HTTPClient}
	if c.http == nil {
		c.http = &http.Client{Timeout: 10 * time.Second}
	}
	if c.cfg.GroupsClaim == "" {
		c.cfg.GroupsClaim = "groups"
	}
	if len(c.cfg.Scopes) == 0 {
		c.cfg.Scopes = []string{"email", "profile"}
	}
	return c
}

// ctx carries the client that talks to the issuer.
func (s *ssoClient) ctx(ctx context.Context) context.Context { return oidc.ClientContext(ctx, s.http) }

// discover reads the issuer's discovery document once it answers, and
// returns the OAuth2 configuration and the ID token verifier.
func (s *ssoClient) discover(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.oauth != nil {
		return s.oauth, s.verifier, nil
	}
	p, err := oidc.NewProvider(s.ctx(ctx), s.cfg.Issuer)
	if err != nil {
		return nil, nil, err
	}
	var meta struct {
		AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	}
	_ = p.Claims(&meta)
	ep := p.Endpoint()
	// client_secret_basic is the default when an issuer names none.
	ep.AuthStyle = oauth2.AuthStyleInHeader
	if len(meta.AuthMethods) > 0 && !contains(meta.AuthMethods, "client_secret_basic") && contains(meta.AuthMethods, "client_secret_post") {
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	s.oauth = &oauth2.Config{ClientID: s.cfg.ClientID, ClientSecret: s.cfg.ClientSecret, Endpoint: ep,
		Scopes: append([]string{oidc.ScopeOpenID}, s.cfg.Scopes...)}
	s.verifier = p.Verifier(&oidc.Config{ClientID: s.cfg.ClientID, SupportedSigningAlgs: []string{oidc.RS256, oidc.ES256, oidc.PS256}})
	return s.oauth, s.verifier, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// ssoOnly reports a staff user whose password no longer works because
// single sign-on is on: their sessions come from the issuer, which did
// the second factor, so they are never sent to enroll one nor to change
// a password they cannot use.
func (h *Handler) ssoOnly(u *models.User) bool {
	return h.sso != nil && !models.PasswordAllowedWithSSO(u, h.sso.cfg.BreakGlass)
}

// ssoState is what the browser carries to the issuer and back, in a
// short-lived cookie signed with the portal's secret.
type ssoState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"x"`
	Expires  int64  `json:"e"`
}

func (h *Handler) ssoMAC(payload string) string {
	m := hmac.New(sha256.New, h.secret)
	m.Write([]byte("sso-state\x00" + payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (h *Handler) sealSSOState(st ssoState) string {
	b, _ := json.Marshal(st)
	p := base64.RawURLEncoding.EncodeToString(b)
	return p + "." + h.ssoMAC(p)
}

func (h *Handler) openSSOState(v string) (ssoState, bool) {
	var st ssoState
	p, mac, ok := strings.Cut(v, ".")
	if !ok || subtle.ConstantTimeCompare([]byte(mac), []byte(h.ssoMAC(p))) != 1 {
		return st, false
	}
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil || json.Unmarshal(b, &st) != nil || time.Now().Unix() > st.Expires || st.State == "" || st.Nonce == "" {
		return ssoState{}, false
	}
	return st, true
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// redirectURL is where the issuer sends the browser back.
func (h *Handler) ssoRedirectURL(c *fiber.Ctx) string {
	switch {
	case h.sso.cfg.RedirectURL != "":
		return h.sso.cfg.RedirectURL
	case h.baseURL != "":
		return strings.TrimRight(h.baseURL, "/") + "/login/sso/callback"
	}
	return c.BaseURL() + "/login/sso/callback"
}

// startSSO sends the browser to the issuer with a fresh state, nonce and
// PKCE verifier, kept in a signed cookie for the way back.
func (h *Handler) startSSO(c *fiber.Ctx) error {
	if h.sso == nil {
		return fiber.ErrNotFound
	}
	if state(c).stage == models.StageFull {
		return redirect(c, localPath(c.Query("next")))
	}
	cfg, _, err := h.sso.discover(c.UserContext())
	if err != nil {
		return h.ssoUnavailable(c, err)
	}
	st := ssoState{State: randomToken(), Nonce: randomToken(), Verifier: oauth2.GenerateVerifier(),
		Next: localPath(c.Query("next")), Expires: time.Now().Add(ssoStateLife).Unix()}
	h.setCookie(c, "portal_sso", h.sealSSOState(st), ssoStateLife, true)
	oc := *cfg
	oc.RedirectURL = h.ssoRedirectURL(c)
	return c.Redirect(oc.AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier)), fiber.StatusSeeOther)
}

// ssoClaims are the ID token's claims the portal reads; the groups come
// from the configured claim.
type ssoClaims struct {
	Email         string          `json:"email"`
	EmailVerified json.RawMessage `json:"email_verified"`
	Name          string          `json:"name"`
}

// verified reads email_verified as a boolean or the string "true" (as
// some issuers send it).
func (cl ssoClaims) verified() bool {
	var b bool
	if json.Unmarshal(cl.EmailVerified, &b) == nil {
		return b
	}
	var s string
	return json.Unmarshal(cl.EmailVerified, &s) == nil && strings.EqualFold(s, "true")
}

// groupsOf reads a groups claim: a list of strings, or one string.
func groupsOf(raw json.RawMessage) []string {
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var one string
	if json.Unmarshal(raw, &one) == nil && one != "" {
		return []string{one}
	}
	return nil
}

// finishSSO is the issuer's redirect back: the state is checked against
// the cookie, the code exchanged with the PKCE verifier, the ID token
// verified (signature, issuer, audience, expiry) and its nonce checked,
// and the identity signed in by the Store, which finds, links or creates
// the staff user with the role the groups map to.
func (h *Handler) finishSSO(c *fiber.Ctx) error {
	if h.sso == nil {
		return fiber.ErrNotFound
	}
	cookie := c.Cookies(h.cookieName("portal_sso"))
	h.setCookie(c, "portal_sso", "", -1, true) // one use
	st, ok := h.openSSOState(cookie)
	if !ok {
		// The callback is public: one that belongs to no sign-in this
		// browser started (no state cookie, or one that does not verify
		// or has expired) is logged, not audited, so that nobody can
		// flood the audit trail through it.
		h.logger(c).Info("single sign-on: callback without a state of this browser's", "cookie", cookie != "", "ip", c.IP())
		return h.renderSSORefused(c, "state")
	}
	if subtle.ConstantTimeCompare([]byte(st.State), []byte(c.Query("state"))) != 1 {
		// A sign-in this browser started, answered with another's state.
		return h.ssoRefused(c, "", "state")
	}
	if e := c.Query("error"); e != "" {
		h.logger(c).Warn("single sign-on: the issuer answered with an error", "error", truncateLog(e), "ip", c.IP())
		return h.ssoRefused(c, "", "issuer_error")
	}
	cfg, verifier, err := h.sso.discover(c.UserContext())
	if err != nil {
		return h.ssoUnavailable(c, err)
	}
	oc := *cfg
	oc.RedirectURL = h.ssoRedirectURL(c)
	ctx := h.sso.ctx(c.UserContext())
	tok, err := oc.Exchange(ctx, c.Query("code"), oauth2.VerifierOption(st.Verifier))
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re):
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		h.logger(c).Warn("single sign-on: the issuer refused the code", "error", re.ErrorCode, "status", status, "ip", c.IP())
		return h.ssoRefused(c, "", "code")
	case err != nil:
		return h.ssoUnavailable(c, err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return h.ssoRefused(c, "", "id_token")
	}
	idt, err := verifier.Verify(ctx, rawID)
	if err != nil {
		var expired *oidc.TokenExpiredError
		reason := "id_token"
		if errors.As(err, &expired) {
			reason = "expired"
		}
		h.logger(c).Warn("single sign-on: ID token refused", "err", err, "ip", c.IP())
		return h.ssoRefused(c, "", reason)
	}
	var cl ssoClaims
	var all map[string]json.RawMessage
	if err := idt.Claims(&cl); err != nil || idt.Claims(&all) != nil {
		return h.ssoRefused(c, "", "id_token")
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		return h.ssoRefused(c, cl.Email, "nonce")
	}
	id := models.SSOIdentity{Subject: idt.Subject, Email: cl.Email, EmailVerified: cl.verified(), Name: cl.Name,
		Groups: groupsOf(all[h.sso.cfg.GroupsClaim])}
	u, raw, err := h.store.SSOSignIn(c.UserContext(), id, h.sso.cfg.Roles, h.sso.cfg.BreakGlass, h.sessions, c.IP(), c.Get(fiber.HeaderUserAgent),
		c.Cookies(h.cookieName("portal_session")))
	var refused *models.SSORefusedError
	if errors.As(err, &refused) {
		h.logSideWrite(c, "single sign-on", err)
		return h.renderSSORefused(c, refused.Reason)
	}
	if err != nil {
		return err
	}
	h.m.signIn("sso", "ok")
	if err := h.sessionStarted(c, u, raw, models.StageFull); err != nil {
		return err
	}
	return redirect(c, st.Next)
}

// truncateLog keeps a value from the query short in a log line.
func truncateLog(s string) string {
	if len(s) > 64 {
		return s[:64]
	}
	return s
}

// ssoRefused audits a refusal the handler decided and says so.
func (h *Handler) ssoRefused(c *fiber.Ctx, email, reason string) error {
	if err := h.store.AuditSSORefusal(c.UserContext(), c.IP(), email, reason); err != nil {
		h.logger(c).Error("single sign-on: audit write failed", "err", err, "reason", reason)
	}
	return h.renderSSORefused(c, reason)
}

func (h *Handler) renderSSORefused(c *fiber.Ctx, reason string) error {
	h.m.signIn("sso", "failed")
	return h.render(c, fiber.StatusForbidden, views.SSORefusedPage(views.SSORefusedPageVM{Key: "sso.refused." + reason}))
}

// ssoUnavailable answers 503 when the issuer cannot be reached.
func (h *Handler) ssoUnavailable(c *fiber.Ctx, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if c.UserContext().Err() != nil {
			return err
		}
	}
	h.logger(c).Error("single sign-on: the issuer does not answer", "err", err)
	c.Set(fiber.HeaderRetryAfter, itoa(retryUnavailable))
	return h.render(c, fiber.StatusServiceUnavailable, views.SSORefusedPage(views.SSORefusedPageVM{Key: "sso.unavailable"}))
}
