package models

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
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

// Outbox kinds written only for webhooks (docs/architecture.md, "Webhook
// events"): no email carries them (ExpandEvent's default case), and each
// is written only when an enabled endpoint of its organization subscribes
// to the public event it becomes (hookQueue), so that an event nobody
// wants costs nothing but the look-up. Visits and complaint replies are
// emailed events that webhooks carry as well.
const (
	// EventCheckFailing is a check's first failed probe while it has no
	// open outage (outage.opened). RefID: the check; payload: hookFailure.
	EventCheckFailing = "check.failing"
	// EventCheckCleared is a failing check's success before its failures
	// opened an outage (outage.closed, with no outage). RefID: the check;
	// payload: hookFailure.
	EventCheckCleared = "check.cleared"
	// EventOutageConfirmed is an outage opened (outage.confirmed). RefID:
	// the outage.
	EventOutageConfirmed = "outage.confirmed"
	// EventOutageEnded is an outage's end (outage.closed). RefID: the
	// outage; payload: hookEnd.
	EventOutageEnded = "outage.ended"
	// EventClockMet and EventClockMissed are an emergency-notice clock's
	// outcome (notice.met, notice.missed). RefID: the clock.
	EventClockMet    = "clock.met"
	EventClockMissed = "clock.missed"
	// EventOperationState is an operation request's change of state
	// (operation.state_changed). RefID: the request; payload: hookStateChange.
	EventOperationState = "operation.state"
	// EventStatementClosed is a month closed and its statement stored
	// (statement.closed). RefID: the stored statement (statements.id).
	EventStatementClosed = "statement.closed"
)

// How an outage ended (hookEnd.End).
const (
	OutageEndRecovered = "recovered"          // a probe succeeded
	OutageEndStopped   = "monitoring_stopped" // its port was unmapped or removed, its switch disabled or deleted
)

// hookFailure is the payload of a check's first failure (At, Reason) and
// of its clearing (ClearedAt too).
type hookFailure struct {
	At        time.Time  `json:"at"`
	Reason    string     `json:"reason,omitempty"`
	ClearedAt *time.Time `json:"cleared_at,omitempty"`
}

// hookEnd is the payload of an outage's end.
type hookEnd struct {
	End string `json:"end"`
}

// hookStateChange is the payload of an operation request's change of state.
type hookStateChange struct {
	From string    `json:"from"`
	To   string    `json:"to"`
	At   time.Time `json:"at"`
}

// HookEvent is what a webhook delivery tells of an outbox event: its
// public name, when it happened, and its data (a small object naming
// the record, its state and the API URL to read it whole).
type HookEvent struct {
	Name string
	At   time.Time
	Data map[string]any
}

// pendingHook is an outbox event of a webhook, written if its
// organization has an endpoint that wants it.
type pendingHook struct {
	name    string // the public event
	kind    string // the outbox kind
	orgID   int64
	refID   int64
	payload string
}

// hookQueue gathers a transaction's webhook events and writes, at its
// end (flushHooks), those whose organization has an enabled endpoint
// subscribed to them: one query for the whole transaction, none when it
// gathered nothing (a batch of results that changes no check's state).
type hookQueue struct {
	pending []pendingHook
}

// add notes an event; payload is marshalled to JSON (nil: none).
func (q *hookQueue) add(name, kind string, orgID, refID int64, payload any) {
	p := ""
	if payload != nil {
		b, _ := json.Marshal(payload)
		p = string(b)
	}
	q.pending = append(q.pending, pendingHook{name: name, kind: kind, orgID: orgID, refID: refID, payload: p})
}

// flushHooks writes the events gathered in q that an endpoint wants, in
// the order they were gathered, and empties q.
func (s *Store) flushHooks(tx *gorm.DB, q *hookQueue) error {
	if len(q.pending) == 0 {
		return nil
	}
	var orgs []int64
	for _, p := range q.pending {
		orgs = append(orgs, p.orgID)
	}
	slices.Sort(orgs)
	subs, err := hookSubscriptions(tx, slices.Compact(orgs))
	if err != nil {
		return err
	}
	now := s.now()
	var rows []OutboxEvent
	for _, p := range q.pending {
		if subs[p.orgID][p.name] {
			rows = append(rows, OutboxEvent{Kind: p.kind, OrgID: p.orgID, RefID: p.refID, Payload: p.payload,
				CreatedAt: now, LeaseUntil: neverLeased})
		}
	}
	q.pending = nil
	return createInChunks(tx, rows)
}

