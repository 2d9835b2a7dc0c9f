package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// What the home pages show that no other page reads in one piece: the
// requests waiting on the customer, the month's missed clocks, and the
// downtime the agreement allows a device in a month.

// allowanceDivisor: the share of a month a device may be down before the
// month's fee is waived is one part in a thousand (§1: 99.9 %, so 0.1 %).
const allowanceDivisor = 1000

// Allowance is the downtime the agreement allows over [from, to) for
// something watched since since: 0.1 % of the part of the period it was
// watched (43.2 minutes in a 30-day month; one day's 1.44 minutes for a
// device added on the 30th, §1 "a device added late in a month").
func Allowance(from, to, since time.Time) time.Duration {
	if from.Before(since) {
		from = since
	}
	if !to.After(from) {
		return 0
	}
	return to.Sub(from) / allowanceDivisor
}

// Waiting-on-the-customer kinds.
const (
	AwaitSign    = "sign"    // the request needs a signed authorization form
	AwaitConfirm = "confirm" // a phone authorization needs its signed form
)

// AwaitingRequest is an open request whose next step is the customer's.
type AwaitingRequest struct {
	Request OperationRequest
	Kind    string // AwaitSign or AwaitConfirm
	// FollowUp is the written follow-up clock of a phone authorization
	// (AwaitConfirm), with its deadline; nil for AwaitSign.
	FollowUp *Clock
}

// RequestsAwaitingCustomer lists the requests of orgID whose next step is
// the customer's, most urgent first: signed forms owed after a phone
// authorization (by deadline), then requests waiting for an authorization
// form (oldest first). A request with a signed form the engineer has not
// checked yet waits on the provider, not the customer, and is left out.
func (s *Store) RequestsAwaitingCustomer(ctx context.Context, sc Scope, orgID int64) ([]AwaitingRequest, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "requests awaiting customer")
	}
	db := s.db.WithContext(ctx)
	pending := db.Model(&Authorization{}).Select("request_id").Where("org_id = ? AND method = ? AND status = ?", orgID, AuthWritten, AuthPending)
	var rows []struct {
		Clock
		RequestID int64
	}
	if err := db.Table("sla_clocks").Select("sla_clocks.*, authorizations.request_id AS request_id").
		Joins("JOIN authorizations ON authorizations.id = sla_clocks.ref_id").
		Where("sla_clocks.org_id = ? AND sla_clocks.kind = ? AND sla_clocks.stopped_at IS NULL", orgID, ClockPhoneFollowUp).
		Where("authorizations.request_id NOT IN (?)", pending).
		Order("sla_clocks.deadline_at, sla_clocks.id").Limit(200).Scan(&rows).Error; err != nil {
		return nil, wrap(err, "requests awaiting customer")
	}
	var sign []OperationRequest
	if err := db.Where("org_id = ? AND state = ? AND id NOT IN (?)", orgID, OpAwaiting, pending).
		Order("id").Limit(200).Find(&sign).Error; err != nil {
		return nil, wrap(err, "requests awaiting customer")
	}
	ids := make([]int64, 0, len(rows))
	for _, r := range rows {
		ids = append(ids, r.RequestID)
	}
	byID := map[int64]OperationRequest{}
	if len(ids) > 0 {
		var rs []OperationRequest
		if err := findIn(db, ids, &rs, inOrg(orgID, whereID)); err != nil {
			return nil, wrap(err, "requests awaiting customer")
		}
		for _, r := range rs {
			byID[r.ID] = r
		}
	}
	var out []AwaitingRequest
	seen := map[int64]bool{}
	for _, r := range rows {
		req, ok := byID[r.RequestID]
		if !ok || seen[req.ID] {
			continue
		}
		seen[req.ID] = true
		c := r.Clock
		out = append(out, AwaitingRequest{Request: req, Kind: AwaitConfirm, FollowUp: &c})
	}
	for _, r := range sign {
		if !seen[r.ID] {
			out = append(out, AwaitingRequest{Request: r, Kind: AwaitSign})
		}
	}
	return out, nil
}

// MissedClock is a provider's clock that ran out: an emergency notice with
// what it costs (Deduction, nil until derived), or a first feedback on a
// request.
type MissedClock struct {
	Clock     Clock
	Deduction *Deduction
	Device    string            // the outage's device, for an emergency notice
	Request   *OperationRequest // the request, for a first-feedback clock
}

// missedClocks selects orgID's missed emergency-notice and first-feedback
// clocks whose deadline fell in [from, to).
func missedClocks(db *gorm.DB, orgID int64, from, to time.Time) *gorm.DB {
	utc(&from, &to)
	return db.Model(&Clock{}).Where("org_id = ? AND outcome = ? AND kind IN ? AND deadline_at >= ? AND deadline_at < ?", orgID, ClockMissed,
		[]string{ClockEmergencyNotice, ClockOperationFeedback}, from, to)
}

