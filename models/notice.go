package models

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Grouped notices (docs/agreement.md, "A grouped notice"): outages of one
// organization confirmed close together, and those confirmed while its
// notice has not gone out yet, share one notice: one outbox event, one
// delivery per contact and channel. Every outage keeps its own emergency
// clock; a delivery of the notice stops all of them.

// Notice kinds: the outages went down, or came back.
const (
	NoticeOpened = "opened"
	NoticeClosed = "closed"
)

// DefaultNoticeWindow is how long a new notice gathers the organization's
// other outages before it goes out (PORTAL_NOTICE_WINDOW).
const DefaultNoticeWindow = time.Minute

// DefaultNoticeMaxPerHour bounds the outage notices one contact gets by
// one channel and address in any 60 minutes (PORTAL_NOTICE_MAX_PER_HOUR).
const DefaultNoticeMaxPerHour = 6

// Notice is one notification of one or more outages of an organization.
// Its membership stays open (SealedAt nil) until its first email or
// webhook delivery is claimed, or its call is logged; outages confirmed
// after that get a new notice.
type Notice struct {
	ID        int64
	OrgID     int64
	Kind      string // NoticeOpened or NoticeClosed
	FirstAt   time.Time
	SendAt    time.Time // FirstAt + the window: when its deliveries are first due
	SealedAt  *time.Time
	CreatedAt time.Time
}

func (Notice) TableName() string { return "notices" }

// NoticeOutage is an outage a notice covers.
type NoticeOutage struct {
	NoticeID int64 `gorm:"primaryKey;autoIncrement:false"`
	OutageID int64 `gorm:"primaryKey;autoIncrement:false"`
	OrgID    int64
	JoinedAt time.Time
}

func (NoticeOutage) TableName() string { return "notice_outages" }

// WithNoticeWindow sets how long a new notice gathers outages.
func WithNoticeWindow(d time.Duration) StoreOption {
	return func(s *Store) { s.noticeWindow = max(d, 0) }
}

// WithNoticeMaxPerHour sets how many outage notices a contact gets by one
// channel and address in any 60 minutes before the rest wait for one
// summary (storm control); 0 or less is the default.
func WithNoticeMaxPerHour(n int) StoreOption {
	return func(s *Store) {
		if n > 0 {
			s.noticeMaxPerHour = n
		}
	}
}

// noticePayload is an outbox event of a notice: the notice, and its first
// outage (the one lists of single deliveries name).
type noticePayload struct {
	NoticeID int64  `json:"notice_id"`
	OutageID int64  `json:"outage_id"`
	Kind     string `json:"kind"`
}

// noticeOf reads a notice event's payload; ok is false for an event of one
// outage written before notices were grouped.
func noticeOf(ev OutboxEvent) (noticePayload, bool) {
	var p noticePayload
	if err := json.Unmarshal([]byte(ev.Payload), &p); err != nil || p.NoticeID == 0 {
		return p, false
	}
	return p, true
}

// noticeJoiner gathers, within one RecordResults transaction, the outages
// to tell of, and joins them to notices at its end (joinNotices): the
// organizations' rows are locked there in ascending ID, as every joiner
// takes them, so two transactions whose batches touch the same
// organizations in different orders wait for each other instead of in a
// cycle. It remembers the notice each organization's outages joined: its
// row is locked until commit, so it cannot be sealed meanwhile and needs
// no second look. The memberships are written together (200 rows a
// statement) after the joins.
type noticeJoiner struct {
	pending []noticeJoin
	notices map[[2]any]int64 // (organization, kind) → notice; (organization, "org") → 1 once locked
	opened  map[int64]int64  // outage → the opened notice it joined in this transaction
	rows    []NoticeOutage
	// hooks are the transaction's webhook events of checks and outages,
	// written after the notices (flushHooks).
	hooks hookQueue
}

// noticeJoin is an outage to tell of: confirmed (NoticeOpened) or ended
// (NoticeClosed) at at.
type noticeJoin struct {
	kind     string
	orgID    int64
	outageID int64
	at       time.Time
}

