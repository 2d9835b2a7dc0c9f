package views

import (
	"context"
	"time"

	"github.com/colo-portal/portal/models"
)

// MaintenanceURL is the page of a maintenance window.
func MaintenanceURL(ref string) string { return "/maintenance/" + ref }

// MaintenanceListVM is /maintenance: staff see every window (CanAnnounce:
// engineers and admins announce), a customer the windows touching its
// organization with its answer.
type MaintenanceListVM struct {
	Staff       bool
	CanAnnounce bool
	Upcoming    []models.MaintenanceRow
	Past        []models.MaintenanceRow
	// MorePast is set when more ended windows exist than are listed.
	MorePast bool
	Now      time.Time
}

// MaintenanceFormVM is the announcement form with what was typed.
type MaintenanceFormVM struct {
	Title, Body      string
	StartsAt, EndsAt string // datetime-local values in the portal's zone
	Targets          string
	Errors           FormErrors
	// Orgs are the organizations whose slugs the targets name.
	Orgs []models.OrgSummary
}

// MaintenancePageVM is one window's page. A customer (Customer) sees what
// the window touches of its own organization (OrgID) and answers while it
// has not started; staff see every organization's part and answer, and
// engineers and admins may cancel it before it starts (CanCancel).
type MaintenancePageVM struct {
	D         *models.MaintenanceDetail
	Now       time.Time
	Staff     bool
	Customer  bool
	OrgID     int64
	CanCancel bool
	// The form that failed (Form "answer" or "cancel"), what was typed
	// and what is wrong.
	Form         string
	Answer, Note string
	Reason       string
	Errors       FormErrors
}

// Own is the reader's organization's part of the window (customers).
func (vm MaintenancePageVM) Own() *models.MaintenanceOrg {
	if !vm.Customer {
		return nil
	}
	return vm.D.Own(vm.OrgID)
}

// answerValue is the answer the form shows chosen: what was typed, else
// the organization's answer.
func (vm MaintenancePageVM) answerValue() string {
	if vm.Form == "answer" {
		return vm.Answer
	}
	if o := vm.Own(); o != nil {
		return o.Answered()
	}
	return ""
}

// noteValue is the note the form shows.
func (vm MaintenancePageVM) noteValue() string {
	if vm.Form == "answer" {
		return vm.Note
	}
	if o := vm.Own(); o != nil && o.Answer != nil {
		return o.Answer.Note
	}
	return ""
}

// MaintenanceStateName names a window's state.
func MaintenanceStateName(ctx context.Context, state string) string {
	return T(ctx, "maintenance.state."+state)
}

// maintenanceStateClass is the badge colour of a state.
func maintenanceStateClass(state string) string {
	switch state {
	case models.MaintenanceInProgress:
		return "warn"
	case models.MaintenanceCancelled, models.MaintenanceEnded:
		return "state"
	}
	return "ok"
}

// MaintenanceAnswerName names an organization's answer ("" for none).
func MaintenanceAnswerName(ctx context.Context, answer string) string {
	if answer == "" {
		return T(ctx, "maintenance.answer.none")
	}
	return T(ctx, "maintenance.answer."+answer)
}

// maintenanceAnswerClass is the badge colour of an answer.
func maintenanceAnswerClass(answer string) string {
	switch answer {
	case models.MaintenanceAgreed:
		return "ok"
	case models.MaintenanceDeclined:
		return "bad"
	}
	return "warn"
}

// maintenanceWhen is a window's time: "2026-11-03 02:00 – 04:00".
func maintenanceWhen(ctx context.Context, w models.MaintenanceWindow) string {
	return FormatTime(ctx, w.StartsAt) + " – " + FormatTime(ctx, w.EndsAt)
}
