package models_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// mwFixture is the two organizations with devices in cabinets: A's web-1
// (cabinet A03, from probeFixture) and B's db-1 (cabinet B01).
type mwFixture struct {
	fx       *dbtest.Fixture
	eng      models.Actor
	a, b     *models.Device
	custA    models.Actor
	custB    models.Actor
	chkA     models.Check
	mkDevice func(org int64, name, cabinet string) (*models.Device, models.Check)
}

func newMWFixture(t *testing.T, s *models.Store) *mwFixture {
	t.Helper()
	fx, d, chk := probeFixture(t, s)
	f := &mwFixture{fx: fx, eng: models.UserActor(fx.Engineer, "10.0.0.9"), a: d, chkA: chk,
		custA: models.UserActor(fx.CustA, "192.0.2.1"), custB: models.UserActor(fx.CustB, "192.0.2.2")}
	n := 30
	f.mkDevice = func(org int64, name, cabinet string) (*models.Device, models.Check) {
		t.Helper()
		n++
		d, err := s.CreateDevice(context.Background(), models.SystemActor("test"), models.DeviceInput{OrgID: org, Name: name,
			Address: fmt.Sprintf("127.0.0.%d", n), Cabinet: cabinet})
		if err != nil {
			t.Fatal(err)
		}
		cs, err := s.ListChecks(context.Background(), models.AllOrgs(), org, d.ID)
		if err != nil || len(cs) != 1 {
			t.Fatalf("checks of %s: %v %v", name, cs, err)
		}
		return d, cs[0]
	}
	f.b, _ = f.mkDevice(fx.OrgB.ID, "db-1", "B01")
	return f
}

// window is a valid announcement of [start, end) over the targets typed.
func window(title string, start, end time.Time, targets string) models.MaintenanceInput {
	return models.MaintenanceInput{Title: title, Body: "Replace the core switch 更换核心交换机", StartsAt: start, EndsAt: end, TargetLines: targets}
}

