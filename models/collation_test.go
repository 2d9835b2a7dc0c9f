package models_test

import (
	"context"
	"testing"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

func TestBothDatabasesCompareTextTheSameWay(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, _ *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		for _, email := range []string{"jose@alpha.test", "josé@alpha.test"} {
			if _, err := s.CreateUser(ctx, models.SystemActor("test"), models.UserInput{Email: email, Name: "Jose",
				Role: models.RoleCustomer, OrgID: &fx.OrgA.ID, Password: dbtest.Password}); err != nil {
				t.Fatalf("create %s: %v (accented and plain addresses are different users)", email, err)
			}
		}
		u, err := s.GetUserByEmail(ctx, "jose@alpha.test")
		if err != nil || u.Email != "jose@alpha.test" {
			t.Fatalf("GetUserByEmail(jose) = %v, %v; want the unaccented user", u, err)
		}
	})
}

func TestCorruptStoredHashesAreRefusedWithoutPanicking(t *testing.T) {
	for _, h := range []string{
		"$argon2id$v=19$m=19456,t=0,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U",
		"$argon2id$v=19$m=19456,t=2,p=0$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U",
		"$argon2id$v=19$m=4294967295,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U",
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$",
	} {
		if ok, _ := models.DefaultHasher.Verify(h, "anything at all"); ok {
			t.Errorf("corrupt hash %q verified", h)
		}
	}
}
