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

// A maintenance window's announcement reaches each contact of each
// affected organization who chose email, once, in the contact's language:
// the window in the provider's zone, what it touches of that organization
// only, and the link to agree or decline. Its cancellation says why.
func TestMaintenanceEmailsTheAffectedContactsInTheirLanguage(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			s := openStore(t, db, clock)
			fx := dbtest.Seed(t, s)
			a := newWorld(t, s, fx, fx.OrgA, "web-1", "127.0.0.2")
			b := newWorld(t, s, fx, fx.OrgB, "db-bravo", "127.0.0.3")
			a.contact(t, models.ContactInput{Name: "孙丽", Email: "sun@alpha.test", Channels: []models.Channel{models.ChannelEmail}, Locale: "zh-CN"})
			a.contact(t, models.ContactInput{Name: "Night Guard", Email: "guard@alpha.test", Mobile: "13800138000",
				Channels: []models.Channel{models.ChannelEmail, models.ChannelMobile}, Locale: "en"})
			a.contact(t, models.ContactInput{Name: "Phone Only", Email: "phone@alpha.test", Mobile: "13800138001",
				Channels: []models.Channel{models.ChannelMobile}, Locale: "en"})
			b.contact(t, models.ContactInput{Name: "Bob Ops", Email: "ops@bravo.test", Channels: []models.Channel{models.ChannelEmail}, Locale: "en"})

			start := clock.Now().Add(26 * time.Hour).Truncate(time.Hour)
			w, err := s.AnnounceMaintenance(ctx, models.UserActor(fx.Engineer, ""), models.MaintenanceInput{Title: "Core switch 核心交换机",
				Body: "Firmware upgrade.", StartsAt: start, EndsAt: start.Add(2 * time.Hour), TargetLines: "alpha device web-1\nbravo"})
			if err != nil {
				t.Fatal(err)
			}
			sink := startSMTP(t, ModeNone, nil, "", "")
			r := startDispatchers(t, clock, newDispatcher(t, s, clock, "portal-a", sink.port(t), ""))
			r.until(time.Minute, "announcement emailed", func() bool {
				return len(eventMails(t, sink, models.EventMaintenanceAnnounced)) == 3
			})
			r.step(time.Minute)
			if n := len(eventMails(t, sink, models.EventMaintenanceAnnounced)); n != 3 {
				t.Fatalf("%d emails, want 3", n)
			}
			local := start.In(shanghai(t)).Format("2006-01-02 15:04")
			link := "https://portal.example/maintenance/" + w.Ref
			zh, en := locales.For("zh-CN"), locales.For("en")
			for _, c := range []struct {
				addr      string
				tr        *locales.Translator
				org       string
				want, not []string
			}{
				{"sun@alpha.test", zh, fx.OrgA.Name, []string{"web-1 (127.0.0.2)", local, link, zh.T("email.maintenance_rule")}, []string{"Bravo", "db-bravo"}},
				{"guard@alpha.test", en, fx.OrgA.Name, []string{"web-1 (127.0.0.2)", local, link}, []string{"Bravo", "db-bravo"}},
				{"ops@bravo.test", en, fx.OrgB.Name, []string{en.T("maintenance.affects_whole"), local, link}, []string{"web-1", "Alpha"}},
			} {
				ms := mailsTo(t, sink, models.EventMaintenanceAnnounced, c.addr)
				if len(ms) != 1 {
					t.Fatalf("%d emails to %s, want 1", len(ms), c.addr)
				}
				m := ms[0]
				if m.Header.Get("Content-Language") != c.tr.Lang() || m.Subject != c.tr.T("email.maintenance_subject", c.org, "MW-2026-0001", w.Title) {
					t.Errorf("%s: %s %q", c.addr, m.Header.Get("Content-Language"), m.Subject)
				}
				for _, s := range c.want {
					if !strings.Contains(m.Body, s) {
						t.Errorf("%s: body lacks %q:\n%s", c.addr, s, m.Body)
					}
				}
				for _, s := range c.not {
					if strings.Contains(m.Body, s) {
						t.Errorf("%s: body names %q of another customer:\n%s", c.addr, s, m.Body)
					}
				}
			}
			if ms := mailsTo(t, sink, models.EventMaintenanceAnnounced, "phone@alpha.test"); len(ms) != 0 {
				t.Fatal("a contact who did not choose email was emailed")
			}

			if _, err := s.CancelMaintenance(ctx, models.UserActor(fx.Engineer, ""), w.Ref, "备件未到 Parts late"); err != nil {
				t.Fatal(err)
			}
			r.until(time.Minute, "cancellation emailed", func() bool {
				return len(eventMails(t, sink, models.EventMaintenanceCancelled)) == 3
			})
			ms := mailsTo(t, sink, models.EventMaintenanceCancelled, "ops@bravo.test")
			if len(ms) != 1 || ms[0].Subject != en.T("email.maintenance_cancelled_subject", fx.OrgB.Name, "MW-2026-0001", w.Title) ||
				!strings.Contains(ms[0].Body, "备件未到 Parts late") {
				t.Fatalf("cancellation %+v", ms)
			}
		})
	}
}
