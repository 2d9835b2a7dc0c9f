package handlers_test

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/colo-portal/portal/models"
)

// formTokens finds the _csrf and _once fields of the form that posts to
// path on page.
func (c *client) formTokens(page, path string) (csrf, once string) {
	c.t.Helper()
	r := c.get(page)
	re := regexp.MustCompile(`(?s)action="` + regexp.QuoteMeta(path) + `".*?name="_csrf" value="([^"]*)".*?name="_once" value="([0-9a-f]{32})"`)
	m := re.FindStringSubmatch(r.Body)
	if m == nil {
		c.t.Fatalf("GET %s (%d): no form to %s with _csrf and _once", page, r.StatusCode, path)
	}
	return html.UnescapeString(m[1]), m[2]
}

// parallel posts form to path n times at once with the client's cookies,
// as a browser whose user clicked n times (or a flaky network resent).
func (c *client) parallel(path string, form url.Values, n int) []*http.Response {
	c.t.Helper()
	var cookie []string
	for k, v := range c.cookies {
		cookie = append(cookie, k+"="+v)
	}
	out := make([]*http.Response, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Cookie", strings.Join(cookie, "; "))
			resp, err := c.app.Test(req, -1)
			if err == nil {
				resp.Body.Close()
			}
			out[i], errs[i] = resp, err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			c.t.Fatalf("POST %s: %v", path, err)
		}
	}
	return out
}

// Ten identical posts of a create form at once make one record; the others
// are sent to it, never an error.
func TestTenParallelPostsOfACreateFormMakeOneRecord(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		o := newOpEnv(t, e)
		cust, eng, admin := e.as(t, e.fx.CustA), e.as(t, e.fx.Engineer), e.as(t, e.fx.Admin)
		req := o.raise(t, cust)
		orgA := ids(e.fx.OrgA.ID)
		count := func(n int, err error) int {
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		requests := func() int {
			rs, err := e.store.ListRequests(ctx, models.OrgScope(e.fx.OrgA.ID), models.RequestFilter{})
			return count(len(rs), err)
		}
		for _, tc := range []struct {
			name  string
			c     *client
			page  string
			path  string
			form  url.Values
			count func() int
		}{
			{"a customer's operation request", cust, "/operations/new", "/operations",
				url.Values{"title": {"Swap the fan"}, "work": {"Fan 2 is loud"}, "urgency": {"normal"}, "devices": {ids(o.dev.ID)}}, requests},
			{"an operation request raised by staff", eng, "/orgs/" + orgA + "/operations/new", "/orgs/" + orgA + "/operations",
				url.Values{"title": {"Reboot"}, "work": {"Caller asked"}, "urgency": {"urgent"}, "devices": {ids(o.dev.ID)}, "channel": {"phone"}}, requests},
			{"a contact", cust, "/contacts/new", "/contacts",
				url.Values{"name": {"Qian Yi"}, "email": {"qian.yi@alpha.test"}, "channels": {"email"}}, func() int {
					cs, err := e.store.ListContacts(ctx, models.AllOrgs(), e.fx.OrgA.ID)
					return count(len(cs), err)
				}},
			{"a device", eng, "/orgs/" + orgA + "/devices/new", "/orgs/" + orgA + "/devices",
				url.Values{"name": {"db-01"}, "address": {"192.0.2.33"}}, func() int {
					ds, err := e.store.ListDevices(ctx, models.AllOrgs(), e.fx.OrgA.ID)
					return count(len(ds), err)
				}},
			{"an organization", admin, "/admin/orgs/new", "/admin/orgs",
				url.Values{"slug": {"charlie"}, "name": {"Charlie Ltd"}}, func() int {
					os, err := e.store.ListOrgs(ctx, models.AllOrgs())
					return count(len(os), err)
				}},
			{"a user", admin, "/admin/users/new", "/admin/users",
				url.Values{"email": {"new.engineer@idc.test"}, "name": {"New Engineer"}, "role": {"engineer"}, "password": {"violet harbor river 42"}}, func() int {
					us, err := e.store.ListUsers(ctx, models.AllOrgs(), models.UserFilter{})
					return count(len(us), err)
				}},
			{"a message", cust, req, req + "/messages", url.Values{"body": {"Any news?"}}, func() int {
				d, err := e.store.GetRequestDetail(ctx, models.AllOrgs(), e.fx.OrgA.ID, requestIDOf(e.store, req))
				return count(len(d.Messages), err)
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := tc.count()
				csrf, once := tc.c.formTokens(tc.page, tc.path)
				f := url.Values{"_csrf": {csrf}, "_once": {once}}
				for k, v := range tc.form {
					f[k] = v
				}
				location := ""
				for i, r := range tc.c.parallel(tc.path, f, 10) {
					switch r.StatusCode {
					case http.StatusSeeOther:
						if location == "" {
							location = r.Header.Get("Location")
						}
						if got := r.Header.Get("Location"); got != location {
							t.Errorf("post %d led to %q, another to %q", i, got, location)
						}
					case http.StatusConflict: // told it is being handled
					default:
						t.Errorf("post %d: status %d, want 303 or 409", i, r.StatusCode)
					}
				}
				if got := tc.count() - before; got != 1 {
					t.Fatalf("ten parallel posts made %d records, want 1", got)
				}
				if location == "" {
					t.Fatal("no post led to the record")
				}
				again := tc.c.post(tc.path, f)
				wantRedirect(t, again, location)
				if got := tc.count() - before; got != 1 {
					t.Fatalf("a later repeat made another record (%d in all)", got)
				}
			})
		}

		t.Run("a refused form gives its token back for the corrected one", func(t *testing.T) {
			before := requests()
			csrf, once := cust.formTokens("/operations/new", "/operations")
			f := url.Values{"_csrf": {csrf}, "_once": {once}, "title": {""}, "work": {"Fan"}, "urgency": {"normal"}, "devices": {ids(o.dev.ID)}}
			wantStatus(t, cust.post("/operations", f), http.StatusUnprocessableEntity)
			f.Set("title", "Fan again")
			r := cust.post("/operations", f)
			wantStatus(t, r, http.StatusSeeOther)
			if got := requests() - before; got != 1 {
				t.Fatalf("records after a refused and a corrected post: %d, want 1", got)
			}
		})

		t.Run("another user's token is refused", func(t *testing.T) {
			csrf, once := cust.formTokens("/operations/new", "/operations")
			f := url.Values{"_csrf": {csrf}, "_once": {once}, "title": {"Mine"}, "work": {"w"}, "urgency": {"normal"}, "devices": {ids(o.dev.ID)}}
			wantStatus(t, cust.post("/operations", f), http.StatusSeeOther)
			other := e.as(t, e.fx.CustA)
			f.Set("_csrf", other.csrf("/operations/new"))
			if r := other.post("/operations", f); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/operations/") {
				// the same user in another session is the same user: sent to the record
				t.Fatalf("same user, other session: %d %s", r.StatusCode, r.Header.Get("Location"))
			}
			af := url.Values{"_csrf": {admin.csrf("/admin/orgs/new")}, "_once": {once}, "slug": {"delta"}, "name": {"Delta"}}
			wantStatus(t, admin.post("/admin/orgs", af), http.StatusBadRequest)
		})
	})
}
