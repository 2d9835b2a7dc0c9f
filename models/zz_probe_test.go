package models_test

import (
	"context"
	"strings"
	"testing"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

func TestZZProbe(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, _ *dbtest.Clock) {
		ctx := context.Background()
		sys := models.SystemActor("x")
		_, err := s.Authenticate(ctx, "a"+strings.Repeat("é", 200)+"@x.test", "whatever pass", "1.1.1.1", limits)
		t.Logf("long utf8 email: %v", err)
		_, err = s.Authenticate(ctx, "bad\xff@x.test", "whatever pass", "1.1.1.1", limits)
		t.Logf("invalid utf8 email: %v", err)
		u1, err := s.CreateUser(ctx, sys, models.UserInput{Email: "josé@x.test", Name: "Jose A", Role: models.RoleEngineer, Password: dbtest.Password})
		t.Logf("josé: %v %v", u1 != nil, err)
		u2, err := s.CreateUser(ctx, sys, models.UserInput{Email: "jose@x.test", Name: "Jose B", Role: models.RoleEngineer, Password: dbtest.Password})
		t.Logf("jose: %v %v", u2 != nil, err)
		u, err := s.GetUserByEmail(ctx, "jose@x.test")
		if err == nil { t.Logf("GetUserByEmail(jose) -> %s", u.Email) }
		u3, err := s.CreateUser(ctx, sys, models.UserInput{Email: "straße@x.test", Name: "S", Role: models.RoleEngineer, Password: dbtest.Password})
		t.Logf("straße: %v %v", u3 != nil, err)
		u4, err := s.CreateUser(ctx, sys, models.UserInput{Email: "strasse@x.test", Name: "S", Role: models.RoleEngineer, Password: dbtest.Password})
		t.Logf("strasse: %v %v", u4 != nil, err)
		_, err = s.CreateOrg(ctx, sys, models.OrgInput{Slug: "cn", Name: strings.Repeat("中", 70)})
		t.Logf("70 Chinese chars org name: %v", err)
		_, err = s.CreateOrg(ctx, sys, models.OrgInput{Slug: "cn2", Name: strings.Repeat("中", 66)})
		t.Logf("66 Chinese chars org name: %v", err)
	})
}