// Every rule of an announcement is checked at once, nothing is stored
// for a refused one (not even a number), and a valid one is numbered
// MW-2026-0001 among the provider's windows with a random reference,
// its targets and an audit record.
func TestMaintenanceAnnouncementRules(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		f := newMWFixture(t, s)
		now := clock.Now()
		start, end := now.Add(24*time.Hour), now.Add(26*time.Hour)

		for _, tc := range []struct {
			name string
			in   models.MaintenanceInput
			want map[string]string
		}{
			{"everything wrong at once", models.MaintenanceInput{Title: "  ", StartsAt: now.Add(-time.Hour), EndsAt: now.Add(-2 * time.Hour)},
				map[string]string{"title": "error.required", "starts_at": "maintenance.error.starts_past", "ends_at": "maintenance.error.ends_before_start",
					"targets": "maintenance.error.no_targets"}},
			{"longer than 72 hours", window("t", start, start.Add(72*time.Hour+time.Minute), "alpha"),
				map[string]string{"ends_at": "maintenance.error.too_long"}},
			{"a title of 201 characters", window(strings.Repeat("维", 201), start, end, "alpha"),
				map[string]string{"title": "error.too_long"}},
			{"a line that does not read", window("t", start, end, "alpha\nalpha rack A03"),
				map[string]string{"targets": "maintenance.error.target_syntax"}},
			{"an unknown organization", window("t", start, end, "alpha\nnobody"),
				map[string]string{"targets": "maintenance.error.target_org"}},
			{"another organization's device", window("t", start, end, fmt.Sprintf("alpha device #%d", f.b.ID)),
				map[string]string{"targets": "maintenance.error.target_device"}},
			{"another organization's device by name", window("t", start, end, "alpha device db-1"),
				map[string]string{"targets": "maintenance.error.target_device"}},
			{"a cabinet the organization has nothing in", window("t", start, end, "alpha cabinet B01"),
				map[string]string{"targets": "maintenance.error.target_cabinet"}},
			{"a device given by ID of another organization", models.MaintenanceInput{Title: "t", StartsAt: start, EndsAt: end,
				Targets: []models.MaintenanceTargetInput{{OrgID: f.fx.OrgA.ID, DeviceID: f.b.ID}}},
				map[string]string{"targets": "maintenance.error.target_device"}},
			{"more than 500 targets", window("t", start, end, strings.Repeat("alpha\n", 501)),
				map[string]string{"targets": "maintenance.error.too_many_targets"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.AnnounceMaintenance(ctx, f.eng, tc.in)
				got := fieldKeys(err)
				if len(got) != len(tc.want) {
					t.Fatalf("errors %v, want %v (%v)", got, tc.want, err)
				}
				for field, key := range tc.want {
					if got[field] != key {
						t.Errorf("%s: %q, want %q", field, got[field], key)
					}
				}
			})
		}
		if rows, err := s.ListMaintenance(ctx, models.AllOrgs(), false, 100); err != nil || len(rows) != 0 {
			t.Fatalf("refused announcements stored %v (%v)", rows, err)
		}

		// 72 hours exactly is allowed; the targets name A's device by name,
		// a cabinet of A, B whole, and a repeat (kept once).
		w, err := s.AnnounceMaintenance(ctx, f.eng, window("Core switch 核心交换机", start, start.Add(72*time.Hour),
			"alpha device web-1\nalpha 机柜 A03\n\nbravo\nalpha device web-1"))
		if err != nil {
			t.Fatal(err)
		}
		if w.Number() != "MW-2026-0001" || !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(w.Ref) {
			t.Fatalf("window %s ref %q", w.Number(), w.Ref)
		}
		d, err := s.MaintenanceDetailOf(ctx, models.AllOrgs(), w)
		if err != nil || len(d.Orgs) != 2 {
			t.Fatalf("detail %+v (%v)", d, err)
		}
		a, b := d.Own(f.fx.OrgA.ID), d.Own(f.fx.OrgB.ID)
		if a == nil || a.Whole || len(a.Devices) != 1 || a.Devices[0].ID != f.a.ID || len(a.Cabinets) != 1 || a.Cabinets[0] != "A03" ||
			b == nil || !b.Whole || len(b.Devices)+len(b.Cabinets) != 0 {
			t.Fatalf("targets: A %+v, B %+v", a, b)
		}
		evs := auditOf(t, s, models.AuditMaintenanceAnnounced)
		if len(evs) != 1 || detailOf(t, evs[0])["window"] != "MW-2026-0001" || detailOf(t, evs[0])["targets"] != float64(3) {
			t.Fatalf("audit %+v", evs)
		}
		w2, err := s.AnnounceMaintenance(ctx, f.eng, window("Second", start, end, "bravo"))
		if err != nil || w2.Number() != "MW-2026-0002" {
			t.Fatalf("second window %v (%v)", w2, err)
		}
	})
}

