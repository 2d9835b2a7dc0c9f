package models

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// What the notification dispatcher and the agreement's clocks stand at,
// for the Prometheus metrics (notify/metrics.go reads them at scrape time,
// at most every 15 s). Provider-wide operational figures: no customer data,
// so no scope; every instance reports the same.

// NotifyBacklog is the dispatcher's work waiting in the database.
type NotifyBacklog struct {
	// OutboxPending counts outbox events not expanded yet; OutboxOldest is
	// when the oldest of them was written (zero when none waits).
	OutboxPending int64
	OutboxOldest  time.Time
	// Pending counts pending deliveries by transport (call tasks wait for
	// a person; held ones for their contact's hour).
	Pending map[string]int64
	// OldestDue is the earliest next attempt of a pending email or webhook
	// delivery that is due now (zero when none is): how far the dispatcher
	// is behind. Call tasks are left out: staff end them.
	OldestDue time.Time
}

// NotifyBacklog counts the outbox events and deliveries waiting: three
// statements on the indexes the dispatcher claims by (idx_outbox_pending,
// idx_delivery_due), none reading more than the pending rows.
func (s *Store) NotifyBacklog(ctx context.Context) (NotifyBacklog, error) {
	db := s.db.WithContext(ctx)
	now := s.now()
	b := NotifyBacklog{Pending: map[string]int64{}}
	if err := db.Model(&OutboxEvent{}).Where("done_at IS NULL").Count(&b.OutboxPending).Error; err != nil {
		return b, wrap(err, "notify backlog")
	}
	if b.OutboxPending > 0 {
		var ev OutboxEvent
		err := db.Select("id", "created_at").Where("done_at IS NULL").Order("id").Take(&ev).Error
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return b, wrap(err, "notify backlog")
		}
		b.OutboxOldest = ev.CreatedAt
	}
	var rows []struct {
		Transport string
		N         int64
	}
	if err := db.Model(&Delivery{}).Select("transport, COUNT(*) AS n").Where("status = ?", DeliveryPending).
		Group("transport").Scan(&rows).Error; err != nil {
		return b, wrap(err, "notify backlog")
	}
	due := false
	for _, r := range rows {
		b.Pending[r.Transport] = r.N
		due = due || (r.Transport != TransportCall && r.N > 0)
	}
	if due {
		var d Delivery
		err := db.Select("id", "next_attempt_at").Where("status = ? AND next_attempt_at <= ? AND transport <> ?", DeliveryPending, now, TransportCall).
			Order("next_attempt_at").Take(&d).Error
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return b, wrap(err, "notify backlog")
		}
		b.OldestDue = d.NextAttemptAt
	}
	return b, nil
}

// ClockCount is how many clocks of one kind run and were missed.
type ClockCount struct {
	Kind string
	// Running clocks have not stopped; Overdue ones among them are past
	// their deadline and wait for the sweep to mark them missed.
	Running, Overdue int64
	// Missed clocks ran out, ever (a monotonic count: a missed clock stays
	// missed).
	Missed int64
}

// ClockKinds are the kinds of clocks the portal starts.
var ClockKinds = []string{ClockEmergencyNotice, ClockComplaintResponse, ClockOperationFeedback, ClockPhoneFollowUp, ClockInstallation}

// ClockCounts counts the running and missed clocks of every kind (each of
// ClockKinds, at 0 when it has none), in kind order: two grouped counts on
// idx_clock_due (outcome, deadline_at).
func (s *Store) ClockCounts(ctx context.Context) ([]ClockCount, error) {
	db := s.db.WithContext(ctx)
	var rows []struct {
		Kind    string
		Outcome string
		N       int64
	}
	if err := db.Model(&Clock{}).Select("kind, outcome, COUNT(*) AS n").Where("outcome IN ?", []string{ClockRunning, ClockMissed}).
		Group("kind, outcome").Scan(&rows).Error; err != nil {
		return nil, wrap(err, "count clocks")
	}
	var overdue []struct {
		Kind string
		N    int64
	}
	if err := db.Model(&Clock{}).Select("kind, COUNT(*) AS n").Where("outcome = ? AND deadline_at < ?", ClockRunning, s.now()).
		Group("kind").Scan(&overdue).Error; err != nil {
		return nil, wrap(err, "count clocks")
	}
	byKind := map[string]*ClockCount{}
	for _, k := range ClockKinds {
		byKind[k] = &ClockCount{Kind: k}
	}
	get := func(kind string) *ClockCount {
		if byKind[kind] == nil {
			byKind[kind] = &ClockCount{Kind: kind}
		}
		return byKind[kind]
	}
	for _, r := range rows {
		if r.Outcome == ClockRunning {
			get(r.Kind).Running = r.N
		} else {
			get(r.Kind).Missed = r.N
		}
	}
	for _, r := range overdue {
		get(r.Kind).Overdue = r.N
	}
	out := make([]ClockCount, 0, len(byKind))
	for _, c := range byKind {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b ClockCount) int { return strings.Compare(a.Kind, b.Kind) })
	return out, nil
}
