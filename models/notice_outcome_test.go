package models_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// noticeScene is one organization with contacts, a device whose check
// fails on demand, and the dispatcher's part played by hand.
type noticeScene struct {
	t     *testing.T
	s     *models.Store
	clock *dbtest.Clock
	fx    *dbtest.Fixture
	chk   models.Check
	org   int64
	eng   models.Actor
}

func newNoticeScene(t *testing.T, s *models.Store, clock *dbtest.Clock) *noticeScene {
	t.Helper()
	fx, _, chk := probeFixture(t, s)
	return &noticeScene{t: t, s: s, clock: clock, fx: fx, chk: chk, org: fx.OrgA.ID, eng: models.UserActor(fx.Engineer, "10.0.0.1")}
}

// contact adds a contact reached by email only; authorized ones may authorize.
func (n *noticeScene) contact(name, email string, authorized bool) *models.Contact {
	n.t.Helper()
	in := models.ContactInput{Name: name, Email: email, Channels: []models.Channel{models.ChannelEmail}, MayAuthorize: authorized, Locale: "en"}
	if authorized {
		in.Passphrase = "blue harbour 42"
	}
	c, err := n.s.CreateContact(context.Background(), models.UserActor(n.fx.CustA, "127.0.0.1"), n.org, in)
	if err != nil {
		n.t.Fatal(err)
	}
	return c
}

func (n *noticeScene) confirm() {
	n.t.Helper()
	if err := n.s.ConfirmContacts(context.Background(), models.UserActor(n.fx.CustA, "127.0.0.1"), n.org, n.fx.CustA.ID); err != nil {
		n.t.Fatal(err)
	}
}

// miss opens an outage now, gives each of its notice deliveries the result
// result (no retry), sweeps its clock past the deadline, recovers the
// check and returns the outage.
func (n *noticeScene) miss(result string) models.Outage {
	n.t.Helper()
	ctx := context.Background()
	o := failOutage(n.t, n.s, n.org, n.chk, n.clock.Now())
	for _, d := range n.deliveries() {
		if err := n.s.RecordAttempt(ctx, "me", d.ID, result, "test", nil); err != nil {
			n.t.Fatal(err)
		}
	}
	n.clock.Advance(21 * time.Minute) // confirmed at +5 min: the deadline is +20 min
	if _, err := n.s.SweepClocks(ctx); err != nil {
		n.t.Fatal(err)
	}
	recoverCheck(n.t, n.s, n.chk, n.clock.Now())
	for _, d := range n.deliveries() { // the recovery notices
		if err := n.s.RecordAttempt(ctx, "me", d.ID, models.DeliveryAccepted, "", nil); err != nil {
			n.t.Fatal(err)
		}
	}
	return o
}

func (n *noticeScene) deliveries() []models.Delivery {
	n.t.Helper()
	ctx := context.Background()
	evs, err := n.s.ClaimEvents(ctx, "me", time.Minute, 100)
	if err != nil {
		n.t.Fatal(err)
	}
	for _, ev := range evs {
		if _, err := n.s.ExpandEvent(ctx, ev, "me", emailOnly); err != nil {
			n.t.Fatal(err)
		}
	}
	ds, err := n.s.ClaimDeliveries(ctx, "me", time.Minute, 100, []string{models.TransportEmail})
	if err != nil {
		n.t.Fatal(err)
	}
	return ds
}

// line returns the deduction line of the outage's notice clock.
func (n *noticeScene) line(o models.Outage) *models.Deduction {
	n.t.Helper()
	ctx := context.Background()
	c, err := n.s.OutageClock(ctx, models.AllOrgs(), n.org, o.ID)
	if err != nil || c == nil {
		n.t.Fatalf("clock of outage %d: %+v, %v", o.ID, c, err)
	}
	d, err := n.s.ClockDeduction(ctx, models.AllOrgs(), n.org, c.ID)
	if err != nil || d == nil {
		n.t.Fatalf("deduction of clock %d: %+v, %v", c.ID, d, err)
	}
	return d
}

func wantOutcome(t *testing.T, d *models.Deduction, outcome, reason string) {
	t.Helper()
	if d.Outcome() != outcome || d.WaiverReason != reason {
		t.Fatalf("deduction = %s (%q), want %s (%q): %+v", d.Outcome(), d.WaiverReason, outcome, reason, d)
	}
	if days := map[string]int{models.OutcomeCharged: 1}[outcome]; d.Days != days {
		t.Fatalf("deduction days = %d, want %d: %+v", d.Days, days, d)
	}
}

