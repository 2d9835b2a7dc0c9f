package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Transports carry a delivery: email through SMTP, a webhook to the data
// center's SMS, pager or fax gateway, or a phone call made by staff.
const (
	TransportEmail   = "email"
	TransportWebhook = "webhook"
	TransportCall    = "call"
	// TransportNone is a channel this portal cannot carry (no mail server,
	// no gateway): its delivery is logged as not sent, never tried.
	TransportNone = "none"
)

// Why a delivery was not sent (Delivery.LastError of a DeliveryNotSent).
const (
	NotSentNoMailServer = "no_mail_server"
	NotSentNoGateway    = "no_gateway"
)

// Delivery results and states.
const (
	DeliveryPending  = "pending"
	DeliveryAccepted = "accepted"  // SMTP accepted, webhook 2xx
	DeliveryAnswered = "answered"  // a phone call was answered
	DeliveryNoAnswer = "no_answer" // a phone call was not
	DeliveryBounced  = "bounced"   // refused for the address (5xx)
	DeliveryFailed   = "failed"    // gave up after retries
	DeliveryNotSent  = "not_sent"  // no transport here for the channel: logged, never tried
	DeliveryMerged   = "merged"    // held by storm control, then sent in the summary it names (MergedInto)
)

// Delivered reports a result that reached the contact and stops the clock.
func Delivered(status string) bool { return status == DeliveryAccepted || status == DeliveryAnswered }

// Delivery is one notification of one event to one contact by one channel.
type Delivery struct {
	ID      int64
	OrgID   int64
	EventID int64
	Event   string
	// OutageID is the outage a delivery of one outage tells of; for a
	// delivery of a notice (NoticeID), the notice's first outage, which
	// lists of deliveries name. What a notice covers is in notice_outages.
	OutageID int64
	// NoticeID is the notice it carries (0 before notices were grouped,
	// and for deliveries about anything else).
	NoticeID      int64
	ContactID     int64
	Channel       Channel
	Transport     string
	Address       string
	Locale        string
	Authorized    bool // the contact may authorize: only such deliveries stop the clock
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	LeaseOwner    string
	LeaseUntil    time.Time
	LastError     string
	// Held is set while storm control keeps it back (a contact's hour is
	// full); MergedInto names the storm summary it went out in
	// (Status DeliveryMerged).
	Held       bool
	MergedInto int64
	CreatedAt  time.Time
	DoneAt     *time.Time
}

func (Delivery) TableName() string { return "deliveries" }

// DeliveryAttempt is one try of a delivery, kept as evidence.
type DeliveryAttempt struct {
	ID         int64
	DeliveryID int64
	OrgID      int64
	At         time.Time
	Result     string
	Error      string
	ByUserID   *int64
}

func (DeliveryAttempt) TableName() string { return "delivery_attempts" }

// NotifyOptOut says a contact does not want an event; by default every
// contact with channels gets every event.
type NotifyOptOut struct {
	OrgID     int64  `gorm:"primaryKey;autoIncrement:false"`
	ContactID int64  `gorm:"primaryKey;autoIncrement:false"`
	Event     string `gorm:"primaryKey"`
}

func (NotifyOptOut) TableName() string { return "notify_optouts" }

// NotifyEvents are the events a customer may choose per contact.
var NotifyEvents = []string{EventOutageOpened, EventOutageClosed}

// Clock kinds and outcomes (docs/agreement.md, "Every clock").
const (
	ClockEmergencyNotice = "emergency_notice"
	ClockRunning         = "running"
	ClockMet             = "met"
	ClockMissed          = "missed"
	EmergencyDeadline    = 15 * time.Minute
)

