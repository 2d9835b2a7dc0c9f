package models_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	"gorm.io/gorm"
)

// massScene is an organization with many devices (one ping each) and two
// authorized contacts staff call (no mail server, no gateway).
type massScene struct {
	t      *testing.T
	s      *models.Store
	raw    *gorm.DB
	fx     *dbtest.Fixture
	checks []int64
	eng    models.Actor
}

func newMassScene(t *testing.T, db dbtest.DB, clock *dbtest.Clock, devices int, contacts ...models.ContactInput) *massScene {
	t.Helper()
	ctx := context.Background()
	s := dbtest.Open(t, db, models.WithClock(clock.Now), models.WithNoticeWindow(time.Minute))
	fx := dbtest.Seed(t, s)
	rows := make([]models.DeviceImportRow, devices)
	for i := range rows {
		rows[i] = models.DeviceImportRow{Line: i + 1, Org: "alpha", Name: fmt.Sprintf("srv-%04d", i),
			Address: fmt.Sprintf("10.1.%d.%d", i/250, i%250+1), Cabinet: "A03", Position: "U12"}
	}
	if _, err := s.ImportDevices(ctx, models.SystemActor("test"), rows); err != nil {
		t.Fatal(err)
	}
	m := &massScene{t: t, s: s, raw: rawDB(t, db), fx: fx, eng: models.UserActor(fx.Engineer, "10.0.0.1")}
	if err := m.raw.Raw("SELECT checks.id FROM checks JOIN devices ON devices.id = checks.device_id WHERE devices.org_id = ? ORDER BY checks.id",
		fx.OrgA.ID).Scan(&m.checks).Error; err != nil || len(m.checks) != devices {
		t.Fatalf("checks: %d, %v", len(m.checks), err)
	}
	if len(contacts) == 0 {
		contacts = []models.ContactInput{
			{Name: "Zhao Min", Email: "zhao@alpha.test", Mobile: "138 0013 8000", Channels: []models.Channel{models.ChannelEmail, models.ChannelMobile}},
			{Name: "Li Wei", OfficePhone: "010 6552 0000", Channels: []models.Channel{models.ChannelOffice}},
		}
	}
	for _, in := range contacts {
		in.MayAuthorize, in.Passphrase, in.Locale = true, "blue harbour 42", "en"
		if _, err := s.CreateContact(ctx, models.UserActor(fx.CustA, "127.0.0.1"), fx.OrgA.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ConfirmContacts(ctx, models.UserActor(fx.CustA, "127.0.0.1"), fx.OrgA.ID, fx.CustA.ID); err != nil {
		t.Fatal(err)
	}
	return m
}

// fail makes checks[from:to] fail twice, the second failure at now.
func (m *massScene) fail(from, to int, now time.Time) {
	m.t.Helper()
	var rs []models.ProbeResult
	for _, id := range m.checks[from:to] {
		rs = append(rs, models.ProbeResult{CheckID: id, At: now.Add(-time.Minute), Reason: models.ReasonTimeout},
			models.ProbeResult{CheckID: id, At: now, Reason: models.ReasonTimeout})
	}
	if _, err := m.s.RecordResults(context.Background(), rs); err != nil {
		m.t.Fatal(err)
	}
}

// expand plays the dispatcher's expansion with no mail server and no
// gateway: email is not sent, phones are calls. It returns the events.
func (m *massScene) expand() []models.OutboxEvent {
	m.t.Helper()
	ctx := context.Background()
	evs, err := m.s.ClaimEvents(ctx, "me", time.Minute, 100)
	if err != nil {
		m.t.Fatal(err)
	}
	for _, ev := range evs {
		if _, err := m.s.ExpandEvent(ctx, ev, "me", func(ch models.Channel) string {
			if ch == models.ChannelMobile || ch == models.ChannelOffice {
				return models.TransportCall
			}
			return ""
		}); err != nil {
			m.t.Fatal(err)
		}
	}
	return evs
}

// outageOf returns the outage of checks[i].
func (m *massScene) outageOf(i int) int64 {
	m.t.Helper()
	var id int64
	if err := m.raw.Table("outages").Where("check_id = ?", m.checks[i]).Order("id DESC").Limit(1).Pluck("id", &id).Error; err != nil || id == 0 {
		m.t.Fatalf("outage of check %d: %d, %v", m.checks[i], id, err)
	}
	return id
}

func (m *massScene) deliveries(outageID int64) []models.Delivery {
	m.t.Helper()
	ds, _, err := m.s.OutageDeliveries(context.Background(), models.AllOrgs(), m.fx.OrgA.ID, outageID)
	if err != nil {
		m.t.Fatal(err)
	}
	return ds
}

// The acceptance test of issue 13: 2,000 devices of one organization fail
// at once → one notice per contact and channel; one call logged stops
// every outage's clock, each met; 20 more failing 3 minutes later while
// that notice is pending join it; 20 failing after it was delivered get a
// second notice. (Before notices were grouped: 2,000 events, 6,000
// deliveries, and a call stopped one clock.)
func TestMassOutageIsOneNoticeAndOneCall(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		m := newMassScene(t, db, clock, 2040)
		start := clock.Now()
		m.fail(0, 2000, start)
		evs := m.expand()
		if len(evs) != 1 {
			t.Fatalf("%d outbox events for 2,000 outages, want 1", len(evs))
		}
		ds := m.deliveries(m.outageOf(0))
		// Zhao Min: email (not sent, no mail server) and a call to the
		// mobile; Li Wei: a call to the office.
		var calls []models.Delivery
		for _, d := range ds {
			if d.NoticeID == 0 || d.EventID != evs[0].ID {
				t.Errorf("delivery %+v is not of the notice", d)
			}
			if d.Transport == models.TransportCall {
				calls = append(calls, d)
			}
		}
		if len(ds) != 3 || len(calls) != 2 {
			t.Fatalf("deliveries of the mass outage: %+v, want 3 (one email not sent, two calls)", ds)
		}
		if again := m.deliveries(m.outageOf(1999)); len(again) != 3 || again[0].ID != ds[0].ID {
			t.Fatalf("the last outage's deliveries %+v, want the same notice's", again)
		}
		var total int64
		m.raw.Table("deliveries").Where("org_id = ?", m.fx.OrgA.ID).Count(&total)
		if total != 3 {
			t.Fatalf("%d deliveries in all, want 3", total)
		}

		// Staff open the on-call page a minute in and call Zhao Min:
		// "2,000 devices are down".
		clock.Advance(time.Minute)
		drawn := clock.Now()
		clock.Advance(2 * time.Minute)
		m.fail(2000, 2020, clock.Now())
		if evs := m.expand(); len(evs) != 0 {
			t.Fatalf("the 20 that failed while the notice was pending made %d events, want 0 (they join it)", len(evs))
		}
		if joined := m.deliveries(m.outageOf(2019)); len(joined) != 3 || joined[0].NoticeID != ds[0].NoticeID {
			t.Fatalf("a late outage's deliveries %+v, want the first notice's", joined)
		}

		clock.Advance(2 * time.Minute)
		// Logged from the page drawn before the 20 joined: the call did
		// not tell of them, so it is refused and stops nothing.
		_, err := m.s.LogCalls(ctx, m.eng, m.fx.OrgA.ID, calls[0].ContactID, calls[0].Address, true, "told Zhao Min of 2,000 devices", drawn)
		if v, ok := models.AsValidation(err); !ok || v.Field != "as_of" || len(v.Args) != 1 || v.Args[0] != models.Number(20) {
			t.Fatalf("a call logged from a page drawn before 20 joined: %v, want refused naming 20 more devices", err)
		}
		var still int64
		m.raw.Table("sla_clocks").Where("kind = ? AND outcome = ?", models.ClockEmergencyNotice, models.ClockRunning).Count(&still)
		if still != 2020 {
			t.Fatalf("%d clocks running after the refused call, want 2,020", still)
		}
		// Staff look again (the page now lists 2,020) and call: it stops all.
		logged := clock.Now()
		if n, err := m.s.LogCalls(ctx, m.eng, m.fx.OrgA.ID, calls[0].ContactID, calls[0].Address, true, "told Zhao Min of every device", logged); err != nil || n != 1 {
			t.Fatalf("LogCalls = %d, %v", n, err)
		}
		var met, other int64
		m.raw.Table("sla_clocks").Where("kind = ? AND outcome = ? AND stop_ref = ?", models.ClockEmergencyNotice, models.ClockMet, calls[0].ID).Count(&met)
		m.raw.Table("sla_clocks").Where("kind = ? AND outcome <> ?", models.ClockEmergencyNotice, models.ClockMet).Count(&other)
		if met != 2020 || other != 0 {
			t.Fatalf("after one call: %d clocks met by it, %d not met; want 2,020 and 0", met, other)
		}
		c, err := m.s.OutageClock(ctx, models.AllOrgs(), m.fx.OrgA.ID, m.outageOf(2019))
		if err != nil || c == nil || c.StoppedAt == nil || !c.StoppedAt.Equal(logged) || !c.StartedAt.Equal(start.Add(3*time.Minute)) {
			t.Fatalf("a late outage's clock: %+v, %v; want its own start, stopped by the call", c, err)
		}

		clock.Advance(time.Minute)
		m.fail(2020, 2040, clock.Now())
		evs2 := m.expand()
		if len(evs2) != 1 {
			t.Fatalf("the 20 that failed after the call made %d events, want 1 (a second notice)", len(evs2))
		}
		second := m.deliveries(m.outageOf(2039))
		if len(second) != 3 || second[0].NoticeID == ds[0].NoticeID {
			t.Fatalf("deliveries after the call: %+v, want a second notice's 3", second)
		}
		var running int64
		m.raw.Table("sla_clocks").Where("kind = ? AND outcome = ?", models.ClockEmergencyNotice, models.ClockRunning).Count(&running)
		if running != 20 {
			t.Fatalf("%d clocks running, want the second notice's 20", running)
		}
	})
}