// outcomeAudits returns the audited changes of outcome of orgID, newest first.
func outcomeAudits(t *testing.T, s *models.Store, orgID int64, action string) []models.AuditEvent {
	t.Helper()
	evs, err := s.ListAudit(context.Background(), models.AllOrgs(), models.AuditFilter{Action: action, OrgID: orgID})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// Point 2: a missed notice's deduction or waiver follows its inputs after
// the sweep, and each change is audited with its reason.
func TestNoticeOutcomeFollowsItsInputs(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		n := newNoticeScene(t, s, clock)
		ct := n.contact("Sun Li", "sun.li@alpha.test", true)
		n.confirm()

		t.Run("force majeure set two hours after the sweep waives the deducted day", func(t *testing.T) {
			o := n.miss(models.DeliveryFailed)
			wantOutcome(t, n.line(o), models.OutcomeCharged, "")
			clock.Advance(2 * time.Hour)
			if _, err := s.SetOutageCause(ctx, n.eng, o.ID, models.CauseFMNatural, "typhoon"); err != nil {
				t.Fatal(err)
			}
			wantOutcome(t, n.line(o), models.OutcomeWaived, models.WaiverForceMajeure)
			evs := outcomeAudits(t, s, n.org, models.AuditNoticeOutcome)
			if len(evs) == 0 || !strings.Contains(evs[0].Detail, models.TriggerCause) || !strings.Contains(evs[0].Detail, models.WaiverForceMajeure) {
				t.Fatalf("the change of outcome is not audited with its reason: %+v", evs)
			}
		})

		t.Run("force majeure reclassified to the provider later is deducted again", func(t *testing.T) {
			clock.Advance(24 * time.Hour)
			o := failOutage(t, s, n.org, n.chk, clock.Now())
			if _, err := s.SetOutageCause(ctx, n.eng, o.ID, models.CauseFMAttack, "DDoS"); err != nil {
				t.Fatal(err)
			}
			for _, d := range n.deliveries() {
				if err := s.RecordAttempt(ctx, "me", d.ID, models.DeliveryFailed, "connection refused", nil); err != nil {
					t.Fatal(err)
				}
			}
			clock.Advance(21 * time.Minute)
			if _, err := s.SweepClocks(ctx); err != nil {
				t.Fatal(err)
			}
			recoverCheck(t, s, n.chk, clock.Now())
			n.deliveries()
			wantOutcome(t, n.line(o), models.OutcomeWaived, models.WaiverForceMajeure)
			clock.Advance(3 * time.Hour)
			if _, err := s.SetOutageCause(ctx, n.eng, o.ID, models.CauseProviderNetwork, "our router, not an attack"); err != nil {
				t.Fatal(err)
			}
			wantOutcome(t, n.line(o), models.OutcomeCharged, "")
		})

		t.Run("details marked wrong within 24 hours after the deadline waive the deducted day", func(t *testing.T) {
			clock.Advance(24 * time.Hour)
			o := n.miss(models.DeliveryBounced)
			wantOutcome(t, n.line(o), models.OutcomeCharged, "")
			clock.Advance(3 * time.Hour)
			if err := s.MarkContactDetailWrong(ctx, n.eng, ct.ID, models.ChannelEmail, "mailbox does not exist"); err != nil {
				t.Fatal(err)
			}
			wantOutcome(t, n.line(o), models.OutcomeWaived, models.WaiverWrongDetails)
			evs := outcomeAudits(t, s, n.org, models.AuditNoticeOutcome)
			if len(evs) == 0 || !strings.Contains(evs[0].Detail, models.TriggerMark) {
				t.Fatalf("the change of outcome is not audited with its reason: %+v", evs)
			}
		})

		t.Run("a mark made more than 24 hours after the deadline changes nothing", func(t *testing.T) {
			// The contact corrects the detail (clearing the mark), a new
			// miss is charged, and a mark 25 hours later is too late for it.
			if _, err := s.UpdateContact(ctx, models.UserActor(n.fx.CustA, "127.0.0.1"), n.org, ct.ID, models.ContactInput{
				Name: ct.Name, Email: "li.sun@alpha.test", Channels: []models.Channel{models.ChannelEmail}, MayAuthorize: true, Locale: "en"}); err != nil {
				t.Fatal(err)
			}
			clock.Advance(24 * time.Hour)
			o := n.miss(models.DeliveryBounced)
			clock.Advance(25 * time.Hour)
			if err := s.MarkContactDetailWrong(ctx, n.eng, ct.ID, models.ChannelEmail, "too late"); err != nil {
				t.Fatal(err)
			}
			wantOutcome(t, n.line(o), models.OutcomeCharged, "")
		})
	})
}

