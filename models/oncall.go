package models

import (
	"context"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The staff's on-call page: outages whose emergency notice is due, phone
// calls to make, and deliveries that failed. Every method here reads all
// organizations and is for staff only.

// OnCallOutage is an open outage, or one whose notice clock still runs.
type OnCallOutage struct {
	Outage Outage
	Clock  *Clock // nil for an outage opened before clocks were kept
	Org    string
	Device string
	Check  *Check
	// Deduction is what a missed clock costs now, or nil.
	Deduction *Deduction
}

// onCallOutageRows selects the outages OnCallOutages lists: open, or
// with their emergency clock still running.
func (s *Store) onCallOutageRows(ctx context.Context, sc Scope) *gorm.DB {
	return sc.apply(s.db.WithContext(ctx).Model(&Outage{}), "org_id").Where("ended_at IS NULL OR id IN (?)", s.runningNotices(ctx))
}

// runningNotices selects the outages whose emergency clock runs.
func (s *Store) runningNotices(ctx context.Context) *gorm.DB {
	return s.db.WithContext(ctx).Model(&Clock{}).Select("ref_id").Where("kind = ? AND outcome = ?", ClockEmergencyNotice, ClockRunning)
}

// OnCallOutages lists the first limit open outages that sc sees and those
// whose emergency clock still runs, the most urgent clock first, and
// counts them all (a page that shows the first few says how many there
// are).
func (s *Store) OnCallOutages(ctx context.Context, sc Scope, limit int) ([]OnCallOutage, int64, error) {
	// The order of the list (runningFirst) in SQL, so that the first
	// limit are the most urgent: a running clock's deadline is its
	// confirmation and the 15 minutes.
	var os []Outage
	if err := s.onCallOutageRows(ctx, sc).Order(clause.OrderBy{Expression: clause.Expr{SQL: "CASE WHEN id IN (?) THEN 0 ELSE 1 END, confirmed_at, id",
		Vars: []any{s.runningNotices(ctx)}}}).Limit(limit).Find(&os).Error; err != nil {
		return nil, 0, wrap(err, "on call outages")
	}
	total := int64(len(os))
	if len(os) == limit {
		if err := s.onCallOutageRows(ctx, sc).Count(&total).Error; err != nil {
			return nil, 0, wrap(err, "on call outages")
		}
	}
	out, err := s.onCallDetails(ctx, os)
	if err != nil {
		return nil, 0, wrap(err, "on call outages")
	}
	// Running clocks first, nearest deadline first; then the rest.
	slices.SortStableFunc(out, func(a, b OnCallOutage) int { return runningFirst(a.Clock, b.Clock) })
	return out, total, nil
}

// onCallDetails adds to outages what the on-call lists show of them: the
// clock and its deduction, the names, the check.
func (s *Store) onCallDetails(ctx context.Context, os []Outage) ([]OnCallOutage, error) {
	if len(os) == 0 {
		return nil, nil
	}
	db := s.db.WithContext(ctx)
	var outageIDs, orgIDs, deviceIDs, checkIDs []int64
	for _, o := range os {
		outageIDs, orgIDs = append(outageIDs, o.ID), append(orgIDs, o.OrgID)
		deviceIDs, checkIDs = append(deviceIDs, o.DeviceID), append(checkIDs, o.CheckID)
	}
	clocks, err := s.outageClocks(ctx, outageIDs)
	if err != nil {
		return nil, err
	}
	orgs, devices, err := s.orgAndDeviceNames(ctx, orgIDs, deviceIDs)
	if err != nil {
		return nil, err
	}
	var checks []Check
	if err := findIn(db, checkIDs, &checks, whereID); err != nil {
		return nil, err
	}
	byCheck := map[int64]*Check{}
	for i := range checks {
		byCheck[checks[i].ID] = &checks[i]
	}
	var clockIDs []int64
	for _, c := range clocks {
		if c != nil {
			clockIDs = append(clockIDs, c.ID)
		}
	}
	var lines []Deduction
	if err := findIn(db, clockIDs, &lines, func(q *gorm.DB, chunk []int64) *gorm.DB { return q.Where("clock_id IN ?", chunk) }); err != nil {
		return nil, err
	}
	byClock := map[int64]*Deduction{}
	for i := range lines {
		byClock[lines[i].ClockID] = &lines[i]
	}
	out := make([]OnCallOutage, len(os))
	for i, o := range os {
		out[i] = OnCallOutage{Outage: o, Clock: clocks[o.ID], Org: orgs[o.OrgID], Device: devices[o.DeviceID], Check: byCheck[o.CheckID]}
		if c := clocks[o.ID]; c != nil {
			out[i].Deduction = byClock[c.ID]
		}
	}
	return out, nil
}

// CallTask is a phone call a staff member has to make.
type CallTask struct {
	Delivery Delivery
	Contact  string // "" when the contact was removed since
	Org      string
	Device   string
	Clock    *Clock // the outage's emergency clock, for an outage-opened call
}

// CallTasks lists the pending phone-call deliveries that sc sees: those
// whose emergency clock runs first, nearest deadline first, then the rest
// oldest first.
func (s *Store) CallTasks(ctx context.Context, sc Scope) ([]CallTask, error) {
	var ds []Delivery
	if err := sc.apply(s.db.WithContext(ctx), "org_id").Where("transport = ? AND status = ?", TransportCall, DeliveryPending).
		Order("id").Limit(500).Find(&ds).Error; err != nil {
		return nil, wrap(err, "call tasks")
	}
	dc, err := s.deliveryContext(ctx, ds)
	if err != nil {
		return nil, wrap(err, "call tasks")
	}
	out := make([]CallTask, len(ds))
	for i, d := range ds {
		out[i] = CallTask{Delivery: d, Contact: dc.contacts[d.ContactID], Org: dc.orgs[d.OrgID],
			Device: dc.devices[dc.outageDevice[d.OutageID]]}
		if d.Event == EventOutageOpened {
			out[i].Clock = dc.clocks[d.OutageID]
		}
	}
	// Calls whose clock runs come first, nearest deadline first.
	slices.SortStableFunc(out, func(a, b CallTask) int { return runningFirst(a.Clock, b.Clock) })
	return out, nil
}

// FailedDelivery is a delivery that ended without reaching its contact.
type FailedDelivery struct {
	Delivery Delivery
	Contact  string // "" when the contact was removed since
	Org      string
	Device   string
	// MarkedWrong is set while the contact's detail for the channel is
	// marked wrong and not corrected.
	MarkedWrong bool
}

// FailedStatuses are the ends of a delivery that staff may retry.
var FailedStatuses = []string{DeliveryFailed, DeliveryBounced, DeliveryNoAnswer}

// deliveryOfNamedComplaint is true of a delivery of a reply on a complaint
// naming the reader (the "?").
const deliveryOfNamedComplaint = "event = '" + EventComplaintReply + "' AND event_id IN (SELECT o.id FROM outbox o " +
	"JOIN complaint_messages m ON m.id = o.ref_id JOIN complaints c ON c.id = m.complaint_id WHERE c.named_user_id = ?)"

// FailedDeliveries lists the deliveries that sc sees that failed, bounced
// or went unanswered since since, newest first, less the replies on a
// complaint naming the reader.
func (s *Store) FailedDeliveries(ctx context.Context, sc Scope, since time.Time, limit int) ([]FailedDelivery, error) {
	utc(&since)
	if limit <= 0 || limit > 500 {
		limit = 200
	}
	var ds []Delivery
	if err := sc.hideNamed(sc.apply(s.db.WithContext(ctx), "org_id"), deliveryOfNamedComplaint).Where("status IN ? AND done_at >= ?", FailedStatuses, since).
		Order("done_at DESC, id DESC").Limit(limit).Find(&ds).Error; err != nil {
		return nil, wrap(err, "failed deliveries")
	}
	dc, err := s.deliveryContext(ctx, ds)
	if err != nil {
		return nil, wrap(err, "failed deliveries")
	}
	var contactIDs []int64
	for _, d := range ds {
		contactIDs = append(contactIDs, d.ContactID)
	}
	var fs []ContactFlag
	if err := findIn(s.db.WithContext(ctx), contactIDs, &fs, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return q.Where("contact_id IN ? AND cleared_at IS NULL", chunk)
	}); err != nil {
		return nil, wrap(err, "failed deliveries")
	}
	wrong := wrongByContact(fs)
	out := make([]FailedDelivery, len(ds))
	for i, d := range ds {
		out[i] = FailedDelivery{Delivery: d, Contact: dc.contacts[d.ContactID], Org: dc.orgs[d.OrgID],
			Device: dc.devices[dc.outageDevice[d.OutageID]], MarkedWrong: wrong[d.ContactID][d.Channel]}
	}
	return out, nil
}