func newNoticeJoiner() *noticeJoiner {
	return &noticeJoiner{notices: map[[2]any]int64{}, opened: map[int64]int64{}}
}

// open notes outage o confirmed at at: it joins the organization's
// gathering notice, or a new one, at the end of the transaction.
func (nj *noticeJoiner) open(o *Outage, at time.Time) {
	nj.pending = append(nj.pending, noticeJoin{kind: NoticeOpened, orgID: o.OrgID, outageID: o.ID, at: at})
}

// recovered notes outage o ended at at (noticeRecovery, at the end of the
// transaction, decides how it is told).
func (nj *noticeJoiner) recovered(o *Outage, at time.Time) {
	nj.pending = append(nj.pending, noticeJoin{kind: NoticeClosed, orgID: o.OrgID, outageID: o.ID, at: at})
}

// joinNotices tells of the outages gathered, organization by organization in
// ascending ID, each organization's in the order they were noted (an
// outage confirmed and ended in one batch is opened before its recovery,
// which its opened notice then lists), and writes the memberships.
func (s *Store) joinNotices(tx *gorm.DB, nj *noticeJoiner) error {
	slices.SortStableFunc(nj.pending, func(a, b noticeJoin) int { return cmp.Compare(a.orgID, b.orgID) })
	for _, j := range nj.pending {
		var err error
		if j.kind == NoticeOpened {
			err = s.joinNotice(tx, nj, NoticeOpened, j.orgID, j.outageID, j.at)
		} else {
			err = s.noticeRecovery(tx, nj, j.orgID, j.outageID, j.at)
		}
		if err != nil {
			return err
		}
	}
	nj.pending = nil
	if err := nj.flush(tx); err != nil {
		return err
	}
	return s.flushHooks(tx, &nj.hooks)
}

// flush writes the memberships gathered.
func (nj *noticeJoiner) flush(tx *gorm.DB) error {
	if len(nj.rows) == 0 {
		return nil
	}
	err := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(nj.rows, rowChunk).Error
	nj.rows = nil
	return err
}

// joinNotice adds outage outageID to orgID's unsealed notice of kind, or
// opens a new one (first at at, sent a window later) with its outbox
// event. The notice row is read with a lock, and a seal is an UPDATE of
// that row, so a join and a seal never cross: an outage joins a notice
// before it is sealed (and is in what it says) or gets a new one.
// Transactions that join take the organization's row in turn, so two
// never open two.
func (s *Store) joinNotice(tx *gorm.DB, nj *noticeJoiner, kind string, orgID, outageID int64, at time.Time) error {
	key := [2]any{orgID, kind}
	id := nj.notices[key]
	if id == 0 {
		if err := lockOrgNotices(tx, nj, orgID); err != nil {
			return err
		}
		var err error
		if id, err = s.unsealedNotice(tx, orgID, kind); err != nil {
			return err
		}
	}
	if id == 0 {
		// The window runs from the confirmation (a spool replayed late
		// sends at once), never from a probe time ahead of this clock.
		from := at
		if now := s.now(); now.Before(from) {
			from = now
		}
		n := Notice{OrgID: orgID, Kind: kind, FirstAt: at, SendAt: from.Add(s.noticeWindow), CreatedAt: s.now()}
		if err := tx.Create(&n).Error; err != nil {
			return err
		}
		id = n.ID
		ev := EventOutageOpened
		if kind == NoticeClosed {
			ev = EventOutageClosed
		}
		payload, _ := json.Marshal(noticePayload{NoticeID: n.ID, OutageID: outageID, Kind: kind})
		if err := s.outbox(tx, ev, orgID, n.ID, string(payload)); err != nil {
			return err
		}
	}
	nj.notices[key] = id
	if kind == NoticeOpened {
		nj.opened[outageID] = id
	}
	nj.rows = append(nj.rows, NoticeOutage{NoticeID: id, OutageID: outageID, OrgID: orgID, JoinedAt: s.now()})
	return nil
}