// Point 5a: every missed notice has its line; the second of a day says a
// day's fee was already deducted, and takes the charge when the first is
// waived later.
func TestSecondMissOfADayIsRecorded(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		n := newNoticeScene(t, s, clock)
		n.contact("Sun Li", "sun.li@alpha.test", true)
		n.confirm()
		first := n.miss(models.DeliveryFailed)
		clock.Advance(time.Hour)
		second := n.miss(models.DeliveryFailed)
		wantOutcome(t, n.line(first), models.OutcomeCharged, "")
		wantOutcome(t, n.line(second), models.OutcomeNotFirst, "")
		day := first.StartedAt.Format("2006-01-02")
		lines, err := s.ListDeductions(ctx, models.AllOrgs(), n.org, day, day+"~")
		if err != nil || len(lines) != 2 || lines[0].Days+lines[1].Days != 1 {
			t.Fatalf("lines of %s = %+v, %v; want two lines, one day", day, lines, err)
		}

		t.Run("when the first miss is waived later, the second carries the day's charge", func(t *testing.T) {
			if _, err := s.SetOutageCause(ctx, n.eng, first.ID, models.CauseFMGovernment, "ordered shutdown"); err != nil {
				t.Fatal(err)
			}
			wantOutcome(t, n.line(first), models.OutcomeWaived, models.WaiverForceMajeure)
			wantOutcome(t, n.line(second), models.OutcomeCharged, "")
		})
	})
}

// Point 5b: a list not re-confirmed in time waives only a miss the
// customer's details could have caused.
func TestStaleListWaivesOnlyMissesOnCustomerDetails(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		n := newNoticeScene(t, s, clock)
		n.contact("Sun Li", "sun.li@alpha.test", true)
		n.confirm()
		clock.Advance(models.DefaultConfirmEvery + 24*time.Hour)

		t.Run("the provider's mail server down: deducted", func(t *testing.T) {
			o := n.miss(models.DeliveryFailed)
			wantOutcome(t, n.line(o), models.OutcomeCharged, "")
		})
		t.Run("the address refused: waived", func(t *testing.T) {
			clock.Advance(24 * time.Hour)
			o := n.miss(models.DeliveryBounced)
			wantOutcome(t, n.line(o), models.OutcomeWaived, models.WaiverNotReconfirmed)
		})
		t.Run("a confirmation after the miss does not change it", func(t *testing.T) {
			clock.Advance(24 * time.Hour)
			o := n.miss(models.DeliveryBounced)
			n.confirm()
			if _, err := s.SetOutageCause(context.Background(), n.eng, o.ID, models.CauseProviderNetwork, "re-evaluate"); err != nil {
				t.Fatal(err)
			}
			wantOutcome(t, n.line(o), models.OutcomeWaived, models.WaiverNotReconfirmed)
		})
	})
}

// Point 5c: only deliveries to contacts who may authorize decide the
// wrong-details waiver.
func TestWrongDetailsWaiverCountsOnlyAuthorizedContacts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		n := newNoticeScene(t, s, clock)
		ct := n.contact("Sun Li", "sun.li@alpha.test", true)
		n.contact("Night desk", "desk@alpha.test", false)
		n.confirm()
		if err := s.MarkContactDetailWrong(ctx, n.eng, ct.ID, models.ChannelEmail, "mailbox does not exist"); err != nil {
			t.Fatal(err)
		}
		o := n.miss(models.DeliveryBounced)
		ds, _, err := s.OutageDeliveries(ctx, models.AllOrgs(), n.org, o.ID)
		if err != nil || len(ds) < 2 {
			t.Fatalf("deliveries = %+v, %v; want one per contact", ds, err)
		}
		wantOutcome(t, n.line(o), models.OutcomeWaived, models.WaiverWrongDetails)
	})
}

// A closed month keeps its outcomes: later inputs are stored but change no
// deduction, and the ignored change is audited.
func TestClosedMonthFreezesNoticeOutcomes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		n := newNoticeScene(t, s, clock)
		n.contact("Sun Li", "sun.li@alpha.test", true)
		n.confirm()
		o := n.miss(models.DeliveryFailed)
		month := o.StartedAt.Format("2006-01")
		svc := models.UserActor(n.fx.Service, "10.0.0.2")

		if err := s.CloseMonth(ctx, svc, n.org, month); !isInvalid(err) {
			t.Fatalf("closing a month that has not ended: %v, want a validation error", err)
		}
		clock.Advance(31 * 24 * time.Hour)
		if err := s.CloseMonth(ctx, svc, n.org, "2026-13"); !isInvalid(err) {
			t.Fatalf("closing month 2026-13: %v, want a validation error", err)
		}
		if err := s.CloseMonth(ctx, svc, n.org, month); err != nil {
			t.Fatal(err)
		}
		if err := s.CloseMonth(ctx, svc, n.org, month); !isInvalid(err) {
			t.Fatalf("closing a closed month again: %v, want a validation error", err)
		}
		if cm, err := s.MonthClosed(ctx, models.AllOrgs(), n.org, month); err != nil || cm == nil {
			t.Fatalf("month closed = %+v, %v", cm, err)
		}
		if cm, _ := s.MonthClosed(ctx, models.AllOrgs(), n.fx.OrgB.ID, month); cm != nil {
			t.Fatal("closing org A's month closed org B's")
		}
		if _, err := s.SetOutageCause(ctx, n.eng, o.ID, models.CauseFMNatural, "flood"); err != nil {
			t.Fatalf("the cause of an outage in a closed month is still recorded: %v", err)
		}
		wantOutcome(t, n.line(o), models.OutcomeCharged, "")
		if evs := outcomeAudits(t, s, n.org, models.AuditNoticeFrozen); len(evs) != 1 || !strings.Contains(evs[0].Detail, models.WaiverForceMajeure) {
			t.Fatalf("the ignored change is not audited: %+v", evs)
		}
	})
}