// hookOutbox writes one webhook event in tx if an endpoint of orgID wants it.
func (s *Store) hookOutbox(tx *gorm.DB, name, kind string, orgID, refID int64, payload any) error {
	var q hookQueue
	q.add(name, kind, orgID, refID, payload)
	return s.flushHooks(tx, &q)
}

// hookSubscriptions reads which public events the enabled webhook
// endpoints of orgs (ascending, distinct) subscribe to: organization →
// event → true. One statement for up to a thousand organizations.
func hookSubscriptions(tx *gorm.DB, orgs []int64) (map[int64]map[string]bool, error) {
	type row struct {
		OrgID  int64
		Events string
	}
	var rows []row
	for chunk := range chunks(orgs) {
		var part []row
		if err := tx.Table("webhook_endpoints").Select("org_id", "events").
			Where("enabled = ? AND org_id IN ?", true, chunk).Scan(&part).Error; err != nil {
			return nil, fmt.Errorf("webhook subscriptions: %w", err)
		}
		rows = append(rows, part...)
	}
	subs := map[int64]map[string]bool{}
	for _, r := range rows {
		for _, name := range strings.Split(r.Events, ",") {
			if name = strings.TrimSpace(name); name == "" {
				continue
			}
			if subs[r.OrgID] == nil {
				subs[r.OrgID] = map[string]bool{}
			}
			subs[r.OrgID][name] = true
		}
	}
	return subs, nil
}

// hookTime is a time as the API writes it: RFC 3339 in UTC.
func hookTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// hookTimePtr is hookTime of an optional time; nil stays nil (JSON null).
func hookTimePtr(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return hookTime(*t)
}

// hookEventOf maps an outbox event to the webhook event it is, inside the
// transaction that expands it; ok is false for an event no webhook
// carries (account emails, say), and for one whose record is gone. Every
// record is read within the event's organization.
func (s *Store) hookEventOf(tx *gorm.DB, ev OutboxEvent) (HookEvent, bool, error) {
	he := HookEvent{At: ev.CreatedAt}
	var err error
	switch ev.Kind {
	case EventVisitApproved, EventVisitRefused:
		var v Visit
		if err = tx.Where("id = ? AND org_id = ?", ev.RefID, ev.OrgID).Take(&v).Error; err != nil {
			break
		}
		he.Name = HookVisitApproved
		if ev.Kind == EventVisitRefused {
			he.Name = HookVisitRefused
		}
		he.Data = map[string]any{"object": "visit", "ref": v.Ref, "number": v.Number(), "state": v.State,
			"api_url": "/api/v1/visits/" + v.Ref}
	case EventCheckFailing, EventCheckCleared:
		he.Data, err = s.hookCheckData(tx, ev)
		he.Name = HookOutageOpened
		if ev.Kind == EventCheckCleared {
			he.Name = HookOutageClosed
		}
	case EventOutageConfirmed, EventOutageEnded:
		he.Data, err = s.hookOutageData(tx, ev)
		he.Name = HookOutageConfirmed
		if ev.Kind == EventOutageEnded {
			he.Name = HookOutageClosed
		}
	case EventClockMet, EventClockMissed:
		he.Data, err = hookClockData(tx, ev)
		he.Name = HookNoticeMet
		if ev.Kind == EventClockMissed {
			he.Name = HookNoticeMissed
		}
	case EventOperationState:
		he.Name = HookOperationState
		he.Data, err = hookOperationData(tx, ev)
	case EventComplaintReply:
		he.Name = HookComplaintAnswered
		he.Data, err = hookComplaintData(tx, ev)
	case EventStatementClosed:
		he.Name = HookStatementClosed
		he.Data, err = hookStatementData(tx, ev)
	default:
		return HookEvent{}, false, nil
	}
	if errors.Is(err, gorm.ErrRecordNotFound) || err == nil && he.Data == nil {
		return HookEvent{}, false, nil // its record is gone (or not one to tell): nothing to send
	}
	if err != nil {
		return HookEvent{}, false, fmt.Errorf("webhook event of outbox event %d: %w", ev.ID, err)
	}
	return he, true, nil
}