// MissedClocks lists the first limit missed emergency-notice and
// first-feedback clocks of orgID whose deadline fell in [from, to),
// oldest first, and counts them all.
func (s *Store) MissedClocks(ctx context.Context, sc Scope, orgID int64, from, to time.Time, limit int) ([]MissedClock, int64, error) {
	if !sc.Allows(orgID) {
		return nil, 0, wrap(ErrNotFound, "missed clocks")
	}
	db := s.db.WithContext(ctx)
	var cs []Clock
	if err := missedClocks(db, orgID, from, to).Order("deadline_at, id").Limit(limit).Find(&cs).Error; err != nil {
		return nil, 0, wrap(err, "missed clocks")
	}
	if len(cs) == 0 {
		return nil, 0, nil
	}
	total := int64(len(cs))
	if len(cs) == limit {
		if err := missedClocks(db, orgID, from, to).Count(&total).Error; err != nil {
			return nil, 0, wrap(err, "missed clocks")
		}
	}
	var clockIDs, outageIDs, requestIDs []int64
	for _, c := range cs {
		clockIDs = append(clockIDs, c.ID)
		if c.Kind == ClockEmergencyNotice {
			outageIDs = append(outageIDs, c.RefID)
		} else {
			requestIDs = append(requestIDs, c.RefID)
		}
	}
	var lines []Deduction
	if err := findIn(db, clockIDs, &lines, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return q.Where("org_id = ? AND clock_id IN ?", orgID, chunk)
	}); err != nil {
		return nil, 0, wrap(err, "missed clocks")
	}
	byClock := map[int64]*Deduction{}
	for i := range lines {
		byClock[lines[i].ClockID] = &lines[i]
	}
	outageDevice := map[int64]int64{}
	var deviceIDs []int64
	if len(outageIDs) > 0 {
		var os []Outage
		if err := findIn(db, outageIDs, &os, func(q *gorm.DB, chunk []int64) *gorm.DB {
			return q.Select("id", "device_id").Where("org_id = ? AND id IN ?", orgID, chunk)
		}); err != nil {
			return nil, 0, wrap(err, "missed clocks")
		}
		for _, o := range os {
			outageDevice[o.ID] = o.DeviceID
			deviceIDs = append(deviceIDs, o.DeviceID)
		}
	}
	_, devices, err := s.orgAndDeviceNames(ctx, nil, deviceIDs)
	if err != nil {
		return nil, 0, wrap(err, "missed clocks")
	}
	requests := map[int64]*OperationRequest{}
	if len(requestIDs) > 0 {
		var rs []OperationRequest
		if err := findIn(db, requestIDs, &rs, inOrg(orgID, whereID)); err != nil {
			return nil, 0, wrap(err, "missed clocks")
		}
		for i := range rs {
			requests[rs[i].ID] = &rs[i]
		}
	}
	out := make([]MissedClock, len(cs))
	for i, c := range cs {
		out[i] = MissedClock{Clock: c, Deduction: byClock[c.ID]}
		if c.Kind == ClockEmergencyNotice {
			out[i].Device = devices[outageDevice[c.RefID]]
		} else {
			out[i].Request = requests[c.RefID]
		}
	}
	return out, total, nil
}

// EventContactsRequested asks an organization's users by email to name
// their authorized contacts (a staff member pressed the button on the
// organization's page).
const EventContactsRequested = "organization.contacts_requested"

// AskForContacts emails the enabled portal users of orgID, through the
// outbox, that the organization has no authorized contact yet and that
// they add them; audited with how many users it goes to. An organization
// without an enabled user is refused: nobody could read it.
func (s *Store) AskForContacts(ctx context.Context, actor Actor, orgID int64) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var o Organization
		if err := tx.Select("id", "name").Where("id = ?", orgID).First(&o).Error; err != nil {
			return notFound(err)
		}
		if err := tx.Model(&User{}).Where("org_id = ? AND role = ? AND disabled_at IS NULL", orgID, RoleCustomer).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return Invalid("users", "org.contacts_no_users")
		}
		if err := s.outbox(tx, EventContactsRequested, orgID, orgID, ""); err != nil {
			return err
		}
		return s.audit(tx, actor, AuditContactsRequested, "organization", &o.ID, &o.ID, map[string]any{"users": n})
	})
	return int(n), wrap(err, "ask for contacts")
}

// orgUserRecipients are the enabled portal users of orgID, the
// recipients of what concerns the whole organization (a phone lock, a
// request to add contacts).
func orgUserRecipients(tx *gorm.DB, orgID int64) ([]emailRecipient, error) {
	var us []User
	if err := tx.Where("org_id = ? AND role = ? AND disabled_at IS NULL", orgID, RoleCustomer).Order("id").Find(&us).Error; err != nil {
		return nil, err
	}
	out := make([]emailRecipient, len(us))
	for i, u := range us {
		out[i] = emailRecipient{Address: u.Email, Locale: u.Locale}
	}
	return out, nil
}
