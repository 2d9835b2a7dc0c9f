package models

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"gorm.io/gorm"
)

// What a missed emergency notice costs (clause 4) is derived, never
// decided once: its deduction line is computed from its inputs (the
// outage's cause, the wrong-details marks, the notice's deliveries, the
// contact list's confirmation and the authorized contacts on file) and
// computed again whenever one of them changes, until the month of the
// miss is closed. Every change of outcome is audited with what caused it.

// ClosedMonth is a calendar month (provider's zone) of an organization
// whose deductions and waivers are final: closing it freezes them.
type ClosedMonth struct {
	OrgID    int64  `gorm:"primaryKey;autoIncrement:false"`
	Month    string `gorm:"primaryKey"` // 2006-01
	ClosedAt time.Time
	ClosedBy *int64
}

func (ClosedMonth) TableName() string { return "closed_months" }

// noticeCause is the cause that decides the force-majeure waiver of a
// missed notice: the outage's cause. With cause spans it is the cause of
// the span that holds the clock's start (the outage's confirmation).
func (s *Store) noticeCause(tx *gorm.DB, o *Outage, c *Clock) (Cause, error) {
	var ps []OutageCauseSpan
	if err := tx.Where("outage_id = ? AND start_at <= ? AND end_at > ?", o.ID, c.StartedAt, c.StartedAt).Limit(1).Find(&ps).Error; err != nil {
		return "", err
	}
	if len(ps) == 1 {
		return ps[0].Cause, nil
	}
	return o.Cause, nil
}

// reevaluateOutageNotice derives again the deduction or waiver of the
// outage's missed emergency notice, and of the other misses of the same
// calendar day (at most one is charged a day), inside tx. Every caller
// that changes an input of the outcome calls it: the outage's cause
// (SetOutageCause), a delivery's result, the sweep. An outage without a
// clock, or whose clock was met, is left alone. Its audit records are
// queued in b.
func (s *Store) reevaluateOutageNotice(tx *gorm.DB, actor Actor, outageID int64, trigger string, b *auditBatch) error {
	orgID, day, err := s.outageNoticeDay(tx, outageID)
	if err != nil || day == "" {
		return err
	}
	return s.reevaluateNoticeDay(tx, actor, orgID, day, trigger, b)
}

// outageNoticeDay returns the organization and the day (noticeDay) of the
// outage's emergency notice clock while it is running or missed, or ""
// (no clock, or met: final). A running clock counts: a sweep may have
// marked it missed and not committed yet, and this plain read cannot see
// that; the day's locking read in reevaluateNoticeDay then waits for the
// sweep and sees the miss, instead of skipping it while the sweep derives
// the outcome from what it read before this change. The clock's own row is
// not locked here: every re-derivation locks a day's clocks only through
// that one read, in deadline order, so two never wait for each other in a
// cycle (a sweep holds its clock, then takes the day in order).
func (s *Store) outageNoticeDay(tx *gorm.DB, outageID int64) (int64, string, error) {
	var c Clock
	err := tx.Where("kind = ? AND ref_id = ?", ClockEmergencyNotice, outageID).First(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", err
	}
	if c.Outcome == ClockMet {
		return 0, "", nil
	}
	return c.OrgID, s.noticeDay(&c), nil
}

// reevaluateNoticesSince re-derives the outcomes of orgID's misses whose
// deadline is at or after since, day by day.
func (s *Store) reevaluateNoticesSince(tx *gorm.DB, actor Actor, orgID int64, since, until time.Time, trigger string, b *auditBatch) error {
	var deadlines []time.Time
	// A locking read, as in reevaluateOutageNotice: a miss being swept is
	// waited for. The days are then locked in ascending order.
	if err := forUpdate(tx).Model(&Clock{}).Where("org_id = ? AND kind = ? AND outcome = ? AND deadline_at >= ? AND deadline_at < ?",
		orgID, ClockEmergencyNotice, ClockMissed, since.UTC(), until.UTC()).Order("deadline_at").Pluck("deadline_at", &deadlines).Error; err != nil {
		return err
	}
	done := map[string]bool{}
	for _, at := range deadlines {
		day := s.dayOf(at)
		if done[day] {
			continue
		}
		done[day] = true
		if err := s.reevaluateNoticeDay(tx, actor, orgID, day, trigger, b); err != nil {
			return err
		}
	}
	return nil
}