// hookCheckRefs are the check and device objects of an outage event.
func hookCheckRefs(tx *gorm.DB, orgID, checkID int64) (map[string]any, map[string]any, error) {
	var c Check
	if err := tx.Select("id", "device_id", "kind", "target").Where("id = ? AND org_id = ?", checkID, orgID).Take(&c).Error; err != nil {
		return nil, nil, err
	}
	var d Device
	if err := tx.Select("id", "name").Where("id = ? AND org_id = ?", c.DeviceID, orgID).Take(&d).Error; err != nil {
		return nil, nil, err
	}
	return map[string]any{"id": c.ID, "kind": string(c.Kind), "target": c.Target, "api_url": fmt.Sprintf("/api/v1/checks/%d", c.ID)},
		map[string]any{"id": d.ID, "name": d.Name, "api_url": fmt.Sprintf("/api/v1/devices/%d", d.ID)}, nil
}

// hookCheckData is the data of a check's first failure (outage.opened)
// or of its clearing before an outage opened (outage.closed): an outage
// object with no ID, not confirmed.
func (s *Store) hookCheckData(tx *gorm.DB, ev OutboxEvent) (map[string]any, error) {
	var p hookFailure
	if err := json.Unmarshal([]byte(ev.Payload), &p); err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	check, device, err := hookCheckRefs(tx, ev.OrgID, ev.RefID)
	if err != nil {
		return nil, err
	}
	data := map[string]any{"object": "outage", "id": nil, "confirmed": false, "state": "failing",
		"started_at": hookTime(p.At), "confirmed_at": nil, "ended_at": nil, "end": nil, "reason": p.Reason,
		"check": check, "device": device, "api_url": check["api_url"]}
	if p.ClearedAt != nil {
		data["state"], data["ended_at"], data["end"] = "cleared", hookTime(*p.ClearedAt), OutageEndRecovered
		delete(data, "reason")
	}
	return data, nil
}

// hookOutageData is the data of an outage confirmed or ended. The state
// is the event's (open, closed), whatever happened since.
func (s *Store) hookOutageData(tx *gorm.DB, ev OutboxEvent) (map[string]any, error) {
	var o Outage
	if err := tx.Where("id = ? AND org_id = ?", ev.RefID, ev.OrgID).Take(&o).Error; err != nil {
		return nil, err
	}
	check, device, err := hookCheckRefs(tx, ev.OrgID, o.CheckID)
	if err != nil {
		return nil, err
	}
	data := map[string]any{"object": "outage", "id": o.ID, "confirmed": true, "state": "open",
		"started_at": hookTime(o.StartedAt), "confirmed_at": hookTime(o.ConfirmedAt), "ended_at": nil, "end": nil,
		"cause": string(o.Cause), "check": check, "device": device, "api_url": fmt.Sprintf("/api/v1/outages/%d", o.ID)}
	if ev.Kind == EventOutageEnded && o.EndedAt != nil {
		var p hookEnd
		if err := json.Unmarshal([]byte(ev.Payload), &p); err != nil {
			return nil, fmt.Errorf("payload: %w", err)
		}
		data["state"], data["ended_at"], data["end"] = "closed", hookTime(*o.EndedAt), p.End
		data["duration_seconds"] = int64(o.EndedAt.Sub(o.StartedAt) / time.Second)
		data["failures"] = o.Failures
	}
	return data, nil
}

