package notify

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// Each staff message, report and resolution on a complaint reaches the
// complaining user once, in that user's language; the customer's own
// message reaches nobody.
func TestComplaintRepliesEmailTheComplainantInTheirLanguage(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			s := openStore(t, db, clock)
			fx := dbtest.Seed(t, s)
			if err := s.SetLocale(ctx, fx.CustA.ID, "en"); err != nil {
				t.Fatal(err)
			}
			file := func(u *models.User) *models.Complaint {
				t.Helper()
				c, err := s.CreateComplaint(ctx, models.UserActor(u, ""), *u.OrgID, models.ComplaintInput{Category: models.ComplaintNetwork,
					Subject: "晚高峰丢包 loss", Description: "every evening"})
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			ca, cb := file(fx.CustA), file(fx.CustB)
			desk, dv := models.UserActor(fx.Service, ""), models.Viewer{Scope: models.AllOrgs(), UserID: fx.Service.ID}
			if _, err := s.AddComplaintMessage(ctx, models.UserActor(fx.CustA, ""), models.Viewer{Scope: models.ScopeOf(fx.CustA), UserID: fx.CustA.ID},
				ca.ID, "the customer's own"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.AddComplaintMessage(ctx, desk, dv, ca.ID, "We are looking at it"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.WriteComplaintReport(ctx, desk, dv, ca.ID, models.ReportInput{Found: "A bad optic", Done: "Traffic moved",
				Next: "Optic replaced on Friday"}); err != nil {
				t.Fatal(err)
			}
			if err := s.ResolveComplaint(ctx, desk, dv, ca.ID, "Optic replaced"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.AddComplaintMessage(ctx, desk, dv, cb.ID, "正在排查"); err != nil {
				t.Fatal(err)
			}
			sink := startSMTP(t, ModeNone, nil, "", "")
			r := startDispatchers(t, clock, newDispatcher(t, s, clock, "portal-a", sink.port(t), ""))
			r.until(time.Minute, "A's replies emailed", sentAll(t, s, sink, fx.OrgA.ID, models.EventComplaintReply, 4))
			r.step(time.Minute)
			if n := len(sink.all()); n != 4 {
				t.Fatalf("%d emails, want 4", n)
			}
			ms := mailsTo(t, sink, models.EventComplaintReply, fx.CustA.Email)
			if len(ms) != 3 {
				t.Fatalf("%d emails to Alice, want 3", len(ms))
			}
			subjects := map[string]string{}
			for _, m := range ms {
				if m.Header.Get("Content-Language") != "en" {
					t.Errorf("email %q not in English", m.Subject)
				}
				subjects[m.Subject] = m.Body
			}
			en := locales.For("en")
			for subject, want := range map[string][]string{
				en.T("email.complaint_message_subject", ca.Number(), ca.Subject):  {"We are looking at it"},
				en.T("email.complaint_report_subject", ca.Number(), ca.Subject):   {"A bad optic", "Traffic moved", "Optic replaced on Friday", "What was found:"},
				en.T("email.complaint_resolved_subject", ca.Number(), ca.Subject): {"Optic replaced", "https://portal.example/complaints/" + ca.Ref},
			} {
				body, ok := subjects[subject]
				if !ok {
					t.Fatalf("no email %q among %v", subject, subjects)
				}
				for _, w := range want {
					if !strings.Contains(body, w) {
						t.Errorf("%q lacks %q:\n%s", subject, w, body)
					}
				}
				if strings.Contains(body, "the customer's own") {
					t.Errorf("%q quotes the customer's message", subject)
				}
			}
			mb := mailsTo(t, sink, models.EventComplaintReply, fx.CustB.Email)
			zh := locales.For("zh-CN")
			if len(mb) != 1 || mb[0].Subject != zh.T("email.complaint_message_subject", cb.Number(), cb.Subject) || !strings.Contains(mb[0].Body, "正在排查") {
				t.Fatalf("email to B: %+v", mb)
			}
		})
	}
}