// Clock is an SLA clock: started and stopped by the events it measures, in
// the same transactions, and kept with its outcome forever.
type Clock struct {
	ID         int64
	OrgID      int64
	Kind       string
	RefID      int64 // the outage, for the emergency notice
	StartedAt  time.Time
	DeadlineAt time.Time
	StoppedAt  *time.Time
	StopRef    *int64 // the delivery that stopped it
	Outcome    string
	// AuthorizedContacts counts the organization's contacts who may
	// authorize when an emergency clock started (nil on clocks from before
	// it was kept): a miss with none on file is waived.
	AuthorizedContacts *int
	CreatedAt          time.Time
}

func (Clock) TableName() string { return "sla_clocks" }

// Took is how long the clock ran until it stopped, or until now.
func (c *Clock) Took(now time.Time) time.Duration {
	if c.StoppedAt != nil {
		return c.StoppedAt.Sub(c.StartedAt)
	}
	return now.Sub(c.StartedAt)
}

// Deduction is one day's fee owed for a missed clock, or the record of
// why it was waived. At most one unwaived deduction per organization, kind
// and calendar day: ChargeDay is set only on unwaived lines and is unique.
type Deduction struct {
	ID           int64
	OrgID        int64
	Kind         string
	ClockID      int64
	Day          string  // calendar day of the miss in the provider's time zone
	ChargeDay    *string // = Day when charged; NULL when waived or already charged that day
	Days         int     // fee days deducted: 1, or 0 when waived or not the first that day
	Waived       bool
	WaiverReason string
	// AfterClose*: what the line's inputs make it now, when that differs
	// from a line frozen by its month's closing (nil otherwise): the
	// difference becomes an adjusting line on the next open statement.
	AfterCloseDays   *int
	AfterCloseWaived *bool
	AfterCloseReason *string
	CreatedAt        time.Time
}

func (Deduction) TableName() string { return "deductions" }

// Outcomes of a missed notice (Deduction.Outcome).
const (
	OutcomeCharged  = "charged"         // one day's fee deducted
	OutcomeWaived   = "waived"          // no fee, for WaiverReason
	OutcomeNotFirst = "already_charged" // no fee: a day's fee is already deducted that calendar day
)

// Outcome says what a missed notice costs now: charged, waived or
// already charged that day.
func (d *Deduction) Outcome() string {
	switch {
	case d.Waived:
		return OutcomeWaived
	case d.Days > 0:
		return OutcomeCharged
	}
	return OutcomeNotFirst
}

// Why a missed notice's outcome was (re-)evaluated, kept in its audit event.
const (
	TriggerMissed   = "clock_missed"         // the sweep, or a delivery after the deadline
	TriggerCause    = "outage_cause"         // the outage's cause was set
	TriggerMark     = "contact_marked_wrong" // a contact detail was marked wrong
	TriggerDelivery = "delivery_result"      // a notice delivery ended
	TriggerClose    = "month_closed"         // the final evaluation when its month closes
)

// Waiver reasons.
const (
	WaiverForceMajeure   = "force_majeure"
	WaiverWrongDetails   = "contact_details_wrong"
	WaiverNotReconfirmed = "contacts_not_reconfirmed"
	WaiverNoContacts     = "no_contacts"
)

func (s *Store) startClock(tx *gorm.DB, kind string, orgID, refID int64, start time.Time, limit time.Duration) error {
	c := Clock{OrgID: orgID, Kind: kind, RefID: refID, StartedAt: start, DeadlineAt: start.Add(limit),
		Outcome: ClockRunning, CreatedAt: s.now()}
	if kind == ClockEmergencyNotice {
		// Kept so a miss is judged later on the list as it was then.
		n, err := authorizedContacts(tx, orgID)
		if err != nil {
			return err
		}
		k := int(n)
		c.AuthorizedContacts = &k
	}
	return tx.Create(&c).Error
}

// ClaimEvents leases up to limit unprocessed outbox events to owner.
func (s *Store) ClaimEvents(ctx context.Context, owner string, lease time.Duration, limit int) ([]OutboxEvent, error) {
	var evs []OutboxEvent
	err := claimRows(ctx, s, func(q *gorm.DB) *gorm.DB { return q.Where("done_at IS NULL") }, owner, lease, limit, &evs)
	return evs, wrap(err, "claim events")
}

