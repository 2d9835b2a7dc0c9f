package oidctest_test

import (
	"crypto/sha256"
	"encoding/base64"
	"go/parser"
	"go/token"
	"io/fs"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/colo-portal/portal/handlers/oidctest"
)

// The test issuer is test code: no package of the portal imports it
// outside its _test.go files, and it imports nothing of the portal's.
func TestOIDCTestIsOnlyImportedByTests(t *testing.T) {
	const self = "github.com/colo-portal/portal/handlers/oidctest"
	files := 0
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != "../.." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		files++
		inSelf := filepath.Dir(path) == "."
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if p == self {
				t.Errorf("%s imports the test issuer outside a test", path)
			}
			if inSelf && strings.HasPrefix(p, "github.com/colo-portal/portal") {
				t.Errorf("%s imports %s", path, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("read %d Go files of the repository: not the whole of it", files)
	}
}

// The token endpoint checks the client's credentials, the PKCE verifier,
// and uses a code once.
func TestIssuerTokenEndpointChecks(t *testing.T) {
	iss := oidctest.New(t, "portal", "secret")
	iss.SetRedirectURI("http://portal.test/cb")
	iss.SetUser(&oidctest.User{Subject: "s1", Email: "s1@idc.test", EmailVerified: true, Groups: []string{"g"}})
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	verifier := strings.Repeat("v", 43)
	sum := sha256.Sum256([]byte(verifier))
	code := func() string {
		q := url.Values{"response_type": {"code"}, "client_id": {"portal"}, "redirect_uri": {"http://portal.test/cb"},
			"scope": {"openid email"}, "state": {"st"}, "nonce": {"n"}, "code_challenge_method": {"S256"},
			"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}}
		resp, err := noFollow.Get(iss.URL + "/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if loc.Query().Get("state") != "st" || loc.Query().Get("code") == "" {
			t.Fatalf("authorize redirected to %s", loc)
		}
		return loc.Query().Get("code")
	}
	exchange := func(code, secret, verifier string) int {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"http://portal.test/cb"},
			"code_verifier": {verifier}, "client_id": {"portal"}, "client_secret": {secret}}
		resp, err := http.PostForm(iss.URL+"/token", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	c := code()
	if s := exchange(c, "wrong", verifier); s != http.StatusUnauthorized {
		t.Errorf("wrong client secret: %d", s)
	}
	if s := exchange(c, "secret", verifier+"x"); s != http.StatusBadRequest {
		t.Errorf("wrong verifier: %d", s)
	}
	if s := exchange(c, "secret", verifier); s != http.StatusBadRequest {
		t.Errorf("a code used once already: %d", s)
	}
	if s := exchange(code(), "secret", verifier); s != http.StatusOK {
		t.Errorf("a right exchange: %d", s)
	}
	// A redirect URI that is not registered is never redirected to.
	resp, err := noFollow.Get(iss.URL + "/authorize?client_id=portal&redirect_uri=" + url.QueryEscape("https://evil.test/cb"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown redirect_uri: %d", resp.StatusCode)
	}
	if issued, replays, pkce, client := iss.Counts(); issued != 1 || replays != 1 || pkce != 1 || client != 1 {
		t.Errorf("counts: issued %d, replays %d, pkce %d, client %d", issued, replays, pkce, client)
	}
}