// A notice delivered late stops every clock it covers by its own
// deadline: the outages confirmed early are missed, the one confirmed
// late is met, and the day is charged once.
func TestALateNoticeJudgesEachClockByItsOwnDeadline(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		m := newMassScene(t, db, clock, 3)
		m.fail(0, 1, clock.Now())
		clock.Advance(time.Minute)
		m.fail(1, 2, clock.Now())
		clock.Advance(9 * time.Minute)
		m.fail(2, 3, clock.Now()) // confirmed at +10 min: deadline +25 min
		m.expand()
		clock.Advance(10 * time.Minute) // +20 min: the first two deadlines passed
		if _, err := m.s.SweepClocks(ctx); err != nil {
			t.Fatal(err)
		}
		var call models.Delivery
		for _, d := range m.deliveries(m.outageOf(0)) {
			if d.Transport == models.TransportCall && d.Channel == models.ChannelMobile {
				call = d
			}
		}
		if err := m.s.LogCall(ctx, m.eng, call.ID, true, ""); err != nil {
			t.Fatal(err)
		}
		want := []string{models.ClockMissed, models.ClockMissed, models.ClockMet}
		var lines []models.Deduction
		for i, w := range want {
			c, err := m.s.OutageClock(ctx, models.AllOrgs(), m.fx.OrgA.ID, m.outageOf(i))
			if err != nil || c == nil || c.Outcome != w || c.StoppedAt == nil || c.StopRef == nil || *c.StopRef != call.ID {
				t.Fatalf("clock of outage %d: %+v, %v; want %s, stopped by the call", i, c, err, w)
			}
			if d, err := m.s.ClockDeduction(ctx, models.AllOrgs(), m.fx.OrgA.ID, c.ID); err != nil {
				t.Fatal(err)
			} else if d != nil {
				lines = append(lines, *d)
			}
		}
		if len(lines) != 2 || lines[0].Outcome() != models.OutcomeCharged || lines[1].Outcome() != models.OutcomeNotFirst {
			t.Fatalf("deduction lines %+v, want the first miss charged and the second already charged", lines)
		}
	})
}

