package models

import (
	"cmp"
	"context"
	"slices"
	"time"

	"gorm.io/gorm"
)

// Lists, counts and monthly figures of complaints. Every one reads through
// visibleComplaints: a complaint naming the reader is left out of every
// list, count and figure, as if it did not exist.

// ComplaintFilter narrows a list of complaints; the zero filter is every
// complaint the viewer may see.
type ComplaintFilter struct {
	Category string
	OrgID    int64    // 0: every organization of the scope
	OutageID int64    // 0: whatever outage, or none, they name
	States   []string // empty: every state
	// AssigneeID picks the complaints assigned to one staff member;
	// Unassigned those assigned to nobody.
	AssigneeID int64
	Unassigned bool
	Limit      int // 0: complaintListMax
	Offset     int
	// After resumes ListComplaints (the last received first) after its
	// last row: a keyset page, the complaints received earlier than
	// After's, or at the same time with a lower ID. ComplaintQueue ignores it.
	After *ComplaintKey
}

// ComplaintKey is where a keyset page of complaints ends.
type ComplaintKey struct {
	ReceivedAt time.Time `json:"t"`
	ID         int64     `json:"id"`
}

// complaintListMax bounds a list of complaints.
const complaintListMax = 500

// ComplaintRow is a complaint as lists show it, with its response clock
// (nil only if the clock is missing).
type ComplaintRow struct {
	Complaint
	Clock *Clock
}

// filter applies f to q, a query on the complaints table.
func (f ComplaintFilter) filter(q *gorm.DB) *gorm.DB {
	if f.Category != "" {
		q = q.Where("complaints.category = ?", f.Category)
	}
	if f.OrgID != 0 {
		q = q.Where("complaints.org_id = ?", f.OrgID)
	}
	if f.OutageID != 0 {
		q = q.Where("complaints.outage_id = ?", f.OutageID)
	}
	if len(f.States) > 0 {
		q = q.Where("complaints.state IN ?", f.States)
	}
	switch {
	case f.Unassigned:
		q = q.Where("complaints.assignee_id IS NULL")
	case f.AssigneeID != 0:
		q = q.Where("complaints.assignee_id = ?", f.AssigneeID)
	}
	limit := f.Limit
	if limit <= 0 || limit > complaintListMax {
		limit = complaintListMax
	}
	q = q.Limit(limit)
	if f.Offset > 0 {
		q = q.Offset(f.Offset)
	}
	return q
}

// responseClockJoin joins each complaint to its response clock as k.
const responseClockJoin = "JOIN sla_clocks k ON k.kind = '" + ClockComplaintResponse + "' AND k.ref_id = complaints.id AND k.org_id = complaints.org_id"

// ListComplaints returns the complaints v may see that match f, the last
// received first.
func (s *Store) ListComplaints(ctx context.Context, v Viewer, f ComplaintFilter) ([]ComplaintRow, error) {
	var cs []Complaint
	q := visibleComplaints(s.db.WithContext(ctx).Model(&Complaint{}), v)
	if k := f.After; k != nil {
		at := k.ReceivedAt.UTC()
		q = q.Where("(complaints.received_at < ? OR (complaints.received_at = ? AND complaints.id < ?))", at, at, k.ID)
	}
	if err := f.filter(q).Order("complaints.received_at DESC, complaints.id DESC").Find(&cs).Error; err != nil {
		return nil, wrap(err, "list complaints")
	}
	rows, err := s.withClocks(ctx, cs)
	return rows, wrap(err, "list complaints")
}

// ComplaintQueue returns the service desk's queue: the open complaints
// (no written handling report yet) v may see that match f, by the time
// left on their response clocks, so the overdue come first, the longest
// overdue at the top. f.States is ignored.
func (s *Store) ComplaintQueue(ctx context.Context, v Viewer, f ComplaintFilter) ([]ComplaintRow, error) {
	f.States = []string{ComplaintOpen}
	var cs []Complaint
	q := visibleComplaints(s.db.WithContext(ctx).Model(&Complaint{}), v).Select("complaints.*").Joins(responseClockJoin)
	if err := f.filter(q).Order("k.deadline_at, complaints.id").Find(&cs).Error; err != nil {
		return nil, wrap(err, "complaint queue")
	}
	rows, err := s.withClocks(ctx, cs)
	return rows, wrap(err, "complaint queue")
}

// withClocks pairs each complaint with its response clock.
func (s *Store) withClocks(ctx context.Context, cs []Complaint) ([]ComplaintRow, error) {
	ids := make([]int64, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	var ks []Clock
	err := findIn(s.db.WithContext(ctx), ids, &ks, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return q.Where("kind = ? AND ref_id IN ?", ClockComplaintResponse, chunk)
	})
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]*Clock, len(ks))
	for i := range ks {
		byID[ks[i].RefID] = &ks[i]
	}
	rows := make([]ComplaintRow, len(cs))
	for i, c := range cs {
		rows[i] = ComplaintRow{Complaint: c}
		if k := byID[c.ID]; k != nil && k.OrgID == c.OrgID {
			rows[i].Clock = k
		}
	}
	return rows, nil
}

// ComplaintCounts counts the complaints a viewer may see by state; Overdue
// are the open ones whose 24 hours are over.
type ComplaintCounts struct {
	Open, Overdue, Responded, Resolved, Closed int
}