// claimRows leases to owner up to limit rows that match pending and whose
// lease has expired, and loads the rows it won into out. Two instances may
// pick the same rows; the UPDATE's WHERE lets only one win, with no SKIP
// LOCKED or advisory lock (TiDB has neither).
func claimRows[T any](ctx context.Context, s *Store, pending func(*gorm.DB) *gorm.DB, owner string,
	lease time.Duration, limit int, out *[]T) error {
	now := s.now()
	var ids []int64
	if err := pending(s.db.WithContext(ctx).Model(new(T))).Where("lease_until < ?", now).Order("id").Limit(limit).Pluck("id", &ids).Error; err != nil {
		return err
	}
	return claimIDs(ctx, s, pending, ids, owner, lease, now, out)
}

// claimIDs leases to owner those of the rows ids (ascending) that still
// match pending and whose lease ended before now, a bounded chunk per
// statement, and loads the rows it won into out in ID order.
func claimIDs[T any](ctx context.Context, s *Store, pending func(*gorm.DB) *gorm.DB, ids []int64, owner string,
	lease time.Duration, now time.Time, out *[]T) error {
	if len(ids) == 0 {
		return nil
	}
	db := s.db.WithContext(ctx)
	for chunk := range chunks(ids) {
		if err := pending(db.Model(new(T))).Where("id IN ? AND lease_until < ?", chunk, now).
			Updates(map[string]any{"lease_owner": owner, "lease_until": now.Add(lease)}).Error; err != nil {
			return err
		}
	}
	return findIn(db, ids, out, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return pending(q.Model(new(T))).Where("id IN ? AND lease_owner = ?", chunk, owner).Order("id")
	})
}

