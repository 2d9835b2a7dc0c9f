package models_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// addHookEndpoint inserts a webhook endpoint of orgID subscribed to
// events straight into its table (the endpoints' own Store methods are
// not needed to see which events are written), and returns its ID.
func addHookEndpoint(t testing.TB, g *gorm.DB, orgID int64, enabled bool, events ...string) int64 {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	now := time.Now().UTC()
	row := map[string]any{"org_id": orgID, "ref": hex.EncodeToString(b),
		"url": "https://hooks.example.test/in", "description": "", "secret": "sealed", "events": strings.Join(events, ","),
		"enabled": enabled, "failures": 0, "disabled_reason": "", "created_at": now, "updated_at": now}
	if err := g.Table("webhook_endpoints").Create(row).Error; err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := g.Table("webhook_endpoints").Where("ref = ?", row["ref"]).Pluck("id", &id).Error; err != nil {
		t.Fatal(err)
	}
	return id
}

// hookKinds are the outbox kinds written only for webhooks.
var hookKinds = []string{models.EventCheckFailing, models.EventCheckCleared, models.EventOutageConfirmed, models.EventOutageEnded,
	models.EventClockMet, models.EventClockMissed, models.EventOperationState, models.EventStatementClosed}

// hookRows returns the outbox events of kinds, in the order written.
func hookRows(t *testing.T, g *gorm.DB, kinds ...string) []models.OutboxEvent {
	t.Helper()
	if len(kinds) == 0 {
		kinds = hookKinds
	}
	var evs []models.OutboxEvent
	if err := g.Where("kind IN ?", kinds).Order("id").Find(&evs).Error; err != nil {
		t.Fatal(err)
	}
	return evs
}

// hookOf maps ev to its webhook event, failing the test if it has none.
func hookOf(t *testing.T, s *models.Store, ev models.OutboxEvent) models.HookEvent {
	t.Helper()
	var he models.HookEvent
	var ok bool
	err := models.RunTx(context.Background(), s, false, func(tx *gorm.DB) error {
		var err error
		he, ok, err = models.HookEventOf(s, tx, ev)
		return err
	})
	if err != nil || !ok {
		t.Fatalf("webhook event of %s %d: ok %v, %v", ev.Kind, ev.RefID, ok, err)
	}
	if !he.At.Equal(ev.CreatedAt) {
		t.Errorf("%s: at %s, want the event's %s", ev.Kind, he.At, ev.CreatedAt)
	}
	return he
}

// wantHook checks one event's public name and the data fields given (a
// nested object's fields as "check.id").
func wantHook(t *testing.T, s *models.Store, ev models.OutboxEvent, kind, name string, fields map[string]any) models.HookEvent {
	t.Helper()
	if ev.Kind != kind {
		t.Fatalf("outbox event %d is %s, want %s", ev.ID, ev.Kind, kind)
	}
	he := hookOf(t, s, ev)
	if he.Name != name {
		t.Errorf("%s maps to %q, want %q", kind, he.Name, name)
	}
	for k, want := range fields {
		var got any = he.Data
		for _, part := range strings.Split(k, ".") {
			m, _ := got.(map[string]any)
			got = m[part]
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s (%s): data %s = %v, want %v; data %v", name, kind, k, got, want, he.Data)
		}
	}
	return he
}

