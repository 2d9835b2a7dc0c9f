// Package oidctest is a small OpenID Connect issuer that runs inside a
// test: discovery, a JWKS with one RS256 key, an authorization endpoint
// that signs the configured user in at once and redirects back with a
// code, and a token endpoint that checks the code (once), the client's
// credentials, the redirect URI and the PKCE verifier. Only tests import
// it (TestOIDCTestIsOnlyImportedByTests); it imports nothing of the
// portal's.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// User is who the issuer signs in: the claims of the ID token.
type User struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
	Groups        []string
}

// Fault makes the issuer misbehave the way a test needs.
type Fault int

const (
	// FaultNone: a correct issuer.
	FaultNone Fault = iota
	// FaultWrongNonce puts a nonce other than the one asked for in the ID token.
	FaultWrongNonce
	// FaultExpired issues an ID token that expired an hour ago.
	FaultExpired
	// FaultWrongAudience issues an ID token for another client.
	FaultWrongAudience
	// FaultForeignKey signs the ID token with a key the JWKS does not hold.
	FaultForeignKey
)

// Issuer is a running test issuer.
type Issuer struct {
	// URL is the issuer identifier and the base of its endpoints.
	URL          string
	ClientID     string
	ClientSecret string
	// GroupsClaim names the claim that lists the user's groups ("groups").
	GroupsClaim string

	srv     *httptest.Server
	key     *rsa.PrivateKey
	foreign *rsa.PrivateKey

	mu          sync.Mutex
	redirectURI string
	user        *User
	fault       Fault
	grants      map[string]*grant
	issued      int
	replays     int
	pkceFails   int
	clientFails int
}

type grant struct {
	user      User
	nonce     string
	challenge string
	redirect  string
	at        time.Time
	used      bool
}

// New starts an issuer on a loopback port for the client clientID with
// secret; it stops when the test ends.
func New(t testing.TB, clientID, secret string) *Issuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	i := &Issuer{ClientID: clientID, ClientSecret: secret, GroupsClaim: "groups", key: key, foreign: foreign,
		grants: map[string]*grant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", i.discovery)
	mux.HandleFunc("GET /jwks", i.jwks)
	mux.HandleFunc("GET /authorize", i.authorize)
	mux.HandleFunc("POST /token", i.token)
	i.srv = httptest.NewServer(mux)
	i.URL = i.srv.URL
	t.Cleanup(i.srv.Close)
	return i
}

// SetRedirectURI is the one redirect URI the client may use.
func (i *Issuer) SetRedirectURI(u string) { i.mu.Lock(); i.redirectURI = u; i.mu.Unlock() }

// SetUser is who the next authorizations sign in; nil refuses them
// (the browser comes back with error=access_denied).
func (i *Issuer) SetUser(u *User) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if u == nil {
		i.user = nil
		return
	}
	c := *u
	i.user = &c
}

// SetFault makes the next tokens faulty (FaultNone: correct again).
func (i *Issuer) SetFault(f Fault) { i.mu.Lock(); i.fault = f; i.mu.Unlock() }

// Counts says how many ID tokens were issued, how many codes were
// presented again after their first use, and how many exchanges failed
// the PKCE check or the client's credentials.
func (i *Issuer) Counts() (issued, replays, pkceFails, clientFails int) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.issued, i.replays, i.pkceFails, i.clientFails
}

func (i *Issuer) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                i.URL,
		"authorization_endpoint":                i.URL + "/authorize",
		"token_endpoint":                        i.URL + "/token",
		"jwks_uri":                              i.URL + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"scopes_supported":                      []string{"openid", "email", "profile"},
	})
}

func (i *Issuer) jwks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &i.key.PublicKey, KeyID: "test-1", Algorithm: string(jose.RS256), Use: "sig"}}})
}

// authorize signs the configured user in without asking and sends the
// browser back to the client with a code (or an error).
func (i *Issuer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	i.mu.Lock()
	defer i.mu.Unlock()
	if q.Get("client_id") != i.ClientID || q.Get("redirect_uri") == "" || q.Get("redirect_uri") != i.redirectURI {
		// Never redirect to a URI that is not registered.
		http.Error(w, "unknown client or redirect_uri", http.StatusBadRequest)
		return
	}
	back, _ := url.Parse(i.redirectURI)
	v := back.Query()
	v.Set("state", q.Get("state"))
	scopes := strings.Fields(q.Get("scope"))
	switch {
	case q.Get("response_type") != "code":
		v.Set("error", "unsupported_response_type")
	case !contains(scopes, "openid"):
		v.Set("error", "invalid_scope")
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		v.Set("error", "invalid_request")
	case i.user == nil:
		v.Set("error", "access_denied")
	default:
		code := randomString()
		i.grants[code] = &grant{user: *i.user, nonce: q.Get("nonce"), challenge: q.Get("code_challenge"),
			redirect: q.Get("redirect_uri"), at: time.Now()}
		v.Set("code", code)
	}
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// token exchanges a code for an ID token.
func (i *Issuer) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if id != i.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(i.ClientSecret)) != 1 {
		i.clientFails++
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	g := i.grants[r.PostForm.Get("code")]
	switch {
	case g == nil || time.Since(g.at) > time.Minute:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
		return
	case g.used:
		i.replays++
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "code already used"})
		return
	case r.PostForm.Get("redirect_uri") != g.redirect:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "redirect_uri"})
		return
	}
	// A code is used once, whatever the outcome of its exchange.
	g.used = true
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		i.pkceFails++
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "code_verifier"})
		return
	}
	idToken, err := i.sign(g)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	i.issued++
	writeJSON(w, http.StatusOK, map[string]any{"access_token": randomString(), "token_type": "Bearer",
		"expires_in": 300, "id_token": idToken})
}

// sign makes the ID token of a grant, with the issuer's fault applied.
func (i *Issuer) sign(g *grant) (string, error) {
	now := time.Now()
	claims := map[string]any{"iss": i.URL, "sub": g.user.Subject, "aud": i.ClientID, "iat": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(), "nonce": g.nonce, "email": g.user.Email,
		"email_verified": g.user.EmailVerified, "name": g.user.Name, i.GroupsClaim: g.user.Groups}
	key := i.key
	switch i.fault {
	case FaultWrongNonce:
		claims["nonce"] = "not-" + g.nonce
	case FaultExpired:
		claims["iat"], claims["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
	case FaultWrongAudience:
		claims["aud"] = "another-client"
	case FaultForeignKey:
		key = i.foreign
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "test-1"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomString() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
