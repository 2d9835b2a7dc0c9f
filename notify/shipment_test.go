package notify

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// A parcel's arrival reaches the organization's contact who takes email
// and the user who announced it, each once in their language, with the
// parcels, the place and the condition; the held-too-long reminder goes
// once. No collector's identity number, nothing to the other
// organization.
func TestShipmentArrivalEmailsContactsAndTheAnnouncer(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			s := openStore(t, db, clock)
			fx := dbtest.Seed(t, s)
			if err := s.SetLocale(ctx, fx.CustA.ID, "en"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.CreateContact(ctx, models.UserActor(fx.CustA, "127.0.0.1"), fx.OrgA.ID, models.ContactInput{Name: "孙丽",
				Mobile: "13800138000", Email: "sun@alpha.test", Channels: []models.Channel{models.ChannelMobile, models.ChannelEmail},
				MayAuthorize: true, Passphrase: "blue harbour 42", Locale: "zh-CN"}); err != nil {
				t.Fatal(err)
			}
			sh, err := s.CreateShipment(ctx, models.UserActor(fx.CustA, "192.0.2.1"), fx.OrgA.ID, models.ShipmentInput{Carrier: "SF Express",
				Tracking: "SF100200", Parcels: "3", Date: "2026-11-03", Contents: "two servers",
				Collectors: []models.VisitorInput{{Name: "张伟", IDType: models.IDResident, IDNumber: "110101199003071233", Phone: "13812345678"}}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.RecordArrival(ctx, models.UserActor(fx.Reception, "10.0.0.9"), nil, fx.OrgA.ID, sh.ID, models.ArrivalInput{
				Parcels: "2", StoragePlace: "Shelf R2", Condition: "damaged", ConditionNote: "one box crushed"}); err != nil {
				t.Fatal(err)
			}
			sink := startSMTP(t, ModeNone, nil, "", "")
			r := startDispatchers(t, clock, newDispatcher(t, s, clock, "portal-a", sink.port(t), ""))
			r.until(time.Minute, "the arrival emailed", sentAll(t, s, sink, fx.OrgA.ID, models.EventShipmentArrived, 2))
			ms := mailsTo(t, sink, models.EventShipmentArrived, fx.CustA.Email)
			if len(ms) != 1 {
				t.Fatalf("arrivals to Alice = %d, want 1", len(ms))
			}
			m := ms[0]
			if want := "[" + sh.Number() + "] Shipment arrived, parcels received: 2"; m.Subject != want {
				t.Errorf("subject %q, want %q", m.Subject, want)
			}
			for _, want := range []string{sh.Number(), "Parcels received: 2 (announced: 3)", "Stored at: Shelf R2", "Condition: Damaged",
				"one box crushed", "SF Express SF100200", "Contents: two servers", "https://portal.example/shipments/" + sh.Ref, fx.OrgA.Name} {
				if !strings.Contains(m.Body, want) {
					t.Errorf("arrival lacks %q:\n%s", want, m.Body)
				}
			}
			zh := mailsTo(t, sink, models.EventShipmentArrived, "sun@alpha.test")
			if len(zh) != 1 || !strings.Contains(zh[0].Body, "存放位置：Shelf R2") || !strings.Contains(zh[0].Body, "破损") {
				t.Fatalf("the contact's arrival in Chinese: %+v", zh)
			}
			for _, mm := range sink.all() {
				if strings.Contains(string(mm.Data), "110101199003071233") || mm.To == fx.CustB.Email {
					t.Fatalf("an email shows an ID number or went to B: %s", mm.To)
				}
			}
			if n, err := s.SweepHeldShipments(ctx, clock.Now().Add(15*24*time.Hour)); err != nil || n != 1 {
				t.Fatalf("sweep %d (%v)", n, err)
			}
			r.until(time.Minute, "the reminder emailed", sentAll(t, s, sink, fx.OrgA.ID, models.EventShipmentHeld, 2))
			held := mailsTo(t, sink, models.EventShipmentHeld, fx.CustA.Email)
			if len(held) != 1 || !strings.Contains(held[0].Subject, "held longer than 14 days") {
				t.Fatalf("reminders %+v", held)
			}
		})
	}
}
