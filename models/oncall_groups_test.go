package models_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// callsByPhone carries email by SMTP and leaves every phone channel to
// staff as a call.
func callsByPhone(ch models.Channel) string {
	switch ch {
	case models.ChannelMobile, models.ChannelOffice:
		return models.TransportCall
	case models.ChannelEmail:
		return models.TransportEmail
	}
	return ""
}

// failAll imports n devices named prefix-i into the organization with
// slug, fails each one's ping at start and start+5 min (an outage
// confirmed at the second), and expands every notice.
func failAll(t *testing.T, s *models.Store, orgID int64, slug, prefix string, n int, start time.Time) {
	t.Helper()
	ctx := context.Background()
	rows := make([]models.DeviceImportRow, n)
	for i := range rows {
		rows[i] = models.DeviceImportRow{Line: i + 2, Org: slug, Name: fmt.Sprintf("%s-%04d", prefix, i), Address: "127.0.1.1"}
	}
	if _, err := s.ImportDevices(ctx, models.SystemActor("test"), rows); err != nil {
		t.Fatal(err)
	}
	r, err := s.ShareChecks(ctx, "test", models.ShareOptions{Lease: time.Minute, Max: 100000})
	if err != nil {
		t.Fatal(err)
	}
	var rs []models.ProbeResult
	for _, c := range r.Checks {
		if c.OrgID == orgID {
			rs = append(rs, models.ProbeResult{CheckID: c.ID, At: start, Reason: models.ReasonTimeout},
				models.ProbeResult{CheckID: c.ID, At: start.Add(5 * time.Minute), Reason: models.ReasonTimeout})
		}
	}
	if _, err := s.RecordResults(ctx, rs); err != nil {
		t.Fatal(err)
	}
	for {
		evs, err := s.ClaimEvents(ctx, "test", time.Minute, 500)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return
		}
		for _, ev := range evs {
			if _, err := s.ExpandEvent(ctx, ev, "test", callsByPhone); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// In a storm, 2,000 pending calls to one contact are one line with the
// count of devices down and the earliest start; one logged call ends them
// all and stops every clock, met.
func TestCallGroupsInAStorm(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		contact := func(org int64, in models.ContactInput) *models.Contact {
			c, err := s.CreateContact(ctx, models.SystemActor("test"), org, in)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		zhao := contact(fx.OrgA.ID, models.ContactInput{Name: "Zhao Min", Mobile: "138 0013 8000",
			Channels: []models.Channel{models.ChannelMobile}, MayAuthorize: true, Passphrase: "blue lantern river", Locale: "zh-CN"})
		qian := contact(fx.OrgA.ID, models.ContactInput{Name: "Qian Yu", OfficePhone: "010 5555 0101",
			Channels: []models.Channel{models.ChannelOffice}, Locale: "zh-CN"})
		bob := contact(fx.OrgB.ID, models.ContactInput{Name: "Bob Bravo", Mobile: "139 0013 9000",
			Channels: []models.Channel{models.ChannelMobile}, MayAuthorize: true, Passphrase: "green lantern river", Locale: "en"})
		const n = 2000
		t0 := clock.Now()
		failAll(t, s, fx.OrgA.ID, fx.OrgA.Slug, "a", n, t0)
		failAll(t, s, fx.OrgB.ID, fx.OrgB.Slug, "b", 1, t0.Add(time.Minute))
		clock.Advance(6 * time.Minute)

		groups, err := s.CallGroups(ctx, models.AllOrgs(), 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(groups) != 3 {
			t.Fatalf("call groups = %d, want one per contact: %+v", len(groups), groups)
		}
		by := map[int64]models.CallGroup{}
		for _, g := range groups {
			by[g.ContactID] = g
		}
		z := by[zhao.ID]
		// The 2,000 outages share one notice: one call to each contact,
		// standing for every clock of the notice.
		if z.OrgID != fx.OrgA.ID || z.Org != fx.OrgA.Name || z.Contact != "Zhao Min" || z.Calls != 1 || z.Running != n || !z.Authorized ||
			z.Down != n || z.Since == nil || !z.Since.StartedAt.Equal(t0) || z.Channel != models.ChannelMobile {
			t.Fatalf("Zhao Min's line = %+v", z)
		}
		if z.Clock == nil || z.Clock.Outcome != models.ClockRunning || !z.Clock.DeadlineAt.Equal(t0.Add(20*time.Minute)) {
			t.Fatalf("Zhao Min's clock = %+v, want running until t0+20 min", z.Clock)
		}
		if len(z.Devices) != models.GroupDevices || z.More != n-models.GroupDevices || !strings.HasPrefix(z.Devices[0].Device, "a-") ||
			z.Devices[0].Check == nil {
			t.Fatalf("Zhao Min's devices = %d listed, %d more; first %+v", len(z.Devices), z.More, z.Devices[0])
		}
		if q := by[qian.ID]; q.Calls != 1 || q.Authorized || q.Channel != models.ChannelOffice || q.Down != n || len(q.Devices) != models.GroupDevices {
			t.Fatalf("Qian Yu's line = %+v", q)
		}
		if b := by[bob.ID]; b.OrgID != fx.OrgB.ID || b.Calls != 1 || b.Down != 1 || len(b.Devices) != 1 || b.More != 0 {
			t.Fatalf("Bob's line = %+v", b)
		}
		// The budget bounds the rows listed across groups.
		if small, err := s.CallGroups(ctx, models.AllOrgs(), 10); err != nil || len(small[0].Devices) != 10 {
			t.Fatalf("with a budget of 10 the first group lists %d (%v)", len(small[0].Devices), err)
		}
		if only, err := s.CallGroups(ctx, models.OrgScope(fx.OrgB.ID), 100); err != nil || len(only) != 1 || only[0].ContactID != bob.ID {
			t.Fatalf("organization B's scope sees %+v, %v", only, err)
		}
		og, err := s.OnCallOutageGroups(ctx, models.AllOrgs(), 100)
		if err != nil || len(og) != 2 || og[0].OrgID != fx.OrgA.ID || og[0].Outages != n || og[0].Open != n || og[0].Running != n ||
			len(og[0].First) != models.GroupDevices || og[0].More != n-models.GroupDevices || og[1].Outages != 1 || len(og[1].First) != 1 {
			t.Fatalf("outage groups = %+v, %v", og, err)
		}

		t.Run("one logged call ends every pending call of the line and stops every clock, met", func(t *testing.T) {
			clock.Advance(2 * time.Minute)
			eng := models.UserActor(fx.Engineer, "10.0.0.9")
			if _, err := s.LogCalls(ctx, eng, fx.OrgB.ID, zhao.ID, z.Address, true, "x", clock.Now()); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("another organization's line: %v, want not found", err)
			}
			got, err := s.LogCalls(ctx, eng, fx.OrgA.ID, zhao.ID, z.Address, true, "told her: every server of hall 2 is down", clock.Now())
			if err != nil || got != 1 {
				t.Fatalf("LogCalls = %d, %v; want the notice's one call", got, err)
			}
			og, err := s.OnCallOutageGroups(ctx, models.AllOrgs(), 100)
			if err != nil || og[len(og)-1].OrgID != fx.OrgA.ID || og[len(og)-1].Met != n || og[len(og)-1].Running != 0 {
				t.Fatalf("after the call the outage groups = %+v, %v", og, err)
			}
			c, err := s.OutageClock(ctx, models.AllOrgs(), fx.OrgA.ID, og[len(og)-1].First[0].Outage.ID)
			if err != nil || c.Outcome != models.ClockMet || c.Took(clock.Now()) != 3*time.Minute {
				t.Fatalf("a clock = %+v, %v", c, err)
			}
			groups, err := s.CallGroups(ctx, models.AllOrgs(), 100)
			if err != nil || len(groups) != 2 {
				t.Fatalf("call groups after the call = %+v, %v", groups, err)
			}
			for _, g := range groups {
				if g.ContactID == zhao.ID {
					t.Fatalf("Zhao Min is still to call: %+v", g)
				}
			}
			evs, err := s.ListAudit(ctx, models.AllOrgs(), models.AuditFilter{Action: models.AuditCallLogged, Limit: 10})
			if err != nil || len(evs) != 1 || !strings.Contains(evs[0].Detail, `"deliveries":1`) || evs[0].ActorID == nil ||
				*evs[0].ActorID != fx.Engineer.ID {
				t.Fatalf("call audit = %+v, %v, want one record of the notice's call", evs, err)
			}
			if _, err := s.LogCalls(ctx, eng, fx.OrgA.ID, zhao.ID, z.Address, true, "", clock.Now()); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("logging the ended line again: %v, want not found", err)
			}
			// An unanswered call to the contact who may not authorize ends
			// their calls and stops nothing.
			if got, err := s.LogCalls(ctx, eng, fx.OrgA.ID, qian.ID, by[qian.ID].Address, false, "no answer", clock.Now()); err != nil || got != 1 {
				t.Fatalf("LogCalls (Qian) = %d, %v", got, err)
			}
		})
	})
}