// A waiver decides every clock a notice covers: the notice to the only
// authorized contact bounced on an address staff had marked wrong, so
// both outages' misses are waived, the second (which is not the notice's
// first outage) too.
func TestAWaiverOfANoticeCoversEveryOutageInIt(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		m := newMassScene(t, db, clock, 2, models.ContactInput{Name: "Ann", Email: "ann@alpha.test", Channels: []models.Channel{models.ChannelEmail}})
		cs, err := m.s.ListContacts(ctx, models.AllOrgs(), m.fx.OrgA.ID)
		if err != nil || len(cs) != 1 {
			t.Fatalf("contacts: %+v, %v", cs, err)
		}
		if err := m.s.MarkContactDetailWrong(ctx, m.eng, cs[0].ID, models.ChannelEmail, "mailbox does not exist"); err != nil {
			t.Fatal(err)
		}
		m.fail(0, 1, clock.Now())
		clock.Advance(20 * time.Second)
		m.fail(1, 2, clock.Now())
		evs, err := m.s.ClaimEvents(ctx, "me", time.Minute, 10)
		if err != nil || len(evs) != 1 {
			t.Fatalf("events: %d, %v", len(evs), err)
		}
		if _, err := m.s.ExpandEvent(ctx, evs[0], "me", emailOnly); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
		ds, err := m.s.ClaimDeliveries(ctx, "me", time.Minute, 10, []string{models.TransportEmail})
		if err != nil || len(ds) != 1 {
			t.Fatalf("claimed %+v, %v; want the notice's email", ds, err)
		}
		if err := m.s.RecordAttempt(ctx, "me", ds[0].ID, models.DeliveryBounced, "550 5.1.1 no such user", nil); err != nil {
			t.Fatal(err)
		}
		clock.Advance(16 * time.Minute)
		if n, err := m.s.SweepClocks(ctx); err != nil || n != 2 {
			t.Fatalf("swept %d, %v; want both clocks", n, err)
		}
		for i := range 2 {
			c, err := m.s.OutageClock(ctx, models.AllOrgs(), m.fx.OrgA.ID, m.outageOf(i))
			if err != nil || c == nil {
				t.Fatal(err)
			}
			d, err := m.s.ClockDeduction(ctx, models.AllOrgs(), m.fx.OrgA.ID, c.ID)
			if err != nil || d == nil {
				t.Fatalf("line of outage %d: %+v, %v", i, d, err)
			}
			wantOutcome(t, d, models.OutcomeWaived, models.WaiverWrongDetails)
		}
	})
}