func isInvalid(err error) bool {
	_, ok := models.AsValidation(err)
	return ok
}

// Deliveries and the contacts on file are inputs too: a result that
// arrives after the sweep changes the outcome; contacts added later do not.
func TestNoticeOutcomeFollowsLateDeliveriesNotLaterContacts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		n := newNoticeScene(t, s, clock)

		t.Run("with no authorized contact when the clock started the miss is waived, even after one is added", func(t *testing.T) {
			n.contact("Night desk", "desk@alpha.test", false)
			o := n.miss(models.DeliveryFailed)
			wantOutcome(t, n.line(o), models.OutcomeWaived, models.WaiverNoContacts)
			n.contact("Sun Li", "sun.li@alpha.test", true)
			if _, err := s.SetOutageCause(ctx, n.eng, o.ID, models.CauseProviderNetwork, "re-evaluate"); err != nil {
				t.Fatal(err)
			}
			wantOutcome(t, n.line(o), models.OutcomeWaived, models.WaiverNoContacts)
		})

		t.Run("a bounce after the sweep, on a stale list, waives the charged day", func(t *testing.T) {
			clock.Advance(models.DefaultConfirmEvery + 24*time.Hour) // never confirmed
			o := failOutage(t, s, n.org, n.chk, clock.Now())
			var pending []models.Delivery
			for _, d := range n.deliveries() {
				if d.Authorized {
					pending = append(pending, d)
					continue
				}
				if err := s.RecordAttempt(ctx, "me", d.ID, models.DeliveryAccepted, "", nil); err != nil {
					t.Fatal(err)
				}
			}
			clock.Advance(21 * time.Minute)
			if _, err := s.SweepClocks(ctx); err != nil {
				t.Fatal(err)
			}
			wantOutcome(t, n.line(o), models.OutcomeCharged, "")
			// The claimed lease has ended: claim again, as the dispatcher would.
			ds, err := s.ClaimDeliveries(ctx, "me", time.Minute, 100, []string{models.TransportEmail})
			if err != nil || len(ds) != len(pending) {
				t.Fatalf("pending deliveries = %+v, %v", ds, err)
			}
			for _, d := range ds {
				if err := s.RecordAttempt(ctx, "me", d.ID, models.DeliveryBounced, "550 no such user", nil); err != nil {
					t.Fatal(err)
				}
			}
			wantOutcome(t, n.line(o), models.OutcomeWaived, models.WaiverNotReconfirmed)
			evs := outcomeAudits(t, s, n.org, models.AuditNoticeOutcome)
			if len(evs) == 0 || !strings.Contains(evs[0].Detail, models.TriggerDelivery) {
				t.Fatalf("the change is not audited as caused by the delivery: %+v", evs)
			}
		})
	})
}

// A contact list entered minutes before a miss is as good as a confirmed
// one: the customer has just written it. It goes stale like a confirmed
// list, and adding a contact to a list does not renew it.
func TestANewContactListCountsAsConfirmedWhenEntered(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		n := newNoticeScene(t, s, clock)
		n.contact("Sun Li", "sun.li@alpha.test", true)
		if last, err := s.LastConfirmation(ctx, models.AllOrgs(), n.org); err != nil || last == nil || !last.ConfirmedAt.Equal(clock.Now()) {
			t.Errorf("last confirmation after the list was entered = %+v, %v; want now", last, err)
		}
		clock.Advance(10 * time.Minute)

		t.Run("a miss minutes later on the customer's address is deducted", func(t *testing.T) {
			o := n.miss(models.DeliveryBounced)
			wantOutcome(t, n.line(o), models.OutcomeCharged, "")
		})
		t.Run("a contact added to the list later does not renew it", func(t *testing.T) {
			clock.Advance(models.DefaultConfirmEvery)
			n.contact("Zhou Tao", "zhou.tao@alpha.test", true)
			clock.Advance(time.Hour)
			o := n.miss(models.DeliveryBounced)
			wantOutcome(t, n.line(o), models.OutcomeWaived, models.WaiverNotReconfirmed)
		})
	})
}
