package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

func TestScopeOfAUser(t *testing.T) {
	org := int64(7)
	cases := []struct {
		name     string
		user     *models.User
		all      bool
		org      int64
		sees7    bool
		seesNone bool
	}{
		{"nobody sees nothing", nil, false, 0, false, true},
		{"a customer sees their organization", &models.User{Role: models.RoleCustomer, OrgID: &org}, false, 7, true, false},
		{"a customer without an organization sees nothing", &models.User{Role: models.RoleCustomer}, false, 0, false, true},
		{"an engineer sees every organization", &models.User{Role: models.RoleEngineer}, true, 0, true, false},
		{"reception sees every organization", &models.User{Role: models.RoleReception}, true, 0, true, false},
		{"staff tied to an organization sees nothing", &models.User{Role: models.RoleAdmin, OrgID: &org}, false, 0, false, true},
		{"an unknown role sees nothing", &models.User{Role: "auditor"}, false, 0, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sc := models.ScopeOf(c.user)
			got, ok := sc.Org()
			if sc.All() != c.all || got != c.org && ok || ok != (c.org != 0) {
				t.Fatalf("ScopeOf = all %v, org %d %v; want all %v, org %d", sc.All(), got, ok, c.all, c.org)
			}
			if sc.Allows(7) != c.sees7 || sc.Allows(8) != (c.all) {
				t.Fatalf("Allows(7) = %v, Allows(8) = %v", sc.Allows(7), sc.Allows(8))
			}
			if c.seesNone && sc != (models.Scope{}) {
				t.Fatalf("scope %+v, want the zero scope", sc)
			}
		})
	}
}