// ExpandEvent turns an outbox event into deliveries, one per contact and
// chosen channel (an operation message or a phone lock: one email per
// address of the customer's people, see customerEmailDeliveries), and
// marks the event done, in one transaction. channelFor
// maps a contact channel to a transport ("" = this portal cannot use it).
// An event already expanded (by another instance) is left alone.
func (s *Store) ExpandEvent(ctx context.Context, ev OutboxEvent, owner string, channelFor func(Channel) string) (int, error) {
	n := 0
	err := s.tx(ctx, func(tx *gorm.DB) error {
		n = 0
		now := s.now()
		r := tx.Model(&OutboxEvent{}).Where("id = ? AND done_at IS NULL AND lease_owner = ?", ev.ID, owner).Update("done_at", now)
		if r.Error != nil {
			return r.Error
		}
		if r.RowsAffected != 1 {
			return nil
		}
		// Customer webhooks first, for every kind (models/webhook.go).
		if err := s.fanOutHooks(tx, ev, now); err != nil {
			return err
		}
		// Every kind but an outage's has its own recipients.
		var build func(*gorm.DB, OutboxEvent, time.Time, func(Channel) string) ([]Delivery, error)
		switch ev.Kind {
		case EventOutageOpened, EventOutageClosed:
		case EventRecoveryCodeUsed, EventUserInvited:
			build = s.accountEmailDeliveries
		case EventOperationMessage, EventPhoneLocked, EventOutageCauseSpan, EventContactsRequested, EventVisitApproved, EventVisitRefused,
			EventComplaintReply, EventMaintenanceAnnounced, EventMaintenanceCancelled, EventShipmentArrived, EventShipmentHeld:
			build = s.customerEmailDeliveries
		case EventIncidentUpdate:
			return s.expandIncidentUpdate(tx, ev, now, channelFor, &n)
		case EventWebhookDisabled:
			build = s.hookDisabledDeliveries
		case EventFacilityThreshold, EventPowerProposed:
			build = s.facilityDeliveries
		case EventContractExpiry:
			build = s.contractExpiryDeliveries
		default:
			return nil // later issues' events: nothing to send yet
		}
		if build != nil {
			ds, err := build(tx, ev, now, channelFor)
			if err != nil || len(ds) == 0 {
				return err
			}
			n = len(ds)
			return createInChunks(tx, ds)
		}
		// A notice's deliveries wait for its window to gather the
		// organization's other outages (models/notice.go); an event of one
		// outage from before notices were grouped goes at once.
		outageID, noticeID, due := ev.RefID, int64(0), now
		np, isNotice := noticeOf(ev)
		if isNotice {
			var nt Notice
			if err := tx.First(&nt, np.NoticeID).Error; err != nil {
				return err
			}
			outageID, noticeID = np.OutageID, nt.ID
			if nt.SendAt.After(due) {
				due = nt.SendAt
			}
		}
		var contacts []Contact
		if err := tx.Where("org_id = ?", ev.OrgID).Order("priority, id").Find(&contacts).Error; err != nil {
			return err
		}
		var outs []NotifyOptOut
		if err := tx.Where("org_id = ? AND event = ?", ev.OrgID, ev.Kind).Find(&outs).Error; err != nil {
			return err
		}
		optedOut := map[int64]bool{}
		for _, o := range outs {
			optedOut[o.ContactID] = true
		}
		var ds []Delivery
		for _, c := range contacts {
			if optedOut[c.ID] {
				continue
			}
			// A channel this portal cannot carry is logged as not sent, and
			// the notice becomes a call by staff when the contact has a
			// phone number and no call is already due.
			undeliverable, calling := false, false
			for _, ch := range c.ChannelList() {
				t := channelFor(ch)
				addr := c.Address(ch)
				if addr == "" {
					continue
				}
				d := contactDelivery(ev, &c, ch, t, addr, due, now)
				d.OutageID, d.NoticeID = outageID, noticeID
				if t == "" {
					undeliverable = true
					d.Transport, d.Status, d.LastError, d.DoneAt = TransportNone, DeliveryNotSent, notSentReason(ch), &now
				}
				calling = calling || t == TransportCall
				ds = append(ds, d)
			}
			if ch, number := c.callNumber(); undeliverable && !calling && number != "" {
				d := contactDelivery(ev, &c, ch, TransportCall, number, due, now)
				d.OutageID, d.NoticeID = outageID, noticeID
				ds = append(ds, d)
			}
		}
		pending := false
		for _, d := range ds {
			pending = pending || d.Status == DeliveryPending
		}
		if isNotice && !pending {
			// Nobody to tell: the outages confirmed from now on get a new
			// notice, expanded to the contacts on file then.
			if err := sealNotice(tx, noticeID, now); err != nil {
				return err
			}
		}
		if len(ds) == 0 {
			return nil
		}
		n = len(ds)
		return createInChunks(tx, ds)
	})
	if err != nil {
		return 0, fmt.Errorf("models: expand event %d: %w", ev.ID, err)
	}
	return n, nil
}

// contactDelivery is event ev's pending delivery to contact c by channel
// ch through transport at addr, first due at due.
func contactDelivery(ev OutboxEvent, c *Contact, ch Channel, transport, addr string, due, now time.Time) Delivery {
	return Delivery{OrgID: ev.OrgID, EventID: ev.ID, Event: ev.Kind, ContactID: c.ID, Channel: ch, Transport: transport,
		Address: addr, Locale: c.Locale, Authorized: c.MayAuthorize, Status: DeliveryPending, NextAttemptAt: due,
		LeaseUntil: neverLeased, CreatedAt: now}
}

