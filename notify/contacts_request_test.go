package notify

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

func TestAskingForContactsEmailsTheOrganizationsUsers(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			s := openStore(t, db, clock)
			fx := dbtest.Seed(t, s)
			org := fx.OrgB.ID
			if err := s.SetLocale(ctx, fx.CustB.ID, "en"); err != nil {
				t.Fatal(err)
			}
			n, err := s.AskForContacts(ctx, models.UserActor(fx.Service, "10.0.0.2"), org)
			if err != nil || n != 1 {
				t.Fatalf("asked %d users, %v; want Bob Bravo", n, err)
			}
			sink := startSMTP(t, ModeNone, nil, "", "")
			r := startDispatchers(t, clock, newDispatcher(t, s, clock, "portal-a", sink.port(t), ""))
			r.until(time.Minute, "the request emailed", sentAll(t, s, sink, org, models.EventContactsRequested, 1))
			r.step(time.Minute)
			ms := mailsTo(t, sink, models.EventContactsRequested, fx.CustB.Email)
			if len(ms) != 1 {
				t.Fatalf("emails to Bob = %d, want 1 (all: %d)", len(ms), len(sink.all()))
			}
			m := ms[0]
			if m.Subject != "Bravo Games: please name your authorized contacts" {
				t.Errorf("subject = %q", m.Subject)
			}
			for _, want := range []string{"Bob Bravo", "Bravo Games has no authorized contact", "/contacts/new"} {
				if !strings.Contains(m.Body, want) {
					t.Errorf("body lacks %q:\n%s", want, m.Body)
				}
			}
			if len(mailsTo(t, sink, models.EventContactsRequested, fx.CustA.Email)) != 0 {
				t.Error("organization A's user was asked too")
			}
		})
	}
}