// lockOrgNotices locks orgID's row once in the transaction, before any
// of its notices: two writers that would open a notice take turns (the
// second finds the first one's). Every transaction takes the organization
// before its notice rows, and the organizations in ascending ID
// (joinNotices sorts the joins), so they never wait in a cycle.
func lockOrgNotices(tx *gorm.DB, nj *noticeJoiner, orgID int64) error {
	key := [2]any{orgID, "org"}
	if nj.notices[key] != 0 {
		return nil
	}
	if err := forUpdate(tx).Select("id").Where("id = ?", orgID).Find(&[]Organization{}).Error; err != nil {
		return err
	}
	nj.notices[key] = 1
	return nil
}

// unsealedNotice returns orgID's newest unsealed notice of kind, locked,
// or 0.
func (s *Store) unsealedNotice(tx *gorm.DB, orgID int64, kind string) (int64, error) {
	var ns []Notice
	if err := forUpdate(tx).Where("org_id = ? AND kind = ? AND sealed_at IS NULL", orgID, kind).
		Order("id DESC").Limit(1).Find(&ns).Error; err != nil {
		return 0, err
	}
	if len(ns) == 0 || ns[0].SealedAt != nil {
		return 0, nil
	}
	return ns[0].ID, nil
}

// noticeRecovery tells of outage outageID's end: not at all while its
// opened notice has not gone out (that notice lists it as recovered),
// else in the organization's unsealed recovery notice.
func (s *Store) noticeRecovery(tx *gorm.DB, nj *noticeJoiner, orgID, outageID int64, at time.Time) error {
	if nj.opened[outageID] != 0 {
		return nil // opened in this transaction: its notice, locked by it, has not gone out
	}
	if err := lockOrgNotices(tx, nj, orgID); err != nil {
		return err
	}
	var ns []Notice
	if err := forUpdate(tx).Where("kind = ? AND sealed_at IS NULL AND id IN (?)", NoticeOpened,
		tx.Session(&gorm.Session{NewDB: true}).Model(&NoticeOutage{}).Select("notice_id").Where("outage_id = ?", outageID)).
		Limit(1).Find(&ns).Error; err != nil {
		return err
	}
	if len(ns) == 1 && ns[0].SealedAt == nil {
		return nil
	}
	return s.joinNotice(tx, nj, NoticeClosed, orgID, outageID, at)
}

// sealNotice closes the membership of notice id: what it says is fixed.
func sealNotice(tx *gorm.DB, id int64, at time.Time) error {
	if id == 0 {
		return nil
	}
	return tx.Model(&Notice{}).Where("id = ? AND sealed_at IS NULL", id).Update("sealed_at", at).Error
}

// noticeOutageIDs is a subquery of the outages notice deliveries cover:
// those of the delivery's notice and of the notices of every delivery
// merged into it (a storm summary).
func noticeOutageIDs(tx *gorm.DB, deliveryID int64) *gorm.DB {
	return tx.Session(&gorm.Session{NewDB: true}).Model(&NoticeOutage{}).Select("outage_id").
		Where("notice_id IN (?)", deliveryNotices(tx, deliveryID))
}

// deliveryNotices is a subquery of the notices a delivery carries: its
// own, and those of the deliveries merged into it.
func deliveryNotices(tx *gorm.DB, deliveryID int64) *gorm.DB {
	return tx.Session(&gorm.Session{NewDB: true}).Model(&Delivery{}).Select("notice_id").
		Where("(id = ? OR merged_into = ?) AND notice_id <> 0", deliveryID, deliveryID)
}

