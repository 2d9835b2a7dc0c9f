package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// controlChars are the characters tried in every field: C0 controls and DEL.
var controlChars = []struct {
	name string
	c    string
	// lineBreak is kept in multi-line text.
	lineBreak bool
}{
	{"NUL", "\x00", false}, {"CR", "\r", true}, {"LF", "\n", true}, {"TAB", "\t", true},
	{"ESC", "\x1b", false}, {"BEL", "\x07", false}, {"US", "\x1f", false}, {"DEL", "\x7f", false},
}

// Control characters are refused in single-line fields, and all but line
// breaks and tabs in multi-line text, with a translated message next to
// the field, through every form that takes text.
func TestControlCharactersAreRefusedInEveryForm(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		o := newOpEnv(t, e)
		cust, eng, admin := e.as(t, e.fx.CustA), e.as(t, e.fx.Engineer), e.as(t, e.fx.Admin)
		req := o.raise(t, cust)
		orgA := ids(e.fx.OrgA.ID)
		type form struct {
			area      string
			c         *client
			page      string
			path      string
			base      func(i int) url.Values
			field     string
			value     func(c string) string
			multiline bool
			keep      string // a value of another field the refused form shows again
		}
		contact := func(i int) url.Values {
			return url.Values{"name": {fmt.Sprintf("Contact %d", i)}, "email": {fmt.Sprintf("c%d@alpha.test", i)}, "channels": {"email"}, "title": {"Ops lead"}}
		}
		device := func(i int) url.Values {
			return url.Values{"name": {fmt.Sprintf("host-%d", i)}, "address": {"192.0.2.7"}, "cabinet": {"A01"}}
		}
		org := func(i int) url.Values {
			return url.Values{"slug": {fmt.Sprintf("org-%d", i)}, "name": {fmt.Sprintf("Org %d", i)}}
		}
		user := func(i int) url.Values {
			return url.Values{"email": {fmt.Sprintf("u%d@idc.test", i)}, "name": {fmt.Sprintf("User %d", i)}, "role": {"engineer"},
				"password": {"violet harbor river 42"}}
		}
		request := func(i int) url.Values {
			return url.Values{"title": {fmt.Sprintf("Request %d", i)}, "work": {"Swap the fan"}, "urgency": {"normal"}, "devices": {ids(o.dev.ID)}}
		}
		mid := func(a, b string) func(string) string { return func(c string) string { return a + c + b } }
		password := mid("violet harbor", "river 42")
		forms := []form{
			{"contacts", cust, "/contacts/new", "/contacts", contact, "name", mid("Sun", "Li"), false, "Ops lead"},
			{"contacts", cust, "/contacts/new", "/contacts", contact, "title", mid("Ops", "lead"), false, "alpha.test"},
			{"contacts", cust, "/contacts/new", "/contacts", contact, "mobile", mid("138", "0013 8000"), false, "Ops lead"},
			{"contacts", cust, "/contacts/new", "/contacts", contact, "email", mid("sun", ".li@alpha.test"), false, "Ops lead"},
			{"contacts", cust, "/contacts/new", "/contacts", contact, "passphrase", password, false, "Ops lead"},
			{"devices", eng, "/orgs/" + orgA + "/devices/new", "/orgs/" + orgA + "/devices", device, "name", mid("web", "02"), false, "192.0.2.7"},
			{"devices", eng, "/orgs/" + orgA + "/devices/new", "/orgs/" + orgA + "/devices", device, "cabinet", mid("A", "02"), false, "192.0.2.7"},
			{"devices", eng, "/orgs/" + orgA + "/devices/new", "/orgs/" + orgA + "/devices", device, "position", mid("U", "12"), false, "192.0.2.7"},
			{"devices", eng, "/orgs/" + orgA + "/devices/new", "/orgs/" + orgA + "/devices", device, "notes", mid("Rack", "left"), true, "192.0.2.7"},
			{"orgs", admin, "/admin/orgs/new", "/admin/orgs", org, "name", mid("Delta", "Corp"), false, "org-"},
			{"orgs", admin, "/admin/orgs/new", "/admin/orgs", org, "contact_address", mid("1 Road", "Beijing"), true, "org-"},
			{"users", admin, "/admin/users/new", "/admin/users", user, "name", mid("Zhou", "Wei"), false, "@idc.test"},
			{"users", admin, "/admin/users/new", "/admin/users", user, "phone", mid("+86 10", "5555 1234"), false, "@idc.test"},
			{"users", admin, "/admin/users/new", "/admin/users", user, "email", mid("zhou", ".wei@idc.test"), false, "User "},
			{"users", admin, "/admin/users/new", "/admin/users", user, "password", password, false, "@idc.test"},
			{"operations", cust, "/operations/new", "/operations", request, "title", mid("Swap", "fan"), false, "Swap the fan"},
			{"operations", cust, "/operations/new", "/operations", request, "work", mid("Swap the fan", "then reboot"), true, "Request "},
			{"messages", cust, req, req + "/messages", func(int) url.Values { return url.Values{} }, "body", mid("Hello", "there"), true, ""},
			{"account", cust, "/account", "/account/password", func(int) url.Values {
				return url.Values{"current": {dbtest.Password}}
			}, "password", password, false, ""},
		}
		i := 0
		for _, f := range forms {
			for _, ch := range controlChars {
				i++
				accepted := f.multiline && ch.lineBreak
				verb := "refused"
				if accepted {
					verb = "kept"
				}
				t.Run(fmt.Sprintf("%s %s in %s is %s", f.area, ch.name, f.field, verb), func(t *testing.T) {
					v := f.base(i)
					v.Set(f.field, f.value(ch.c))
					if f.field == "password" && f.area == "account" {
						v.Set("confirm", v.Get("password"))
					}
					r := f.c.submit(f.page, f.path, v)
					if accepted {
						wantStatus(t, r, http.StatusSeeOther)
						return
					}
					wantStatus(t, r, http.StatusUnprocessableEntity)
					key := "error.control_chars"
					if f.multiline {
						key = "error.control_chars_text"
					}
					wantBody(t, r, zh(key))
					if f.keep != "" {
						wantBody(t, r, f.keep)
					}
				})
			}
		}
		for _, ch := range controlChars {
			t.Run("sign-in "+ch.name+" in the email is refused", func(t *testing.T) {
				r := newClient(t, e.app).login("a"+ch.c+"@alpha.test", dbtest.Password)
				wantStatus(t, r, http.StatusUnprocessableEntity)
				wantBody(t, r, zh("error.control_chars"))
			})
		}
		t.Run("the multi-line text keeps its line breaks", func(t *testing.T) {
			r := cust.submit(req, req+"/messages", url.Values{"body": {"line one\r\nline two\tend"}})
			wantStatus(t, r, http.StatusSeeOther)
			if !strings.Contains(cust.get(req).Body, "line two") {
				t.Fatal("the message is not on the request's page")
			}
		})
		_ = models.CheckLine
	})
}
