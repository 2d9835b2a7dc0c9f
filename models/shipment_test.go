package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/blobstore"
	"github.com/colo-portal/portal/models/dbtest"
)

// shipFixture is the seeded organizations with OrgA's device in cabinet
// A03, a contact of OrgA who takes email, and a folder of documents.
type shipFixture struct {
	fx       *dbtest.Fixture
	customer models.Actor
	desk     models.Actor
	blobs    blobstore.Store
}

func newShipFixture(t *testing.T, s *models.Store) *shipFixture {
	t.Helper()
	ctx := context.Background()
	fx, _, _ := probeFixture(t, s)
	if _, err := s.CreateContact(ctx, models.UserActor(fx.CustA, "127.0.0.1"), fx.OrgA.ID, models.ContactInput{Name: "Sun Li",
		Mobile: "13800138000", Email: "sun@alpha.test", Channels: []models.Channel{models.ChannelMobile, models.ChannelEmail},
		MayAuthorize: true, Passphrase: "blue harbour 42"}); err != nil {
		t.Fatal(err)
	}
	blobs, err := blobstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &shipFixture{fx: fx, customer: models.UserActor(fx.CustA, "10.0.0.1"), desk: models.UserActor(fx.Reception, "10.0.0.2"), blobs: blobs}
}

func shipInput() models.ShipmentInput {
	return models.ShipmentInput{Carrier: "SF Express", Tracking: " sf 1234 5678 ", Parcels: "2", Date: "2026-11-03",
		Contents: "2 servers, 1 switch", Cabinet: "A03",
		Collectors: []models.VisitorInput{{Name: "张伟", Company: "阿尔法科技", IDType: models.IDResident, IDNumber: residentA, Phone: "13812345678"}}}
}