// noticeDay is the calendar day of a miss: that of its deadline in the
// provider's zone.
func (s *Store) noticeDay(c *Clock) string { return s.dayOf(c.DeadlineAt) }

// dayOf is the calendar day of t in the provider's zone.
func (s *Store) dayOf(t time.Time) string { return t.In(s.zone).Format(time.DateOnly) }

// reevaluateNoticeDay derives the lines of every missed notice of orgID on
// day, in deadline order: a waived miss costs nothing; the first miss that
// is not waived is charged one day's fee; later ones are recorded as
// already charged that day. Lines that change are updated and their audit
// records queued in b; in a closed month nothing changes, and a change the
// inputs would make is queued as ignored.
func (s *Store) reevaluateNoticeDay(tx *gorm.DB, actor Actor, orgID int64, day, trigger string, b *auditBatch) error {
	from, err := time.ParseInLocation(time.DateOnly, day, s.zone)
	if err != nil {
		return err
	}
	// Locking reads (MySQL): two re-evaluations of one day wait for each
	// other, and each sees the other's lines. tx runs in rederiveTx (READ
	// COMMITTED), so the plain reads after the lock (the outage's cause,
	// marks, deliveries, whether the month is closed) see what the
	// transaction that held it committed, not a snapshot from before.
	// idx_clock_notice_day (migration 10) keeps the lock to the day's
	// clocks of the organization.
	var clocks []Clock
	if err := forUpdate(tx).Where("org_id = ? AND kind = ? AND outcome = ? AND deadline_at >= ? AND deadline_at < ?",
		orgID, ClockEmergencyNotice, ClockMissed, from.UTC(), from.AddDate(0, 0, 1).UTC()).
		Order("deadline_at, id").Find(&clocks).Error; err != nil {
		return err
	}
	if len(clocks) == 0 {
		return nil
	}
	ids := make([]int64, len(clocks))
	for i, c := range clocks {
		ids[i] = c.ID
	}
	// A power failure can miss thousands of clocks in a day: the lines are
	// locked a bounded chunk at a time (under the day's clocks, locked above).
	var lines []Deduction
	if err := findIn(tx, ids, &lines, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return forUpdate(q).Where("clock_id IN ?", chunk)
	}); err != nil {
		return err
	}
	had := map[int64]*Deduction{}
	for i := range lines {
		had[lines[i].ClockID] = &lines[i]
	}
	want := make([]Deduction, len(clocks))
	charged := false
	for i := range clocks {
		reason, err := s.waiverReason(tx, &clocks[i])
		if err != nil {
			return err
		}
		d := Deduction{OrgID: orgID, Kind: ClockEmergencyNotice, ClockID: clocks[i].ID, Day: day, Waived: reason != "",
			WaiverReason: reason, CreatedAt: s.now()}
		if !d.Waived && !charged {
			d.ChargeDay, d.Days, charged = &day, 1, true
		}
		want[i] = d
	}
	closed, err := s.monthClosed(tx, orgID, day[:7])
	if err != nil {
		return err
	}
	if closed {
		// The lines stay as they were closed; what the inputs make them
		// now is kept beside them (AfterClose*), for the next open
		// statement's adjusting line, and the month is marked corrected.
		corrected := false
		for i, c := range clocks {
			old, d := had[c.ID], &want[i]
			if old == nil {
				auditOutcome(b, actor, AuditNoticeFrozen, &c, old, d, trigger)
				continue
			}
			now := map[string]any{"after_close_days": nil, "after_close_waived": nil, "after_close_reason": nil}
			if !sameOutcome(old, d) {
				now = map[string]any{"after_close_days": d.Days, "after_close_waived": d.Waived, "after_close_reason": d.WaiverReason}
			}
			if err := tx.Model(&Deduction{}).Where("id = ?", old.ID).Updates(now).Error; err != nil {
				return err
			}
			if old.AfterCloseDays == nil && sameOutcome(old, d) {
				continue
			}
			corrected = true
			if was := old.afterClose(); !sameOutcome(&was, d) {
				auditOutcome(b, actor, AuditNoticeFrozen, &c, &was, d, trigger)
			}
		}
		if corrected {
			return s.markCorrected(tx, orgID, from, from)
		}
		return nil
	}
	// A day's charge may move from one miss to another: release it first,
	// as the charge is unique per organization, kind and day.
	for i, c := range clocks {
		if old := had[c.ID]; old != nil && old.ChargeDay != nil && want[i].ChargeDay == nil {
			if err := tx.Model(&Deduction{}).Where("id = ?", old.ID).Updates(map[string]any{"charge_day": nil, "days": 0}).Error; err != nil {
				return err
			}
		}
	}
	for i, c := range clocks {
		old, d := had[c.ID], &want[i]
		switch {
		case old == nil:
			if err := tx.Create(d).Error; err != nil {
				return err
			}
		case sameOutcome(old, d):
			continue
		default:
			if err := tx.Model(&Deduction{}).Where("id = ?", old.ID).Updates(map[string]any{"charge_day": d.ChargeDay,
				"days": d.Days, "waived": d.Waived, "waiver_reason": d.WaiverReason}).Error; err != nil {
				return err
			}
		}
		auditOutcome(b, actor, AuditNoticeOutcome, &c, old, d, trigger)
	}
	return nil
}

