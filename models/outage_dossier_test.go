package models_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// dossierScene is an outage of web-1 with everything a dossier gathers:
// failed probes, a notice by email (bounced) and by a call staff logged
// as answered, part of it attributed to authorized work, the rest
// classified by an engineer, and two complaints naming it, one of them
// about the engineer.
type dossierScene struct {
	f          *opFixture
	outage     models.Outage
	t0         time.Time
	network    *models.Complaint
	aboutEng   *models.Complaint
	callee     *models.Contact
	spanLength time.Duration
}

func newDossierScene(t *testing.T, s *models.Store, clock *dbtest.Clock) *dossierScene {
	t.Helper()
	ctx := context.Background()
	f := newOpFixture(t, s)
	org := f.fx.OrgA.ID
	sc := &dossierScene{f: f, t0: clock.Now()}
	var err error
	sc.callee, err = s.CreateContact(ctx, f.customer, org, models.ContactInput{Name: "赵敏 Zhao Min", Mobile: "138 0013 8000",
		Channels: []models.Channel{models.ChannelMobile}, MayAuthorize: true, Passphrase: "blue harbour 42", Locale: "zh-CN"})
	if err != nil {
		t.Fatal(err)
	}
	sc.outage = failOutage(t, s, org, f.chk, sc.t0) // confirmed at t0+5m
	evs, err := s.ClaimEvents(ctx, "test", time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if _, err := s.ExpandEvent(ctx, ev, "test", func(ch models.Channel) string {
			if ch == models.ChannelMobile {
				return models.TransportCall
			}
			return models.TransportEmail
		}); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(7 * time.Minute) // t0+7m
	mails, err := s.ClaimDeliveries(ctx, "test", time.Minute, 10, []string{models.TransportEmail})
	if err != nil || len(mails) == 0 {
		t.Fatalf("email deliveries %+v, %v", mails, err)
	}
	for _, m := range mails {
		if err := s.RecordAttempt(ctx, "test", m.ID, models.DeliveryBounced, "550 5.1.1 no such user ZZBOUNCE", nil); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(3 * time.Minute) // t0+10m: staff call Zhao Min
	ds, _, err := s.OutageDeliveries(ctx, models.AllOrgs(), org, sc.outage.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.Transport == models.TransportCall && d.Status == models.DeliveryPending {
			if err := s.LogCall(ctx, f.eng, d.ID, true, "told of web-1 ZZCALLNOTE"); err != nil {
				t.Fatal(err)
			}
		}
	}
	clock.Advance(12 * time.Minute) // t0+22m: authorized by phone
	if _, err := s.RecordPhoneAuthorization(ctx, f.eng, org, f.req.ID, models.PhoneInput{ContactID: f.signer.ID, Passphrase: "blue harbour 42"}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(3 * time.Minute) // t0+25m: work starts
	if err := s.SetOperationState(ctx, f.eng, org, f.req.ID, models.StateInput{State: models.OpInProgress}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(10 * time.Minute) // t0+35m: work ends
	if err := s.SetOperationState(ctx, f.eng, org, f.req.ID, models.StateInput{State: models.OpCompleted, WorkDone: "done",
		Result: "success"}); err != nil {
		t.Fatal(err)
	}
	d, err := s.GetRequestDetail(ctx, models.AllOrgs(), org, f.req.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyOperationCause(ctx, f.eng, d, sc.outage.ID, "reboot during the work 重启"); err != nil {
		t.Fatal(err)
	}
	sc.spanLength = 10 * time.Minute
	if _, err := s.SetOutageCause(ctx, f.eng, sc.outage.ID, models.CauseProviderNetwork, "fibre cut 光缆中断 ZZCAUSENOTE"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(25 * time.Minute) // t0+60m: back up
	recoverCheck(t, s, f.chk, clock.Now())
	clock.Advance(5 * time.Minute)
	if sc.network, err = s.CreateComplaint(ctx, f.customer, org, models.ComplaintInput{Category: models.ComplaintNetwork,
		Subject: "web-1 断网一小时 ZZNETWORK", Description: "An hour down.", OutageID: sc.outage.ID}); err != nil {
		t.Fatal(err)
	}
	if sc.aboutEng, err = s.CreateComplaint(ctx, f.customer, org, models.ComplaintInput{Category: models.ComplaintEmployee,
		NamedUserID: f.fx.Engineer.ID, Subject: "工程师未及时回复 ZZABOUTENG", Description: "Slow.", OutageID: sc.outage.ID}); err != nil {
		t.Fatal(err)
	}
	return sc
}

// kinds counts the timeline's lines by kind.
func kinds(d *models.OutageDossier) map[string]int {
	out := map[string]int{}
	for _, e := range d.Timeline {
		out[e.Kind]++
	}
	return out
}

// The dossier of an outage holds its whole timeline, in time order: the
// probes, the cause changes with the engineer's name, the notice's
// deliveries and the logged call, the operation's work and the
// complaints; its figures add up the outage's split; a complaint about
// the reader is not in the reader's dossier; another organization's
// outage is not found.
func TestOutageDossierGathersTheWholeTimeline(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		sc := newDossierScene(t, s, clock)
		f := sc.f
		d, err := s.OutageDossier(ctx, models.ScopeOf(f.fx.Service), sc.outage.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.Org.ID != f.fx.OrgA.ID || d.Device.Name != "web-1" || d.Check == nil || d.Check.ID != f.chk.ID || d.Outage.EndedAt == nil {
			t.Fatalf("dossier of %+v on %+v / %+v", d.Outage, d.Device, d.Check)
		}
		if !slices.IsSortedFunc(d.Timeline, func(a, b models.DossierEntry) int { return a.At.Compare(b.At) }) {
			t.Errorf("the timeline is not in time order: %+v", d.Timeline)
		}
		// Two notices tell of it: the outage's and its recovery's.
		k := kinds(d)
		for kind, want := range map[string]int{models.DossierStarted: 1, models.DossierProbe: 2, models.DossierConfirmed: 1,
			models.DossierClockStarted: 1, models.DossierClockStopped: 1, models.DossierNoticeJoined: 2, models.DossierCallLogged: 1,
			models.DossierCauseSet: 2, models.DossierEnded: 1, models.DossierWorkFrom: 1, models.DossierWorkTo: 1, models.DossierComplaint: 2} {
			if k[kind] != want {
				t.Errorf("%d %q lines, want %d (all: %v)", k[kind], kind, want, k)
			}
		}
		var call, causeSet, span, bounce, work, complaint bool
		for _, e := range d.Timeline {
			switch {
			case e.Kind == models.DossierCallLogged:
				call = e.Who == f.fx.Engineer.Name && e.Contact == sc.callee.Name && e.Status == models.DeliveryAnswered &&
					e.Note == "told of web-1 ZZCALLNOTE" && e.At.Equal(sc.t0.Add(10*time.Minute))
			case e.Kind == models.DossierCauseSet && e.Start == nil:
				causeSet = e.Who == f.fx.Engineer.Name && !e.System && e.Cause == models.CauseProviderNetwork &&
					e.Note == "fibre cut 光缆中断 ZZCAUSENOTE" && slices.Equal(e.Previous, []models.Cause{models.CauseUnknown})
			case e.Kind == models.DossierCauseSet:
				span = e.Who == f.fx.Engineer.Name && e.Cause == models.CauseCustomerOperation && e.Number == f.req.Number() &&
					e.Start.Equal(sc.t0.Add(25*time.Minute)) && e.End.Equal(sc.t0.Add(35*time.Minute))
			case e.Kind == models.DossierAttempt && e.Status == models.DeliveryBounced:
				bounce = bounce || e.Contact == f.signer.Name && e.Channel == models.ChannelEmail && e.Note == "550 5.1.1 no such user ZZBOUNCE"
			case e.Kind == models.DossierWorkFrom:
				work = e.Number == f.req.Number() && e.At.Equal(sc.t0.Add(25*time.Minute)) && e.Who == f.fx.Engineer.Name
			case e.Kind == models.DossierComplaint:
				complaint = complaint || e.Number == sc.network.Number()
			}
		}
		for what, ok := range map[string]bool{"the call logged by the engineer": call, "the cause set by the engineer": causeSet,
			"the operation's span": span, "the bounced email": bounce, "the authorized work": work, "the complaint": complaint} {
			if !ok {
				t.Errorf("the timeline lacks %s: %+v", what, d.Timeline)
			}
		}
		if d.Clock == nil || d.Clock.Outcome != models.ClockMet || len(d.Operations) != 1 || d.Operations[0].Exempt != sc.spanLength ||
			!d.Operations[0].HasWindow || d.Operations[0].Request.ID != f.req.ID {
			t.Errorf("clock %+v, operations %+v", d.Clock, d.Operations)
		}
		if d.Down != time.Hour || d.Counted != time.Hour-sc.spanLength || len(d.Excluded) != 1 ||
			d.Excluded[0] != (models.CauseTime{Cause: models.CauseCustomerOperation, Time: sc.spanLength}) {
			t.Errorf("figures: down %v, counted %v, excluded %+v", d.Down, d.Counted, d.Excluded)
		}
		if len(d.Complaints) != 2 {
			t.Errorf("the service desk sees %d complaints naming the outage, want 2", len(d.Complaints))
		}

		// The engineer named in a complaint finds no trace of it.
		mine, err := s.OutageDossier(ctx, models.ScopeOf(f.fx.Engineer), sc.outage.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(mine.Complaints) != 1 || mine.Complaints[0].ID != sc.network.ID {
			t.Errorf("the named engineer's dossier lists complaints %+v, want only %s", mine.Complaints, sc.network.Number())
		}
		for _, e := range mine.Timeline {
			if e.Number == sc.aboutEng.Number() || e.Title == sc.aboutEng.Subject {
				t.Errorf("the named engineer's dossier holds %+v", e)
			}
		}
		// The customer sees its own; another organization nothing.
		if _, err := s.OutageDossier(ctx, models.ScopeOf(f.fx.CustA), sc.outage.ID); err != nil {
			t.Errorf("the customer's own dossier: %v", err)
		}
		for _, other := range []models.Scope{models.ScopeOf(f.fx.CustB), models.OrgScope(f.fx.OrgB.ID), {}} {
			if _, err := s.OutageDossier(ctx, other, sc.outage.ID); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("another organization's dossier: %v, want not found", err)
			}
		}
	})
}

// An outage of a provider-wide incident: its dossier holds the incident,
// the update posted to the customers, and the one incident.cause_set
// record of the transaction that set this outage's cause (with its
// previous cause), not the records of the others' chunks.
func TestOutageDossierOfAnIncident(t *testing.T) {
	defer models.SetIncidentCauseChunk(50)()
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			w := newIncidentWorld(t, db)
			s := w.s
			inc, _, err := s.DetectIncident(ctx, models.IncidentRules{})
			if err != nil || inc == nil {
				t.Fatalf("detect: %+v, %v", inc, err)
			}
			if _, err := s.PostIncidentUpdate(ctx, w.eng, inc.ID, "上游链路中断 ZZUPDATE", "zh-CN"); err != nil {
				t.Fatal(err)
			}
			w.clock.Advance(time.Minute)
			if _, err := s.SetIncidentCause(ctx, w.eng, inc.ID, models.CauseFMAttack, "DDoS ZZINCNOTE"); err != nil {
				t.Fatal(err)
			}
			org := w.orgs[30]
			o := w.outageOf(t, org.ID, w.checks[30][0])
			d, err := s.OutageDossier(ctx, models.OrgScope(org.ID), o.ID)
			if err != nil {
				t.Fatal(err)
			}
			if d.Incident == nil || d.Incident.Incident.ID != inc.ID || len(d.Incident.Updates) != 1 {
				t.Fatalf("incident of the dossier: %+v", d.Incident)
			}
			var causes, updates int
			for _, e := range d.Timeline {
				switch e.Kind {
				case models.DossierIncidentCause:
					causes++
					if e.Who != w.fx.Engineer.Name || e.Cause != models.CauseFMAttack || e.Note != "DDoS ZZINCNOTE" ||
						!slices.Equal(e.Previous, []models.Cause{models.CauseUnknown}) {
						t.Errorf("incident cause line %+v", e)
					}
				case models.DossierIncidentUpdate:
					updates++
					if e.Title != "上游链路中断 ZZUPDATE" || e.Who != w.fx.Engineer.Name {
						t.Errorf("incident update line %+v", e)
					}
				}
			}
			if causes != 1 || updates != 1 || kinds(d)[models.DossierIncidentOpened] != 1 {
				t.Errorf("%d incident cause lines, %d updates; want 1 each (%v)", causes, updates, kinds(d))
			}
			if d.Down == 0 || d.Counted != 0 || len(d.Excluded) != 1 || d.Excluded[0].Cause != models.CauseFMAttack {
				t.Errorf("figures of a force-majeure outage: down %v, counted %v, excluded %+v", d.Down, d.Counted, d.Excluded)
			}
			if _, err := s.OutageDossier(ctx, models.OrgScope(w.orgs[31].ID), o.ID); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("another member of the incident reads this outage's dossier: %v", err)
			}
		})
	}
}

// A notice nobody received in time: the dossier shows the deadline
// passing, the missed-notice line and each derivation of it with its
// trigger and who caused it (the sweep, then the engineer's cause).
func TestOutageDossierOfAMissedNotice(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx, _, chk := probeFixture(t, s)
		o := failOutage(t, s, fx.OrgA.ID, chk, clock.Now())
		clock.Advance(25 * time.Minute)
		if _, err := s.SweepClocks(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetOutageCause(ctx, models.UserActor(fx.Engineer, "10.0.0.9"), o.ID, models.CauseFMNatural, "typhoon 台风"); err != nil {
			t.Fatal(err)
		}
		d, err := s.OutageDossier(ctx, models.ScopeOf(fx.CustA), o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.Clock == nil || d.Clock.Outcome != models.ClockMissed || d.Deduction == nil || !d.Deduction.Waived ||
			d.Deduction.WaiverReason != "force_majeure" {
			t.Fatalf("clock %+v, line %+v", d.Clock, d.Deduction)
		}
		var outcomes []models.DossierEntry
		for _, e := range d.Timeline {
			if e.Kind == models.DossierOutcome {
				outcomes = append(outcomes, e)
			}
		}
		if k := kinds(d); k[models.DossierClockMissed] != 1 || len(outcomes) != 2 {
			t.Fatalf("timeline kinds %v", k)
		}
		if e := outcomes[0]; !e.System || e.Status != models.OutcomeWaived || e.Reason != "no_contacts" || e.Note != models.TriggerMissed {
			t.Errorf("the sweep's derivation %+v", e)
		}
		if e := outcomes[1]; e.Who != fx.Engineer.Name || e.Reason != "force_majeure" || e.Note != models.TriggerCause {
			t.Errorf("the cause's derivation %+v", e)
		}
	})
}