func hookT(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// errRollBack makes a transaction roll back.
var errRollBack = errors.New("roll back")

// The outage events of RecordResults: the first failure of a down period
// (once however many follow), the outage opened, its end, and a failing
// check well again before an outage opened; written only for an
// organization whose enabled endpoint subscribes to the event, each
// mapped to its public event and data, and none of them emailed.
func TestOutageWebhookEvents(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		s := dbtest.Open(t, db, models.WithClock(clock.Now), models.WithNoticeWindow(0))
		g := rawDB(t, db)
		fx, d, chk := probeFixture(t, s)
		if _, err := s.CreateContact(ctx, models.UserActor(fx.CustA, "127.0.0.1"), fx.OrgA.ID, models.ContactInput{Name: "Sun Li",
			Email: "sun.li@alpha.test", Channels: []models.Channel{models.ChannelEmail}, Locale: "en"}); err != nil {
			t.Fatal(err)
		}
		t0 := clock.Now()
		at := func(i int) time.Time { return t0.Add(time.Duration(i) * 5 * time.Minute) }
		res := func(i int, ok bool) models.ProbeResult {
			r := models.ProbeResult{CheckID: chk.ID, At: at(i), OK: ok, RTTus: 250}
			if !ok {
				r.RTTus, r.Reason = 0, models.ReasonTimeout
			}
			return r
		}
		record := func(rs ...models.ProbeResult) {
			t.Helper()
			if _, err := s.RecordResults(ctx, rs); err != nil {
				t.Fatal(err)
			}
		}
		outages := []string{models.HookOutageOpened, models.HookOutageConfirmed, models.HookOutageClosed}
		// Another organization's endpoint, a disabled one, one that wants
		// other events: nothing is written.
		addHookEndpoint(t, g, fx.OrgB.ID, true, outages...)
		off := addHookEndpoint(t, g, fx.OrgA.ID, false, outages...)
		addHookEndpoint(t, g, fx.OrgA.ID, true, models.HookNoticeMet, models.HookVisitApproved)
		record(res(0, false))
		record(res(1, false))
		record(res(2, true))
		record(res(3, false), res(4, true))
		if evs := hookRows(t, g); len(evs) != 0 {
			t.Fatalf("events written with no endpoint subscribed: %+v", evs)
		}
		if err := g.Table("webhook_endpoints").Where("id = ?", off).Update("enabled", true).Error; err != nil {
			t.Fatal(err)
		}
		check := func(from int) map[string]any {
			return map[string]any{"check.id": chk.ID, "check.kind": models.KindICMP, "check.target": "127.0.0.2",
				"check.api_url": fmt.Sprintf("/api/v1/checks/%d", chk.ID), "device.id": d.ID, "device.name": "web-1",
				"device.api_url": fmt.Sprintf("/api/v1/devices/%d", d.ID), "started_at": hookT(at(from))}
		}
		with := func(m map[string]any, more map[string]any) map[string]any {
			for k, v := range more {
				m[k] = v
			}
			return m
		}

		record(res(5, false))
		evs := hookRows(t, g)
		if len(evs) != 1 {
			t.Fatalf("after the first failure: %d events, want 1: %+v", len(evs), evs)
		}
		wantHook(t, s, evs[0], models.EventCheckFailing, models.HookOutageOpened, with(check(5), map[string]any{"object": "outage",
			"id": nil, "confirmed": false, "state": "failing", "confirmed_at": nil, "ended_at": nil, "reason": models.ReasonTimeout,
			"api_url": fmt.Sprintf("/api/v1/checks/%d", chk.ID)}))
		record(res(6, false))
		record(res(7, false)) // failing on: no new first failure
		evs = hookRows(t, g)
		if len(evs) != 2 {
			t.Fatalf("after the outage opened and one more failure: %d events, want 2: %+v", len(evs), evs)
		}
		os, err := s.ListOutages(ctx, models.AllOrgs(), fx.OrgA.ID, d.ID, 1)
		if err != nil || len(os) != 1 || os[0].EndedAt != nil {
			t.Fatalf("open outage: %+v, %v", os, err)
		}
		o := os[0]
		wantHook(t, s, evs[1], models.EventOutageConfirmed, models.HookOutageConfirmed, with(check(5), map[string]any{"object": "outage",
			"id": o.ID, "confirmed": true, "state": "open", "confirmed_at": hookT(at(6)), "ended_at": nil, "cause": models.CauseUnknown,
			"api_url": fmt.Sprintf("/api/v1/outages/%d", o.ID)}))
		record(res(8, true))
		evs = hookRows(t, g)
		if len(evs) != 3 {
			t.Fatalf("after the recovery: %d events, want 3: %+v", len(evs), evs)
		}
		wantHook(t, s, evs[2], models.EventOutageEnded, models.HookOutageClosed, with(check(5), map[string]any{"object": "outage",
			"id": o.ID, "confirmed": true, "state": "closed", "ended_at": hookT(at(8)), "end": models.OutageEndRecovered,
			"duration_seconds": 15 * 60, "api_url": fmt.Sprintf("/api/v1/outages/%d", o.ID)}))
		// The outage.confirmed event still says what happened then.
		wantHook(t, s, evs[1], models.EventOutageConfirmed, models.HookOutageConfirmed, map[string]any{"state": "open", "ended_at": nil})

		// A failure, then a success before the threshold: opened, then
		// closed with no outage.
		record(res(9, false))
		record(res(10, true))
		evs = hookRows(t, g)
		if len(evs) != 5 {
			t.Fatalf("after a failure cleared: %d events, want 5: %+v", len(evs), evs)
		}
		wantHook(t, s, evs[3], models.EventCheckFailing, models.HookOutageOpened, with(check(9), map[string]any{"state": "failing"}))
		wantHook(t, s, evs[4], models.EventCheckCleared, models.HookOutageClosed, with(check(9), map[string]any{"id": nil,
			"confirmed": false, "state": "cleared", "ended_at": hookT(at(10)), "end": models.OutageEndRecovered}))

		// All three in one batch, in their order.
		record(res(11, false), res(12, false), res(13, true))
		evs = hookRows(t, g)
		if len(evs) != 8 || evs[5].Kind != models.EventCheckFailing || evs[6].Kind != models.EventOutageConfirmed || evs[7].Kind != models.EventOutageEnded {
			t.Fatalf("one batch's events: %+v", evs)
		}

		// An endpoint that wants only the confirmation gets only that.
		if err := g.Table("webhook_endpoints").Where("id = ?", off).Update("events", models.HookOutageConfirmed).Error; err != nil {
			t.Fatal(err)
		}
		record(res(14, false))
		record(res(15, false))
		record(res(16, true))
		evs = hookRows(t, g)
		if len(evs) != 9 || evs[8].Kind != models.EventOutageConfirmed {
			t.Fatalf("with outage.confirmed alone: %+v", evs)
		}

		// None of these is emailed: expanded, they make no delivery.
		expandAll(t, s)
		var n int64
		if err := g.Model(&models.Delivery{}).Where("event IN ?", hookKinds).Count(&n).Error; err != nil || n != 0 {
			t.Fatalf("deliveries of webhook-only events: %d, %v", n, err)
		}
		if err := g.Model(&models.Delivery{}).Where("event = ?", models.EventOutageOpened).Count(&n).Error; err != nil || n == 0 {
			t.Fatalf("the notices' deliveries: %d, %v; want some (the contact is emailed)", n, err)
		}
		if err := g.Model(&models.OutboxEvent{}).Where("kind IN ? AND done_at IS NULL", hookKinds).Count(&n).Error; err != nil || n != 0 {
			t.Fatalf("webhook-only events not done after expanding: %d, %v", n, err)
		}
	})
}