// Calls from before notices were grouped are each about their own
// outage: a line of several such calls counts, lists and times what they
// cover together, and a line of one counts its own outage.
func TestCallGroupsOfCallsFromBeforeNotices(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		raw := rawDB(t, db)
		fx := dbtest.Seed(t, s)
		contact := func(org int64, name, mobile string) *models.Contact {
			c, err := s.CreateContact(ctx, models.SystemActor("test"), org, models.ContactInput{Name: name, Mobile: mobile,
				Channels: []models.Channel{models.ChannelMobile}, MayAuthorize: true, Passphrase: "blue lantern river", Locale: "en"})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		zhao := contact(fx.OrgA.ID, "Zhao Min", "138 0013 8000")
		bob := contact(fx.OrgB.ID, "Bob Bravo", "139 0013 9000")
		t0 := clock.Now()
		failAll(t, s, fx.OrgA.ID, fx.OrgA.Slug, "a", 3, t0)
		failAll(t, s, fx.OrgB.ID, fx.OrgB.Slug, "b", 1, t0)
		clock.Advance(6 * time.Minute)
		// Each notice's call becomes one call per outage, as before notices.
		var outages []int64
		for _, c := range []*models.Contact{zhao, bob} {
			var ids []int64
			if err := raw.Table("deliveries").Where("contact_id = ? AND transport = ? AND status = ?", c.ID, models.TransportCall,
				models.DeliveryPending).Pluck("id", &ids).Error; err != nil || len(ids) != 1 {
				t.Fatalf("%s's calls: %v, %v; want one", c.Name, ids, err)
			}
			id := ids[0]
			copyRows(t, raw, "deliveries", map[string]string{"notice_id": "0", "outage_id": "n.outage_id"},
				"FROM deliveries t JOIN notice_outages n ON n.notice_id = t.notice_id WHERE t.id = ?", id)
			execSQL(t, raw, "DELETE FROM deliveries WHERE id = ?", id)
		}
		if err := raw.Table("outages").Where("org_id = ?", fx.OrgA.ID).Order("id").Pluck("id", &outages).Error; err != nil || len(outages) != 3 {
			t.Fatalf("organization A's outages: %v, %v", outages, err)
		}
		// The first one's clock is met, the last one recovered.
		execSQL(t, raw, "UPDATE sla_clocks SET outcome = ? WHERE kind = ? AND ref_id = ?", models.ClockMet, models.ClockEmergencyNotice, outages[0])
		execSQL(t, raw, "UPDATE outages SET ended_at = ? WHERE id = ?", clock.Now(), outages[2])

		groups, err := s.CallGroups(ctx, models.AllOrgs(), 100)
		if err != nil || len(groups) != 2 {
			t.Fatalf("call groups = %+v, %v; want Zhao's and Bob's", groups, err)
		}
		by := map[int64]models.CallGroup{}
		for _, g := range groups {
			by[g.ContactID] = g
		}
		z := by[zhao.ID]
		if z.Calls != 3 || z.Running != 2 || z.Down != 2 || len(z.Devices) != 3 || z.More != 0 || z.Since == nil ||
			z.Since.ID != outages[0] || !z.Since.StartedAt.Equal(t0) {
			t.Fatalf("Zhao's line = calls %d, running %d, down %d, %d listed, %d more, since %+v; want 3 calls, 2 running, 2 down, 3 listed",
				z.Calls, z.Running, z.Down, len(z.Devices), z.More, z.Since)
		}
		if z.Clock == nil || z.Clock.Outcome != models.ClockRunning || z.Clock.RefID != outages[1] {
			t.Fatalf("Zhao's clock = %+v, want the running one of outage %d", z.Clock, outages[1])
		}
		if z.Devices[2].Outage.ID != outages[2] {
			t.Fatalf("Zhao's devices list %d last, want the recovered %d", z.Devices[2].Outage.ID, outages[2])
		}
		if b := by[bob.ID]; b.Calls != 1 || b.Running != 1 || b.Down != 1 || len(b.Devices) != 1 || b.More != 0 || b.Since == nil ||
			b.Clock == nil || b.Clock.Outcome != models.ClockRunning {
			t.Fatalf("Bob's line = %+v", b)
		}
		// Without a budget no line lists devices, and the counts stay.
		if none, err := s.CallGroups(ctx, models.AllOrgs(), 0); err != nil || len(none) != 2 {
			t.Fatalf("with no budget: %+v, %v", none, err)
		} else {
			for _, g := range none {
				if len(g.Devices) != 0 || g.Since == nil || (g.ContactID == zhao.ID && (g.More != 3 || g.Down != 2 || g.Running != 2)) {
					t.Fatalf("with no budget, line %+v", g)
				}
			}
		}
	})
}

