package handlers_test

import (
	"net/http"
	"testing"
)

// TestTwoOrganizations checks that organization B learns nothing of
// organization A: A's objects are "not found" to B, and A's names appear on
// none of B's pages.
func TestTwoOrganizations(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		fx := e.fx
		a, b := ids(fx.CustA.ID), ids(fx.CustB.ID)
		runScenarios(t, e, []scenario{
			{name: "a customer opens a colleague of their own organization",
				who: "custA", path: "/team/" + a, status: http.StatusOK,
				contains: []string{fx.CustA.Name, fx.CustA.Email}},
			{name: "a customer of B gets not found for a user of A",
				who: "custB", path: "/team/" + a, status: http.StatusNotFound,
				contains: []string{zh("error.not_found")}, lacks: []string{fx.CustA.Email, fx.CustA.Name}},
			{name: "a customer of A gets not found for a user of B",
				who: "custA", path: "/team/" + b, status: http.StatusNotFound,
				lacks: []string{fx.CustB.Email, fx.CustB.Name}},
			{name: "a customer gets not found for a staff user",
				who: "custB", path: "/team/" + ids(fx.Admin.ID), status: http.StatusNotFound,
				lacks: []string{fx.Admin.Email}},
			{name: "a customer gets the same not found for a user that does not exist",
				who: "custB", path: "/team/999999", status: http.StatusNotFound},
			{name: "a customer gets not found for a malformed user id",
				who: "custB", path: "/team/abc", status: http.StatusNotFound},
			{name: "the team list of B does not contain A's users",
				who: "custB", path: "/team", status: http.StatusOK,
				contains: []string{fx.CustB.Email}, lacks: []string{fx.CustA.Email, fx.CustA.Name}},
			{name: "the home page of B does not contain A's name or A's contacts",
				who: "custB", path: "/", status: http.StatusOK,
				contains: []string{fx.OrgB.Name},
				lacks:    []string{fx.OrgA.Name, fx.OrgA.Slug, fx.Service.Email, fx.Engineer.Email}},
			{name: "a customer cannot use the staff page of another organization",
				who: "custA", path: "/orgs/" + ids(fx.OrgB.ID), status: http.StatusForbidden,
				lacks: []string{fx.OrgB.Name}},
			{name: "a customer cannot use the staff page of their own organization either",
				who: "custA", path: "/orgs/" + ids(fx.OrgA.ID), status: http.StatusForbidden},
			{name: "staff open any organization",
				who: "engineer", path: "/orgs/" + ids(fx.OrgB.ID), status: http.StatusOK,
				contains: []string{fx.OrgB.Name}},
			{name: "staff get not found for an organization that does not exist",
				who: "engineer", path: "/orgs/999999", status: http.StatusNotFound},
			{name: "the admin gets not found editing an organization that does not exist",
				who: "admin", path: "/admin/orgs/999999", status: http.StatusNotFound},
			{name: "the admin gets not found for a user that does not exist",
				who: "admin", path: "/admin/users/999999", status: http.StatusNotFound},
		})
	})
}