// hookClockData is the data of an emergency-notice clock's outcome: the
// clock, its outage and the notice it belongs to.
func hookClockData(tx *gorm.DB, ev OutboxEvent) (map[string]any, error) {
	var c Clock
	if err := tx.Where("id = ? AND org_id = ? AND kind = ?", ev.RefID, ev.OrgID, ClockEmergencyNotice).Take(&c).Error; err != nil {
		return nil, err
	}
	var o Outage
	if err := tx.Select("id", "device_id").Where("id = ? AND org_id = ?", c.RefID, ev.OrgID).Take(&o).Error; err != nil {
		return nil, err
	}
	var d Device
	if err := tx.Select("id", "name").Where("id = ? AND org_id = ?", o.DeviceID, ev.OrgID).Take(&d).Error; err != nil {
		return nil, err
	}
	outcome := ClockMet
	if ev.Kind == EventClockMissed {
		outcome = ClockMissed
	}
	var stopped any
	if outcome == ClockMet {
		stopped = hookTimePtr(c.StoppedAt) // a miss is told when the deadline passes, before anyone stops it
	}
	return map[string]any{"object": "notice_clock", "id": c.ID, "outcome": outcome,
		"started_at": hookTime(c.StartedAt), "deadline_at": hookTime(c.DeadlineAt), "stopped_at": stopped,
		"outage":  map[string]any{"id": o.ID, "api_url": fmt.Sprintf("/api/v1/outages/%d", o.ID)},
		"device":  map[string]any{"id": d.ID, "name": d.Name, "api_url": fmt.Sprintf("/api/v1/devices/%d", d.ID)},
		"api_url": fmt.Sprintf("/api/v1/outages/%d", o.ID)}, nil
}

// hookOperationData is the data of an operation request's change of state.
func hookOperationData(tx *gorm.DB, ev OutboxEvent) (map[string]any, error) {
	var p hookStateChange
	if err := json.Unmarshal([]byte(ev.Payload), &p); err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	var r OperationRequest
	if err := tx.Where("id = ? AND org_id = ?", ev.RefID, ev.OrgID).Take(&r).Error; err != nil {
		return nil, err
	}
	return map[string]any{"object": "operation", "ref": r.Ref, "number": r.Number(), "title": r.Title,
		"state": p.To, "from": p.From, "to": p.To, "changed_at": hookTime(p.At),
		"started_at": hookTimePtr(r.StartedAt), "ended_at": hookTimePtr(r.EndedAt), "result": r.Result,
		"api_url": "/api/v1/operations/" + r.Ref}, nil
}

// hookComplaintData is the data of the desk's answer to a complaint: a
// staff message, handling report or resolution (never a customer's own
// line, nor its text: the API reads the thread).
func hookComplaintData(tx *gorm.DB, ev OutboxEvent) (map[string]any, error) {
	var l ComplaintLine
	if err := tx.Select("id", "complaint_id", "staff", "kind", "created_at").
		Where("id = ? AND org_id = ?", ev.RefID, ev.OrgID).Take(&l).Error; err != nil {
		return nil, err
	}
	if !l.Staff {
		return nil, nil
	}
	var c Complaint
	if err := tx.Where("id = ? AND org_id = ?", l.ComplaintID, ev.OrgID).Take(&c).Error; err != nil {
		return nil, err
	}
	return map[string]any{"object": "complaint", "ref": c.Ref, "number": c.Number(), "state": c.State,
		"answer":  map[string]any{"id": l.ID, "kind": l.Kind, "at": hookTime(l.CreatedAt)},
		"api_url": "/api/v1/complaints/" + c.Ref}, nil
}

// hookStatementData is the data of a month closed: the stored statement
// and its credits per currency.
func hookStatementData(tx *gorm.DB, ev OutboxEvent) (map[string]any, error) {
	var r StatementRecord
	if err := tx.Where("id = ? AND org_id = ?", ev.RefID, ev.OrgID).Take(&r).Error; err != nil {
		return nil, err
	}
	var st Statement
	if err := json.Unmarshal([]byte(r.Body), &st); err != nil {
		return nil, fmt.Errorf("statement %d: %w", r.ID, err)
	}
	totals := make([]map[string]any, 0, len(st.Totals))
	for _, t := range st.Totals {
		totals = append(totals, map[string]any{"currency": t.Currency, "credit": t.Credit})
	}
	return map[string]any{"object": "statement", "org_id": r.OrgID, "month": r.Month, "ref": r.Ref, "state": "closed",
		"closed_at": hookTime(r.ClosedAt), "credits": totals,
		"api_url": fmt.Sprintf("/api/v1/statements/%d/%s", r.OrgID, r.Month)}, nil
}