// afterClose is the line as its inputs made it at the last derivation
// after its month closed (the frozen line when nothing changed since).
func (d *Deduction) afterClose() Deduction {
	was := *d
	if d.AfterCloseDays != nil {
		was.Days, was.Waived, was.WaiverReason = *d.AfterCloseDays, d.AfterCloseWaived != nil && *d.AfterCloseWaived, ""
		if d.AfterCloseReason != nil {
			was.WaiverReason = *d.AfterCloseReason
		}
	}
	return was
}

func sameOutcome(a, b *Deduction) bool {
	return a.Outcome() == b.Outcome() && a.WaiverReason == b.WaiverReason && a.Days == b.Days
}

// OutcomeReason names why a line is what it is: its waiver reason, or
// deadline_missed (charged) or day_already_charged.
func (d *Deduction) OutcomeReason() string {
	switch d.Outcome() {
	case OutcomeWaived:
		return d.WaiverReason
	case OutcomeCharged:
		return "deadline_missed"
	}
	return "day_already_charged"
}

// auditOutcome queues the record of a change of a miss's outcome (or, for
// AuditNoticeFrozen, the change a closed month kept from happening).
func auditOutcome(b *auditBatch, actor Actor, action string, c *Clock, old, now *Deduction, trigger string) {
	detail := map[string]any{"clock_id": c.ID, "outage_id": c.RefID, "day": now.Day, "trigger": trigger,
		"outcome": now.Outcome(), "reason": now.OutcomeReason(), "days": now.Days}
	if old != nil {
		detail["previous_outcome"], detail["previous_reason"], detail["previous_days"] = old.Outcome(), old.OutcomeReason(), old.Days
	}
	b.add(actor, action, "outage", &c.RefID, &c.OrgID, detail)
}

// detailCaused reports a delivery result that wrong or stale contact
// details can explain: the address was refused, or the call not answered.
// A transport that failed (our mail server or gateway down), a delivery
// still pending or one accepted late are the provider's.
func detailCaused(status string) bool { return status == DeliveryBounced || status == DeliveryNoAnswer }

