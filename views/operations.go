package views

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/colo-portal/portal/models"
)

// OperationsPageVM is the list of operation requests.
type OperationsPageVM struct {
	Requests []models.OperationRequest
	Orgs     map[int64]string         // organization names, for staff
	Clocks   map[int64]*models.Clock  // feedback clock per request
	Overdue  map[int64][]models.Clock // overdue written follow-ups per request
	Staff    bool
	All      bool // staff: finished requests too
	Now      time.Time
}

// RequestFormVM is the form to raise a request, by a customer or by staff
// for a customer.
type RequestFormVM struct {
	Org        *models.Organization
	Devices    []models.Device
	Users      []models.User // staff: the customer's users, to name the requester
	Staff      bool
	Title      string
	Work       string
	Urgency    string
	Channel    string
	Selected   map[int64]bool
	WindowFrom string
	WindowTo   string
	Requester  int64
	Errors     FormErrors
}

// Action is where the form posts.
func (vm RequestFormVM) Action() string {
	if vm.Staff {
		return fmt.Sprintf("/orgs/%d/operations", vm.Org.ID)
	}
	return "/operations"
}

// OperationPageVM is one request with everything around it.
type OperationPageVM struct {
	D          *models.RequestDetail
	Staff      bool
	CanOperate bool // engineers: authorizations, state, classification
	CanMessage bool
	Outages    []models.Outage
	Splits     map[int64][]models.OutageSegment // each outage split by its cause spans
	Now        time.Time
	FollowUp   time.Duration
	MaxUpload  int64
	// Forms that came back with errors keep what was typed.
	Errors    FormErrors
	Form      string // which form the errors belong to
	Message   string
	PhoneNote string
	PhoneWho  int64
	// PhoneDropped: a passphrase was typed into a form that came back; it
	// is never sent back, so the page asks for it again.
	PhoneDropped bool
	UploadWho    int64
	State        models.StateInput
	StartedAt    string
	EndedAt      string
	RejectID     int64
	RejectValue  string
	// Provider is who the signed form goes back to, and how.
	Provider models.Provider
	// Visits are the data-center visits linked to the request.
	Visits []models.VisitRow
}

// CanReturn reports whether the customer is asked for the signed form
// here: while the request waits for its authorization, or while a phone
// authorization waits for its written form.
func (vm OperationPageVM) CanReturn() bool {
	return !vm.Staff && (vm.D.Request.State == models.OpAwaiting || vm.D.AwaitsWrittenForm())
}

// ErrorsFor returns the errors of form, or none.
func (vm OperationPageVM) ErrorsFor(form string) FormErrors {
	if vm.Form == form {
		return vm.Errors
	}
	return nil
}

// Base is the request's URL.
func (vm OperationPageVM) Base() string { return OperationURL(vm.D.Request.Ref) }

// OperationURL is the page of the request with reference ref (its URLs
// never carry the global ID: docs/agreement.md, record numbers).
func OperationURL(ref string) string { return "/operations/" + ref }

// ClassifyURL is the page that attributes part of outage outageID to the
// operation of request ref.
func ClassifyURL(ref string, outageID int64) string {
	return OperationURL(ref) + Path("/outages/", outageID) + "/classify"
}

// CanFile reports whether engineers may file a written authorization: on
// an open request, or on a finished one whose phone authorization still
// waits for its signed form.
func (vm OperationPageVM) CanFile() bool {
	return vm.CanOperate && (vm.D.Request.Open() || vm.D.AwaitsWrittenForm())
}

// inline lists, per form, the fields whose errors the form shows next to
// them, when the form is on the page.
func (vm OperationPageVM) inline() map[string]bool {
	shown := map[string]bool{}
	switch {
	case vm.Form == "upload" && (vm.CanFile() || vm.CanReturn()):
		shown["contact"], shown["file"] = true, true
	case vm.Form == "phone" && vm.CanOperate && vm.D.Request.Open():
		shown["contact"], shown["passphrase"], shown["note"] = true, true, true
	case vm.Form == "message" && vm.CanMessage:
		shown["body"] = true
	case vm.Form == "state" && vm.CanOperate && len(models.NextStates(vm.D.Request.State)) > 0:
		for _, f := range []string{"state", "started_at", "ended_at", "work_done", "result"} {
			shown[f] = true
		}
	case vm.Form == "reject":
		shown["reason"] = true
	}
	return shown
}

