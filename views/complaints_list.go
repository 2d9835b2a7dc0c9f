package views

import (
	"context"
	"fmt"
	"time"

	"github.com/colo-portal/portal/models"
)

// ComplaintsPageVM is /complaints: a customer's organization's complaints,
// or the staff queue (open complaints by time left) and the rest.
type ComplaintsPageVM struct {
	Staff bool
	Now   time.Time
	// Queue are the open complaints, the overdue first (staff); Rows the
	// others: every complaint for a customer, the responded and resolved
	// ones (or the state asked for) for staff.
	Queue, Rows []models.ComplaintRow
	Counts      models.ComplaintCounts
	// Filters (staff): their choices and what is picked.
	Orgs      []models.OrgSummary
	Assignees []models.Escort
	Category  string
	OrgID     int64
	State     string
	Assignee  string // a staff user's ID, "none", or ""
	OrgNames  map[int64]string
	Names     map[int64]string // staff names by ID, for assignees
	CanFile   bool             // a customer may file one
	CanRecord bool             // the service desk records one received otherwise
	More      bool             // the lists were cut at their limit
}

// ComplaintQueueCardVM is the head of the queue on the service desk's
// home page.
type ComplaintQueueCardVM struct {
	Now      time.Time
	Queue    []models.ComplaintRow
	Counts   models.ComplaintCounts
	OrgNames map[int64]string
	Names    map[int64]string
}

// ComplaintFiguresPageVM is /complaints/figures: per organization and
// month, from the month From to the month To (both "2006-01").
type ComplaintFiguresPageVM struct {
	From, To string
	Months   []models.ComplaintMonth
	OrgNames map[int64]string
	Error    string // a locale key when the months picked were refused
}

// ComplaintCategoryName translates a complaint's category.
func ComplaintCategoryName(ctx context.Context, c string) string {
	if Req(ctx).T.Has("complaints.category." + c) {
		return T(ctx, "complaints.category."+c)
	}
	return c
}

// ComplaintStateName translates a complaint's state.
func ComplaintStateName(ctx context.Context, s string) string {
	if Req(ctx).T.Has("complaints.state." + s) {
		return T(ctx, "complaints.state."+s)
	}
	return s
}

// complaintMonth names a month of the figures: "2026-10".
func complaintMonth(m time.Time) string { return m.Format("2006-01") }

// complaintMedian shows the median time to a first response, or a dash
// when nothing was answered that month.
func complaintMedian(ctx context.Context, m models.ComplaintMonth) string {
	if m.Responded == 0 {
		return "—"
	}
	return ClockDuration(ctx, m.Median)
}

// assigneeName is who a complaint is assigned to, or "nobody".
func assigneeName(ctx context.Context, names map[int64]string, id *int64) string {
	if id == nil {
		return T(ctx, "complaints.unassigned")
	}
	return staffName(ctx, names, id)
}

// escortLabel is a staff member in a choice: name and role.
func escortLabel(ctx context.Context, e models.Escort) string {
	return fmt.Sprintf("%s (%s)", e.Name, RoleName(ctx, e.Role))
}