// ClaimDeliveries leases up to limit due deliveries of the given transports.
// Notices reach each recipient in order: a recovery waits while a notice
// of the same outage's going down to the same contact, channel and
// address is still pending (its retries, a storm summary it was merged
// into, or its event not yet expanded), so "recovered" never goes out
// before "down". For grouped notices that holds through membership: a
// recovery notice waits for every opened notice that holds any of its
// outages. An earlier notice that ends failed or bounced no longer holds
// the later one back. Claiming a notice's delivery seals the notice (what
// it says is fixed from then on), and storm control may hold it back
// (holdStorm); held deliveries are not returned.
func (s *Store) ClaimDeliveries(ctx context.Context, owner string, lease time.Duration, limit int, transports []string) ([]Delivery, error) {
	now := s.now()
	due := func(q *gorm.DB) *gorm.DB {
		return q.Where("status = ? AND transport IN ? AND next_attempt_at <= ?", DeliveryPending, transports, now)
	}
	// A call task (a person's job, ended only by logging the call) never
	// holds a gateway's or a mail server's later notice back.
	// The candidates are chosen first: MySQL does not let an UPDATE read
	// the table it changes in a subquery. What could change in between
	// (an earlier notice put back to pending by staff) is rare and only
	// costs order, never a notice.
	var ids []int64
	err := due(s.db.WithContext(ctx).Model(&Delivery{})).Where("lease_until < ?", now).
		// Deliveries of one outage (written before notices were grouped).
		Where(`(outage_id = 0 OR notice_id <> 0 OR NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.outage_id = deliveries.outage_id
			AND e.notice_id = 0 AND e.contact_id = deliveries.contact_id AND e.channel = deliveries.channel AND e.address = deliveries.address
			AND e.event_id < deliveries.event_id AND e.status = ? AND e.transport <> ?))`, DeliveryPending, TransportCall).
		Where(`(outage_id = 0 OR notice_id <> 0 OR NOT EXISTS (SELECT 1 FROM outbox o WHERE o.done_at IS NULL AND o.ref_id = deliveries.outage_id
			AND o.kind IN ? AND o.id < deliveries.event_id AND o.payload NOT LIKE ?))`, []string{EventOutageOpened, EventOutageClosed}, noticePayloadPrefix).
		// Recovery notices: every opened notice of their outages first.
		Where(`(notice_id = 0 OR event <> ? OR (NOT EXISTS (SELECT 1 FROM notice_outages nc
				JOIN notice_outages nx ON nx.outage_id = nc.outage_id
				JOIN notices n ON n.id = nx.notice_id AND n.kind = ?
				JOIN deliveries e ON e.notice_id = n.id
			WHERE nc.notice_id = deliveries.notice_id AND e.contact_id = deliveries.contact_id AND e.channel = deliveries.channel
				AND e.address = deliveries.address AND e.transport <> ?
				AND (e.status = ? OR (e.status = ? AND EXISTS (SELECT 1 FROM deliveries m WHERE m.id = e.merged_into AND m.status = ?))))
			AND NOT EXISTS (SELECT 1 FROM notice_outages nc
				JOIN notice_outages nx ON nx.outage_id = nc.outage_id
				JOIN outbox o ON o.ref_id = nx.notice_id AND o.kind = ? AND o.done_at IS NULL AND o.payload LIKE ?
			WHERE nc.notice_id = deliveries.notice_id)
			AND NOT EXISTS (SELECT 1 FROM notice_outages nc
				JOIN deliveries e ON e.outage_id = nc.outage_id AND e.notice_id = 0 AND e.event = ?
			WHERE nc.notice_id = deliveries.notice_id AND e.contact_id = deliveries.contact_id AND e.channel = deliveries.channel
				AND e.address = deliveries.address AND e.transport <> ? AND e.status = ?)))`,
			EventOutageClosed, NoticeOpened, TransportCall, DeliveryPending, DeliveryMerged, DeliveryPending,
			EventOutageOpened, noticePayloadPrefix, EventOutageOpened, TransportCall, DeliveryPending).
		Order("id").Limit(limit).Pluck("id", &ids).Error
	if err != nil || len(ids) == 0 {
		return nil, wrap(err, "claim deliveries")
	}
	var ds []Delivery
	if err := claimIDs(ctx, s, due, ids, owner, lease, now, &ds); err != nil {
		return nil, wrap(err, "claim deliveries")
	}
	out := ds[:0]
	for i := range ds {
		d := &ds[i]
		if d.NoticeID == 0 {
			out = append(out, *d)
			continue
		}
		send, err := s.claimNoticeDelivery(ctx, owner, d, now)
		if err != nil {
			return nil, wrap(err, "claim deliveries")
		}
		if send {
			out = append(out, *d)
		}
	}
	return out, nil
}

