package models_test

import (
	"context"
	"testing"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// Every service a contract may be for can be stored. Fails on MySQL
// while migration 24 makes contracts.service_type 16 characters:
// "full_cabinet_rental" and "whole_server_rental" are 19 (Error 1406,
// data too long). SQLite does not check the length.
func TestAContractOfEveryServiceIsStored(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		fx := dbtest.Seed(t, s)
		for _, st := range models.ServiceTypes {
			c := &models.Contract{OrgID: fx.OrgA.ID, ServiceType: st, MonthlyFee: 100000, SignedOn: "2026-11-01", StartsOn: "2026-11-01", EndsOn: "2027-10-31"}
			if err := s.SeedContract(context.Background(), c, nil); err != nil {
				t.Errorf("a %s contract: %v", st, err)
			}
		}
	})
}