func TestShipmentAnnouncedArrivesAndIsCollected(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		f := newShipFixture(t, s)
		ctx := context.Background()
		sh, err := s.CreateShipment(ctx, f.customer, f.fx.OrgA.ID, shipInput())
		if err != nil {
			t.Fatal(err)
		}
		if sh.Number() != "SH-2026-0001" || sh.Tracking != "SF12345678" || sh.State != models.ShipmentAnnounced || sh.Parcels != 2 {
			t.Fatalf("new shipment %+v (%s)", sh, sh.Number())
		}
		var raw []map[string]any
		if err := rawDB(t, db).Table("shipment_people").Find(&raw).Error; err != nil {
			t.Fatal(err)
		}
		for _, row := range raw {
			for col, val := range row {
				if v, ok := val.(string); ok && (strings.Contains(v, residentA) || strings.Contains(v, "13812345678")) {
					t.Errorf("column %s holds %q in the clear", col, v)
				}
			}
		}
		// Another organization: not found; reception finds it by the
		// number a scanner types, spaces and case aside.
		if _, err := s.GetShipmentByRef(ctx, models.ScopeOf(f.fx.CustB), sh.Ref); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("other organization: %v", err)
		}
		if m, err := s.MatchTracking(ctx, models.ScopeOf(f.fx.CustB), "SF12345678"); err != nil || len(m) != 0 {
			t.Fatalf("B matches %v (%v)", m, err)
		}
		m, err := s.MatchTracking(ctx, models.AllOrgs(), "sf12345678")
		if err != nil || len(m) != 1 || m[0].ID != sh.ID || m[0].OrgName != f.fx.OrgA.Name {
			t.Fatalf("matches %+v (%v)", m, err)
		}
		desk, err := s.ShipmentDeskOf(ctx, models.AllOrgs(), clock.Now().Add(24*time.Hour))
		if err != nil || len(desk.Expected) != 1 {
			t.Fatalf("desk %+v (%v)", desk, err)
		}
		// A bad arrival stores nothing and says every problem.
		_, err = s.RecordArrival(ctx, f.desk, f.blobs, sh.OrgID, sh.ID, models.ArrivalInput{Parcels: "0", Condition: "crushed"})
		for _, field := range []string{"parcels", "storage_place", "condition"} {
			if !hasField(err, field) {
				t.Errorf("bad arrival: no error on %s (%v)", field, err)
			}
		}
		clock.Advance(time.Hour)
		got, err := s.RecordArrival(ctx, f.desk, f.blobs, sh.OrgID, sh.ID, models.ArrivalInput{Parcels: "2", StoragePlace: "Shelf R2",
			Condition: "damaged", ConditionNote: "corner dented"})
		if err != nil {
			t.Fatal(err)
		}
		if got.State != models.ShipmentArrived || got.StoragePlace != "Shelf R2" || got.ArrivedAt == nil || *got.ReceivedBy != f.fx.Reception.ID {
			t.Fatalf("arrived %+v", got)
		}
		if _, err := s.RecordArrival(ctx, f.desk, f.blobs, sh.OrgID, sh.ID, models.ArrivalInput{Parcels: "2", StoragePlace: "x", Condition: "good"}); !hasField(err, "state") {
			t.Fatalf("second arrival: %v", err)
		}
		if err := s.CancelShipment(ctx, f.customer, sh.OrgID, sh.ID); !hasField(err, "state") {
			t.Fatalf("cancelling an arrived shipment: %v", err)
		}
		// The contact with email and the announcing user are emailed.
		expandAll(t, s)
		ds, err := s.ClaimDeliveries(ctx, "me", time.Minute, 100, []string{models.TransportEmail})
		if err != nil {
			t.Fatal(err)
		}
		addrs := map[string]bool{}
		for _, d := range ds {
			if d.Event == models.EventShipmentArrived {
				addrs[d.Address] = true
			}
		}
		if len(addrs) != 2 || !addrs["sun@alpha.test"] || !addrs[f.fx.CustA.Email] {
			t.Fatalf("arrival emailed to %v", addrs)
		}
		facts, err := s.ShipmentFactsOf(ctx, models.AllOrgs(), sh.OrgID, ds[0].EventID)
		if err != nil || facts.Shipment.ID != sh.ID || facts.Org.ID != sh.OrgID {
			t.Fatalf("facts %+v (%v)", facts, err)
		}
		if _, err := s.ShipmentFactsOf(ctx, models.AllOrgs(), f.fx.OrgB.ID, ds[0].EventID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("B's facts of A's event: %v", err)
		}
		// Collection: a named collector needs the ID checked.
		d, err := s.ShipmentDetailOf(ctx, models.AllOrgs(), got, true)
		if err != nil || len(d.People) != 1 || d.People[0].ID != residentA {
			t.Fatalf("revealed %+v (%v)", d, err)
		}
		masked, _ := s.ShipmentDetailOf(ctx, models.ScopeOf(f.fx.CustA), got, false)
		if masked.People[0].ID != "110***********1233" || masked.People[0].Phone != "138****5678" {
			t.Fatalf("masked %+v", masked.People)
		}
		pid := d.People[0].ShipmentPerson.ID
		if _, err := s.CollectShipment(ctx, f.desk, sh.OrgID, sh.ID, models.CollectInput{CollectorID: pid}); !hasField(err, "id_checked") {
			t.Fatalf("unchecked ID: %v", err)
		}
		done, err := s.CollectShipment(ctx, f.desk, sh.OrgID, sh.ID, models.CollectInput{CollectorID: pid, IDChecked: true})
		if err != nil || done.State != models.ShipmentCollected || done.HandedToName != "张伟" || done.EndedAt == nil {
			t.Fatalf("collected %+v (%v)", done, err)
		}
		for _, a := range []string{models.AuditShipmentAnnounced, models.AuditShipmentArrived, models.AuditShipmentCollected} {
			evs := auditOf(t, s, a)
			if len(evs) != 1 || strings.Contains(evs[0].Detail, residentA) {
				t.Fatalf("audit %s = %+v", a, evs)
			}
		}
		// The purge clears the collector's number after the period.
		if n, err := s.PurgeShipmentPeople(ctx, clock.Now().Add(24*time.Hour)); err != nil || n != 0 {
			t.Fatalf("early purge %d (%v)", n, err)
		}
		n, err := s.PurgeShipmentPeople(ctx, clock.Now().Add(s.VisitRules().PurgeAfter+time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("purge %d (%v)", n, err)
		}
		after, _ := s.GetShipmentByRef(ctx, models.AllOrgs(), sh.Ref)
		d, err = s.ShipmentDetailOf(ctx, models.AllOrgs(), after, true)
		if err != nil || d.People[0].ID != "" || d.People[0].PurgedAt == nil || d.People[0].Name != "张伟" {
			t.Fatalf("after purge %+v (%v)", d.People, err)
		}
	})
}