// ErrLeaseLost means another instance owns the delivery now.
var ErrLeaseLost = errors.New("lease lost")

// RecordAttempt stores the result of one try of a delivery held by owner.
// A nil retryAt with a failure ends the delivery as failed or bounced;
// with retryAt the delivery waits for its next try. A delivered result to
// an authorized contact stops the outage's emergency clock.
func (s *Store) RecordAttempt(ctx context.Context, owner string, deliveryID int64, result, errText string, retryAt *time.Time) error {
	retryAt = utcPtr(retryAt)
	return wrap(s.rederiveTx(ctx, func(tx *gorm.DB) error {
		var d Delivery
		if err := tx.Where("id = ? AND lease_owner = ? AND status = ?", deliveryID, owner, DeliveryPending).First(&d).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrLeaseLost
			}
			return err
		}
		return s.finishAttempt(tx, SystemActor("dispatcher "+owner), &d, result, errText, retryAt)
	}), "record attempt")
}

func (s *Store) finishAttempt(tx *gorm.DB, actor Actor, d *Delivery, result, errText string, retryAt *time.Time) error {
	by := actor.UserID
	now := s.now()
	errText = truncate(errText, 500)
	if err := tx.Create(&DeliveryAttempt{DeliveryID: d.ID, OrgID: d.OrgID, At: now, Result: result, Error: errText, ByUserID: by}).Error; err != nil {
		return err
	}
	upd := map[string]any{"attempts": d.Attempts + 1, "last_error": errText, "lease_owner": "", "lease_until": neverLeased}
	switch {
	case Delivered(result) || retryAt == nil:
		upd["status"], upd["done_at"] = result, now
	default:
		upd["next_attempt_at"] = *retryAt
	}
	if err := tx.Model(&Delivery{}).Where("id = ?", d.ID).Updates(upd).Error; err != nil {
		return err
	}
	if d.Transport == TransportCall {
		// A logged call (LogCall, LogCalls) told of its notice's outages
		// as they were: later ones get a new notice.
		if err := sealNotice(tx, d.NoticeID, now); err != nil {
			return err
		}
	}
	// Only a notice of an outage to a contact who may authorize stops its
	// clock; a delivery about anything else has no outage (OutageID 0).
	if !d.Authorized || d.Event != EventOutageOpened || d.OutageID == 0 {
		return nil
	}
	if d.NoticeID != 0 {
		if retryAt != nil && !Delivered(result) {
			return nil // still being tried: its result is not known yet
		}
		// Every outage the notice (and a storm summary's merged notices)
		// covers: each clock met or missed by its own deadline.
		return s.stopNoticeClocks(tx, actor, d, now, Delivered(result))
	}
	if Delivered(result) {
		if err := s.stopClock(tx, ClockEmergencyNotice, d.OutageID, now, d.ID); err != nil {
			return err
		}
	}
	if retryAt != nil && !Delivered(result) {
		return nil // still being tried: its result is not known yet
	}
	// A delivery's result is an input of a missed notice's outcome.
	var b auditBatch
	if err := s.reevaluateOutageNotice(tx, actor, d.OutageID, TriggerDelivery, &b); err != nil {
		return err
	}
	return s.writeAudits(tx, &b)
}