// stopNoticeClocks stops the emergency clock of every outage that
// delivery d covers, each met or missed against its own deadline, and
// derives again the lines of the days that hold a clock it did not meet
// (each day once).
func (s *Store) stopNoticeClocks(tx *gorm.DB, actor Actor, d *Delivery, now time.Time, delivered bool) error {
	outs := noticeOutageIDs(tx, d.ID)
	if delivered {
		// Already swept as missed: keep when it really ended.
		if err := tx.Model(&Clock{}).Where("kind = ? AND outcome = ? AND stopped_at IS NULL AND ref_id IN (?)",
			ClockEmergencyNotice, ClockMissed, outs).Updates(map[string]any{"stopped_at": now, "stop_ref": d.ID}).Error; err != nil {
			return err
		}
		// The clocks it stops, for their webhook events (notice.met,
		// notice.missed): read under lock, only for an organization with
		// an endpoint that wants them.
		var stopping []Clock
		subs, err := hookSubscriptions(tx, []int64{d.OrgID})
		if err != nil {
			return err
		}
		if subs[d.OrgID][HookNoticeMet] || subs[d.OrgID][HookNoticeMissed] {
			if err := forUpdate(tx).Select("id", "org_id", "deadline_at").Where("kind = ? AND outcome = ? AND ref_id IN (?)",
				ClockEmergencyNotice, ClockRunning, outs).Order("id").Find(&stopping).Error; err != nil {
				return err
			}
		}
		if err := tx.Model(&Clock{}).Where("kind = ? AND outcome = ? AND ref_id IN (?)", ClockEmergencyNotice, ClockRunning, outs).
			Updates(map[string]any{"stopped_at": now, "stop_ref": d.ID,
				"outcome": gorm.Expr("CASE WHEN deadline_at < ? THEN ? ELSE ? END", now, ClockMissed, ClockMet)}).Error; err != nil {
			return err
		}
		var hooks hookQueue
		for _, c := range stopping {
			if c.DeadlineAt.Before(now) {
				hooks.add(HookNoticeMissed, EventClockMissed, c.OrgID, c.ID, nil)
			} else {
				hooks.add(HookNoticeMet, EventClockMet, c.OrgID, c.ID, nil)
			}
		}
		if err := s.flushHooks(tx, &hooks); err != nil {
			return err
		}
	}
	// The days of the clocks not met (running ones too: see
	// outageNoticeDay), each derived once, in order.
	var late []Clock
	if err := tx.Select("org_id", "deadline_at").Where("kind = ? AND outcome <> ? AND ref_id IN (?)", ClockEmergencyNotice, ClockMet,
		noticeOutageIDs(tx, d.ID)).Order("deadline_at").Find(&late).Error; err != nil {
		return err
	}
	var b auditBatch
	done := map[string]bool{}
	for _, c := range late {
		day := s.noticeDay(&c)
		if done[day] {
			continue
		}
		done[day] = true
		if err := s.reevaluateNoticeDay(tx, actor, c.OrgID, day, TriggerDelivery, &b); err != nil {
			return err
		}
	}
	return s.writeAudits(tx, &b)
}

// noticePayloadPrefix matches (LIKE) the payload of a notice's outbox
// event, whose ref_id is the notice; an event of one outage from before
// notices were grouped has the outage as its ref_id.
const noticePayloadPrefix = `{"notice_id":%`

// outageDeliveries is a condition on deliveries: those that told of
// outage outageID. Its notices' deliveries, the storm summaries they were
// merged into, and its own deliveries from before notices were grouped.
func outageDeliveries(db *gorm.DB, outageID int64) *gorm.DB {
	fresh := db.Session(&gorm.Session{NewDB: true})
	notices := fresh.Model(&NoticeOutage{}).Select("notice_id").Where("outage_id = ?", outageID)
	merged := fresh.Model(&Delivery{}).Select("merged_into").Where("merged_into <> 0 AND notice_id IN (?)", notices)
	return fresh.Where("(deliveries.notice_id = 0 AND deliveries.outage_id = ?) OR deliveries.notice_id IN (?) OR deliveries.id IN (?)",
		outageID, notices, merged)
}

