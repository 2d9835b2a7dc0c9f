package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/colo-portal/portal/models"
)

// Every form checks every field and answers once with every error next
// to its field, keeping what was typed: a contact form with four
// mistakes needs one submit, not four.
func TestEveryFormShowsEveryErrorAtOnce(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		orgA := ids(e.fx.OrgA.ID)
		cases := []struct {
			name       string
			as         *client
			page, path string
			form       url.Values
			errors     map[string]string // field → the message key shown next to it
			kept       []string          // values the answer must show again
		}{
			{name: "a contact", as: e.as(t, e.fx.CustA), page: "/contacts/new", path: "/contacts",
				form: url.Values{"name": {""}, "mobile": {"12"}, "email": {"not-an-address"}, "priority": {"x"},
					"passphrase": {"short"}, "may_authorize": {"on"}, "channels": {"mobile"}, "office_phone": {"010 8888 0001"}},
				errors: map[string]string{"name": "error.required", "mobile": "error.phone_invalid", "email": "error.email_invalid",
					"priority": "error.number_invalid", "passphrase": "error.passphrase_too_short"},
				kept: []string{`value="12"`, `value="not-an-address"`, `value="010 8888 0001"`}},
			{name: "an operation request", as: e.as(t, e.fx.CustA), page: "/operations/new", path: "/operations",
				form: url.Values{"title": {""}, "work": {""}, "urgency": {"whenever"}, "window_from": {"tomorrow"}},
				errors: map[string]string{"title": "error.required", "work": "error.required", "urgency": "operation.error.urgency",
					"devices": "operation.error.no_devices", "window_from": "error.time_invalid"},
				kept: []string{`value="tomorrow"`}},
			{name: "a device", as: e.as(t, e.fx.Engineer), page: "/orgs/" + orgA + "/devices/new", path: "/orgs/" + orgA + "/devices",
				form:   url.Values{"name": {""}, "address": {"not a host!"}, "cabinet": {strings.Repeat("c", 41)}},
				errors: map[string]string{"name": "error.required", "address": "error.host_invalid", "cabinet": "error.too_long"},
				kept:   []string{`value="not a host!"`}},
			{name: "an organization", as: e.as(t, e.fx.Admin), page: "/admin/orgs/new", path: "/admin/orgs",
				form:   url.Values{"slug": {"Not A Slug"}, "name": {""}},
				errors: map[string]string{"slug": "error.slug_invalid", "name": "error.required"}},
			{name: "a user", as: e.as(t, e.fx.Admin), page: "/admin/users/new", path: "/admin/users",
				form:   url.Values{"email": {"nobody"}, "name": {""}, "role": {"customer"}, "password": {"short"}},
				errors: map[string]string{"email": "error.email_invalid", "name": "error.required", "org": "error.customer_needs_org"},
				kept:   []string{`value="nobody"`}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := c.as.submit(c.page, c.path, c.form)
				wantStatus(t, r, http.StatusUnprocessableEntity)
				for field, key := range c.errors {
					if !strings.Contains(r.Body, `id="e-`+field+`"`) {
						t.Errorf("no error shown next to %s (want %s)", field, key)
					}
					msg := strings.SplitN(zh(key), "%", 2)[0]
					if !strings.Contains(r.Body, msg) {
						t.Errorf("the answer lacks the message %q for %s", msg, field)
					}
				}
				for _, v := range c.kept {
					if !strings.Contains(r.Body, v) {
						t.Errorf("the answer does not keep %s", v)
					}
				}
			})
		}
		// The authorization form prints only the Basic Multilingual Plane:
		// a name beyond it is refused with a message, never printed as �.
		t.Run("a character the signed form cannot print", func(t *testing.T) {
			r := e.as(t, e.fx.CustA).submit("/contacts/new", "/contacts", url.Values{"name": {"吉田 𠮷"}, "title": {"运维 😀"},
				"channels": {"email"}, "email": {"ji@alpha.test"}, "priority": {"1"}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, zh("error.not_printable", "𠮷", "U+20BB7"), zh("error.not_printable", "😀", "U+1F600"), `value="吉田 𠮷"`)
			r = e.as(t, e.fx.CustA).submit("/operations/new", "/operations", url.Values{"title": {"重启 𠮷"}, "work": {"x"}, "urgency": {"normal"}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, `id="e-title"`, zh("error.not_printable", "𠮷", "U+20BB7"))
		})
		// Editing a contact without a passphrase to let them authorize needs
		// one: said with the other mistakes, not after they are fixed.
		t.Run("an edited contact", func(t *testing.T) {
			ct, err := e.store.CreateContact(context.Background(), models.UserActor(e.fx.CustA, "192.0.2.1"), e.fx.OrgA.ID, models.ContactInput{
				Name: "Wu Fang", Email: "wu.fang@alpha.test", Channels: []models.Channel{models.ChannelEmail}, Priority: 1})
			if err != nil {
				t.Fatal(err)
			}
			page := "/contacts/" + ids(ct.ID) + "/edit"
			r := e.as(t, e.fx.CustA).submit(page, "/contacts/"+ids(ct.ID), url.Values{"name": {""}, "email": {"not-an-address"},
				"channels": {"email"}, "priority": {"1"}, "may_authorize": {"on"}, "passphrase": {""}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, `id="e-name"`, `id="e-email"`, `id="e-passphrase"`, zh("error.required"), zh("error.email_invalid"),
				zh("error.passphrase_required"))
		})
		// The check form reads every number, then checks the whole check.
		t.Run("a check", func(t *testing.T) {
			d, err := e.store.CreateDevice(context.Background(), models.SystemActor("test"), models.DeviceInput{OrgID: e.fx.OrgA.ID,
				Name: "chk-a", Address: "127.0.0.9"})
			if err != nil {
				t.Fatal(err)
			}
			eng := e.as(t, e.fx.Engineer)
			page, path := "/devices/"+ids(d.ID)+"/edit", "/devices/"+ids(d.ID)+"/checks"
			r := eng.submit(page, path, url.Values{"kind": {"http"}, "target": {"ftp://x"}, "interval": {"five"}, "timeout": {"1s"},
				"fail_threshold": {"99"}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, `id="e-target"`, `id="e-interval"`, `id="e-timeout"`, `id="e-fail_threshold"`,
				zh("error.number_invalid"), zh("error.threshold_range"), `value="five"`)
			r = eng.submit(page, path, url.Values{"kind": {"tcp"}, "target": {"nohost"}, "interval": {"1"}, "fail_threshold": {"99"}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, `id="e-target"`, `id="e-interval"`, `id="e-fail_threshold"`, zh("error.hostport_invalid"),
				zh("error.threshold_range"))
		})
		// The state form checks its fields, its dates and what completing
		// needs together, inside the transaction or before it.
		t.Run("an operation's state", func(t *testing.T) {
			o := newOpEnv(t, e)
			req := o.raise(t, e.as(t, e.fx.CustA))
			eng := e.as(t, e.fx.Engineer)
			wantRedirect(t, eng.submit(req, req+"/phone", url.Values{"contact": {ids(o.signer.ID)}, "passphrase": {passphrase}}), req+"#auth-h")
			wantRedirect(t, eng.submit(req, req+"/state", url.Values{"state": {"in_progress"}}), req)
			r := eng.submit(req, req+"/state", url.Values{"state": {"completed"}, "confirmed": {"1"}, "work_done": {""}, "result": {"maybe"},
				"ended_at": {"2090-01-01T00:00"}, "follow_up": {strings.Repeat("f", 10001)}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, `id="e-work_done"`, `id="e-result"`, `id="e-ended_at"`, `id="e-follow_up"`,
				zh("error.required"), zh("operation.error.result"), zh("operation.error.future"))
			// A date the handler cannot read, with the model's own mistakes.
			r = eng.submit(req, req+"/state", url.Values{"state": {"completed"}, "confirmed": {"1"}, "work_done": {""}, "result": {"success"},
				"ended_at": {"tomorrow"}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, `id="e-ended_at"`, `id="e-work_done"`, zh("error.time_invalid"), zh("error.required"), `value="tomorrow"`)
		})
		t.Run("a phone authorization", func(t *testing.T) {
			o := newOpEnv(t, e)
			req := o.raise(t, e.as(t, e.fx.CustA))
			eng := e.as(t, e.fx.Engineer)
			r := eng.submit(req, req+"/phone", url.Values{"contact": {"0"}, "passphrase": {""}, "note": {"called at 9\x00"}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, `id="e-contact"`, `id="e-passphrase"`, `id="e-note"`, zh("operation.error.contact_unknown"), zh("error.required"))
			// A wrong contact with a typed passphrase: it is not sent back,
			// and the form says it must be typed again.
			r = eng.submit(req, req+"/phone", url.Values{"contact": {"0"}, "passphrase": {"a passphrase"}, "note": {"kept note"}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, `id="e-contact"`, zh("operation.phone.passphrase_again"), ">kept note</textarea>")
			wantNoBody(t, r, "a passphrase")
		})
	})
}