// An unanswered call ends its call task, and outages that fail after it
// get a new notice and a new call. The line to call says what its own
// pending calls cover (2 devices), not every device of the organization
// down (12): before, it listed 12, and an answered call then stopped 2
// clocks and left 10 running to be missed. Staff put the unanswered call
// back (the on-call page lists it among failed deliveries); the line then
// covers all 12, and one answered call stops every clock.
func TestAnUnansweredCallLeavesItsClocksToTheNextCall(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		m := newMassScene(t, db, clock, 12,
			models.ContactInput{Name: "Zhao Min", Mobile: "138 0013 8000", Channels: []models.Channel{models.ChannelMobile}})
		t0 := clock.Now()
		m.fail(0, 10, t0)
		m.expand()
		ds := m.deliveries(m.outageOf(0))
		if len(ds) != 1 || ds[0].Transport != models.TransportCall {
			t.Fatalf("deliveries of the first notice: %+v, want one call", ds)
		}
		first := ds[0]
		clock.Advance(2 * time.Minute)
		if n, err := m.s.LogCalls(ctx, m.eng, m.fx.OrgA.ID, first.ContactID, first.Address, false, "no answer", clock.Now()); err != nil || n != 1 {
			t.Fatalf("LogCalls (no answer) = %d, %v", n, err)
		}
		clock.Advance(time.Minute)
		m.fail(10, 12, clock.Now())
		if evs := m.expand(); len(evs) != 1 {
			t.Fatalf("the 2 that failed after the unanswered call made %d events, want 1 (a new notice)", len(evs))
		}
		line := func() models.CallGroup {
			t.Helper()
			gs, err := m.s.CallGroups(ctx, models.AllOrgs(), 100)
			if err != nil || len(gs) != 1 {
				t.Fatalf("call groups = %+v, %v; want Zhao Min's line", gs, err)
			}
			return gs[0]
		}
		g := line()
		if g.Calls != 1 || g.Running != 2 || g.Down != 2 || len(g.Devices) != 2 || g.More != 0 || g.Since == nil ||
			!g.Since.StartedAt.Equal(clock.Now().Add(-time.Minute)) { // the first failure
			t.Fatalf("the line after the unanswered call: %d calls, %d running, %d down, %d listed, %d more, since %+v; "+
				"want the new notice's 2 devices", g.Calls, g.Running, g.Down, len(g.Devices), g.More, g.Since)
		}
		for _, d := range g.Devices {
			if d.Outage.ID != m.outageOf(10) && d.Outage.ID != m.outageOf(11) {
				t.Fatalf("the line lists %s (outage %d), which its call does not cover", d.Device, d.Outage.ID)
			}
		}
		// The unanswered call is on the on-call page's failed list, where
		// staff put it back.
		failed, err := m.s.FailedDeliveries(ctx, models.AllOrgs(), t0, 10)
		if err != nil || len(failed) != 1 || failed[0].Delivery.ID != first.ID || failed[0].Delivery.Status != models.DeliveryNoAnswer {
			t.Fatalf("failed deliveries = %+v, %v; want the unanswered call", failed, err)
		}
		drawn := clock.Now()
		clock.Advance(30 * time.Second)
		if err := m.s.RetryDelivery(ctx, m.eng, first.ID); err != nil {
			t.Fatal(err)
		}
		g = line()
		if g.Calls != 2 || g.Running != 12 || g.Down != 12 || len(g.Devices) != 12 || !g.Since.StartedAt.Equal(t0.Add(-time.Minute)) {
			t.Fatalf("the line after the call was put back: %d calls, %d running, %d down, %d listed; want 2, 12, 12, 12",
				g.Calls, g.Running, g.Down, len(g.Devices))
		}
		// A page drawn before the call was put back showed 2 devices.
		_, err = m.s.LogCalls(ctx, m.eng, m.fx.OrgA.ID, first.ContactID, first.Address, true, "", drawn)
		if v, ok := models.AsValidation(err); !ok || v.Field != "as_of" || len(v.Args) != 1 || v.Args[0] != models.Number(10) {
			t.Fatalf("a call logged from a page drawn before the retry: %v, want refused naming 10 more devices", err)
		}
		clock.Advance(30 * time.Second)
		if n, err := m.s.LogCalls(ctx, m.eng, m.fx.OrgA.ID, first.ContactID, first.Address, true, "told her of 12 devices", clock.Now()); err != nil || n != 2 {
			t.Fatalf("LogCalls (answered) = %d, %v", n, err)
		}
		var met, other int64
		m.raw.Table("sla_clocks").Where("kind = ? AND outcome = ?", models.ClockEmergencyNotice, models.ClockMet).Count(&met)
		m.raw.Table("sla_clocks").Where("kind = ? AND outcome <> ?", models.ClockEmergencyNotice, models.ClockMet).Count(&other)
		if met != 12 || other != 0 {
			t.Fatalf("after the answered call: %d clocks met, %d not; want 12 and 0", met, other)
		}
	})
}