// A batch's webhook events are in its transaction: rolled back with it.
func TestOutageWebhookEventsRollBackWithTheirBatch(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		g := rawDB(t, db)
		fx, _, chk := probeFixture(t, s)
		addHookEndpoint(t, g, fx.OrgA.ID, true, models.HookOutageOpened)
		fail := []models.ProbeResult{{CheckID: chk.ID, At: clock.Now(), Reason: models.ReasonTimeout}}
		err := models.RunTx(ctx, s, false, func(tx *gorm.DB) error {
			if err := models.RecordResultsIn(s, tx, fail); err != nil {
				return err
			}
			var n int64
			if err := tx.Model(&models.OutboxEvent{}).Where("kind = ?", models.EventCheckFailing).Count(&n).Error; err != nil || n != 1 {
				return fmt.Errorf("first failure's event in its transaction: %d, %v", n, err)
			}
			return errRollBack
		})
		if !errors.Is(err, errRollBack) {
			t.Fatal(err)
		}
		if evs := hookRows(t, g); len(evs) != 0 {
			t.Fatalf("events after the roll-back: %+v", evs)
		}
		if _, err := s.RecordResults(ctx, fail); err != nil {
			t.Fatal(err)
		}
		if evs := hookRows(t, g); len(evs) != 1 || evs[0].Kind != models.EventCheckFailing || evs[0].RefID != chk.ID {
			t.Fatalf("events after the batch committed: %+v", evs)
		}
	})
}

