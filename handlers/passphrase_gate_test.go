package handlers_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// M6: contact passphrases were hashed and checked by calling the hasher
// directly, past the gate that bounds concurrent hashing. With every slot
// taken, the contact forms and the phone-authorization form now wait and
// answer 429 with Retry-After like the other hashing pages, and a busy
// phone check is not counted as a wrong passphrase.
func TestPassphraseHashingGoesThroughTheGate(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			clock := dbtest.NewClock()
			gate := models.NewHashGate(1, 20*time.Millisecond)
			store := dbtest.Open(t, db, models.WithClock(clock.Now), models.WithHashGate(gate))
			fx := dbtest.Seed(t, store)
			e := &env{db: db, store: store, clock: clock, fx: fx, app: newApp(store)}
			o := newOpEnv(t, e)
			cust, eng := e.as(t, fx.CustA), e.as(t, fx.Engineer)
			req := o.raise(t, cust)
			signer := "/contacts/" + ids(o.signer.ID)
			newContact := url.Values{"name": {"Qian Yi"}, "email": {"qian.yi@alpha.test"}, "channels": {"email"},
				"may_authorize": {"on"}, "passphrase": {"quiet river 2026"}}
			edit := url.Values{"name": {o.signer.Name}, "email": {o.signer.Email}, "channels": {"email"},
				"may_authorize": {"on"}, "passphrase": {"another harbour 77"}}
			phone := url.Values{"contact": {ids(o.signer.ID)}, "passphrase": {"not the passphrase"}}

			release, err := gate.Acquire(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				name string
				send func() *response
			}{
				{"a new contact", func() *response { return cust.submit("/contacts/new", "/contacts", newContact) }},
				{"a contact's new passphrase", func() *response { return cust.submit(signer+"/edit", signer, edit) }},
				{"a phone authorization", func() *response { return eng.submit(req, req+"/phone", phone) }},
			} {
				r := c.send()
				if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "1" {
					t.Errorf("%s with hashing busy: status %d, Retry-After %q; want 429 and 1", c.name, r.StatusCode, r.Header.Get("Retry-After"))
				}
			}
			release()

			cs, err := store.ListContacts(t.Context(), models.AllOrgs(), fx.OrgA.ID)
			if err != nil || len(cs) != 1 || cs[0].PassphraseHash != o.signer.PassphraseHash {
				t.Fatalf("contacts after busy answers: %d, %v (the passphrase must be the old one)", len(cs), err)
			}
			// The busy phone check counted nothing: the next wrong one is the
			// first of the lockout's tries.
			r := eng.submit(req, req+"/phone", phone)
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, zh("operation.phone.wrong", models.PhoneLockAfter-1))
			wantStatus(t, cust.submit("/contacts/new", "/contacts", newContact), http.StatusSeeOther)
			if gate.Peak() < 1 {
				t.Fatal("no hash went through the gate")
			}
		})
	}
}

// passphraseOK reports whether passphrase is c's, failing the test on an
// error (hashing busy, say).
func passphraseOK(t *testing.T, s *models.Store, c *models.Contact, passphrase string) bool {
	t.Helper()
	ok, err := s.VerifyPassphrase(t.Context(), c, passphrase)
	if err != nil {
		t.Fatalf("verify passphrase: %v", err)
	}
	return ok
}
