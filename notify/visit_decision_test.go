package notify

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// Reception's approval and refusal each reach the customer user who asked
// for the visit, once, in that user's language: the approval with the
// window, site, escort and links, the refusal with its reason. Nobody else
// of either organization is emailed.
func TestVisitDecisionsEmailTheRequesterInTheirLanguage(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			s := openStore(t, db, clock)
			fx := dbtest.Seed(t, s)
			if err := s.SetLocale(ctx, fx.CustA.ID, "en"); err != nil {
				t.Fatal(err)
			}
			sites, err := s.ListSites(ctx)
			if err != nil || len(sites) == 0 {
				t.Fatalf("sites %v (%v)", sites, err)
			}
			sh := shanghai(t)
			ask := func(u *models.User, hour int) *models.Visit {
				t.Helper()
				v, err := s.CreateVisit(ctx, models.UserActor(u, "192.0.2.10"), *u.OrgID, models.VisitInput{SiteID: sites[0].ID,
					Activity: "tour", Reason: "参观机房 a tour", PlannedFrom: time.Date(2026, 11, 3, hour, 0, 0, 0, sh),
					PlannedTo: time.Date(2026, 11, 3, hour+6, 0, 0, 0, sh), Locale: "en",
					Visitors: []models.VisitorInput{{Name: "张伟", IDType: models.IDResident, IDNumber: "110101199003071233", Phone: "13812345678"}}})
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			approved, refused := ask(fx.CustA, 10), ask(fx.CustB, 9)
			rec := models.UserActor(fx.Reception, "10.0.0.9")
			if _, err := s.ApproveVisit(ctx, rec, fx.OrgA.ID, approved.ID, models.ApproveInput{EscortID: fx.Engineer.ID,
				From: ptrTime(time.Date(2026, 11, 3, 11, 0, 0, 0, sh)), Note: "the lift is serviced until 11:00"}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.RefuseVisit(ctx, rec, fx.OrgB.ID, refused.ID, "当天机房停电检修，请改期。", time.Time{}); err != nil {
				t.Fatal(err)
			}
			sink := startSMTP(t, ModeNone, nil, "", "")
			r := startDispatchers(t, clock, newDispatcher(t, s, clock, "portal-a", sink.port(t), ""))
			r.until(time.Minute, "the approval emailed", sentAll(t, s, sink, fx.OrgA.ID, models.EventVisitApproved, 1))
			r.until(time.Minute, "the refusal emailed", sentAll(t, s, sink, fx.OrgB.ID, models.EventVisitRefused, 1))
			r.step(time.Minute) // room for anything extra to show up
			if n := len(sink.all()); n != 2 {
				t.Fatalf("%d emails, want 2", n)
			}
			checkEmailOnly(t, customerDeliveries(t, s, fx.OrgA.ID))
			checkEmailOnly(t, customerDeliveries(t, s, fx.OrgB.ID))

			ms := mailsTo(t, sink, models.EventVisitApproved, fx.CustA.Email)
			if len(ms) != 1 {
				t.Fatalf("approvals to Alice = %d, want 1", len(ms))
			}
			m := ms[0]
			if want := "[" + approved.Number() + "] Visit approved: 2026-11-03 11:00"; m.Subject != want || m.Header.Get("Content-Language") != "en" {
				t.Errorf("subject %q (%s), want %q in English", m.Subject, m.Header.Get("Content-Language"), want)
			}
			url := "https://portal.example/visits/" + approved.Ref
			for _, want := range []string{"Dear Alice Alpha,", approved.Number(), "2026-11-03 11:00 – 16:00 (UTC+08:00)",
				"the lift is serviced until 11:00", sites[0].Name, "Escort: " + fx.Engineer.Name, url, url + "/pass.pdf", fx.OrgA.Name} {
				if !strings.Contains(m.Body, want) {
					t.Errorf("approval lacks %q:\n%s", want, m.Body)
				}
			}
			if strings.Contains(m.Body, "110101199003071233") {
				t.Error("the approval shows a visitor's identity number")
			}

			ms = mailsTo(t, sink, models.EventVisitRefused, fx.CustB.Email)
			if len(ms) != 1 {
				t.Fatalf("refusals to Bob = %d, want 1", len(ms))
			}
			m = ms[0]
			if want := "[" + refused.Number() + "] 来访申请未获批准"; m.Subject != want || m.Header.Get("Content-Language") != "zh-CN" {
				t.Errorf("subject %q (%s), want %q in Chinese", m.Subject, m.Header.Get("Content-Language"), want)
			}
			for _, want := range []string{"Bob Bravo，您好：", refused.Number(), "2026-11-03 09:00 – 15:00 (UTC+08:00)", "当天机房停电检修，请改期。",
				"https://portal.example/visits/" + refused.Ref} {
				if !strings.Contains(m.Body, want) {
					t.Errorf("refusal lacks %q:\n%s", want, m.Body)
				}
			}
			if strings.Contains(m.Body, "pass.pdf") {
				t.Error("a refusal links to a pass")
			}
		})
	}
}

func ptrTime(t time.Time) *time.Time { return &t }