// waiverReason says why a missed emergency notice costs nothing, or "".
// Each input is read as of the miss, so that deriving it again later gives
// the same answer unless an input about the miss itself changed:
//  1. force majeure: the outage's cause is force majeure;
//  2. no_contacts: no contact who may authorize was on file when the
//     clock started;
//  3. contact_details_wrong: the notice went to authorized contacts, and
//     every one of those deliveries used a detail marked wrong by staff no
//     later than 24 hours after the deadline, and not corrected before the
//     clock started (deliveries to contacts who may not authorize do not
//     count, either way);
//  4. contacts_not_reconfirmed: the list was not confirmed within the
//     confirmation period before the clock started, and every authorized
//     delivery failed in a way the customer's details can explain
//     (detailCaused).
//
// An authorized delivery accepted by the deadline means no waiver (the
// clock would have been met).
func (s *Store) waiverReason(tx *gorm.DB, c *Clock) (string, error) {
	if c.Kind != ClockEmergencyNotice {
		return "", nil
	}
	var o Outage
	if err := tx.First(&o, c.RefID).Error; err != nil {
		return "", err
	}
	cause, err := s.noticeCause(tx, &o, c)
	if err != nil {
		return "", err
	}
	if cause.ForceMajeure() {
		return WaiverForceMajeure, nil
	}
	authorized := c.AuthorizedContacts
	if authorized == nil {
		// A clock from before the count was kept: the list as it is now.
		n, err := authorizedContacts(tx, c.OrgID)
		if err != nil {
			return "", err
		}
		k := int(n)
		authorized = &k
	}
	if *authorized == 0 {
		return WaiverNoContacts, nil
	}
	var ds []Delivery
	// The outage's notices (a notice may cover several outages, and a
	// storm summary several notices) and its own deliveries from before
	// notices were grouped: a waiver decides every clock a notice covers.
	if err := tx.Where("event = ? AND authorized = ? AND status <> ?", EventOutageOpened, true, DeliveryMerged).
		Where(outageDeliveries(tx, o.ID)).Find(&ds).Error; err != nil {
		return "", err
	}
	if len(ds) == 0 {
		// Contacts on file, but none reached by a channel the portal can use.
		return "", nil
	}
	var flags []ContactFlag
	if err := tx.Where("org_id = ? AND marked_at <= ? AND (cleared_at IS NULL OR cleared_at > ?)", c.OrgID,
		c.DeadlineAt.Add(24*time.Hour), c.StartedAt).Find(&flags).Error; err != nil {
		return "", err
	}
	wrong := wrongByContact(flags)
	allWrong, allDetailCaused := true, true
	for _, d := range ds {
		if Delivered(d.Status) && d.DoneAt != nil && !d.DoneAt.After(c.DeadlineAt) {
			return "", nil
		}
		allWrong = allWrong && wrong[d.ContactID][d.Channel]
		allDetailCaused = allDetailCaused && detailCaused(d.Status)
	}
	if allWrong {
		return WaiverWrongDetails, nil
	}
	if !allDetailCaused {
		return "", nil
	}
	var last ContactConfirmation
	err = tx.Where("org_id = ? AND confirmed_at <= ?", c.OrgID, c.StartedAt).Order("confirmed_at DESC").First(&last).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return "", err
	}
	if err != nil || last.ConfirmedAt.Before(c.StartedAt.Add(-s.confirmEvery)) {
		return WaiverNotReconfirmed, nil
	}
	return "", nil
}

func (s *Store) monthClosed(tx *gorm.DB, orgID int64, month string) (bool, error) {
	var n int64
	err := tx.Model(&ClosedMonth{}).Where("org_id = ? AND month = ?", orgID, month).Count(&n).Error
	return n > 0, err
}