// CountFailedDeliveries counts the deliveries that sc sees that failed,
// bounced or went unanswered since since.
func (s *Store) CountFailedDeliveries(ctx context.Context, sc Scope, since time.Time) (int64, error) {
	utc(&since)
	var n int64
	err := sc.hideNamed(sc.apply(s.db.WithContext(ctx).Model(&Delivery{}), "org_id"), deliveryOfNamedComplaint).
		Where("status IN ? AND done_at >= ?", FailedStatuses, since).Count(&n).Error
	return n, wrap(err, "count failed deliveries")
}

// GetDelivery returns delivery id if sc sees its organization; else
// ErrNotFound.
func (s *Store) GetDelivery(ctx context.Context, sc Scope, id int64) (*Delivery, error) {
	var d Delivery
	if err := sc.apply(s.db.WithContext(ctx), "org_id").Where("id = ?", id).First(&d).Error; err != nil {
		return nil, wrap(notFound(err), "get delivery")
	}
	return &d, nil
}

// CallNote checks the note a staff member writes about a call.
func CallNote(note string) (string, error) {
	note = strings.TrimSpace(note)
	if err := CheckLine("note", note, 500); err != nil {
		return "", err
	}
	return note, nil
}

// deliveryNames is what a list of deliveries needs to be read by people.
type deliveryNames struct {
	contacts, orgs, devices map[int64]string
	outageDevice            map[int64]int64
	clocks                  map[int64]*Clock
}