// An outage that ends because its port is no longer monitored is closed
// for webhooks too, saying so.
func TestUnmappedPortClosesItsOutageForWebhooks(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		g := rawDB(t, db)
		fx := dbtest.Seed(t, s)
		eng := models.UserActor(fx.Engineer, "10.0.0.1")
		d, err := s.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: fx.OrgA.ID, Name: "web", Address: "127.0.0.9"})
		if err != nil {
			t.Fatal(err)
		}
		sw, err := s.CreateSwitch(ctx, eng, v2Switch("core-1"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddSwitchPorts(ctx, eng, sw.ID, []models.Interface{{IfIndex: 1, Name: "Gi0/1", SpeedBps: 1e9, HC: true}}); err != nil {
			t.Fatal(err)
		}
		ports, _ := s.ListSwitchPorts(ctx, models.AllOrgs(), sw.ID)
		p, err := s.MapSwitchPort(ctx, eng, ports[0].ID, models.PortMapping{OrgID: &fx.OrgA.ID, DeviceID: &d.ID})
		if err != nil {
			t.Fatal(err)
		}
		addHookEndpoint(t, g, fx.OrgA.ID, true, models.HookOutageClosed)
		now := clock.Now()
		if _, err := s.RecordResults(ctx, []models.ProbeResult{
			{CheckID: *p.CheckID, At: now.Add(-10 * time.Minute), OK: false, Reason: models.ReasonPortDown},
			{CheckID: *p.CheckID, At: now.Add(-5 * time.Minute), OK: false, Reason: models.ReasonPortDown}}); err != nil {
			t.Fatal(err)
		}
		c := portCheck(t, s, p.CheckID)
		if c.OpenOutageID == nil {
			t.Fatalf("no outage after two down polls: %+v", c)
		}
		if evs := hookRows(t, g); len(evs) != 0 {
			t.Fatalf("events the endpoint does not want: %+v", evs)
		}
		clock.Advance(time.Minute)
		if _, err := s.MapSwitchPort(ctx, eng, p.ID, models.PortMapping{}); err != nil {
			t.Fatal(err)
		}
		evs := hookRows(t, g)
		if len(evs) != 1 {
			t.Fatalf("events after unmapping: %+v", evs)
		}
		wantHook(t, s, evs[0], models.EventOutageEnded, models.HookOutageClosed, map[string]any{"id": *c.OpenOutageID,
			"state": "closed", "end": models.OutageEndStopped, "ended_at": hookT(clock.Now()), "device.name": "web"})
	})
}