func TestShipmentValidationAndTenancy(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		f := newShipFixture(t, s)
		ctx := context.Background()
		bad := models.ShipmentInput{Carrier: "", Tracking: "AB<1>", Parcels: "x", Date: "2026-13-01", Contents: "", Cabinet: "Z99",
			Collectors: []models.VisitorInput{{Name: "", IDType: models.IDResident, IDNumber: residentBad, Phone: "1"}}}
		_, err := s.CreateShipment(ctx, f.customer, f.fx.OrgA.ID, bad)
		for _, field := range []string{"carrier", "tracking", "parcels", "date", "contents", "collector1_name", "collector1_id_number", "collector1_phone"} {
			if !hasField(err, field) {
				t.Errorf("no error on %s: %v", field, err)
			}
		}
		in := shipInput()
		in.Cabinet = "B07" // not a cabinet of OrgA
		if _, err := s.CreateShipment(ctx, f.customer, f.fx.OrgA.ID, in); !hasField(err, "cabinet") {
			t.Fatalf("another's cabinet: %v", err)
		}
		sh, err := s.CreateShipment(ctx, f.customer, f.fx.OrgA.ID, shipInput())
		if err != nil {
			t.Fatal(err)
		}
		// An edit that leaves the masked values keeps the stored ones.
		edit := shipInput()
		edit.Parcels = "3"
		edit.Collectors[0].IDNumber, edit.Collectors[0].Phone = models.MaskID(residentA), models.MaskPhone("13812345678")
		if _, err := s.UpdateShipment(ctx, f.customer, sh.OrgID, sh.ID, edit); err != nil {
			t.Fatal(err)
		}
		got, _ := s.GetShipmentByRef(ctx, models.AllOrgs(), sh.Ref)
		d, err := s.ShipmentDetailOf(ctx, models.AllOrgs(), got, true)
		if err != nil || got.Parcels != 3 || d.People[0].ID != residentA || d.People[0].Phone != "13812345678" {
			t.Fatalf("after edit %+v %+v (%v)", got, d.People, err)
		}
		if err := s.CancelShipment(ctx, f.customer, f.fx.OrgB.ID, sh.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("cancel through another organization: %v", err)
		}
		if err := s.CancelShipment(ctx, f.customer, sh.OrgID, sh.ID); err != nil {
			t.Fatal(err)
		}
		rows, err := s.ListShipments(ctx, models.ScopeOf(f.fx.CustB), models.ShipmentFilter{})
		if err != nil || len(rows) != 0 {
			t.Fatalf("B lists %v (%v)", rows, err)
		}
		rows, err = s.ListShipments(ctx, models.ScopeOf(f.fx.CustA), models.ShipmentFilter{})
		if err != nil || len(rows) != 1 || rows[0].State != models.ShipmentCancelled {
			t.Fatalf("A lists %v (%v)", rows, err)
		}
	})
}

