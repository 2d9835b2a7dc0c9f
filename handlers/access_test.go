package handlers_test

import (
	"net/http"
	"testing"

	"github.com/colo-portal/portal/models"
)

// scenario is one request by one kind of user and what must come back.
type scenario struct {
	name     string
	who      string // anonymous, custA, custB, admin, engineer, reception, service
	method   string
	path     string
	status   int
	location string   // for redirects: the Location header
	contains []string // the body must contain each
	lacks    []string // the body must contain none
}

// clients signs in one client per kind of user, lazily.
type clients struct {
	e    *env
	byWh map[string]*client
}

func (cs *clients) get(t *testing.T, who string) *client {
	t.Helper()
	if c, ok := cs.byWh[who]; ok {
		return c
	}
	fx := cs.e.fx
	users := map[string]*models.User{"custA": fx.CustA, "custB": fx.CustB, "admin": fx.Admin,
		"engineer": fx.Engineer, "reception": fx.Reception, "service": fx.Service}
	var c *client
	if who == "anonymous" {
		c = newClient(t, cs.e.app)
	} else {
		u, ok := users[who]
		if !ok {
			t.Fatalf("unknown who %q", who)
		}
		c = cs.e.as(t, u)
	}
	cs.byWh[who] = c
	return c
}

// run plays each scenario and checks status, redirect and body.
func runScenarios(t *testing.T, e *env, scs []scenario) {
	t.Helper()
	cs := &clients{e: e, byWh: map[string]*client{}}
	for _, sc := range scs {
		t.Run(sc.name, func(t *testing.T) {
			c := cs.get(t, sc.who)
			method := sc.method
			if method == "" {
				method = http.MethodGet
			}
			var r *response
			if method == http.MethodGet {
				r = c.get(sc.path)
			} else {
				r = c.post(sc.path, nil)
			}
			wantStatus(t, r, sc.status)
			if sc.location != "" {
				if got := r.Header.Get("Location"); got != sc.location {
					t.Errorf("Location %q, want %q", got, sc.location)
				}
			}
			wantBody(t, r, sc.contains...)
			wantNoBody(t, r, sc.lacks...)
		})
	}
}

func TestAccessByRole(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		fx := e.fx
		orgA, orgB := fx.OrgA.Name, fx.OrgB.Name
		allEmails := []string{fx.Admin.Email, fx.Engineer.Email, fx.Service.Email, fx.Reception.Email,
			fx.CustA.Email, fx.CustB.Email}
		runScenarios(t, e, []scenario{
			{name: "an anonymous visitor of the home page is sent to sign in and back",
				who: "anonymous", path: "/", status: http.StatusSeeOther, location: "/login?next=%2F"},
			{name: "an anonymous visitor of an admin page is sent to sign in and back",
				who: "anonymous", path: "/admin/users?q=x", status: http.StatusSeeOther,
				location: "/login?next=%2Fadmin%2Fusers%3Fq%3Dx"},
			{name: "an anonymous visitor sees the sign-in form",
				who: "anonymous", path: "/login", status: http.StatusOK,
				contains: []string{zh("login.title"), `name="email"`, `name="password"`}},
			{name: "an anonymous visitor cannot reach the second-factor step",
				who: "anonymous", path: "/login/totp", status: http.StatusSeeOther, location: "/login"},
			{name: "the health check answers ok without a session",
				who: "anonymous", path: "/healthz", status: http.StatusOK, contains: []string{"ok"}},
			{name: "an unknown path is not found for an anonymous visitor",
				who: "anonymous", path: "/no/such/page", status: http.StatusNotFound,
				contains: []string{zh("error.not_found")}},

			{name: "a customer's home shows their organization and named contacts",
				who: "custA", path: "/", status: http.StatusOK,
				contains: []string{orgA, fx.Service.Name, fx.Service.Email, fx.Service.Phone,
					fx.Engineer.Name, fx.Engineer.Email, fx.Engineer.Phone},
				lacks: []string{orgB}},
			{name: "a customer cannot open the admin user list",
				who: "custA", path: "/admin/users", status: http.StatusForbidden,
				contains: []string{zh("error.forbidden")}, lacks: []string{fx.Admin.Email, fx.CustB.Email}},
			{name: "a customer cannot open the audit log",
				who: "custA", path: "/admin/audit", status: http.StatusForbidden},
			{name: "a customer cannot list organizations",
				who: "custB", path: "/orgs", status: http.StatusForbidden, lacks: []string{orgA}},
			{name: "a customer sees their team",
				who: "custA", path: "/team", status: http.StatusOK, contains: []string{fx.CustA.Email}},
			{name: "an unknown path is not found for a customer",
				who: "custA", path: "/no/such/page", status: http.StatusNotFound},

			{name: "an engineer lists both organizations",
				who: "engineer", path: "/orgs", status: http.StatusOK, contains: []string{orgA, orgB}},
			{name: "a service representative lists both organizations",
				who: "service", path: "/orgs", status: http.StatusOK, contains: []string{orgA, orgB}},
			{name: "reception lists both organizations",
				who: "reception", path: "/orgs", status: http.StatusOK, contains: []string{orgA, orgB}},
			{name: "an engineer cannot open the admin user list",
				who: "engineer", path: "/admin/users", status: http.StatusForbidden},
			{name: "reception cannot open the new organization form",
				who: "reception", path: "/admin/orgs/new", status: http.StatusForbidden},
			{name: "a service representative cannot open the audit log",
				who: "service", path: "/admin/audit", status: http.StatusForbidden},
			{name: "staff have no customer team page",
				who: "engineer", path: "/team", status: http.StatusForbidden},
			{name: "an engineer's start page lists the organization they serve",
				who: "engineer", path: "/", status: http.StatusOK, contains: []string{orgA}, lacks: []string{orgB}},

			{name: "the admin lists every user",
				who: "admin", path: "/admin/users", status: http.StatusOK, contains: allEmails},
			{name: "the admin opens the audit log",
				who: "admin", path: "/admin/audit", status: http.StatusOK, contains: []string{zh("audit.title")}},
			{name: "the admin opens the new organization form",
				who: "admin", path: "/admin/orgs/new", status: http.StatusOK, contains: []string{`action="/admin/orgs"`}},
			{name: "a signed-in user visiting the sign-in page is sent home",
				who: "admin", path: "/login", status: http.StatusSeeOther, location: "/"},
			{name: "a signed-in user is not sent off-site by the next parameter",
				who: "admin", path: "/login?next=//evil.example/x", status: http.StatusSeeOther, location: "/"},
		})
	})
}