// An emergency-notice clock's outcome is one event: met when a delivery
// stops it in time, missed when the sweep finds it past its deadline or
// a delivery stops it late (and the sweep then adds nothing).
func TestNoticeClockWebhookEvents(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		s := dbtest.Open(t, db, models.WithClock(clock.Now), models.WithNoticeWindow(0))
		g := rawDB(t, db)
		n := newNoticeScene(t, s, clock)
		n.contact("Sun Li", "sun.li@alpha.test", true)
		n.confirm()
		accept := func() {
			t.Helper()
			for _, d := range n.deliveries() {
				if err := s.RecordAttempt(ctx, "me", d.ID, models.DeliveryAccepted, "", nil); err != nil {
					t.Fatal(err)
				}
			}
		}
		outcomes := []string{models.EventClockMet, models.EventClockMissed}
		// No endpoint: nothing.
		failOutage(t, s, n.org, n.chk, clock.Now())
		accept()
		recoverCheck(t, s, n.chk, clock.Now().Add(10*time.Minute))
		accept()
		if evs := hookRows(t, g, outcomes...); len(evs) != 0 {
			t.Fatalf("clock events with no endpoint: %+v", evs)
		}
		addHookEndpoint(t, g, n.org, true, models.HookNoticeMet, models.HookNoticeMissed)

		clock.Advance(time.Hour)
		o := failOutage(t, s, n.org, n.chk, clock.Now())
		accept()
		evs := hookRows(t, g, outcomes...)
		if len(evs) != 1 {
			t.Fatalf("clock events after a delivery in time: %+v", evs)
		}
		k, err := s.OutageClock(ctx, models.AllOrgs(), n.org, o.ID)
		if err != nil || k == nil || k.Outcome != models.ClockMet {
			t.Fatalf("clock: %+v, %v", k, err)
		}
		wantHook(t, s, evs[0], models.EventClockMet, models.HookNoticeMet, map[string]any{"object": "notice_clock", "id": k.ID,
			"outcome": models.ClockMet, "started_at": hookT(k.StartedAt), "deadline_at": hookT(k.DeadlineAt),
			"stopped_at": hookT(*k.StoppedAt), "outage.id": o.ID, "device.name": "web-1",
			"api_url": fmt.Sprintf("/api/v1/outages/%d", o.ID)})
		recoverCheck(t, s, n.chk, clock.Now().Add(10*time.Minute))
		accept()

		// Swept as missed.
		clock.Advance(time.Hour)
		o = failOutage(t, s, n.org, n.chk, clock.Now())
		for _, d := range n.deliveries() {
			if err := s.RecordAttempt(ctx, "me", d.ID, models.DeliveryFailed, "refused", nil); err != nil {
				t.Fatal(err)
			}
		}
		clock.Advance(21 * time.Minute)
		if _, err := s.SweepClocks(ctx); err != nil {
			t.Fatal(err)
		}
		evs = hookRows(t, g, outcomes...)
		if len(evs) != 2 {
			t.Fatalf("clock events after the sweep: %+v", evs)
		}
		k, _ = s.OutageClock(ctx, models.AllOrgs(), n.org, o.ID)
		wantHook(t, s, evs[1], models.EventClockMissed, models.HookNoticeMissed, map[string]any{"id": k.ID,
			"outcome": models.ClockMissed, "stopped_at": nil, "outage.id": o.ID})
		recoverCheck(t, s, n.chk, clock.Now())
		accept()

		// Stopped late by a delivery, then swept: one event.
		clock.Advance(time.Hour)
		o = failOutage(t, s, n.org, n.chk, clock.Now())
		clock.Advance(21 * time.Minute)
		accept()
		if _, err := s.SweepClocks(ctx); err != nil {
			t.Fatal(err)
		}
		evs = hookRows(t, g, outcomes...)
		if len(evs) != 3 {
			t.Fatalf("clock events after a late delivery: %+v", evs)
		}
		k, _ = s.OutageClock(ctx, models.AllOrgs(), n.org, o.ID)
		wantHook(t, s, evs[2], models.EventClockMissed, models.HookNoticeMissed, map[string]any{"id": k.ID, "outcome": models.ClockMissed})
	})
}

// renameAudit makes every audit write fail (on) or work again (off), so
// that a change's transaction rolls back at its last statement.
func renameAudit(t *testing.T, g *gorm.DB, on bool) {
	t.Helper()
	from, to := "audit_events", "audit_events_gone"
	if !on {
		from, to = to, from
	}
	if err := g.Exec("ALTER TABLE " + from + " RENAME TO " + to).Error; err != nil {
		t.Fatal(err)
	}
}