// CloseMonth closes month (2006-01, the provider's calendar) of orgID, a
// staff action: every missed notice of the month is derived one last time
// and its outcome is final. Only a month that has ended, with no notice
// clock still running, and not closed yet can be closed.
func (s *Store) CloseMonth(ctx context.Context, actor Actor, orgID int64, month string) error {
	first, next, _, err := s.monthBounds(month)
	if err != nil {
		return err
	}
	if s.now().Before(next) {
		return Invalid("month", "error.month_not_ended")
	}
	err = s.rederiveTx(ctx, func(tx *gorm.DB) error {
		if err := tx.First(&Organization{}, orgID).Error; err != nil {
			return notFound(err)
		}
		if closed, err := s.monthClosed(tx, orgID, month); err != nil || closed {
			if closed {
				return Invalid("month", "error.month_closed")
			}
			return err
		}
		var running int64
		if err := tx.Model(&Clock{}).Where("org_id = ? AND kind = ? AND outcome = ? AND deadline_at < ?",
			orgID, ClockEmergencyNotice, ClockRunning, next.UTC()).Count(&running).Error; err != nil {
			return err
		}
		if running > 0 {
			return Invalid("month", "error.month_clocks_running")
		}
		var b auditBatch
		if err := s.reevaluateNoticesSince(tx, actor, orgID, first, next, TriggerClose, &b); err != nil {
			return err
		}
		if err := tx.Create(&ClosedMonth{OrgID: orgID, Month: month, ClosedAt: s.now(), ClosedBy: actor.UserID}).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return Invalid("month", "error.month_closed")
			}
			return err
		}
		// The statement is computed from the lines just derived and
		// stored as it stands: it never changes after (agreement, "The
		// monthly statement").
		if err := s.freezeStatement(tx, actor, orgID, month); err != nil {
			return err
		}
		if err := s.writeAudits(tx, &b); err != nil {
			return err
		}
		return s.audit(tx, actor, AuditMonthClosed, "organization", &orgID, &orgID, map[string]any{"month": month})
	})
	if err != nil {
		if _, ok := AsValidation(err); ok || errors.Is(err, ErrNotFound) {
			return wrap(err, "close month")
		}
		return fmt.Errorf("models: close month %s of organization %d: %w", month, orgID, err)
	}
	return nil
}

// MonthClosed returns the closing of month (2006-01) of orgID, or nil
// while it is open.
func (s *Store) MonthClosed(ctx context.Context, sc Scope, orgID int64, month string) (*ClosedMonth, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "month closed")
	}
	var m ClosedMonth
	err := s.db.WithContext(ctx).Where("org_id = ? AND month = ?", orgID, month).First(&m).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("models: month closed: %w", err)
	}
	return &m, nil
}

// ClosedMonths lists the closed months of orgID, newest first.
func (s *Store) ClosedMonths(ctx context.Context, sc Scope, orgID int64) ([]ClosedMonth, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "closed months")
	}
	var out []ClosedMonth
	if err := s.db.WithContext(ctx).Where("org_id = ?", orgID).Order("month DESC").Limit(24).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: closed months: %w", err)
	}
	return out, nil
}

// NoticeOutcome is a missed notice's line with the outage it belongs to.
type NoticeOutcome struct {
	Deduction
	OutageID int64
}

// NoticeOutcomes lists orgID's missed-notice lines of days [fromDay,
// toDay), newest first, with their outages.
func (s *Store) NoticeOutcomes(ctx context.Context, sc Scope, orgID int64, fromDay, toDay string) ([]NoticeOutcome, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "notice outcomes")
	}
	lines, err := s.ListDeductions(ctx, sc, orgID, fromDay, toDay)
	if err != nil {
		return nil, fmt.Errorf("models: notice outcomes: %w", err)
	}
	ids := make([]int64, len(lines))
	for i, l := range lines {
		ids[i] = l.ClockID
	}
	var clocks []Clock
	if err := findIn(s.db.WithContext(ctx), ids, &clocks, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return q.Select("id", "ref_id").Where("org_id = ? AND id IN ?", orgID, chunk)
	}); err != nil {
		return nil, fmt.Errorf("models: notice outcomes: %w", err)
	}
	ref := map[int64]int64{}
	for _, c := range clocks {
		ref[c.ID] = c.RefID
	}
	out := make([]NoticeOutcome, len(lines))
	for i, l := range lines {
		out[i] = NoticeOutcome{Deduction: l, OutageID: ref[l.ClockID]}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Day > out[j].Day })
	return out, nil
}

// RecentNoticeOutcomes lists orgID's missed-notice lines of this calendar
// month and the last (provider's zone), newest first.
func (s *Store) RecentNoticeOutcomes(ctx context.Context, sc Scope, orgID int64) ([]NoticeOutcome, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "recent notice outcomes")
	}
	y, m, _ := s.now().In(s.zone).Date()
	from := time.Date(y, m-1, 1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	return s.NoticeOutcomes(ctx, sc, orgID, from, "9999-12-31")
}