// A customer user of an affected organization answers until the window
// starts and may change the answer meanwhile; after the start the answer
// is final. Another organization, staff and a cancelled window cannot
// answer.
func TestMaintenanceAnswersUntilTheStart(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		f := newMWFixture(t, s)
		start := clock.Now().Add(2 * time.Hour)
		w, err := s.AnnounceMaintenance(ctx, f.eng, window("Power work", start, start.Add(time.Hour), "alpha cabinet A03"))
		if err != nil {
			t.Fatal(err)
		}
		toAnswer := func(u *models.User) []models.MaintenanceWindow {
			t.Helper()
			ws, err := s.MaintenanceToAnswer(ctx, models.ScopeOf(u), *u.OrgID, 10)
			if err != nil {
				t.Fatal(err)
			}
			return ws
		}
		if ws := toAnswer(f.fx.CustA); len(ws) != 1 || ws[0].ID != w.ID {
			t.Fatalf("A has %v to answer, want the window", ws)
		}
		if ws := toAnswer(f.fx.CustB); len(ws) != 0 {
			t.Fatalf("B has %v to answer, want none", ws)
		}
		if _, err := s.AnswerMaintenance(ctx, f.custA, f.fx.CustA, w.Ref, "maybe", ""); err == nil {
			t.Fatal("an answer that is neither agreed nor declined was taken")
		} else {
			wantInvalid(t, err, "answer", "maintenance.error.answer")
		}
		if _, err := s.AnswerMaintenance(ctx, f.custB, f.fx.CustB, w.Ref, models.MaintenanceAgreed, ""); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("B answering A's window: %v, want not found", err)
		}
		if _, err := s.AnswerMaintenance(ctx, f.eng, f.fx.Engineer, w.Ref, models.MaintenanceAgreed, ""); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("staff answering: %v, want not found", err)
		}
		if _, err := s.AnswerMaintenance(ctx, f.custA, f.fx.CustA, w.Ref, models.MaintenanceAgreed, "ok 可以"); err != nil {
			t.Fatal(err)
		}
		if ws := toAnswer(f.fx.CustA); len(ws) != 0 {
			t.Fatalf("answered window still to answer: %v", ws)
		}
		clock.Advance(time.Hour)
		if _, err := s.AnswerMaintenance(ctx, f.custA, f.fx.CustA, w.Ref, models.MaintenanceDeclined, "changed our mind"); err != nil {
			t.Fatal(err)
		}
		rows, err := s.ListMaintenance(ctx, models.ScopeOf(f.fx.CustA), false, 10)
		if err != nil || len(rows) != 1 || rows[0].Answer != models.MaintenanceDeclined || rows[0].AnsweredAt == nil {
			t.Fatalf("A's list %+v (%v)", rows, err)
		}
		staff, err := s.ListMaintenance(ctx, models.AllOrgs(), false, 10)
		if err != nil || len(staff) != 1 || staff[0].Orgs != 1 || staff[0].Declined != 1 || staff[0].Agreed != 0 {
			t.Fatalf("staff list %+v (%v)", staff, err)
		}
		clock.Advance(time.Hour) // the start
		_, err = s.AnswerMaintenance(ctx, f.custA, f.fx.CustA, w.Ref, models.MaintenanceAgreed, "")
		wantInvalid(t, err, "answer", "maintenance.error.started")
		d, err := s.MaintenanceDetailOf(ctx, models.AllOrgs(), w)
		if err != nil || d.Own(f.fx.OrgA.ID).Answered() != models.MaintenanceDeclined || d.Own(f.fx.OrgA.ID).AnsweredBy != f.fx.CustA.Name ||
			d.Own(f.fx.OrgA.ID).Answer.Note != "changed our mind" {
			t.Fatalf("answer after the start changed it: %+v (%v)", d, err)
		}
		evs := auditOf(t, s, models.AuditMaintenanceAnswered)
		if len(evs) != 2 || detailOf(t, evs[0])["answer"] != models.MaintenanceDeclined || detailOf(t, evs[0])["previous"] != models.MaintenanceAgreed ||
			evs[0].OrgID == nil || *evs[0].OrgID != f.fx.OrgA.ID {
			t.Fatalf("audit %+v", evs)
		}
	})
}

