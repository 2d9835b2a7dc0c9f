package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// passphrase is the phone-authorization passphrase the tests set; no page
// and no audit record may ever show it.
const passphrase = "harbour lights 42"

// contactValues is a valid contact form; edit may change it.
func contactValues(edit ...func(url.Values)) url.Values {
	v := url.Values{"name": {"Sun Li"}, "title": {"CTO"}, "office_phone": {"010 8888 0001"}, "mobile": {"138 0013 8000"},
		"email": {"Sun.Li@alpha.test"}, "channels": {"mobile", "email"}, "order_mobile": {"1"}, "order_email": {"2"},
		"priority": {"1"}, "may_authorize": {"1"}, "locale": {"zh-CN"}, "passphrase": {passphrase}}
	for _, f := range edit {
		f(v)
	}
	return v
}

// onlyContact returns the organization's one contact.
func onlyContact(t *testing.T, e *env, orgID int64) models.Contact {
	t.Helper()
	cs, err := e.store.ListContacts(context.Background(), models.AllOrgs(), orgID)
	if err != nil || len(cs) != 1 {
		t.Fatalf("contacts = %+v, %v; want one", cs, err)
	}
	return cs[0]
}

func TestContactsAreManagedByTheirOrganization(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		fx := e.fx
		a := e.as(t, fx.CustA)
		orgA := fx.OrgA.ID
		var id string

		t.Run("the home page asks for an authorized contact and links to the form", func(t *testing.T) {
			r := a.get("/")
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, zh("home.setup_title"), zh("home.setup_text"), `href="/contacts/new"`, `href="/contacts"`)
			wantNoBody(t, r, zh("home.reconfirm_title"))
			r = a.get("/contacts")
			wantBody(t, r, zh("contacts.not_set_up"), zh("contacts.none"))
		})

		t.Run("an invalid mobile number is refused next to the field with the values kept and no passphrase", func(t *testing.T) {
			r := a.submit("/contacts/new", "/contacts", contactValues(func(v url.Values) { v.Set("mobile", "12345") }))
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, `id="e-mobile">`+zh("error.phone_invalid")+`<`, `aria-invalid="true" aria-describedby="e-mobile"`,
				`value="Sun Li"`, `value="12345"`, `value="Sun.Li@alpha.test"`, `value="010 8888 0001"`, zh("contacts.passphrase_again"))
			wantNoBody(t, r, passphrase)
			if cs, _ := e.store.ListContacts(ctx, models.AllOrgs(), orgA); len(cs) != 0 {
				t.Fatalf("a refused form stored %d contacts", len(cs))
			}
		})

		t.Run("an invalid email is refused next to its field", func(t *testing.T) {
			r := a.submit("/contacts/new", "/contacts", contactValues(func(v url.Values) { v.Set("email", "sun.li@") }))
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, `id="e-email">`+zh("error.email_invalid")+`<`, `value="sun.li@"`)
			wantNoBody(t, r, passphrase)
		})

		t.Run("a chosen channel without its number is named in the reader's language", func(t *testing.T) {
			r := a.submit("/contacts/new", "/contacts", contactValues(func(v url.Values) { v.Add("channels", "fax") }))
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, zh("error.channel_without_detail", zh("channel.fax")))
			wantNoBody(t, r, "channel_without_detail", "%!", passphrase)
		})

		t.Run("the errors read in English for an English-speaking colleague", func(t *testing.T) {
			en, err := e.store.CreateUser(ctx, models.SystemActor("test"), models.UserInput{Email: "amy@alpha.test", Name: "Amy Alpha",
				Role: models.RoleCustomer, OrgID: &orgA, Password: dbtest.Password, Locale: "en"})
			if err != nil {
				t.Fatal(err)
			}
			c := e.as(t, en)
			r := c.submit("/contacts/new", "/contacts", contactValues(func(v url.Values) { v.Set("office_phone", "abc") }))
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, tr("en", "error.phone_invalid"), tr("en", "contacts.form_refused"))
			r = c.submit("/contacts/new", "/contacts", contactValues(func(v url.Values) { v.Add("channels", "pager") }))
			wantBody(t, r, tr("en", "error.channel_without_detail", "Pager"))
			wantNoBody(t, r, passphrase)
		})

		t.Run("a too short passphrase is refused and not echoed", func(t *testing.T) {
			r := a.submit("/contacts/new", "/contacts", contactValues(func(v url.Values) { v.Set("passphrase", "short") }))
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, `id="e-passphrase">`+zh("error.passphrase_too_short", 8)+`<`)
			wantNoBody(t, r, `value="short"`)
		})

		// Step: A valid contact is stored normalized, in the order chosen, with the passphrase hashed.
		func() {
			r := a.submit("/contacts/new", "/contacts", contactValues(func(v url.Values) {
				v.Set("order_email", "1")
				v.Set("order_mobile", "2")
			}))
			wantStatus(t, r, http.StatusSeeOther)
			c := onlyContact(t, e, orgA)
			id = ids(c.ID)
			if got := r.Header.Get("Location"); got != "/contacts#contact-"+id {
				t.Errorf("redirect to %q", got)
			}
			if c.Mobile != "+8613800138000" || c.OfficePhone != "+861088880001" || c.Email != "sun.li@alpha.test" {
				t.Errorf("details not normalized: %q %q %q", c.Mobile, c.OfficePhone, c.Email)
			}
			if c.Channels != "email,mobile" || c.Priority != 1 || !c.MayAuthorize {
				t.Errorf("channels %q, priority %d, may authorize %v", c.Channels, c.Priority, c.MayAuthorize)
			}
			if !passphraseOK(t, e.store, &c, passphrase) || strings.Contains(c.PassphraseHash, passphrase) {
				t.Error("the passphrase is not stored hashed")
			}
			r = a.get("/contacts")
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, "Sun Li", "CTO", "+86 138 0013 8000", "sun.li@alpha.test", zh("contacts.may_authorize"),
				zh("contacts.passphrase_set_on", e.clock.Now().Format("2006-01-02")), zh("contacts.priority_is", 1), zh("flash.contact_created"))
			wantNoBody(t, r, passphrase, c.PassphraseHash, zh("contacts.not_set_up"))
			if i, j := strings.Index(r.Body, "sun.li@alpha.test"), strings.Index(r.Body, "+86 138 0013 8000"); i < 0 || j < i {
				t.Error("the list does not show email before mobile, the order chosen")
			}
		}()

		// Step: The edit form shows the details but never the passphrase or its hash.
		func() {
			c := onlyContact(t, e, orgA)
			r := a.get("/contacts/" + id + "/edit")
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, `value="Sun Li"`, `value="+8613800138000"`, `name="passphrase" type="password" value=""`,
				zh("contacts.replace_passphrase"), `action="/contacts/`+id+`"`)
			wantNoBody(t, r, passphrase, c.PassphraseHash)
		}()

		// Step: Saving without a passphrase keeps the one on file.
		func() {
			before := onlyContact(t, e, orgA)
			e.clock.Advance(time.Hour)
			r := a.submit("/contacts/"+id+"/edit", "/contacts/"+id, contactValues(func(v url.Values) {
				v.Set("passphrase", "")
				v.Set("title", "Head of Operations")
			}))
			wantRedirect(t, r, "/contacts#contact-"+id)
			c := onlyContact(t, e, orgA)
			if c.Title != "Head of Operations" || c.Channels != "mobile,email" {
				t.Errorf("title %q, channels %q", c.Title, c.Channels)
			}
			if !passphraseOK(t, e.store, &c, passphrase) || c.PassphraseHash != before.PassphraseHash || !c.PassphraseAt.Equal(*before.PassphraseAt) {
				t.Error("an empty passphrase field changed the passphrase on file")
			}
		}()

		// Step: A new passphrase replaces the old one.
		func() {
			r := a.submit("/contacts/"+id+"/edit", "/contacts/"+id, contactValues(func(v url.Values) {
				v.Set("title", "Head of Operations")
				v.Set("passphrase", "north star 7788")
			}))
			wantStatus(t, r, http.StatusSeeOther)
			c := onlyContact(t, e, orgA)
			if !passphraseOK(t, e.store, &c, "north star 7788") || passphraseOK(t, e.store, &c, passphrase) {
				t.Error("the passphrase was not replaced")
			}
		}()

		// Step: A refused edit keeps the values and is not saved.
		func() {
			r := a.submit("/contacts/"+id+"/edit", "/contacts/"+id, contactValues(func(v url.Values) {
				v.Set("name", "")
				v.Set("title", "Chief of Staff")
				v.Set("passphrase", "")
			}))
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, `id="e-name">`+zh("error.required")+`<`, `value="Chief of Staff"`)
			if c := onlyContact(t, e, orgA); c.Name != "Sun Li" {
				t.Errorf("name %q after a refused edit", c.Name)
			}
		}()

		// Step: Once a contact may authorize the home page asks for none, and
		// a list just entered counts as confirmed when it was entered: no
		// prompt to confirm it either.
		func() {
			r := a.get("/")
			wantNoBody(t, r, zh("home.setup_title"), zh("home.reconfirm_title"), zh("home.reconfirm_never"))
			last, err := e.store.LastConfirmation(ctx, models.AllOrgs(), orgA)
			if err != nil || last == nil || last.UserID != fx.CustA.ID {
				t.Fatalf("last confirmation of a new list = %+v, %v; want when Alice entered it", last, err)
			}
		}()

		// Step: Confirming the list is recorded with who and when.
		func() {
			wantRedirect(t, a.submit("/", "/contacts/confirm", url.Values{"next": {"/"}}), "/")
			last, err := e.store.LastConfirmation(ctx, models.AllOrgs(), orgA)
			if err != nil || last == nil || last.UserID != fx.CustA.ID || !last.ConfirmedAt.Equal(e.clock.Now()) {
				t.Fatalf("last confirmation = %+v, %v", last, err)
			}
			wantNoBody(t, a.get("/"), zh("home.reconfirm_title"))
			wantBody(t, a.get("/contacts"), zh("contacts.confirmed_at", e.clock.Now().Format("2006-01-02 15:04"), fx.CustA.Name))
			wantRedirect(t, a.submit("/contacts", "/contacts/confirm", nil), "/contacts")
		}()

		// Step: Notification settings are stored as opt-outs.
		func() {
			r := a.get("/contacts/notifications")
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, zh("event.outage.opened"), zh("event.outage.closed"),
				`value="`+id+`:outage.opened" checked`, `value="`+id+`:outage.closed" checked`)
			r = a.submit("/contacts/notifications", "/contacts/notifications", url.Values{"contact": {id}, "notify": {id + ":outage.opened"}})
			wantRedirect(t, r, "/contacts/notifications")
			outs, err := e.store.ListNotifyOptOuts(ctx, models.AllOrgs(), orgA)
			if err != nil || len(outs) != 1 || ids(outs[0].ContactID) != id || outs[0].Event != models.EventOutageClosed {
				t.Fatalf("opt-outs = %+v, %v", outs, err)
			}
			r = a.get("/contacts/notifications")
			wantBody(t, r, `value="`+id+`:outage.opened" checked`, `value="`+id+`:outage.closed" aria-label`)
		}()

		// Step: A detail staff marked wrong is shown with a warning.
		func() {
			c := onlyContact(t, e, orgA)
			if err := e.store.MarkContactDetailWrong(ctx, models.UserActor(fx.Engineer, "10.0.0.1"), c.ID, models.ChannelEmail, "mailbox does not exist"); err != nil {
				t.Fatal(err)
			}
			r := a.get("/contacts")
			wantBody(t, r, zh("contacts.marked_wrong"), zh("contacts.has_wrong"), "mailbox does not exist", zh("contacts.marked_wrong_fix"))
		}()

		// Step: A contact is removed.
		func() {
			r := a.submit("/contacts/new", "/contacts", url.Values{"name": {"Zhou Min"}, "email": {"zhou@alpha.test"},
				"channels": {"email"}, "priority": {"5"}, "locale": {"en"}})
			wantStatus(t, r, http.StatusSeeOther)
			cs, _ := e.store.ListContacts(ctx, models.AllOrgs(), orgA)
			if len(cs) != 2 || cs[1].Name != "Zhou Min" || cs[1].HasPassphrase() {
				t.Fatalf("contacts = %+v", cs)
			}
			wantBody(t, a.get("/contacts"), "Zhou Min", zh("contacts.notify_only"), zh("contacts.passphrase_none"))
			wantRedirect(t, a.submit("/contacts", "/contacts/"+ids(cs[1].ID)+"/delete", nil), "/contacts")
			wantNoBody(t, a.get("/contacts"), "zhou@alpha.test")
			wantStatus(t, a.get("/contacts/"+ids(cs[1].ID)+"/edit"), http.StatusNotFound)
		}()

		// Step: Every change is in the customer's history, readable, without the passphrase.
		func() {
			r := a.get("/contacts/history")
			wantStatus(t, r, http.StatusOK)
			for _, act := range []string{models.AuditContactCreated, models.AuditContactUpdated, models.AuditContactDeleted,
				models.AuditContactsConfirmed, models.AuditContactMarkedWrong, models.AuditNotifySettings} {
				wantBody(t, r, zh("audit.action."+act))
			}
			wantBody(t, r, "Sun Li", "Zhou Min", fx.CustA.Email, fx.Engineer.Email, "CTO", "Head of Operations",
				zh("contacts.history.passphrase_set"), zh("contacts.history.passphrase_replaced"), "mailbox does not exist",
				zh("contacts.history.opted_out", "Sun Li", zh("event.outage.closed")))
			wantNoBody(t, r, passphrase, "north star 7788", "$argon2", `{"`)
		}()

		// Step: Every change is in the admin's audit log, without the passphrase or its hash.
		func() {
			r := e.as(t, fx.Admin).get("/admin/audit")
			wantStatus(t, r, http.StatusOK)
			for _, act := range []string{models.AuditContactCreated, models.AuditContactUpdated, models.AuditContactDeleted,
				models.AuditContactsConfirmed, models.AuditContactMarkedWrong, models.AuditNotifySettings} {
				wantBody(t, r, zh("audit.action."+act))
			}
			wantNoBody(t, r, passphrase, "north star 7788", "$argon2")
			evs, err := e.store.ListAudit(ctx, models.AllOrgs(), models.AuditFilter{OrgID: orgA, Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, ev := range evs {
				if strings.HasPrefix(ev.Action, "contact.") {
					n++
				}
				if strings.Contains(ev.Detail, passphrase) || strings.Contains(ev.Detail, "north star") || strings.Contains(ev.Detail, "$argon2") {
					t.Errorf("audit event %s holds the passphrase or its hash: %s", ev.Action, ev.Detail)
				}
			}
			// Two creations, two edits, a removal, two confirmations, a mark.
			if n != 8 {
				t.Errorf("%d contact events in the audit log, want 8", n)
			}
		}()

		// Step: Organization B cannot see or change A's contacts.
		func() {
			b := e.as(t, fx.CustB)
			before := onlyContact(t, e, orgA)
			r := b.get("/contacts/" + id + "/edit")
			wantStatus(t, r, http.StatusNotFound)
			wantNoBody(t, r, "Sun Li", "+8613800138000")
			r = b.submit("/contacts", "/contacts/"+id, contactValues(func(v url.Values) { v.Set("name", "Mallory") }))
			wantStatus(t, r, http.StatusNotFound)
			wantNoBody(t, r, "Sun Li")
			wantStatus(t, b.submit("/contacts", "/contacts/"+id+"/delete", nil), http.StatusNotFound)
			r = b.submit("/contacts/notifications", "/contacts/notifications", url.Values{"contact": {id}})
			wantStatus(t, r, http.StatusNotFound)
			for _, p := range []string{"/contacts", "/contacts/history", "/contacts/notifications", "/"} {
				r := b.get(p)
				wantStatus(t, r, http.StatusOK)
				wantNoBody(t, r, "Sun Li", "sun.li@alpha.test", "mailbox does not exist")
			}
			after := onlyContact(t, e, orgA)
			if after.Name != before.Name || !after.UpdatedAt.Equal(before.UpdatedAt) {
				t.Errorf("B changed A's contact: %+v", after)
			}
			if outs, _ := e.store.ListNotifyOptOuts(ctx, models.AllOrgs(), orgA); len(outs) != 1 {
				t.Errorf("B changed A's notification settings: %+v", outs)
			}
			wantStatus(t, b.get("/contacts/abc/edit"), http.StatusNotFound)
			wantStatus(t, b.get("/contacts/999999/edit"), http.StatusNotFound)
		}()

		// Step: Staff have no customer contact pages.
		func() {
			for _, p := range []string{"/contacts", "/contacts/new", "/contacts/history", "/contacts/" + id + "/edit"} {
				wantStatus(t, e.as(t, fx.Engineer).get(p), http.StatusForbidden)
			}
		}()

		// Step: The navigation offers Contacts to customers only.
		func() {
			wantBody(t, a.get("/"), `href="/contacts"`, zh("nav.contacts"))
			wantNoBody(t, e.as(t, fx.Service).get("/"), zh("nav.contacts"))
		}()

		// Step: The prompt returns when the last confirmation is older than the period.
		func() {
			last, _ := e.store.LastConfirmation(ctx, models.AllOrgs(), orgA)
			e.clock.Advance(e.store.ConfirmEvery() + time.Hour)
			// Sessions do not live that long: sign in again.
			wantBody(t, e.as(t, fx.CustA).get("/"), zh("home.reconfirm_title"), zh("home.reconfirm_last", last.ConfirmedAt.Format("2006-01-02")))
		}()
	})
}