// Stray lists the fields with an error that no form on the page shows
// (the request was finished meanwhile, say): the page shows them on top.
func (vm OperationPageVM) Stray() []string {
	shown := vm.inline()
	var out []string
	for f := range vm.Errors {
		if !shown[f] {
			out = append(out, f)
		}
	}
	return out
}

// Finished reports whether the report can be downloaded.
func (vm OperationPageVM) Finished() bool { return !vm.D.Request.Open() }

// FeedbackClock returns the request's first-feedback clock, or nil.
func (vm OperationPageVM) FeedbackClock() *models.Clock {
	for i := range vm.D.Clocks {
		if vm.D.Clocks[i].Kind == models.ClockOperationFeedback {
			return &vm.D.Clocks[i]
		}
	}
	return nil
}

// FollowUpClock returns the written follow-up clock of phone authorization id.
func (vm OperationPageVM) FollowUpClock(id int64) *models.Clock {
	for i := range vm.D.Clocks {
		if c := &vm.D.Clocks[i]; c.Kind == models.ClockPhoneFollowUp && c.RefID == id {
			return c
		}
	}
	return nil
}

// OpStateName translates a request's state.
func OpStateName(ctx context.Context, s string) string { return T(ctx, "operation.state."+s) }

// OpStateClass is the badge class of a request's state.
func OpStateClass(s string) string {
	switch s {
	case models.OpAwaiting:
		return "warn"
	case models.OpAuthorized, models.OpInProgress:
		return "info"
	case models.OpCompleted:
		return "ok"
	}
	return "muted"
}

// UrgencyName translates an urgency.
func UrgencyName(ctx context.Context, u string) string { return T(ctx, "operation.urgency."+u) }

// ResultName translates a result.
func ResultName(ctx context.Context, r string) string {
	if r == "" {
		return "—"
	}
	return T(ctx, "operation.result."+r)
}

// AuthMethodName translates how an authorization was given.
func AuthMethodName(ctx context.Context, m string) string { return T(ctx, "operation.auth.method."+m) }

// AuthStatusName translates an authorization's status.
func AuthStatusName(ctx context.Context, s string) string { return T(ctx, "operation.auth.status."+s) }

// AuthStatusClass is the badge class of an authorization's status.
func AuthStatusClass(s string) string {
	switch s {
	case models.AuthAccepted:
		return "ok"
	case models.AuthRejected:
		return "bad"
	}
	return "warn"
}

// ChannelOfRequest translates how a request came in.
func ChannelOfRequest(ctx context.Context, c string) string { return T(ctx, "operation.channel."+c) }

// ChannelOption is ChannelOfRequest as a choice of a list, capitalized
// ("Phone"; the sentence form stays "via phone").
func ChannelOption(ctx context.Context, c string) string {
	s := ChannelOfRequest(ctx, c)
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// FileSize shows a size for people.
func FileSize(n int64) string {
	switch {
	case n >= 1<<20:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/(1<<20)), ".0") + " MB"
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// ShortHash is the first characters of a hex digest, for tables.
func ShortHash(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}

func rejectValue(vm OperationPageVM, id int64) string {
	if vm.RejectID == id {
		return vm.RejectValue
	}
	return ""
}

// TimelineText is what a timeline line says, in t's language; the web page
// and the report both use it.
func TimelineText(t func(string, ...any) string, m models.OperationMessage) string {
	switch m.Kind {
	case models.MessageState:
		return t("operation.state_changed", t("operation.state."+m.Body))
	case models.MessageRejected:
		return t("operation.auth.rejected_note", m.Body)
	}
	return m.Body
}
