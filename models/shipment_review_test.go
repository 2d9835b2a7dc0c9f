package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// An edit that changes a collector's ID type but leaves the masked number
// as the form showed it must not keep the stored number under the new
// type: the number has to be typed again.
func TestShipmentEditKeepsAMaskedIDOnlyUnderItsType(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		f := newShipFixture(t, s)
		ctx := context.Background()
		sh, err := s.CreateShipment(ctx, f.customer, f.fx.OrgA.ID, shipInput())
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.ShipmentDetailOf(ctx, models.ScopeOf(f.fx.CustA), sh, false)
		if err != nil {
			t.Fatal(err)
		}
		in := shipInput()
		p := d.People[0]
		in.Collectors = []models.VisitorInput{{Name: p.Name, Company: p.Company, IDType: "passport", IDNumber: p.IDMasked, Phone: p.PhoneMasked}}
		if _, err := s.UpdateShipment(ctx, f.customer, sh.OrgID, sh.ID, in); !hasField(err, "collector1_id_number") {
			t.Fatalf("type changed, masked number kept: %v", err)
		}
		in.Collectors[0].IDType = p.IDType
		if _, err := s.UpdateShipment(ctx, f.customer, sh.OrgID, sh.ID, in); err != nil {
			t.Fatalf("unchanged collector: %v", err)
		}
	})
}

// An outbound request to be collected that nobody acted on keeps its
// collectors' numbers no longer than an announcement that never arrived.
func TestShipmentPurgeOfAForgottenOutboundRequest(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		f := newShipFixture(t, s)
		ctx := context.Background()
		out, err := s.CreateShipment(ctx, f.customer, f.fx.OrgA.ID, models.ShipmentInput{Method: models.ShipCollect, Parcels: "1",
			Date: clock.Now().In(s.Zone()).AddDate(0, 0, 1).Format(time.DateOnly), Contents: "old disk array", Cabinet: "A03",
			Collectors: []models.VisitorInput{{Name: "Li Na", IDType: models.IDResident, IDNumber: residentB, Phone: "13900001111"}}})
		if err != nil {
			t.Fatal(err)
		}
		n, err := s.PurgeShipmentPeople(ctx, clock.Now().Add(s.VisitRules().PurgeAfter+40*24*time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("purge of a forgotten request: %d (%v)", n, err)
		}
		got, _ := s.GetShipmentByRef(ctx, models.AllOrgs(), out.Ref)
		d, err := s.ShipmentDetailOf(ctx, models.AllOrgs(), got, true)
		if err != nil || d.People[0].ID != "" || d.People[0].PurgedAt == nil {
			t.Fatalf("after purge %+v (%v)", d.People, err)
		}
	})
}

// Two desks recording the same parcel's arrival at once: one arrival,
// one email event, the other told it is no longer announced.
func TestShipmentArrivalByTwoDesksAtOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		f := newShipFixture(t, s)
		ctx := context.Background()
		sh, err := s.CreateShipment(ctx, f.customer, f.fx.OrgA.ID, shipInput())
		if err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, 4)
		for range 4 {
			go func() {
				_, err := s.RecordArrival(ctx, f.desk, f.blobs, sh.OrgID, sh.ID, models.ArrivalInput{Parcels: "2", StoragePlace: "R1", Condition: "good"})
				errs <- err
			}()
		}
		ok := 0
		for range 4 {
			err := <-errs
			switch {
			case err == nil:
				ok++
			case !hasField(err, "state"):
				t.Errorf("concurrent arrival: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d arrivals recorded, want 1", ok)
		}
		if evs := auditOf(t, s, models.AuditShipmentArrived); len(evs) != 1 {
			t.Fatalf("%d arrival audit records", len(evs))
		}
	})
}