// TestScopedReadsKeepOrganizationsApart runs every Store read that takes a
// Scope for a row of organization A: A's scope and the staff's find it;
// B's scope and the zero scope get ErrNotFound, as if it did not exist.
func TestScopedReadsKeepOrganizationsApart(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		f := newOpFixture(t, s)
		o := failOutage(t, s, f.fx.OrgA.ID, f.chk, clock.Now())
		// An authorization starts the request's first-feedback clock.
		if _, err := s.RecordPhoneAuthorization(ctx, f.eng, f.fx.OrgA.ID, f.req.ID, models.PhoneInput{ContactID: f.signer.ID,
			Passphrase: "blue harbour 42"}); err != nil {
			t.Fatal(err)
		}
		// The outage's notices become deliveries, sent as calls.
		evs, err := s.ClaimEvents(ctx, "me", time.Minute, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if _, err := s.ExpandEvent(ctx, ev, "me", func(models.Channel) string { return models.TransportCall }); err != nil {
				t.Fatal(err)
			}
		}
		calls, err := s.CallTasks(ctx, models.AllOrgs())
		if err != nil || len(calls) == 0 {
			t.Fatalf("call tasks = %v, %v", calls, err)
		}
		delivery := calls[0].Delivery.ID

		// read returns the ID of what it found.
		reads := []struct {
			name string
			read func(models.Scope) (int64, error)
		}{
			{"GetOrg", func(sc models.Scope) (int64, error) {
				o, err := s.GetOrg(ctx, sc, f.fx.OrgA.ID)
				return idOf(o, err, func() int64 { return o.ID })
			}},
			{"ListOrgs", func(sc models.Scope) (int64, error) {
				os, err := s.ListOrgs(ctx, sc)
				for _, o := range os {
					if o.ID == f.fx.OrgA.ID {
						return o.ID, err
					}
				}
				return 0, errors.Join(err, models.ErrNotFound)
			}},
			{"GetDevice", func(sc models.Scope) (int64, error) {
				d, err := s.GetDevice(ctx, sc, f.dev.ID)
				return idOf(d, err, func() int64 { return d.ID })
			}},
			{"GetCheck", func(sc models.Scope) (int64, error) {
				c, err := s.GetCheck(ctx, sc, f.chk.ID)
				return idOf(c, err, func() int64 { return c.ID })
			}},
			{"GetRequest", func(sc models.Scope) (int64, error) {
				r, err := s.GetRequest(ctx, sc, f.req.ID)
				return idOf(r, err, func() int64 { return r.ID })
			}},
			{"GetOutage", func(sc models.Scope) (int64, error) {
				got, err := s.GetOutage(ctx, sc, o.ID)
				return idOf(got, err, func() int64 { return got.ID })
			}},
			{"GetContact", func(sc models.Scope) (int64, error) {
				c, err := s.GetContact(ctx, sc, f.signer.ID)
				return idOf(c, err, func() int64 { return c.ID })
			}},
			{"GetOrgUser", func(sc models.Scope) (int64, error) {
				u, err := s.GetOrgUser(ctx, sc, f.fx.CustA.ID)
				return idOf(u, err, func() int64 { return u.ID })
			}},
			{"ListRequests", func(sc models.Scope) (int64, error) {
				rs, err := s.ListRequests(ctx, sc, models.RequestFilter{})
				if err != nil || len(rs) == 0 {
					return 0, errors.Join(err, models.ErrNotFound)
				}
				return rs[0].ID, nil
			}},
			{"RequestListClocks", func(sc models.Scope) (int64, error) {
				fb, _, err := s.RequestListClocks(ctx, sc, []int64{f.req.ID})
				if err != nil || fb[f.req.ID] == nil {
					return 0, errors.Join(err, models.ErrNotFound)
				}
				return fb[f.req.ID].RefID, nil
			}},
			{"GetDelivery", func(sc models.Scope) (int64, error) {
				d, err := s.GetDelivery(ctx, sc, delivery)
				return idOf(d, err, func() int64 { return d.ID })
			}},
			{"CallTasks", func(sc models.Scope) (int64, error) {
				cs, err := s.CallTasks(ctx, sc)
				return first(err, len(cs), func() int64 { return cs[0].Delivery.ID })
			}},
			{"OnCallOutages", func(sc models.Scope) (int64, error) {
				os, err := s.OnCallOutages(ctx, sc)
				return first(err, len(os), func() int64 { return os[0].Outage.ID })
			}},
			{"OnCallOperations", func(sc models.Scope) (int64, error) {
				ops, err := s.OnCallOperations(ctx, sc)
				return first(err, len(ops), func() int64 { return ops[0].Request.ID })
			}},
			{"ListFleet", func(sc models.Scope) (int64, error) {
				ds, err := s.ListFleet(ctx, sc)
				return first(err, len(ds), func() int64 { return ds[0].ID })
			}},
		}
		scopes := []struct {
			name  string
			sc    models.Scope
			found bool
		}{
			{"organization A's scope finds it", models.OrgScope(f.fx.OrgA.ID), true},
			{"the staff's scope finds it", models.ScopeOf(f.fx.Engineer), true},
			{"organization B's scope does not", models.ScopeOf(f.fx.CustB), false},
			{"the zero scope does not", models.Scope{}, false},
			{"the scope of organization 0 does not", models.OrgScope(0), false},
		}
		for _, r := range reads {
			for _, sc := range scopes {
				t.Run(r.name+": "+sc.name, func(t *testing.T) {
					id, err := r.read(sc.sc)
					if sc.found {
						if err != nil || id == 0 {
							t.Fatalf("got %d, %v; want the row", id, err)
						}
						return
					}
					if !errors.Is(err, models.ErrNotFound) {
						t.Fatalf("got %d, %v; want ErrNotFound", id, err)
					}
				})
			}
		}
	})
}

// first is the ID of a list's first row, or ErrNotFound for an empty list.
func first(err error, n int, id func() int64) (int64, error) {
	if err != nil || n == 0 {
		return 0, errors.Join(err, models.ErrNotFound)
	}
	return id(), nil
}

func idOf[T any](p *T, err error, id func() int64) (int64, error) {
	if err != nil || p == nil {
		return 0, err
	}
	return id(), nil
}