func (s *Store) deliveryContext(ctx context.Context, ds []Delivery) (*deliveryNames, error) {
	n := &deliveryNames{contacts: map[int64]string{}, outageDevice: map[int64]int64{}}
	if len(ds) == 0 {
		n.orgs, n.devices, n.clocks = map[int64]string{}, map[int64]string{}, map[int64]*Clock{}
		return n, nil
	}
	db := s.db.WithContext(ctx)
	var contactIDs, orgIDs, outageIDs []int64
	for _, d := range ds {
		contactIDs, orgIDs, outageIDs = append(contactIDs, d.ContactID), append(orgIDs, d.OrgID), append(outageIDs, d.OutageID)
	}
	var cs []Contact
	if err := findIn(db, contactIDs, &cs, idAndName); err != nil {
		return nil, err
	}
	for _, c := range cs {
		n.contacts[c.ID] = c.Name
	}
	var os []Outage
	if err := findIn(db, outageIDs, &os, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return q.Select("id", "device_id").Where("id IN ?", chunk)
	}); err != nil {
		return nil, err
	}
	var deviceIDs []int64
	for _, o := range os {
		n.outageDevice[o.ID] = o.DeviceID
		deviceIDs = append(deviceIDs, o.DeviceID)
	}
	var err error
	if n.orgs, n.devices, err = s.orgAndDeviceNames(ctx, orgIDs, deviceIDs); err != nil {
		return nil, err
	}
	if n.clocks, err = s.outageClocks(ctx, outageIDs); err != nil {
		return nil, err
	}
	return n, nil
}

func (s *Store) outageClocks(ctx context.Context, outageIDs []int64) (map[int64]*Clock, error) {
	out := map[int64]*Clock{}
	if len(outageIDs) == 0 {
		return out, nil
	}
	var cs []Clock
	if err := findIn(s.db.WithContext(ctx), outageIDs, &cs, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return q.Where("kind = ? AND ref_id IN ?", ClockEmergencyNotice, chunk)
	}); err != nil {
		return nil, err
	}
	for i := range cs {
		out[cs[i].RefID] = &cs[i]
	}
	return out, nil
}

func (s *Store) orgAndDeviceNames(ctx context.Context, orgIDs, deviceIDs []int64) (map[int64]string, map[int64]string, error) {
	orgs, devices := map[int64]string{}, map[int64]string{}
	db := s.db.WithContext(ctx)
	if len(orgIDs) > 0 {
		var os []Organization
		if err := findIn(db, orgIDs, &os, idAndName); err != nil {
			return nil, nil, err
		}
		for _, o := range os {
			orgs[o.ID] = o.Name
		}
	}
	if len(deviceIDs) > 0 {
		var ds []Device
		if err := findIn(db, deviceIDs, &ds, idAndName); err != nil {
			return nil, nil, err
		}
		for _, d := range ds {
			devices[d.ID] = d.Name
		}
	}
	return orgs, devices, nil
}

// runningFirst orders running clocks before the rest, nearest deadline
// first; others keep their order.
func runningFirst(a, b *Clock) int {
	ar, br := a != nil && a.Outcome == ClockRunning, b != nil && b.Outcome == ClockRunning
	switch {
	case ar && br:
		return a.DeadlineAt.Compare(b.DeadlineAt)
	case ar:
		return -1
	case br:
		return 1
	}
	return 0
}