// Every change of an operation request's state is one event with where
// it came from and went to; none is left by a change rolled back.
func TestOperationStateWebhookEvents(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		g := rawDB(t, db)
		f := newOpFixture(t, s)
		org := f.fx.OrgA.ID
		addHookEndpoint(t, g, org, true, models.HookOperationState)
		renameAudit(t, g, true)
		_, err := s.RecordPhoneAuthorization(ctx, f.eng, org, f.req.ID, models.PhoneInput{ContactID: f.signer.ID, Passphrase: "blue harbour 42"})
		renameAudit(t, g, false)
		if err == nil {
			t.Fatal("an authorization with no audit record went through")
		}
		if evs := hookRows(t, g); len(evs) != 0 {
			t.Fatalf("events of a change rolled back: %+v", evs)
		}
		if _, err := s.RecordPhoneAuthorization(ctx, f.eng, org, f.req.ID, models.PhoneInput{ContactID: f.signer.ID, Passphrase: "blue harbour 42"}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
		if err := s.SetOperationState(ctx, f.eng, org, f.req.ID, models.StateInput{State: models.OpInProgress}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
		if err := s.SetOperationState(ctx, f.eng, org, f.req.ID, models.StateInput{State: models.OpCompleted, WorkDone: "Rebooted",
			Result: "success"}); err != nil {
			t.Fatal(err)
		}
		other, err := s.CreateRequest(ctx, f.customer, org, models.RequestInput{Title: "Swap disk", Work: "Swap disk 2", Urgency: "normal",
			DeviceIDs: []int64{f.dev.ID}, RequestedBy: &f.fx.CustA.ID})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.WithdrawRequest(ctx, f.customer, org, other.ID, "Not needed"); err != nil {
			t.Fatal(err)
		}
		evs := hookRows(t, g)
		if len(evs) != 4 {
			t.Fatalf("events of four changes of state: %+v", evs)
		}
		base := func(r *models.OperationRequest, from, to string) map[string]any {
			return map[string]any{"object": "operation", "ref": r.Ref, "number": r.Number(), "from": from, "to": to, "state": to,
				"api_url": "/api/v1/operations/" + r.Ref}
		}
		wantHook(t, s, evs[0], models.EventOperationState, models.HookOperationState, base(f.req, models.OpAwaiting, models.OpAuthorized))
		wantHook(t, s, evs[1], models.EventOperationState, models.HookOperationState, base(f.req, models.OpAuthorized, models.OpInProgress))
		he := wantHook(t, s, evs[2], models.EventOperationState, models.HookOperationState, base(f.req, models.OpInProgress, models.OpCompleted))
		if he.Data["result"] != "success" || he.Data["ended_at"] == nil || he.Data["changed_at"] != hookT(clock.Now()) {
			t.Errorf("completion data: %v", he.Data)
		}
		wantHook(t, s, evs[3], models.EventOperationState, models.HookOperationState, base(other, models.OpAwaiting, models.OpAbandoned))
		for _, ev := range evs {
			if ev.OrgID != org {
				t.Errorf("event %+v of another organization", ev)
			}
		}
	})
}