// stopClock stops a running clock as met (at or before its deadline) or
// missed. A clock already stopped stays as it is.
func (s *Store) stopClock(tx *gorm.DB, kind string, refID int64, at time.Time, by int64) error {
	var c Clock
	err := tx.Where("kind = ? AND ref_id = ? AND stopped_at IS NULL", kind, refID).First(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if c.Outcome == ClockMissed {
		// Already swept as missed: keep when it really ended.
		return tx.Model(&Clock{}).Where("id = ? AND stopped_at IS NULL", c.ID).
			Updates(map[string]any{"stopped_at": at, "stop_ref": by}).Error
	}
	outcome := ClockMet
	if at.After(c.DeadlineAt) {
		outcome = ClockMissed
	}
	// A fee clock stopped late gets its line from the caller's
	// re-evaluation (finishAttempt).
	r := tx.Model(&Clock{}).Where("id = ? AND outcome = ?", c.ID, ClockRunning).
		Updates(map[string]any{"stopped_at": at, "stop_ref": by, "outcome": outcome})
	if r.Error != nil || r.RowsAffected != 1 || !feeClock(kind) {
		return r.Error
	}
	if outcome == ClockMet {
		return s.hookOutbox(tx, HookNoticeMet, EventClockMet, c.OrgID, c.ID, nil)
	}
	return s.hookOutbox(tx, HookNoticeMissed, EventClockMissed, c.OrgID, c.ID, nil)
}

// feeClock reports a clock whose miss costs a day's fee (clause 4); the
// other clocks are recorded as missed on the SLA statement only.
func feeClock(kind string) bool { return kind == ClockEmergencyNotice }

// LogCall records a phone call made by staff for a call delivery.
func (s *Store) LogCall(ctx context.Context, actor Actor, deliveryID int64, answered bool, note string) error {
	result := DeliveryNoAnswer
	if answered {
		result = DeliveryAnswered
	}
	return wrap(s.rederiveTx(ctx, func(tx *gorm.DB) error {
		var d Delivery
		if err := tx.Where("id = ? AND transport = ? AND status = ?", deliveryID, TransportCall, DeliveryPending).First(&d).Error; err != nil {
			return notFound(err)
		}
		if err := s.finishAttempt(tx, actor, &d, result, note, nil); err != nil {
			return err
		}
		return s.audit(tx, actor, AuditCallLogged, "delivery", &d.ID, &d.OrgID,
			map[string]any{"contact_id": d.ContactID, "address": d.Address, "result": result, "note": note})
	}), "log call")
}

// RetryDelivery puts a failed or bounced delivery back in the queue.
func (s *Store) RetryDelivery(ctx context.Context, actor Actor, deliveryID int64) error {
	return wrap(s.tx(ctx, func(tx *gorm.DB) error {
		var d Delivery
		if err := tx.Where("id = ? AND status IN ?", deliveryID, []string{DeliveryFailed, DeliveryBounced, DeliveryNoAnswer}).First(&d).Error; err != nil {
			return notFound(err)
		}
		if err := tx.Model(&d).Updates(map[string]any{"status": DeliveryPending, "done_at": nil, "next_attempt_at": s.now(),
			"lease_owner": "", "lease_until": neverLeased}).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditDeliveryRetried, "delivery", &d.ID, &d.OrgID, map[string]any{"address": d.Address})
	}), "retry delivery")
}

