package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

func TestNotifySettingsAreTheOrganizations(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx, _, chk := probeFixture(t, s)
		actor := models.UserActor(fx.CustA, "127.0.0.1")
		mk := func(org int64, name string) *models.Contact {
			c, err := s.CreateContact(ctx, actor, org, models.ContactInput{Name: name, Email: name + "@example.test",
				Channels: []models.Channel{models.ChannelEmail}})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		sun, zhou, other := mk(fx.OrgA.ID, "sun"), mk(fx.OrgA.ID, "zhou"), mk(fx.OrgB.ID, "bob")

		t.Run("an unknown event is refused", func(t *testing.T) {
			err := s.SetNotifyOptOuts(ctx, actor, fx.OrgA.ID, []models.NotifyOptOut{{ContactID: sun.ID, Event: "outage.maybe"}})
			wantInvalid(t, err, "events", "error.event_invalid")
		})

		t.Run("another organization's contact is not found and nothing changes", func(t *testing.T) {
			err := s.SetNotifyOptOuts(ctx, actor, fx.OrgA.ID, []models.NotifyOptOut{{ContactID: other.ID, Event: models.EventOutageClosed}})
			if !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
			if outs, _ := s.ListNotifyOptOuts(ctx, models.AllOrgs(), fx.OrgB.ID); len(outs) != 0 {
				t.Fatalf("org B's settings changed: %+v", outs)
			}
		})

		// Step: Opt-outs replace the settings and are audited with before and after.
		func() {
			if err := s.SetNotifyOptOuts(ctx, actor, fx.OrgA.ID, []models.NotifyOptOut{{ContactID: zhou.ID, Event: models.EventOutageOpened}}); err != nil {
				t.Fatal(err)
			}
			if err := s.SetNotifyOptOuts(ctx, actor, fx.OrgA.ID, []models.NotifyOptOut{{OrgID: fx.OrgB.ID, ContactID: zhou.ID, Event: models.EventOutageClosed}}); err != nil {
				t.Fatal(err)
			}
			outs, err := s.ListNotifyOptOuts(ctx, models.AllOrgs(), fx.OrgA.ID)
			if err != nil || len(outs) != 1 || outs[0].OrgID != fx.OrgA.ID || outs[0].ContactID != zhou.ID || outs[0].Event != models.EventOutageClosed {
				t.Fatalf("opt-outs = %+v, %v", outs, err)
			}
			evs := auditOf(t, s, models.AuditNotifySettings)
			if len(evs) != 2 || *evs[0].OrgID != fx.OrgA.ID {
				t.Fatalf("audit = %+v", evs)
			}
			d := detailOf(t, evs[0])
			before, after := d["before"].([]any), d["after"].([]any)
			if len(before) != 1 || len(after) != 1 || after[0].(map[string]any)["contact"] != "zhou" {
				t.Fatalf("audit detail = %v", d)
			}
		}()

		// Step: Saving the same settings again records nothing.
		func() {
			if err := s.SetNotifyOptOuts(ctx, actor, fx.OrgA.ID, []models.NotifyOptOut{{ContactID: zhou.ID, Event: models.EventOutageClosed}}); err != nil {
				t.Fatal(err)
			}
			if n := len(auditOf(t, s, models.AuditNotifySettings)); n != 2 {
				t.Fatalf("%d settings events, want still 2", n)
			}
		}()

		// Step: The dispatcher leaves out the contact who opted out.
		func() {
			o := failOutage(t, s, fx.OrgA.ID, chk, clock.Now())
			expand := func() {
				evs, err := s.ClaimEvents(ctx, "me", time.Minute, 10)
				if err != nil {
					t.Fatal(err)
				}
				for _, ev := range evs {
					if _, err := s.ExpandEvent(ctx, ev, "me", emailOnly); err != nil {
						t.Fatal(err)
					}
				}
			}
			// The notice goes out (its claim seals it) before the recovery,
			// which is then a notice of its own.
			expand()
			if _, err := s.ClaimDeliveries(ctx, "me", time.Minute, 10, []string{models.TransportEmail}); err != nil {
				t.Fatal(err)
			}
			recoverCheck(t, s, chk, clock.Now().Add(10*time.Minute))
			expand()
			ds, _, err := s.OutageDeliveries(ctx, models.AllOrgs(), fx.OrgA.ID, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			for _, d := range ds {
				got[d.Event]++
				if d.Event == models.EventOutageClosed && d.ContactID == zhou.ID {
					t.Error("zhou got the recovery notice she opted out of")
				}
			}
			if got[models.EventOutageOpened] != 2 || got[models.EventOutageClosed] != 1 {
				t.Fatalf("deliveries by event = %v", got)
			}
		}()

		// Step: The change log holds contact changes, confirmations and settings of the organization only.
		func() {
			if err := s.ConfirmContacts(ctx, actor, fx.OrgA.ID, fx.CustA.ID); err != nil {
				t.Fatal(err)
			}
			log, err := s.ContactChangeLog(ctx, models.AllOrgs(), fx.OrgA.ID, 50)
			if err != nil {
				t.Fatal(err)
			}
			n := map[string]int{}
			for _, ev := range log {
				n[ev.Action]++
				if *ev.OrgID != fx.OrgA.ID {
					t.Errorf("org A's log holds %s of org %d", ev.Action, *ev.OrgID)
				}
			}
			if n[models.AuditContactCreated] != 2 || n[models.AuditNotifySettings] != 2 || n[models.AuditContactsConfirmed] != 1 {
				t.Fatalf("log = %v", n)
			}
		}()
	})
}

