package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// M5: the current password on POST /account/password could be guessed
// without limit: no attempt was counted and no failure audited.
func TestCurrentPasswordGuessesAreLimited(t *testing.T) {
	lim := models.DefaultSignInLimits
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			clock := dbtest.NewClock()
			gate := models.NewHashGate(1, 20*time.Millisecond)
			store := dbtest.Open(t, db, models.WithClock(clock.Now), models.WithHashGate(gate))
			fx := dbtest.Seed(t, store)
			app := newApp(store)
			e := &env{db: db, store: store, clock: clock, fx: fx, app: app}
			change := func(c *client, token, current string) url.Values {
				return url.Values{"_csrf": {token}, "current": {current},
					"password": {"a brand new passphrase 42"}, "confirm": {"a brand new passphrase 42"}}
			}

			t.Run("the sixth wrong current password in the window is refused without hashing", func(t *testing.T) {
				c := signIn(t, app, fx.CustA.Email, dbtest.Password)
				token := c.csrf("/account")
				for i := range lim.PerAccount {
					r := c.post("/account/password", change(c, token, fmt.Sprintf("wrong current %d", i)))
					wantStatus(t, r, http.StatusUnprocessableEntity)
					wantBody(t, r, zh("error.current_password_wrong"))
				}
				if got := failedSignIns(t, e, fx.CustA.Email); got != int64(lim.PerAccount) {
					t.Errorf("%d failures counted, want %d", got, lim.PerAccount)
				}
				// With the only hashing slot taken, a password that were
				// hashed would wait and be turned away as busy.
				release, err := gate.Acquire(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				defer release()
				r := c.post("/account/password", change(c, token, dbtest.Password))
				wantStatus(t, r, http.StatusTooManyRequests)
				wantBody(t, r, zh("error.current_password_limited", 15))
				if r.Header.Get("Retry-After") == "" {
					t.Error("no Retry-After")
				}
				release()
				// The password did not change.
				if _, err := store.Authenticate(t.Context(), fx.CustA.Email, dbtest.Password, "192.0.2.200",
					models.SignInLimits{Window: lim.Window, PerAccount: 100, PerAddress: 100}); err != nil {
					t.Errorf("the old password no longer signs in: %v", err)
				}
			})

			t.Run("forty parallel wrong current passwords: at most the limit are evaluated", func(t *testing.T) {
				clock.Advance(lim.Window + time.Minute)
				c := signIn(t, app, fx.CustB.Email, dbtest.Password)
				token := c.csrf("/account")
				var forms []post
				for i := range 40 {
					forms = append(forms, post{c, change(c, token, fmt.Sprintf("parallel wrong %d", i))})
				}
				evaluated := 0
				for i, st := range postAll(t, "/account/password", forms) {
					switch st {
					case http.StatusUnprocessableEntity:
						evaluated++
					case http.StatusTooManyRequests: // limited, or hashing busy
					default:
						t.Errorf("post %d: status %d", i, st)
					}
				}
				if evaluated > lim.PerAccount {
					t.Fatalf("%d wrong current passwords evaluated, want at most %d", evaluated, lim.PerAccount)
				}
				if got := failedSignIns(t, e, fx.CustB.Email); got != int64(evaluated) {
					t.Fatalf("%d failures counted, %d evaluated", got, evaluated)
				}
			})
		})
	}
}