// The desk's answers to a complaint (message, report, resolution) are
// complaint.answered, through the emailed complaint.reply event; a
// customer's own message is not.
func TestComplaintAnsweredWebhookEvent(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		g := rawDB(t, db)
		fx := dbtest.Seed(t, s)
		desk, dv := models.UserActor(fx.Service, "10.0.0.2"), viewerOf(fx.Service)
		c := fileComplaint(t, s, fx, models.ComplaintInput{Category: models.ComplaintNetwork, Subject: "Loss", Description: "Evenings"})
		if _, err := s.AddComplaintMessage(ctx, models.UserActor(fx.CustA, "10.0.0.1"), viewerOf(fx.CustA), c.ID, "Still lossy"); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Hour)
		l, err := s.WriteComplaintReport(ctx, desk, dv, c.ID, someReport)
		if err != nil {
			t.Fatal(err)
		}
		evs := hookRows(t, g, models.EventComplaintReply)
		if len(evs) != 1 || evs[0].RefID != l.ID {
			t.Fatalf("reply events: %+v; want the report's alone", evs)
		}
		wantHook(t, s, evs[0], models.EventComplaintReply, models.HookComplaintAnswered, map[string]any{"object": "complaint",
			"ref": c.Ref, "number": c.Number(), "state": models.ComplaintResponded, "answer.id": l.ID,
			"answer.kind": models.ComplaintReport, "answer.at": hookT(clock.Now()), "api_url": "/api/v1/complaints/" + c.Ref})
		// A customer's line never maps, whatever event names it.
		var mine models.ComplaintLine
		if err := g.Where("complaint_id = ? AND staff = ?", c.ID, false).Order("id").First(&mine).Error; err != nil {
			t.Fatal(err)
		}
		fake := evs[0]
		fake.RefID = mine.ID
		err = models.RunTx(ctx, s, false, func(tx *gorm.DB) error {
			_, ok, err := models.HookEventOf(s, tx, fake)
			if err == nil && ok {
				return errors.New("a customer's message maps to complaint.answered")
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// Closing a month writes statement.closed in its transaction: not when
// the closing rolls back, not when no endpoint wants it.
func TestStatementClosedWebhookEvent(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		g := rawDB(t, db)
		fx := dbtest.Seed(t, s)
		admin := models.UserActor(fx.Admin, "10.0.0.3")
		clock.Advance(40 * 24 * time.Hour) // into December
		addHookEndpoint(t, g, fx.OrgA.ID, true, models.HookStatementClosed)
		if err := s.CloseMonth(ctx, admin, fx.OrgB.ID, "2026-11"); err != nil {
			t.Fatal(err)
		}
		renameAudit(t, g, true)
		err := s.CloseMonth(ctx, admin, fx.OrgA.ID, "2026-11")
		renameAudit(t, g, false)
		if err == nil {
			t.Fatal("a closing with no audit record went through")
		}
		if evs := hookRows(t, g); len(evs) != 0 {
			t.Fatalf("events of closings unwanted or rolled back: %+v", evs)
		}
		if err := s.CloseMonth(ctx, admin, fx.OrgA.ID, "2026-11"); err != nil {
			t.Fatal(err)
		}
		evs := hookRows(t, g)
		if len(evs) != 1 || evs[0].OrgID != fx.OrgA.ID {
			t.Fatalf("events of the closing: %+v", evs)
		}
		var rec models.StatementRecord
		if err := g.Where("org_id = ? AND month = ?", fx.OrgA.ID, "2026-11").First(&rec).Error; err != nil {
			t.Fatal(err)
		}
		he := wantHook(t, s, evs[0], models.EventStatementClosed, models.HookStatementClosed, map[string]any{"object": "statement",
			"org_id": fx.OrgA.ID, "month": "2026-11", "ref": rec.Ref, "state": "closed", "closed_at": hookT(clock.Now()),
			"api_url": fmt.Sprintf("/api/v1/statements/%d/2026-11", fx.OrgA.ID)})
		if _, ok := he.Data["credits"].([]map[string]any); !ok {
			t.Errorf("credits = %#v, want a list", he.Data["credits"])
		}
	})
}

// The probe path asks for subscriptions only when a batch has events to
// write, once per batch whatever the organizations and events in it: a
// steady batch reads nothing more.
func TestRecordResultsLooksUpSubscriptionsOncePerChangingBatch(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		g := rawDB(t, db)
		fx := dbtest.Seed(t, s)
		var ids []int64
		for _, org := range []int64{fx.OrgA.ID, fx.OrgB.ID} {
			d, err := s.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: org, Name: "rack", Address: "127.0.0.2"})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, bulkChecks(t, g, org, d.ID, 50, 2, clock.Now())...)
			addHookEndpoint(t, g, org, true, models.HookEvents...)
		}
		lookups := models.CountQueriesOn(s, "webhook_endpoints")
		batch := func(i int, ok bool) {
			t.Helper()
			rs := make([]models.ProbeResult, len(ids))
			for j, id := range ids {
				rs[j] = models.ProbeResult{CheckID: id, At: clock.Now().Add(time.Duration(i) * time.Minute), OK: ok, RTTus: 100}
				if !ok {
					rs[j].RTTus, rs[j].Reason = 0, models.ReasonTimeout
				}
			}
			if _, err := s.RecordResults(ctx, rs); err != nil {
				t.Fatal(err)
			}
		}
		batch(0, true) // unknown → up: a change of state, but no event
		batch(1, true)
		batch(2, true)
		if n := lookups.Load(); n != 0 {
			t.Fatalf("look-ups for batches with no event: %d, want 0", n)
		}
		for i, ok := range []bool{false, false, true} {
			batch(3+i, ok)
		}
		if n := lookups.Load(); n != 3 {
			t.Fatalf("look-ups for three batches with events of two organizations: %d, want 3", n)
		}
		if evs := hookRows(t, g); len(evs) != 3*len(ids) {
			t.Fatalf("events of 100 checks failing, down and back: %d, want %d", len(evs), 3*len(ids))
		}
	})
}