// Staff cancel a window before it starts with a reason; the affected
// organizations are told, it takes no answer, and once it has started it
// cannot be cancelled.
func TestMaintenanceCancel(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		f := newMWFixture(t, s)
		start := clock.Now().Add(2 * time.Hour)
		w, err := s.AnnounceMaintenance(ctx, f.eng, window("One", start, start.Add(time.Hour), "alpha\nbravo"))
		if err != nil {
			t.Fatal(err)
		}
		other, err := s.AnnounceMaintenance(ctx, f.eng, window("Two", start, start.Add(time.Hour), "alpha"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.CancelMaintenance(ctx, f.eng, w.Ref, "  ")
		wantInvalid(t, err, "reason", "error.required")
		got, err := s.CancelMaintenance(ctx, f.eng, w.Ref, "Parts did not arrive 备件未到")
		if err != nil || got.CancelledAt == nil || got.State(clock.Now()) != models.MaintenanceCancelled {
			t.Fatalf("cancelled %+v (%v)", got, err)
		}
		_, err = s.CancelMaintenance(ctx, f.eng, w.Ref, "again")
		wantInvalid(t, err, "reason", "maintenance.error.cancelled")
		_, err = s.AnswerMaintenance(ctx, f.custA, f.fx.CustA, w.Ref, models.MaintenanceAgreed, "")
		wantInvalid(t, err, "answer", "maintenance.error.cancelled")
		if ws, err := s.MaintenanceToAnswer(ctx, models.ScopeOf(f.fx.CustA), f.fx.OrgA.ID, 10); err != nil || len(ws) != 1 || ws[0].ID != other.ID {
			t.Fatalf("to answer %v (%v), want only the window not cancelled", ws, err)
		}
		evs := auditOf(t, s, models.AuditMaintenanceCancelled)
		if len(evs) != 1 || detailOf(t, evs[0])["reason"] != "Parts did not arrive 备件未到" {
			t.Fatalf("audit %+v", evs)
		}
		clock.Advance(2 * time.Hour)
		_, err = s.CancelMaintenance(ctx, f.eng, other.Ref, "too late")
		wantInvalid(t, err, "reason", "maintenance.error.cancel_started")
	})
}

// expandAll claims the pending outbox events and expands them, email only.
func expandAll(t *testing.T, s *models.Store) {
	t.Helper()
	ctx := context.Background()
	evs, err := s.ClaimEvents(ctx, "me", time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if _, err := s.ExpandEvent(ctx, ev, "me", emailOnly); err != nil {
			t.Fatal(err)
		}
	}
}

// An announcement and a cancellation are emailed once to each contact of
// each affected organization who chose email, in the contact's language,
// and what an email says of a window is its own organization's part only.
func TestMaintenanceEmailsOncePerContact(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		f := newMWFixture(t, s)
		contact := func(u *models.User, org int64, name, email, locale string, chs ...models.Channel) *models.Contact {
			t.Helper()
			c, err := s.CreateContact(ctx, models.UserActor(u, ""), org, models.ContactInput{Name: name, Email: email, Mobile: "13800138000",
				Channels: chs, Locale: locale})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		zhA := contact(f.fx.CustA, f.fx.OrgA.ID, "孙丽", "sun@alpha.test", "zh-CN", models.ChannelEmail, models.ChannelMobile)
		enA := contact(f.fx.CustA, f.fx.OrgA.ID, "Night Guard", "guard@alpha.test", "en", models.ChannelEmail)
		contact(f.fx.CustA, f.fx.OrgA.ID, "Phone only", "phone@alpha.test", "en", models.ChannelMobile)
		enB := contact(f.fx.CustB, f.fx.OrgB.ID, "Bob's ops", "ops@bravo.test", "en", models.ChannelEmail)
		start := clock.Now().Add(3 * time.Hour)
		w, err := s.AnnounceMaintenance(ctx, f.eng, window("Core switch", start, start.Add(time.Hour), "alpha device web-1\nbravo"))
		if err != nil {
			t.Fatal(err)
		}
		expandAll(t, s)
		expandAll(t, s) // nothing more the second time
		ds, err := s.ClaimDeliveries(ctx, "me", time.Minute, 100, []string{models.TransportEmail})
		if err != nil {
			t.Fatal(err)
		}
		per := map[int64]models.Delivery{}
		for _, d := range ds {
			if d.Event != models.EventMaintenanceAnnounced {
				t.Fatalf("delivery of %s", d.Event)
			}
			if _, dup := per[d.ContactID]; dup {
				t.Fatalf("contact %d emailed twice", d.ContactID)
			}
			per[d.ContactID] = d
		}
		if len(per) != 3 || per[zhA.ID].Locale != "zh-CN" || per[enA.ID].Locale != "en" || per[enB.ID].OrgID != f.fx.OrgB.ID ||
			per[zhA.ID].Address != "sun@alpha.test" {
			t.Fatalf("deliveries %+v", per)
		}
		fb, err := s.MaintenanceFactsOf(ctx, models.AllOrgs(), f.fx.OrgB.ID, per[enB.ID].EventID)
		if err != nil || fb.Window.ID != w.ID || !fb.Affected.Whole || len(fb.Affected.Devices) != 0 || fb.Org.ID != f.fx.OrgB.ID {
			t.Fatalf("B's facts %+v (%v)", fb, err)
		}
		fa, err := s.MaintenanceFactsOf(ctx, models.AllOrgs(), f.fx.OrgA.ID, per[enA.ID].EventID)
		if err != nil || fa.Affected.Whole || len(fa.Affected.Devices) != 1 || fa.Affected.Devices[0].Name != "web-1" {
			t.Fatalf("A's facts %+v (%v)", fa, err)
		}
		if _, err := s.MaintenanceFactsOf(ctx, models.AllOrgs(), f.fx.OrgB.ID, per[enA.ID].EventID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("B reading A's event: %v", err)
		}
		if _, err := s.CancelMaintenance(ctx, f.eng, w.Ref, "postponed"); err != nil {
			t.Fatal(err)
		}
		expandAll(t, s)
		ds, err = s.ClaimDeliveries(ctx, "me", time.Minute, 100, []string{models.TransportEmail})
		if err != nil || len(ds) != 3 {
			t.Fatalf("cancellation deliveries %d (%v), want 3", len(ds), err)
		}
		for _, d := range ds {
			if d.Event != models.EventMaintenanceCancelled {
				t.Fatalf("delivery of %s", d.Event)
			}
		}
	})
}

