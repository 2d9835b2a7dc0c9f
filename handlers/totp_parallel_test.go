package handlers_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// failedSignIns counts the failed attempts of email in the database: one
// per wrong password or code that was evaluated.
func failedSignIns(t *testing.T, e *env, email string) int64 {
	t.Helper()
	raw, _, err := models.Open(t.Context(), models.OpenOptions{URL: e.db.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if sqlDB, err := raw.DB(); err == nil {
			sqlDB.Close()
		}
	}()
	var n int64
	if err := raw.Table("sign_in_attempts").Where("email = ? AND success = ?", email, false).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// post is one form and the client that sends it.
type post struct {
	c    *client
	form url.Values
}

// postAll sends the posts to path at once, each with its client's cookies,
// and returns the statuses.
func postAll(t *testing.T, path string, forms []post) []int {
	t.Helper()
	statuses := make([]int, len(forms))
	errs := make([]error, len(forms))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, p := range forms {
		var cookie []string
		for k, v := range p.c.cookies {
			cookie = append(cookie, k+"="+v)
		}
		f := p.form
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(f.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Cookie", strings.Join(cookie, "; "))
			<-start
			resp, err := p.c.app.Test(req, -1)
			if err != nil {
				errs[i] = err
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		}()
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
	}
	return statuses
}

// H4 (issue 9 point 6, second factor): the limit was checked before a code
// was matched and the failure written after, so with the password known,
// parallel codes on one pending session were all evaluated.
func TestParallelSecondFactorGuessesStayWithinTheLimit(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		lim := models.DefaultSignInLimits
		u := e.fx.CustA
		secret := enableTOTP(t, e, u)
		e.clock.Advance(30 * time.Second) // the confirmation's step is spent
		pending := func() *client {
			c := newClient(t, e.app)
			wantRedirect(t, c.login(u.Email, dbtest.Password), "/login/totp")
			return c
		}
		// The right code comes from a session of its own: from the same one,
		// its success would end the session the wrong ones use.
		burst, other, filler, last := pending(), pending(), pending(), pending()

		right, err := totp.GenerateCode(secret, e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		valid := map[string]bool{}
		for d := -2; d <= 2; d++ {
			c, _ := totp.GenerateCode(secret, e.clock.Now().Add(time.Duration(d)*30*time.Second))
			valid[c] = true
		}
		token := burst.csrf("/login/totp")
		var forms []post
		for i := 0; len(forms) < 40; i++ {
			if c := fmt.Sprintf("%06d", 100000+i*7919); !valid[c] {
				forms = append(forms, post{burst, url.Values{"_csrf": {token}, "code": {c}}})
			}
		}
		forms = append(forms, post{other, url.Values{"_csrf": {other.csrf("/login/totp")}, "code": {right}}})
		for i, st := range postAll(t, "/login/totp", forms) {
			// 401 a wrong code, 303 signed in or sent back to /login by the
			// limit, 403 a post whose session the limit had ended already
			// (its CSRF token belonged to that session).
			if st != http.StatusUnauthorized && st != http.StatusSeeOther && st != http.StatusForbidden {
				t.Fatalf("post %d of the burst: status %d", i, st)
			}
		}

		wrong := failedSignIns(t, e, u.Email)
		if wrong > int64(lim.PerAccount) {
			t.Fatalf("%d wrong codes evaluated in a burst of 40 and the right one, want at most %d", wrong, lim.PerAccount)
		}
		// Guesses one by one fill what room is left; then even the right
		// code (of the next step: the burst may have spent this one) is
		// refused.
		for ; wrong < int64(lim.PerAccount); wrong++ {
			r := filler.submit("/login/totp", "/login/totp", url.Values{"code": {forms[0].form.Get("code")}})
			if r.StatusCode != http.StatusUnauthorized && r.Header.Get("Location") != "/login" {
				t.Fatalf("wrong code %d after the burst: %d %s", wrong+1, r.StatusCode, r.Header.Get("Location"))
			}
		}
		e.clock.Advance(30 * time.Second)
		right, err = totp.GenerateCode(secret, e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		wantRedirect(t, last.submit("/login/totp", "/login/totp", url.Values{"code": {right}}), "/login")
		wantRedirect(t, last.get("/"), "/login?next=%2F")
		if got := failedSignIns(t, e, u.Email); got != int64(lim.PerAccount) {
			t.Fatalf("%d failures recorded, want %d", got, lim.PerAccount)
		}
	})
}
