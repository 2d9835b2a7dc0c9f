package models

import (
	"time"

	"gorm.io/gorm"
)

// Webhook event names: what a customer's endpoint may subscribe to
// (docs/architecture.md, "Webhooks"). They are public, stable names,
// distinct from the outbox's own kinds.
const (
	HookOutageOpened      = "outage.opened"    // a check's first failed probe
	HookOutageConfirmed   = "outage.confirmed" // the second: the outage opens, dated from the first
	HookOutageClosed      = "outage.closed"
	HookNoticeMet         = "notice.met"    // an emergency-notice clock stopped in time
	HookNoticeMissed      = "notice.missed" // … or ran out
	HookOperationState    = "operation.state_changed"
	HookVisitApproved     = "visit.approved"
	HookVisitRefused      = "visit.refused"
	HookComplaintAnswered = "complaint.answered"
	HookStatementClosed   = "statement.closed"
	// HookPing is the "send test event" button's event; never subscribed.
	HookPing = "ping"
)

// HookEvents lists the events an endpoint may subscribe to, in the order
// the form shows them.
var HookEvents = []string{HookOutageOpened, HookOutageConfirmed, HookOutageClosed, HookNoticeMet, HookNoticeMissed,
	HookOperationState, HookVisitApproved, HookVisitRefused, HookComplaintAnswered, HookStatementClosed}

// HookEvent is what a webhook delivery tells of an outbox event: its
// public name, when it happened, and its data (a small object naming
// the record, its state and the API URL to read it whole).
type HookEvent struct {
	Name string
	At   time.Time
	Data map[string]any
}

// hookEventOf maps an outbox event to the webhook event it is, inside the
// transaction that expands it; ok is false for an event no webhook
// carries (account emails, say).
func (s *Store) hookEventOf(tx *gorm.DB, ev OutboxEvent) (HookEvent, bool, error) {
	switch ev.Kind {
	case EventVisitApproved, EventVisitRefused:
		var v Visit
		if err := tx.Where("id = ?", ev.RefID).Take(&v).Error; err != nil {
			return HookEvent{}, false, notFound(err)
		}
		name := HookVisitApproved
		if ev.Kind == EventVisitRefused {
			name = HookVisitRefused
		}
		return HookEvent{Name: name, At: ev.CreatedAt, Data: map[string]any{"object": "visit", "ref": v.Ref,
			"number": v.Number(), "state": v.State, "api_url": "/api/v1/visits/" + v.Ref}}, true, nil
	}
	return HookEvent{}, false, nil
}