// A customer sees only the windows touching its organization, and of one
// touching several only its own part; another's window is not found.
func TestMaintenanceTenancy(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		f := newMWFixture(t, s)
		start := clock.Now().Add(3 * time.Hour)
		onlyA, err := s.AnnounceMaintenance(ctx, f.eng, window("A only", start, start.Add(time.Hour), "alpha device web-1"))
		if err != nil {
			t.Fatal(err)
		}
		both, err := s.AnnounceMaintenance(ctx, f.eng, window("Both", start, start.Add(time.Hour), "alpha device web-1\nbravo cabinet B01"))
		if err != nil {
			t.Fatal(err)
		}
		scB := models.ScopeOf(f.fx.CustB)
		if _, err := s.GetMaintenance(ctx, scB, onlyA.Ref); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("B reading A's window: %v", err)
		}
		if _, err := s.GetMaintenance(ctx, models.Scope{}, both.Ref); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("the zero scope reading a window: %v", err)
		}
		w, err := s.GetMaintenance(ctx, scB, both.Ref)
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.MaintenanceDetailOf(ctx, scB, w)
		if err != nil || len(d.Orgs) != 1 || d.Orgs[0].Org.ID != f.fx.OrgB.ID || d.Own(f.fx.OrgA.ID) != nil {
			t.Fatalf("B's view of both %+v (%v)", d, err)
		}
		rows, err := s.ListMaintenance(ctx, scB, false, 10)
		if err != nil || len(rows) != 1 || rows[0].Window.ID != both.ID {
			t.Fatalf("B's list %+v (%v)", rows, err)
		}
		if _, err := s.MaintenanceToAnswer(ctx, scB, f.fx.OrgA.ID, 10); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("B asking A's windows to answer: %v", err)
		}
		if _, err := s.OutageSegmentsOf(ctx, scB, f.fx.OrgA.ID, nil); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("B asking A's segments: %v", err)
		}
	})
}