// claimNoticeDelivery seals the notice of a delivery just claimed by
// owner, and applies storm control to an email or webhook: a contact,
// channel and address gets at most noticeMaxPerHour outage notices in any
// 60 minutes. One that would pass it is held (not sent, no attempt
// counted, its lease given back) until the hour has room again; when a
// held one comes due, every other held notice to the same recipient is
// merged into it, and it goes out as one summary of all their outages.
// send says whether to send it now.
func (s *Store) claimNoticeDelivery(ctx context.Context, owner string, d *Delivery, now time.Time) (bool, error) {
	send := false
	err := s.tx(ctx, func(tx *gorm.DB) error {
		send = false
		if err := sealNotice(tx, d.NoticeID, now); err != nil {
			return err
		}
		if d.Transport != TransportEmail && d.Transport != TransportWebhook {
			send = true
			return nil
		}
		// One recipient's notices are counted one transaction at a time.
		if err := forUpdate(tx).Select("id").Where("id = ?", d.ContactID).Find(&[]Contact{}).Error; err != nil {
			return err
		}
		var mine []Delivery
		if err := tx.Where("id = ? AND lease_owner = ? AND status = ?", d.ID, owner, DeliveryPending).Find(&mine).Error; err != nil {
			return err
		}
		if len(mine) == 0 {
			return nil // merged into another instance's summary meanwhile
		}
		times, err := s.recentNotices(tx, d, now)
		if err != nil {
			return err
		}
		if most := s.noticeMaxPerHour; len(times) >= most {
			room := times[len(times)-most].Add(time.Hour)
			return tx.Model(&Delivery{}).Where("id = ?", d.ID).Updates(map[string]any{"held": true, "next_attempt_at": room,
				"lease_owner": "", "lease_until": neverLeased}).Error
		}
		send = true
		if !d.Held {
			return nil
		}
		if err := sameRecipient(tx.Model(&Delivery{}), d).Where("event = ? AND status = ? AND held = ? AND notice_id <> 0 AND id <> ?",
			d.Event, DeliveryPending, true, d.ID).Updates(map[string]any{"status": DeliveryMerged, "merged_into": d.ID,
			"done_at": now, "held": false, "lease_owner": "", "lease_until": neverLeased}).Error; err != nil {
			return err
		}
		d.Held = false
		return tx.Model(&Delivery{}).Where("id = ?", d.ID).Update("held", false).Error
	})
	return send, err
}

// sameRecipient narrows a query of deliveries to d's organization,
// contact, channel and address.
func sameRecipient(q *gorm.DB, d *Delivery) *gorm.DB {
	return q.Where("org_id = ? AND contact_id = ? AND channel = ? AND address = ?", d.OrgID, d.ContactID, d.Channel, d.Address)
}

// recentNotices returns, oldest first, when each outage notice other than
// d to d's recipient by email or webhook was last tried within the hour
// before now; one in flight (leased) counts as now.
func (s *Store) recentNotices(tx *gorm.DB, d *Delivery, now time.Time) ([]time.Time, error) {
	outage := []string{EventOutageOpened, EventOutageClosed}
	hooks := []string{TransportEmail, TransportWebhook}
	var as []DeliveryAttempt
	if err := tx.Model(&DeliveryAttempt{}).Select("delivery_attempts.delivery_id", "delivery_attempts.at").
		Joins("JOIN deliveries ON deliveries.id = delivery_attempts.delivery_id").
		Where("deliveries.org_id = ? AND deliveries.contact_id = ? AND deliveries.channel = ? AND deliveries.address = ?",
			d.OrgID, d.ContactID, d.Channel, d.Address).
		Where("deliveries.event IN ? AND deliveries.transport IN ? AND deliveries.id <> ? AND delivery_attempts.at > ?",
			outage, hooks, d.ID, now.Add(-time.Hour)).Find(&as).Error; err != nil {
		return nil, err
	}
	last := map[int64]time.Time{}
	for _, a := range as {
		if a.At.After(last[a.DeliveryID]) {
			last[a.DeliveryID] = a.At
		}
	}
	var inFlight []int64
	// In flight: claimed and let through before d (claims are gated in ID
	// order), not held.
	if err := sameRecipient(tx.Model(&Delivery{}), d).Where("event IN ? AND transport IN ? AND status = ? AND held = ? AND lease_owner <> '' AND lease_until > ? AND id < ?",
		outage, hooks, DeliveryPending, false, now, d.ID).Pluck("id", &inFlight).Error; err != nil {
		return nil, err
	}
	for _, id := range inFlight {
		last[id] = now
	}
	times := make([]time.Time, 0, len(last))
	for _, t := range last {
		times = append(times, t)
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	return times, nil
}
