package models_test

import (
	"testing"

	"github.com/colo-portal/portal/models"
)

func TestSSORolesMapGroupsToTheHighestStaffRole(t *testing.T) {
	m, err := models.ParseSSORoles(" idc-reception=reception, idc-engineers=Engineer ,/idc/cn=desk=service,idc-admins=admin,")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		groups []string
		want   models.Role
		ok     bool
	}{
		{[]string{"idc-reception"}, models.RoleReception, true},
		{[]string{"idc-engineers"}, models.RoleEngineer, true},
		{[]string{"/idc/cn=desk"}, models.RoleService, true}, // the last "=" separates the role
		{[]string{"idc-admins"}, models.RoleAdmin, true},
		{[]string{"idc-reception", "idc-engineers"}, models.RoleEngineer, true},
		{[]string{"idc-engineers", "idc-reception", "idc-admins"}, models.RoleAdmin, true},
		{[]string{"idc-reception", "everyone"}, models.RoleReception, true},
		{[]string{"everyone", "IDC-ADMINS"}, "", false}, // group names are compared exactly
		{nil, "", false},
	} {
		got, ok := m.RoleOf(tc.groups)
		if got != tc.want || ok != tc.ok {
			t.Errorf("RoleOf(%q) = %q, %v; want %q, %v", tc.groups, got, ok, tc.want, tc.ok)
		}
	}
	for _, bad := range []string{"idc-all=customer", "idc=root", "noequals", "=admin", "g=admin,g=reception"} {
		if _, err := models.ParseSSORoles(bad); err == nil {
			t.Errorf("ParseSSORoles(%q) accepted", bad)
		}
	}
}

func TestPasswordAllowedWithSSOOnlyForCustomersAndBreakGlassAdmins(t *testing.T) {
	glass := []string{" Root@IDC.test "}
	for _, tc := range []struct {
		u    models.User
		want bool
	}{
		{models.User{Email: "a@alpha.test", Role: models.RoleCustomer}, true},
		{models.User{Email: "root@idc.test", Role: models.RoleAdmin}, true},
		{models.User{Email: "other@idc.test", Role: models.RoleAdmin}, false},
		{models.User{Email: "root@idc.test", Role: models.RoleEngineer}, false}, // break-glass is for admins
		{models.User{Email: "eng@idc.test", Role: models.RoleEngineer}, false},
		{models.User{Email: "front@idc.test", Role: models.RoleReception}, false},
	} {
		if got := models.PasswordAllowedWithSSO(&tc.u, glass); got != tc.want {
			t.Errorf("PasswordAllowedWithSSO(%s %s) = %v", tc.u.Role, tc.u.Email, got)
		}
	}
}
