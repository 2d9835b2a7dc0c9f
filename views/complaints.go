package views

import (
	"context"
	"time"

	"github.com/colo-portal/portal/models"
)

// ComplaintURL is a complaint's page.
func ComplaintURL(ref string) string { return "/complaints/" + ref }

// ComplaintFormVM is the complaint form: a customer's own, or the service
// desk recording one received by phone, email or letter (Desk).
type ComplaintFormVM struct {
	Desk bool
	// Choices.
	Staff     []models.Escort          // whom a complaint may name
	Customers []models.User            // desk: the customer users who may complain
	OrgNames  map[int64]string         // desk: their organizations
	Choices   *models.ComplaintChoices // customer: its outages, requests, visits
	MaxUpload int64
	// What was entered.
	Category    string
	NamedUser   int64
	Subject     string
	Description string
	Outage      int64
	Operation   string
	Visit       string
	Channel     string
	ReceivedAt  string
	FiledBy     int64
	Errors      FormErrors
}

// DeskChannels are the ways a complaint reaches the service desk other
// than the portal.
var DeskChannels = []string{"phone", "email", "letter"}

// ComplaintPageVM is one complaint with its thread and what the reader
// may do.
type ComplaintPageVM struct {
	D         *models.ComplaintDetail
	Now       time.Time
	Staff     bool
	Customer  bool // the complaining organization's user
	Desk      bool // service desk or admin: report, resolve, assign
	Assignees []models.Escort
	MaxUpload int64
	// A form that came back keeps what was typed.
	Errors   FormErrors
	Form     string
	Body     string
	Report   models.ReportInput
	Summary  string
	Reason   string
	Assignee int64
}

// Base is the complaint's page.
func (vm ComplaintPageVM) Base() string { return ComplaintURL(vm.D.Complaint.Ref) }

// ErrorsFor are the errors of form f.
func (vm ComplaintPageVM) ErrorsFor(f string) FormErrors {
	if vm.Form == f {
		return vm.Errors
	}
	return nil
}

// Open: something may still be written on the complaint.
func (vm ComplaintPageVM) Open() bool { return vm.D.Complaint.State != models.ComplaintClosed }

// CanWrite: the reader may write a message or attach a file.
func (vm ComplaintPageVM) CanWrite() bool { return vm.Open() && (vm.Customer || vm.Desk) }

// CanResolve: the desk may resolve a responded complaint.
func (vm ComplaintPageVM) CanResolve() bool {
	return vm.Desk && vm.D.Complaint.State == models.ComplaintResponded
}

// CanConfirm: the customer may confirm a resolution, or reopen it.
func (vm ComplaintPageVM) CanConfirm() bool {
	return vm.Customer && vm.D.Complaint.State == models.ComplaintResolved
}

// CanReopen: within ReopenWithin of the resolution.
func (vm ComplaintPageVM) CanReopen() bool {
	return vm.Customer && models.CanReopen(vm.D.Complaint, vm.Now)
}

// ReopenUntil is the last moment of reopening.
func (vm ComplaintPageVM) ReopenUntil() time.Time {
	if r := vm.D.Complaint.ResolvedAt; r != nil {
		return r.Add(models.ReopenWithin)
	}
	return time.Time{}
}

// Files are the complaint's attached files.
func (vm ComplaintPageVM) Files() []models.ComplaintFile { return vm.D.Files }

// ComplaintStateClass is the badge class of a complaint state.
func ComplaintStateClass(s string) string {
	switch s {
	case models.ComplaintOpen:
		return "warn"
	case models.ComplaintResponded:
		return "state"
	case models.ComplaintResolved, models.ComplaintClosed:
		return "ok"
	}
	return ""
}

// EscortLabel names a staff member with their role: "Li Engineer (Engineer)".
func EscortLabel(ctx context.Context, e models.Escort) string {
	return e.Name + " (" + RoleName(ctx, e.Role) + ")"
}

func (vm ComplaintFormVM) orgOf(u models.User) string {
	if u.OrgID == nil {
		return ""
	}
	return vm.OrgNames[*u.OrgID]
}

func (vm ComplaintPageVM) selectedAssignee(id int64) bool {
	if vm.Form == "assign" {
		return vm.Assignee == id
	}
	a := vm.D.Complaint.AssigneeID
	return a != nil && *a == id
}
