package views

import (
	"time"

	"github.com/colo-portal/portal/models"
)

// TodayPageVM is reception's today page: the scanner field, the visitors
// expected today, those inside, and badges still out.
type TodayPageVM struct {
	Board   *models.TodayBoard
	Now     time.Time
	Escorts []models.User // staff who may escort, for the check-in forms
	// Done says what the last action did ("in", "out", "badge",
	// "handed") to Visitor, for the message above the lists.
	Done    string
	Visitor *models.BoardVisitor
	// Errors are why the last action was refused: on "token" for a scan,
	// else on the field of the form of visitor ErrorFor.
	Errors   FormErrors
	ErrorFor int64
	// Standing-list people: those inside now, those found by reception's
	// search (or the one a scan needs an escort for), the entry the
	// last refusal was about, and what the last action did.
	Standing      []models.StandingInsideRow
	StandingFound []models.StandingRow
	StandingQuery string
	StandingFor   string
	StandingDone  *StandingDone
	// StandingBadges are badges standing-list people left with.
	StandingBadges []models.StandingBadgeRow
}

// VisitPassURL is where a visit's visitor pass is downloaded.
func VisitPassURL(ref string) string { return "/visits/" + ref + "/pass.pdf" }

// VisitPageURL is a visit's page.
func VisitPageURL(ref string) string { return "/visits/" + ref }

// escortSelected reports whether escort u is the one the check-in form of
// visitor b starts with: the visit's assigned escort.
func escortSelected(b models.BoardVisitor, u models.User) bool {
	return b.EscortID != nil && *b.EscortID == u.ID
}

// scanFailed reports whether the last scan was refused.
func (vm TodayPageVM) scanFailed() bool { return vm.Errors.Has("token") }

// visitorError is the error of the form of visitor id, "" if none.
func (vm TodayPageVM) formErrors(id int64) FormErrors {
	if vm.ErrorFor != id {
		return nil
	}
	return vm.Errors
}

// BadgeReturnDefault is whether the check-out form ticks "badge returned":
// when the visitor has a badge.
func badgeOut(b models.BoardVisitor) bool { return b.BadgeNumber != "" }
