package notify

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// The janitor's sweep queues a contract's expiry reminder; the dispatcher
// emails it to the organization's service representative, once, in the
// representative's language, with the contract's link. Nobody of the
// customer is emailed.
func TestContractExpiryEmailsTheServiceRepresentative(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			s := openStore(t, db, clock)
			fx := dbtest.Seed(t, s)
			sys := models.SystemActor("test")
			if err := s.SetLocale(ctx, fx.Service.ID, "en"); err != nil {
				t.Fatal(err)
			}
			// Bravo's representative reads Chinese (the default).
			rep, err := s.CreateUser(ctx, sys, models.UserInput{Email: "desk2@idc.test", Name: "李客服", Role: models.RoleService,
				Password: dbtest.Password})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.UpdateOrg(ctx, sys, fx.OrgB.ID, models.OrgInput{Slug: fx.OrgB.Slug, Name: fx.OrgB.Name, ServiceRepUserID: &rep.ID}); err != nil {
				t.Fatal(err)
			}
			desk := models.UserActor(fx.Service, "10.0.0.2")
			sign := func(org int64, ends string) *models.Contract {
				c, err := s.CreateContract(ctx, desk, models.ContractInput{OrgID: org, ServiceType: models.ServiceFullCabinet,
					MonthlyFee: 1280000, SignedOn: "2026-01-05", StartsOn: "2026-01-05", EndsOn: ends, Renewal: models.RenewalPending})
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			a := sign(fx.OrgA.ID, "2026-12-02") // 30 days from Monday 2 November
			b := sign(fx.OrgB.ID, "2026-12-20") // 48 days
			if sw, err := s.SweepContracts(ctx); err != nil || sw.Reminders != 2 {
				t.Fatalf("sweep %+v, %v", sw, err)
			}
			sink := startSMTP(t, ModeNone, nil, "", "")
			r := startDispatchers(t, clock, newDispatcher(t, s, clock, "portal-a", sink.port(t), ""))
			r.until(time.Minute, "A's reminder emailed", sentAll(t, s, sink, fx.OrgA.ID, models.EventContractExpiry, 2))
			r.step(time.Minute)
			if n := len(sink.all()); n != 2 {
				t.Fatalf("%d emails, want 2", n)
			}
			if _, err := s.SweepContracts(ctx); err != nil {
				t.Fatal(err)
			}
			r.step(time.Minute)
			if n := len(sink.all()); n != 2 {
				t.Fatalf("%d emails after a second sweep, want 2", n)
			}
			ms := mailsTo(t, sink, models.EventContractExpiry, fx.Service.Email)
			if len(ms) != 1 {
				t.Fatalf("reminders to A's representative = %d", len(ms))
			}
			m := ms[0]
			if want := "[" + a.Number() + "] Contract of " + fx.OrgA.Name + " ends on 2026-12-02"; m.Subject != want || m.Header.Get("Content-Language") != "en" {
				t.Errorf("subject %q (%s), want %q in English", m.Subject, m.Header.Get("Content-Language"), want)
			}
			for _, want := range []string{"Dear " + fx.Service.Name + ",", "in 30 days", "Full cabinet rental", "¥12,800.00",
				"2026-01-05 to 2026-12-02", "Renewal under discussion", "https://portal.example/contracts/" + a.Ref,
				"service representative of " + fx.OrgA.Name} {
				if !strings.Contains(m.Body, want) {
					t.Errorf("A's reminder lacks %q:\n%s", want, m.Body)
				}
			}
			ms = mailsTo(t, sink, models.EventContractExpiry, rep.Email)
			if len(ms) != 1 || !strings.Contains(ms[0].Subject, b.Number()) || ms[0].Header.Get("Content-Language") != "zh-CN" ||
				!strings.Contains(ms[0].Body, "还有 48 天") || !strings.Contains(ms[0].Body, "整机柜租用") {
				t.Fatalf("B's reminder %+v", ms)
			}
			for _, u := range []*models.User{fx.CustA, fx.CustB} {
				if n := len(mailsTo(t, sink, models.EventContractExpiry, u.Email)); n != 0 {
					t.Errorf("%d reminders to the customer %s", n, u.Email)
				}
			}
		})
	}
}