// The on-call list's first lines are the most urgent: outages whose
// notice clock still runs come before those already notified, in SQL, so
// that a bound never cuts a running clock for a notified outage. (gorm
// ignores an Order given a bare clause.Expr: the list came in table order
// and this test failed.)
func TestOnCallOutagesPutRunningClocksFirstWithinTheBound(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		t0 := clock.Now()
		failAll(t, s, fx.OrgA.ID, fx.OrgA.Slug, "a", 3, t0)
		failAll(t, s, fx.OrgB.ID, fx.OrgB.Slug, "b", 2, t0.Add(time.Minute))
		clock.Advance(6 * time.Minute)
		// Organization A's notices went out: its outages go on, their
		// clocks are met.
		r := rawDB(t, db).Exec("UPDATE sla_clocks SET outcome = ? WHERE kind = ? AND org_id = ?", models.ClockMet, models.ClockEmergencyNotice, fx.OrgA.ID)
		if r.Error != nil || r.RowsAffected != 3 {
			t.Fatalf("clocks met: %d, %v", r.RowsAffected, r.Error)
		}
		got, total, err := s.OnCallOutages(ctx, models.AllOrgs(), 2)
		if err != nil {
			t.Fatal(err)
		}
		if total != 5 || len(got) != 2 || got[0].Org != fx.OrgB.Name || got[1].Org != fx.OrgB.Name {
			orgs := []string{}
			for _, o := range got {
				orgs = append(orgs, o.Org)
			}
			t.Fatalf("the first 2 of %d: %v; want organization B's two running clocks", total, orgs)
		}
	})
}