// Active is how many complaints are not yet closed.
func (c ComplaintCounts) Active() int { return c.Open + c.Responded + c.Resolved }

// CountComplaints counts the complaints v may see that match f (its
// states, limit and offset ignored).
func (s *Store) CountComplaints(ctx context.Context, v Viewer, f ComplaintFilter) (ComplaintCounts, error) {
	f.States, f.Limit, f.Offset = nil, complaintListMax, 0
	var out ComplaintCounts
	var byState []struct {
		State string
		N     int
	}
	q := visibleComplaints(s.db.WithContext(ctx).Model(&Complaint{}), v)
	q = f.filter(q).Limit(-1).Select("complaints.state AS state, COUNT(*) AS n").Group("complaints.state")
	if err := q.Scan(&byState).Error; err != nil {
		return out, wrap(err, "count complaints")
	}
	for _, r := range byState {
		switch r.State {
		case ComplaintOpen:
			out.Open = r.N
		case ComplaintResponded:
			out.Responded = r.N
		case ComplaintResolved:
			out.Resolved = r.N
		case ComplaintClosed:
			out.Closed = r.N
		}
	}
	var overdue int64
	q = visibleComplaints(s.db.WithContext(ctx).Model(&Complaint{}), v).Joins(responseClockJoin)
	f.States = []string{ComplaintOpen}
	q = f.filter(q).Limit(-1).Where("k.deadline_at < ?", s.now().UTC())
	if err := q.Count(&overdue).Error; err != nil {
		return out, wrap(err, "count complaints")
	}
	out.Overdue = int(overdue)
	return out, nil
}

// ComplaintMonth is one organization's complaints of one month, the
// month a complaint was received in the provider's time zone.
type ComplaintMonth struct {
	OrgID int64
	Month time.Time // midnight of the first of the month, in the store's zone
	// Received counts the complaints received in the month. Met and
	// Missed count their first responses: met within 24 hours, or missed
	// (answered late, or still unanswered after the 24 hours); the rest
	// are still within their 24 hours.
	Received, Met, Missed int
	// Responded counts the complaints with a first response, over which
	// Median is taken: the median time from receipt to the first written
	// response, in whole seconds. Each time is cut to the whole second;
	// of an even count, the median is the mean of the two middle times
	// rounded down to the second. 0 when Responded is 0.
	Responded int
	Median    time.Duration
}

// ComplaintFigures returns, per organization and month, the figures of
// the complaints v may see received from from to to: months ascending,
// then organizations by ID. Months without complaints are left out.
func (s *Store) ComplaintFigures(ctx context.Context, v Viewer, from, to time.Time) ([]ComplaintMonth, error) {
	from, to = from.UTC(), to.UTC()
	now := s.now()
	var rows []struct {
		OrgID           int64
		ReceivedAt      time.Time
		FirstResponseAt *time.Time
		Outcome         *string
		DeadlineAt      *time.Time
	}
	q := visibleComplaints(s.db.WithContext(ctx).Model(&Complaint{}), v).
		Select("complaints.org_id, complaints.received_at, complaints.first_response_at, k.outcome, k.deadline_at").
		Joins("LEFT "+responseClockJoin).
		Where("complaints.received_at >= ? AND complaints.received_at < ?", from, to)
	if err := q.Scan(&rows).Error; err != nil {
		return nil, wrap(err, "complaint figures")
	}
	type key struct {
		month time.Time
		org   int64
	}
	months := map[key]*ComplaintMonth{}
	took := map[key][]time.Duration{}
	for _, r := range rows {
		t := r.ReceivedAt.In(s.zone)
		k := key{time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, s.zone), r.OrgID}
		m := months[k]
		if m == nil {
			m = &ComplaintMonth{OrgID: r.OrgID, Month: k.month}
			months[k] = m
		}
		m.Received++
		switch {
		case r.Outcome == nil:
		case *r.Outcome == ClockMet:
			m.Met++
		case *r.Outcome == ClockMissed, *r.Outcome == ClockRunning && r.DeadlineAt != nil && now.After(*r.DeadlineAt):
			m.Missed++
		}
		if r.FirstResponseAt != nil {
			m.Responded++
			took[k] = append(took[k], r.FirstResponseAt.Sub(r.ReceivedAt).Truncate(time.Second))
		}
	}
	out := make([]ComplaintMonth, 0, len(months))
	for k, m := range months {
		m.Median = medianSeconds(took[k])
		out = append(out, *m)
	}
	slices.SortFunc(out, func(a, b ComplaintMonth) int {
		if c := a.Month.Compare(b.Month); c != 0 {
			return c
		}
		return cmp.Compare(a.OrgID, b.OrgID)
	})
	return out, nil
}

// medianSeconds is the median of ds, each already whole seconds: the
// middle one, or of an even count the mean of the two middle ones rounded
// down to the second. 0 for none.
func medianSeconds(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	n := len(ds)
	if n%2 == 1 {
		return ds[n/2]
	}
	sum := int64((ds[n/2-1] + ds[n/2]) / time.Second)
	half := sum / 2
	if sum < 0 && sum%2 != 0 {
		half-- // rounded down, for a response recorded before receipt
	}
	return time.Duration(half) * time.Second
}