// The rule of agreed maintenance, end to end: downtime inside a window the
// organization agreed to takes the cause customer_maintenance where it
// would count against the provider, and only there; a declined, an
// unanswered and a cancelled window change nothing; a customer cause stays
// as it is. DeviceAvailability, OutageSpans and the outage page's
// segments agree on every device.
func TestAgreedMaintenanceCountsOnlyOutsideTheWindow(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		f := newMWFixture(t, s)
		orgA, orgB := f.fx.OrgA.ID, f.fx.OrgB.ID
		t0 := clock.Now()
		// web-1 (A03) is under an agreed window by cabinet; the others by
		// device, each window with its own answer.
		declined, chkDeclined := f.mkDevice(orgA, "declined-1", "C1")
		silent, chkSilent := f.mkDevice(orgA, "silent-1", "C1")
		own, chkOwn := f.mkDevice(orgA, "own-1", "A03")
		cancelled, chkCancelled := f.mkDevice(orgA, "cancelled-1", "C2")
		outside, chkOutside := f.mkDevice(orgA, "outside-1", "C9")
		chkB := mustCheck(t, s, orgB, f.b.ID)
		ws, we := t0.Add(2*time.Hour), t0.Add(3*time.Hour)
		announce := func(targets string) *models.MaintenanceWindow {
			t.Helper()
			w, err := s.AnnounceMaintenance(ctx, f.eng, window("w", ws, we, targets))
			if err != nil {
				t.Fatal(err)
			}
			return w
		}
		agreed := announce("alpha cabinet A03\nbravo")
		wDeclined := announce("alpha device declined-1")
		announce("alpha device silent-1")
		wCancelled := announce("alpha device cancelled-1")
		answer := func(u *models.User, w *models.MaintenanceWindow, a string) {
			t.Helper()
			if _, err := s.AnswerMaintenance(ctx, models.UserActor(u, ""), u, w.Ref, a, ""); err != nil {
				t.Fatal(err)
			}
		}
		clock.Advance(10 * time.Minute)
		answer(f.fx.CustA, agreed, models.MaintenanceAgreed)
		answer(f.fx.CustB, agreed, models.MaintenanceAgreed)
		answer(f.fx.CustA, wDeclined, models.MaintenanceDeclined)
		answer(f.fx.CustA, wCancelled, models.MaintenanceAgreed)
		if _, err := s.CancelMaintenance(ctx, f.eng, wCancelled.Ref, "postponed"); err != nil {
			t.Fatal(err)
		}

		// Every device goes down at 2:30, half an hour into the window.
		clock.Advance(2*time.Hour + 30*time.Minute)
		down := t0.Add(2*time.Hour + 30*time.Minute)
		devices := []struct {
			name string
			org  int64
			dev  int64
			chk  models.Check
		}{{"agreed by cabinet", orgA, f.a.ID, f.chkA}, {"declined", orgA, declined.ID, chkDeclined}, {"unanswered", orgA, silent.ID, chkSilent},
			{"customer-caused, agreed", orgA, own.ID, chkOwn}, {"cancelled", orgA, cancelled.ID, chkCancelled},
			{"in no window", orgA, outside.ID, chkOutside}, {"B agreed, whole organization", orgB, f.b.ID, chkB}}
		outages := map[int64]models.Outage{}
		for _, d := range devices {
			outages[d.dev] = failOutage(t, s, d.org, d.chk, down)
		}
		if _, err := s.SetOutageCause(ctx, f.eng, outages[own.ID].ID, models.CauseCustomerEquipment, "their disk"); err != nil {
			t.Fatal(err)
		}
		// Still down at 2:45, inside the window: the agreed part is open.
		clock.Advance(5 * time.Minute)
		segs, err := s.OutageSegmentsOf(ctx, models.OrgScope(orgA), orgA, []models.Outage{outages[f.a.ID]})
		if err != nil {
			t.Fatal(err)
		}
		if g := segs[outages[f.a.ID].ID]; len(g) != 1 || g[0].End != nil || g[0].Cause != models.CauseCustomerMaintenance || g[0].Window == nil ||
			g[0].Window.Number != agreed.Number() {
			t.Fatalf("open outage inside the agreed window: %+v", g)
		}
		// Recovered at 3:30, half an hour after the window.
		for _, d := range devices {
			recoverCheck(t, s, d.chk, t0.Add(3*time.Hour+30*time.Minute))
		}
		clock.Advance(2 * time.Hour)
		from, to := t0, t0.Add(6*time.Hour)

		for _, d := range devices {
			t.Run(d.name, func(t *testing.T) {
				o, err := s.GetOutage(ctx, models.AllOrgs(), outages[d.dev].ID)
				if err != nil || o.EndedAt == nil {
					t.Fatalf("outage %+v (%v)", o, err)
				}
				av, err := s.DeviceAvailability(ctx, models.OrgScope(d.org), d.org, d.dev, from, to)
				if err != nil {
					t.Fatal(err)
				}
				wantCounted := time.Hour
				switch d.name {
				case "agreed by cabinet", "B agreed, whole organization":
					wantCounted = 30 * time.Minute
				case "customer-caused, agreed":
					wantCounted = 0
				}
				if av.Down != time.Hour || av.Counted != wantCounted {
					t.Fatalf("down %v counted %v, want 1h and %v", av.Down, av.Counted, wantCounted)
				}
				spans, err := s.OutageSpans(ctx, models.OrgScope(d.org), d.org, []int64{d.dev}, from, to)
				if err != nil {
					t.Fatal(err)
				}
				if got := models.ComputeAvailability(from, to, t0, clock.Now(), spans[d.dev]); got != av {
					t.Fatalf("OutageSpans give %+v, DeviceAvailability %+v", got, av)
				}
				segs, err := s.OutageSegmentsOf(ctx, models.OrgScope(d.org), d.org, []models.Outage{*o})
				if err != nil {
					t.Fatal(err)
				}
				g := segs[o.ID]
				counted, exempt := models.SplitTotals(g, clock.Now())
				if counted != av.Counted || counted+exempt != time.Hour {
					t.Fatalf("page segments count %v and exempt %v, availability counts %v: %+v", counted, exempt, av.Counted, g)
				}
				// The incident dossier counts as the page does.
				dz, err := s.OutageDossier(ctx, models.OrgScope(d.org), o.ID)
				if err != nil || dz.Counted != av.Counted || dz.Down != time.Hour {
					t.Fatalf("the dossier counts %v of %v (%v), availability %v", dz.Counted, dz.Down, err, av.Counted)
				}
				switch d.name {
				case "agreed by cabinet", "B agreed, whole organization":
					if len(g) != 2 || g[0].Cause != models.CauseCustomerMaintenance || g[0].Window == nil || g[0].Window.Ref != agreed.Ref ||
						!g[0].End.Equal(we) || g[1].Cause != models.CauseUnknown || g[1].Window != nil {
						t.Fatalf("segments %+v", g)
					}
				case "customer-caused, agreed":
					if len(g) != 1 || g[0].Cause != models.CauseCustomerEquipment || g[0].Window != nil {
						t.Fatalf("a customer cause changed: %+v", g)
					}
				default:
					if len(g) != 1 || g[0].Cause != models.CauseUnknown || g[0].Window != nil {
						t.Fatalf("segments %+v, want the outage's own cause throughout", g)
					}
				}
			})
		}
	})
}

// mustCheck is the one check of a device.
func mustCheck(t *testing.T, s *models.Store, org, dev int64) models.Check {
	t.Helper()
	cs, err := s.ListChecks(context.Background(), models.AllOrgs(), org, dev)
	if err != nil || len(cs) != 1 {
		t.Fatalf("checks %v (%v)", cs, err)
	}
	return cs[0]
}