func TestUnannouncedParcelHeldTooLongAndOutbound(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		f := newShipFixture(t, s)
		ctx := context.Background()
		if _, err := s.RecordArrival(ctx, f.desk, f.blobs, 0, 0, models.ArrivalInput{Carrier: "DHL", Parcels: "1", StoragePlace: "R1", Condition: "good"}); !hasField(err, "org") {
			t.Fatalf("no organization: %v", err)
		}
		photo := []byte("\x89PNG\r\n\x1a\n")
		sh, err := s.RecordArrival(ctx, f.desk, f.blobs, 0, 0, models.ArrivalInput{OrgID: f.fx.OrgB.ID, Carrier: "DHL", Tracking: "jd 0001",
			Parcels: "1", StoragePlace: "R1", Condition: "wet", ConditionNote: "box soaked",
			Photo: &models.CheckedUpload{Name: "box.png", ContentType: "image/png", Size: int64(len(photo)), SHA256: "x"}, PhotoData: photo})
		if err != nil {
			t.Fatal(err)
		}
		if !sh.Unannounced || sh.State != models.ShipmentArrived || sh.OrgID != f.fx.OrgB.ID || sh.Number() != "SH-2026-0001" ||
			sh.Tracking != "JD0001" || sh.PhotoKey == "" {
			t.Fatalf("unannounced %+v", sh)
		}
		if n, err := s.SweepHeldShipments(ctx, clock.Now().Add(13*24*time.Hour)); err != nil || n != 0 {
			t.Fatalf("early sweep %d (%v)", n, err)
		}
		later := clock.Now().Add(15 * 24 * time.Hour)
		c, err := s.CountShipments(ctx, models.ScopeOf(f.fx.CustB), f.fx.OrgB.ID, later)
		if err != nil || c.Held != 1 || c.HeldLong != 1 {
			t.Fatalf("counts %+v (%v)", c, err)
		}
		if n, err := s.SweepHeldShipments(ctx, later); err != nil || n != 1 {
			t.Fatalf("sweep %d (%v)", n, err)
		}
		if n, err := s.SweepHeldShipments(ctx, later.Add(time.Hour)); err != nil || n != 0 {
			t.Fatalf("second sweep %d (%v), want the reminder once", n, err)
		}
		// Outbound: requested with a carrier, handed over with tracking.
		out, err := s.CreateShipment(ctx, f.customer, f.fx.OrgA.ID, models.ShipmentInput{Method: models.ShipByCarrier, Carrier: "SF",
			Parcels: "1", Date: "2026-11-05", Contents: "old disk array", Cabinet: "A03"})
		if err != nil {
			t.Fatal(err)
		}
		if out.Number() != "SO-2026-0001" || out.State != models.ShipmentRequested {
			t.Fatalf("outbound %+v", out)
		}
		_, err = s.HandOverShipment(ctx, f.desk, out.OrgID, out.ID, models.HandOverInput{Name: "Driver Wu", IDType: models.IDResident, IDNumber: residentB})
		if !hasField(err, "id_checked") {
			t.Fatalf("unchecked hand-over: %v", err)
		}
		_, err = s.HandOverShipment(ctx, f.desk, out.OrgID, out.ID, models.HandOverInput{Name: "Driver Wu", IDType: models.IDResident, IDNumber: residentB, IDChecked: true})
		if !hasField(err, "tracking") {
			t.Fatalf("carrier without tracking: %v", err)
		}
		done, err := s.HandOverShipment(ctx, f.desk, out.OrgID, out.ID, models.HandOverInput{Name: "Driver Wu", Company: "SF",
			IDType: models.IDResident, IDNumber: residentB, IDChecked: true, Tracking: "sf 999"})
		if err != nil || done.State != models.ShipmentHandedOver || done.OutTracking != "SF999" || done.HandedToIDMasked == residentB {
			t.Fatalf("handed over %+v (%v)", done, err)
		}
		var rows []*models.ShipmentExportRow
		n, err := s.ExportShipments(ctx, models.ScopeOf(f.fx.CustA), f.customer, clock.Now().Add(-24*time.Hour), clock.Now().Add(24*time.Hour),
			func(r *models.ShipmentExportRow) error { rows = append(rows, r); return nil })
		if err != nil || n != 1 || rows[0].ID != out.ID {
			t.Fatalf("A's export %d %v (%v)", n, rows, err)
		}
	})
}

// hasField reports a validation error of err on field.
func hasField(err error, field string) bool {
	for _, v := range models.Validations(err) {
		if v.Field == field {
			return true
		}
	}
	return false
}
