package views

import (
	"context"
	"time"

	"github.com/colo-portal/portal/models"
)

// ReceptionVM is reception's queue: the visits waiting for a decision,
// emergencies first then by entry, and the day's counts. It is the page
// /reception and the top of reception's home.
type ReceptionVM struct {
	Now      time.Time
	Queue    []models.QueueItem
	Pending  int // pending in all; Queue may hold fewer
	Expected int // visitors of approved visits expected today
	Inside   int // visitors and standing-list people inside now
	Upcoming []models.QueueItem
}

// MoreQueued is how many pending visits the queue does not list.
func (vm ReceptionVM) MoreQueued() int { return max(0, vm.Pending-len(vm.Queue)) }

// ReceptionVisitVM is reception's page of one visit: the visitors with
// their identity numbers and phones (revealed for reception only), and
// the forms to approve or refuse a pending visit.
type ReceptionVisitVM struct {
	Now     time.Time
	D       *models.VisitDetail
	Escorts []models.Escort
	// Form is the form that was posted ("approve" or "refuse"), with
	// its errors and values kept.
	Form       string
	Errors     FormErrors
	EscortID   int64
	From, To   string // datetime-local values of the approval form
	Note       string
	Reason     string
	Busy       *models.EscortBusy // the escort's overlapping visits, to approve anyway
	Suggestion int64              // the escort of an approval the customer's change undid
}

// ErrorsFor returns the errors of the given form, nil for the other one.
func (vm ReceptionVisitVM) ErrorsFor(form string) FormErrors {
	if vm.Form != form {
		return nil
	}
	return vm.Errors
}

// FromNow says how far t is from now: "in 3 h", "5 h ago".
func FromNow(ctx context.Context, t, now time.Time) string {
	if d := t.Sub(now); d < 0 {
		return T(ctx, "reception.ago", Duration(ctx, -d))
	}
	return T(ctx, "reception.in", Duration(ctx, t.Sub(now)))
}

// VisitWindow shows a visit's planned time: the exit without its date
// when it is the same day.
func VisitWindow(ctx context.Context, from, to time.Time) string {
	loc := Req(ctx).Location
	if loc == nil {
		loc = time.UTC
	}
	if from.In(loc).Format(time.DateOnly) == to.In(loc).Format(time.DateOnly) {
		return FormatTime(ctx, from) + " – " + to.In(loc).Format("15:04")
	}
	return FormatTime(ctx, from) + " – " + FormatTime(ctx, to)
}