func TestOutagesAndDeliveriesByOrganization(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx, _, chk := probeFixture(t, s)
		actor := models.UserActor(fx.CustA, "127.0.0.1")
		c, err := s.CreateContact(ctx, actor, fx.OrgA.ID, models.ContactInput{Name: "Sun Li", Mobile: "13800138000", Email: "sun@alpha.test",
			Channels: []models.Channel{models.ChannelMobile, models.ChannelEmail}, MayAuthorize: true, Passphrase: "blue harbour 42"})
		if err != nil {
			t.Fatal(err)
		}
		o := failOutage(t, s, fx.OrgA.ID, chk, clock.Now())
		evs, _ := s.ClaimEvents(ctx, "me", time.Minute, 10)
		for _, ev := range evs {
			if _, err := s.ExpandEvent(ctx, ev, "me", func(ch models.Channel) string {
				if ch == models.ChannelMobile {
					return models.TransportCall
				}
				return models.TransportEmail
			}); err != nil {
				t.Fatal(err)
			}
		}

		t.Run("an outage is found only in its organization", func(t *testing.T) {
			if got, err := s.GetOutage(ctx, models.OrgScope(fx.OrgA.ID), o.ID); err != nil || got.ID != o.ID {
				t.Fatalf("own outage = %+v, %v", got, err)
			}
			if _, err := s.GetOutage(ctx, models.OrgScope(fx.OrgB.ID), o.ID); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("org B reads org A's outage: %v", err)
			}
		})

		t.Run("the on-call lists name the organization, device, contact and clock", func(t *testing.T) {
			open, _, err := s.OnCallOutages(ctx, models.AllOrgs(), 500)
			if err != nil || len(open) != 1 || open[0].Org != fx.OrgA.Name || open[0].Device != "web-1" || open[0].Clock == nil ||
				open[0].Clock.Outcome != models.ClockRunning || open[0].Check == nil {
				t.Fatalf("open outages = %+v, %v", open, err)
			}
			calls, err := s.CallTasks(ctx, models.AllOrgs())
			if err != nil || len(calls) != 1 || calls[0].Contact != "Sun Li" || calls[0].Delivery.Address != "+8613800138000" ||
				calls[0].Device != "web-1" || calls[0].Clock == nil {
				t.Fatalf("calls = %+v, %v", calls, err)
			}
		})

		t.Run("a failed delivery is listed until it is retried, with its wrong mark", func(t *testing.T) {
			ds, _ := s.ClaimDeliveries(ctx, "me", time.Minute, 10, []string{models.TransportEmail})
			if len(ds) != 1 {
				t.Fatalf("email deliveries = %+v", ds)
			}
			if err := s.RecordAttempt(ctx, "me", ds[0].ID, models.DeliveryBounced, "550 no such user", nil); err != nil {
				t.Fatal(err)
			}
			failed, err := s.FailedDeliveries(ctx, models.AllOrgs(), clock.Now().Add(-time.Hour), 10)
			if err != nil || len(failed) != 1 || failed[0].MarkedWrong || failed[0].Contact != "Sun Li" {
				t.Fatalf("failed = %+v, %v", failed, err)
			}
			if err := s.MarkContactDetailWrong(ctx, models.UserActor(fx.Engineer, "10.0.0.1"), c.ID, models.ChannelEmail, "no such user"); err != nil {
				t.Fatal(err)
			}
			if failed, _ := s.FailedDeliveries(ctx, models.AllOrgs(), clock.Now().Add(-time.Hour), 10); len(failed) != 1 || !failed[0].MarkedWrong {
				t.Fatalf("failed after the mark = %+v", failed)
			}
			if failed, _ := s.FailedDeliveries(ctx, models.AllOrgs(), clock.Now().Add(time.Hour), 10); len(failed) != 0 {
				t.Fatalf("failures before since are listed: %+v", failed)
			}
			if err := s.RetryDelivery(ctx, models.UserActor(fx.Engineer, "10.0.0.1"), ds[0].ID); err != nil {
				t.Fatal(err)
			}
			if failed, _ := s.FailedDeliveries(ctx, models.AllOrgs(), clock.Now().Add(-time.Hour), 10); len(failed) != 0 {
				t.Fatalf("a retried delivery is still listed as failed: %+v", failed)
			}
		})

		t.Run("a call note is checked like other text", func(t *testing.T) {
			if n, err := models.CallNote("  told her  "); err != nil || n != "told her" {
				t.Fatalf("note = %q, %v", n, err)
			}
			_, err := models.CallNote(string(make([]byte, 501)))
			wantInvalid(t, err, "note", "error.too_long")
		})

		t.Run("staff names leave customers out", func(t *testing.T) {
			names, err := s.StaffNames(ctx, []int64{fx.Engineer.ID, fx.CustA.ID})
			if err != nil || names[fx.Engineer.ID] != fx.Engineer.Name || len(names) != 1 {
				t.Fatalf("names = %v, %v", names, err)
			}
		})
	})
}