// SweepClocks ends every running clock past its deadline as missed; a
// missed emergency notice gets its deduction line or waiver, derived from
// its inputs (reevaluateOutageNotice).
func (s *Store) SweepClocks(ctx context.Context) (int, error) {
	now := s.now()
	var due []Clock
	if err := s.db.WithContext(ctx).Where("outcome = ? AND deadline_at < ?", ClockRunning, now).Limit(500).Find(&due).Error; err != nil {
		return 0, wrap(err, "sweep clocks")
	}
	n := 0
	for _, c := range due {
		swept := false
		err := s.rederiveTx(ctx, func(tx *gorm.DB) error {
			swept = false
			r := tx.Model(&Clock{}).Where("id = ? AND outcome = ?", c.ID, ClockRunning).Update("outcome", ClockMissed)
			if r.Error != nil || r.RowsAffected == 0 {
				return r.Error
			}
			c.Outcome = ClockMissed
			swept = true
			if !feeClock(c.Kind) {
				return nil
			}
			if err := s.hookOutbox(tx, HookNoticeMissed, EventClockMissed, c.OrgID, c.ID, nil); err != nil {
				return err
			}
			var b auditBatch
			if err := s.reevaluateOutageNotice(tx, SystemActor("clock sweep"), c.RefID, TriggerMissed, &b); err != nil {
				return err
			}
			return s.writeAudits(tx, &b)
		})
		if err != nil {
			return n, fmt.Errorf("models: sweep clock %d: %w", c.ID, err)
		}
		if swept {
			n++
		}
	}
	return n, nil
}

// OutageClock returns the emergency clock of an outage of orgID, or nil.
func (s *Store) OutageClock(ctx context.Context, sc Scope, orgID, outageID int64) (*Clock, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "outage clock")
	}
	var c Clock
	err := s.db.WithContext(ctx).Where("org_id = ? AND kind = ? AND ref_id = ?", orgID, ClockEmergencyNotice, outageID).First(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	return &c, wrap(err, "outage clock")
}

// OutageDeliveries lists the deliveries that told of an outage of orgID,
// with their attempts: those of its notices (a notice may cover several
// outages), the storm summaries they were merged into, and those of the
// outage alone from before notices were grouped.
func (s *Store) OutageDeliveries(ctx context.Context, sc Scope, orgID, outageID int64) ([]Delivery, map[int64][]DeliveryAttempt, error) {
	if !sc.Allows(orgID) {
		return nil, nil, wrap(ErrNotFound, "outage deliveries")
	}
	var ds []Delivery
	db := s.db.WithContext(ctx)
	if err := db.Where("org_id = ?", orgID).Where(outageDeliveries(db, outageID)).Order("id").Find(&ds).Error; err != nil {
		return nil, nil, wrap(err, "outage deliveries")
	}
	ids := make([]int64, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	att := map[int64][]DeliveryAttempt{}
	// A delivery's attempts are all in its own chunk, so each keeps its order.
	var as []DeliveryAttempt
	if err := findIn(s.db.WithContext(ctx), ids, &as, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return q.Where("delivery_id IN ?", chunk).Order("at, id")
	}); err != nil {
		return nil, nil, wrap(err, "outage deliveries")
	}
	for _, a := range as {
		att[a.DeliveryID] = append(att[a.DeliveryID], a)
	}
	return ds, att, nil
}

// ListDeductions lists an organization's deduction lines in [from, to) by day.
func (s *Store) ListDeductions(ctx context.Context, sc Scope, orgID int64, fromDay, toDay string) ([]Deduction, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "list deductions")
	}
	var out []Deduction
	err := s.db.WithContext(ctx).Where("org_id = ? AND day >= ? AND day < ?", orgID, fromDay, toDay).Order("day, id").Find(&out).Error
	return out, wrap(err, "list deductions")
}

// notSentReason says why a channel has no transport here: email wants a
// mail server, every other channel the gateway.
func notSentReason(ch Channel) string {
	if ch == ChannelEmail {
		return NotSentNoMailServer
	}
	return NotSentNoGateway
}

// callNumber is the number staff call instead of a channel that cannot be
// carried: the mobile, else the office phone.
func (c *Contact) callNumber() (Channel, string) {
	if c.Mobile != "" {
		return ChannelMobile, c.Mobile
	}
	return ChannelOffice, c.OfficePhone
}
