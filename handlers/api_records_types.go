package handlers

import (
	"github.com/colo-portal/portal/models"
)

// The API's answers about records (operation requests, visits,
// complaints, monthly statements). APIOperation, APIVisit and APIComplaint
// are built from the stored row alone, so a create can answer with them;
// the ...Detail types add what the record's page shows around it, as the
// page shows it to the reader's role.

// APIOperation is an operation request (work on a customer's equipment).
type APIOperation struct {
	Ref        string  `json:"ref" doc:"The request's reference in URLs."`
	Number     string  `json:"number" doc:"How people quote it: OP-2026-0007."`
	OrgID      int64   `json:"org_id"`
	Title      string  `json:"title"`
	Work       string  `json:"work" doc:"The work asked for."`
	Urgency    string  `json:"urgency" enum:"normal,urgent,emergency"`
	WindowFrom *string `json:"window_from" format:"date-time" doc:"The start of the window the customer asked for; null for any."`
	WindowTo   *string `json:"window_to" format:"date-time"`
	Channel    string  `json:"channel" enum:"portal,phone,email,fax" doc:"How the request came in."`
	State      string  `json:"state" enum:"awaiting_authorization,authorized,in_progress,completed,abandoned"`
	StartedAt  *string `json:"started_at" format:"date-time"`
	EndedAt    *string `json:"ended_at" format:"date-time"`
	WorkDone   string  `json:"work_done" doc:"What was done, once the work is over."`
	Result     *string `json:"result" enum:"success,partial,failed" doc:"The result of finished work; null while open."`
	ResultNote string  `json:"result_note"`
	FollowUp   string  `json:"follow_up" doc:"What the customer should do next."`
	CreatedAt  string  `json:"created_at" format:"date-time"`
	UpdatedAt  string  `json:"updated_at" format:"date-time"`
}

func apiOperation(r *models.OperationRequest) APIOperation {
	out := APIOperation{Ref: r.Ref, Number: r.Number(), OrgID: r.OrgID, Title: r.Title, Work: r.Work, Urgency: r.Urgency,
		WindowFrom: apiTimePtr(r.WindowFrom), WindowTo: apiTimePtr(r.WindowTo), Channel: r.Channel, State: r.State,
		StartedAt: apiTimePtr(r.StartedAt), EndedAt: apiTimePtr(r.EndedAt), WorkDone: r.WorkDone, ResultNote: r.ResultNote,
		FollowUp: r.FollowUp, CreatedAt: apiTime(r.CreatedAt), UpdatedAt: apiTime(r.UpdatedAt)}
	if r.Result != "" {
		out.Result = &r.Result
	}
	return out
}

// APIOperationDetail is an operation request with what its page shows.
type APIOperationDetail struct {
	APIOperation
	RequestedBy *string `json:"requested_by" doc:"The name of the customer user who asked; null when staff raised it for a caller."`
	RaisedBy    string  `json:"raised_by" doc:"The name of whoever typed the request in."`
	Engineer    *string `json:"engineer" doc:"The name of the engineer who did the work."`
	// Notes are the engineer's notes, shown to staff only.
	Notes          *string                  `json:"notes,omitempty" doc:"The engineer's internal notes: staff only, absent for customers."`
	Devices        []APIRecordDevice        `json:"devices"`
	Authorizations []APIAuthorization       `json:"authorizations"`
	Documents      []APIDocument            `json:"documents" doc:"Uploaded files, by name; their contents are on the pages only."`
	Messages       []APIOperationMessage    `json:"messages" doc:"The request's timeline, oldest first."`
	Clocks         []APIRecordClock         `json:"clocks" doc:"The first-feedback clock and the follow-up clocks of phone authorizations."`
	Visits         []APIOperationVisitBrief `json:"visits" doc:"Data-center visits linked to the request."`
}

// APIRecordDevice names a device a record concerns.
type APIRecordDevice struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// APIAuthorization is a contact's permission for an operation request.
type APIAuthorization struct {
	ID           int64   `json:"id"`
	Method       string  `json:"method" enum:"written,phone"`
	ContactName  string  `json:"contact_name"`
	DocumentRef  *string `json:"document_ref" doc:"The signed form's document (see documents), for a written one."`
	Status       string  `json:"status" enum:"pending,accepted,rejected"`
	Note         string  `json:"note"`
	RecordedAt   string  `json:"recorded_at" format:"date-time"`
	RecordedBy   *string `json:"recorded_by" doc:"The name of who recorded it."`
	DecidedAt    *string `json:"decided_at" format:"date-time"`
	DecidedBy    *string `json:"decided_by"`
	RejectReason string  `json:"reject_reason"`
}

// APIDocument is an uploaded file of a request, without its contents.
type APIDocument struct {
	Ref         string `json:"ref"`
	FileName    string `json:"file_name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size" doc:"Bytes."`
	SHA256      string `json:"sha256"`
	CreatedAt   string `json:"created_at" format:"date-time"`
}

// APIOperationMessage is one line of a request's timeline.
type APIOperationMessage struct {
	Kind       string `json:"kind" enum:"message,state,rejected" doc:"A message; a change of state (body is the new state); a signed form rejected (body is the reason)."`
	AuthorName string `json:"author_name"`
	Staff      bool   `json:"staff" doc:"Written by the provider's staff."`
	Body       string `json:"body"`
	CreatedAt  string `json:"created_at" format:"date-time"`
}

// APIOperationVisitBrief is a visit linked to a request.
type APIOperationVisitBrief struct {
	Ref         string `json:"ref"`
	Number      string `json:"number"`
	State       string `json:"state" enum:"pending,approved,refused,cancelled"`
	PlannedFrom string `json:"planned_from" format:"date-time"`
	PlannedTo   string `json:"planned_to" format:"date-time"`
}

// APIRecordClock is a service-level clock of a record (an operation
// request's or a complaint's; an outage's is APIClock).
type APIRecordClock struct {
	Kind       string  `json:"kind" doc:"operation_feedback, phone_followup, complaint_response, …"`
	StartedAt  string  `json:"started_at" format:"date-time"`
	DeadlineAt string  `json:"deadline_at" format:"date-time"`
	StoppedAt  *string `json:"stopped_at" format:"date-time"`
	Outcome    string  `json:"outcome" enum:"running,met,missed"`
}

func apiRecordClock(k *models.Clock) APIRecordClock {
	return APIRecordClock{Kind: k.Kind, StartedAt: apiTime(k.StartedAt), DeadlineAt: apiTime(k.DeadlineAt),
		StoppedAt: apiTimePtr(k.StoppedAt), Outcome: k.Outcome}
}

// APIVisit is a data-center visit.
type APIVisit struct {
	Ref          string  `json:"ref" doc:"The visit's reference in URLs."`
	Number       string  `json:"number" doc:"How people quote it: VR-2026-0001."`
	OrgID        int64   `json:"org_id"`
	SiteID       int64   `json:"site_id"`
	State        string  `json:"state" enum:"pending,approved,refused,cancelled"`
	Emergency    bool    `json:"emergency"`
	Activity     string  `json:"activity" enum:"operation,tour,delivery,removal,other"`
	Reason       string  `json:"reason"`
	PlannedFrom  string  `json:"planned_from" format:"date-time"`
	PlannedTo    string  `json:"planned_to" format:"date-time"`
	DecidedAt    *string `json:"decided_at" format:"date-time"`
	DecisionNote string  `json:"decision_note" doc:"Why the times were adjusted, or why the visit was refused."`
	CancelledAt  *string `json:"cancelled_at" format:"date-time"`
	CreatedAt    string  `json:"created_at" format:"date-time"`
	UpdatedAt    string  `json:"updated_at" format:"date-time"`
}

func apiVisit(v *models.Visit) APIVisit {
	return APIVisit{Ref: v.Ref, Number: v.Number(), OrgID: v.OrgID, SiteID: v.SiteID, State: v.State, Emergency: v.Emergency,
		Activity: v.Activity, Reason: v.Reason, PlannedFrom: apiTime(v.PlannedFrom), PlannedTo: apiTime(v.PlannedTo),
		DecidedAt: apiTimePtr(v.DecidedAt), DecisionNote: v.DecisionNote, CancelledAt: apiTimePtr(v.CancelledAt),
		CreatedAt: apiTime(v.CreatedAt), UpdatedAt: apiTime(v.UpdatedAt)}
}

// APIVisitRow is a visit in a list, with what happened at the door.
type APIVisitRow struct {
	APIVisit
	VisitorCount int     `json:"visitor_count"`
	FirstIn      *string `json:"first_in" format:"date-time" doc:"The first check-in."`
	LastOut      *string `json:"last_out" format:"date-time" doc:"The last check-out once everyone who came in has left."`
	Inside       int     `json:"inside" doc:"Visitors checked in and not yet out."`
}

// APIVisitDetail is a visit with what its page shows. Visitors' identity
// numbers and phones are masked, as on the visit's page, for every role.
type APIVisitDetail struct {
	APIVisit
	Site      APISite          `json:"site"`
	Requester *string          `json:"requester" doc:"The name of the customer user who asked."`
	Escort    *string          `json:"escort" doc:"The name of the staff member escorting the visit, once assigned."`
	Operation *APIRecordBrief  `json:"operation" doc:"The operation request the visit is for, if any."`
	Visitors  []APIVisitor     `json:"visitors"`
	Targets   []APIVisitTarget `json:"targets" doc:"The cabinets and devices the visit may reach."`
	Needs     []APIVisitNeed   `json:"needs"`
}

// APISite is a data-center site.
type APISite struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Address string `json:"address"`
}

// APIRecordBrief names another record by reference and number.
type APIRecordBrief struct {
	Ref    string `json:"ref"`
	Number string `json:"number"`
}

// APIVisitor is a visitor of a visit, with the identity number and phone
// masked (138****5678) and null once purged after the visit.
type APIVisitor struct {
	Name         string  `json:"name"`
	Company      string  `json:"company"`
	IDType       string  `json:"id_type" enum:"resident_id,passport,hk_macao_permit,taiwan_permit,other"`
	IDNumber     *string `json:"id_number" doc:"Masked; null once purged."`
	Phone        *string `json:"phone" doc:"Masked; null once purged."`
	Locale       string  `json:"locale" doc:"The language of the visitor's pass."`
	CheckedInAt  *string `json:"checked_in_at" format:"date-time"`
	CheckedOutAt *string `json:"checked_out_at" format:"date-time"`
	Purged       bool    `json:"purged" doc:"The identity number and phone were deleted after the visit."`
}

// APIVisitTarget is a cabinet or a device a visit may reach.
type APIVisitTarget struct {
	DeviceID   *int64 `json:"device_id"`
	DeviceName string `json:"device_name"`
	Cabinet    string `json:"cabinet"`
}

// APIVisitNeed is coordination a visit asks for.
type APIVisitNeed struct {
	Need string `json:"need" enum:"tools,software,meals,lodging,parking,other"`
	Note string `json:"note"`
}

// APIComplaint is a written complaint.
type APIComplaint struct {
	Ref             string  `json:"ref" doc:"The complaint's reference in URLs."`
	Number          string  `json:"number" doc:"How people quote it: CP-2026-0001."`
	OrgID           int64   `json:"org_id"`
	Category        string  `json:"category" enum:"network,service,support,employee"`
	Subject         string  `json:"subject"`
	Description     string  `json:"description"`
	Channel         string  `json:"channel" enum:"portal,phone,email,letter"`
	ReceivedAt      string  `json:"received_at" format:"date-time"`
	State           string  `json:"state" enum:"open,responded,resolved,closed"`
	FirstResponseAt *string `json:"first_response_at" format:"date-time"`
	ResolvedAt      *string `json:"resolved_at" format:"date-time"`
	Resolution      string  `json:"resolution"`
	ClosedAt        *string `json:"closed_at" format:"date-time"`
	CreatedAt       string  `json:"created_at" format:"date-time"`
	UpdatedAt       string  `json:"updated_at" format:"date-time"`
}

func apiComplaint(c *models.Complaint) APIComplaint {
	return APIComplaint{Ref: c.Ref, Number: c.Number(), OrgID: c.OrgID, Category: c.Category, Subject: c.Subject,
		Description: c.Description, Channel: c.Channel, ReceivedAt: apiTime(c.ReceivedAt), State: c.State,
		FirstResponseAt: apiTimePtr(c.FirstResponseAt), ResolvedAt: apiTimePtr(c.ResolvedAt), Resolution: c.Resolution,
		ClosedAt: apiTimePtr(c.ClosedAt), CreatedAt: apiTime(c.CreatedAt), UpdatedAt: apiTime(c.UpdatedAt)}
}

// APIComplaintDetail is a complaint with its thread as the reader's page
// shows it.
type APIComplaintDetail struct {
	APIComplaint
	NamedUser *string `json:"named_user" doc:"The staff member complained about (category employee)."`
	FiledBy   *string `json:"filed_by" doc:"The name of the customer user who complains."`
	EnteredBy string  `json:"entered_by" doc:"Who typed the complaint in."`
	// Assignee is shown to staff only.
	Assignee      *string               `json:"assignee,omitempty" doc:"Staff only: the name of who handles it; absent while unassigned and for customers."`
	OutageID      *int64                `json:"outage_id"`
	Operation     *APIRecordBrief       `json:"operation"`
	Visit         *APIRecordBrief       `json:"visit"`
	ResponseClock *APIRecordClock       `json:"response_clock" doc:"The 24-hour first-response clock."`
	Thread        []APIComplaintLine    `json:"thread" doc:"Messages, reports and changes of state, oldest first."`
	Files         []APIComplaintFileRef `json:"files" doc:"Attached files by name; their contents are on the pages only."`
}

// APIComplaintLine is one line of a complaint's thread.
type APIComplaintLine struct {
	Kind       string `json:"kind" enum:"message,report,state,resolution" doc:"A state line's body is the new state."`
	AuthorName string `json:"author_name"`
	Staff      bool   `json:"staff"`
	Body       string `json:"body"`
	Found      string `json:"found" doc:"A report's: what was found."`
	Done       string `json:"done" doc:"A report's: what is done."`
	Next       string `json:"next" doc:"A report's: what happens next."`
	CreatedAt  string `json:"created_at" format:"date-time"`
}

// APIComplaintFileRef is an attached file of a complaint, without its
// contents.
type APIComplaintFileRef struct {
	Ref         string  `json:"ref"`
	FileName    string  `json:"file_name"`
	ContentType string  `json:"content_type"`
	Size        int64   `json:"size" doc:"Bytes."`
	UploadedBy  *string `json:"uploaded_by"`
	CreatedAt   string  `json:"created_at" format:"date-time"`
}

// APIMoney is an amount in minor units (fen for CNY, cents for USD) of a
// currency.
type APIMoney struct {
	Amount   int64  `json:"amount" doc:"Minor units: fen, cents."`
	Currency string `json:"currency" enum:"CNY,HKD,USD,EUR"`
}

func apiMoney(ts []models.CurrencyTotal) []APIMoney {
	out := make([]APIMoney, 0, len(ts))
	for _, t := range ts {
		out = append(out, APIMoney{Amount: t.Credit, Currency: t.Currency})
	}
	return out
}

// APIStatementMonth is one organization's statement of one month in a
// list.
type APIStatementMonth struct {
	OrgID     int64      `json:"org_id"`
	Month     string     `json:"month" doc:"YYYY-MM, the provider's calendar."`
	State     string     `json:"state" enum:"running,open,closed" doc:"running: the month has not ended; open: ended, not closed; closed: frozen."`
	Frozen    bool       `json:"frozen" doc:"Closed and stored: the figures no longer change."`
	ClosedAt  *string    `json:"closed_at" format:"date-time"`
	Ref       *string    `json:"ref" doc:"The closed statement's reference."`
	Contracts int        `json:"contracts" doc:"Contracts that ran in the month."`
	Credits   []APIMoney `json:"credits" doc:"The month's credits, one a currency."`
}

// APIStatement is an organization's statement of a month with its lines
// and totals.
type APIStatement struct {
	OrgID      int64                  `json:"org_id"`
	OrgName    string                 `json:"org_name"`
	Month      string                 `json:"month" doc:"YYYY-MM, the provider's calendar."`
	From       string                 `json:"from" format:"date-time"`
	To         string                 `json:"to" format:"date-time"`
	State      string                 `json:"state" enum:"running,open,closed"`
	Frozen     bool                   `json:"frozen" doc:"Closed and stored; else provisional, computed at computed_at."`
	ComputedAt string                 `json:"computed_at" format:"date-time"`
	ClosedAt   *string                `json:"closed_at" format:"date-time"`
	ClosedBy   *string                `json:"closed_by" doc:"The name of who closed the month."`
	Ref        *string                `json:"ref"`
	Contracts  []APIStatementContract `json:"contracts"`
	Clocks     []APIStatementClock    `json:"clocks" doc:"Every clock of the month with what it measured."`
	// Uncovered are missed notices of days no contract ran.
	Uncovered   []APIStatementLine `json:"uncovered" doc:"Missed notices of days no contract ran: nothing to credit."`
	Adjustments []APIStatementLine `json:"adjustments" doc:"Corrections of earlier closed months."`
	Totals      []APIMoney         `json:"totals" doc:"The month's credits, one a currency."`
}

// APIStatementContract is one contract's part of a statement.
type APIStatementContract struct {
	Ref             string             `json:"ref"`
	Number          string             `json:"number"`
	ServiceType     string             `json:"service_type"`
	Currency        string             `json:"currency" enum:"CNY,HKD,USD,EUR"`
	MonthlyFee      int64              `json:"monthly_fee" doc:"Minor units."`
	InstallationFee int64              `json:"installation_fee" doc:"Minor units."`
	From            string             `json:"from" format:"date-time" doc:"The part of the month the contract runs."`
	To              string             `json:"to" format:"date-time"`
	Days            int                `json:"days"`
	MonthDays       int                `json:"month_days"`
	Fee             int64              `json:"fee" doc:"The month's fee for its days, minor units."`
	DayFee          int64              `json:"day_fee" doc:"One day's fee, minor units."`
	Network         APIMeasure         `json:"network"`
	Power           APIMeasure         `json:"power"`
	Lines           []APIStatementLine `json:"lines"`
	Cap             int64              `json:"cap" doc:"The most the contract can be credited for the month, minor units."`
	Capped          int64              `json:"capped" doc:"What the cap took off, minor units."`
	Credit          int64              `json:"credit" doc:"The lines' amounts less capped, minor units."`
}

// APIMeasure is a contract's availability of one kind over its part of
// the month.
type APIMeasure struct {
	PeriodSeconds    int64   `json:"period_seconds"`
	ElapsedSeconds   int64   `json:"elapsed_seconds" doc:"Measured so far; all of the period once the month is over."`
	AllowanceSeconds int64   `json:"allowance_seconds" doc:"0.1 % of the period."`
	DownSeconds      int64   `json:"down_seconds"`
	CountedSeconds   int64   `json:"counted_seconds" doc:"Downtime that counts against the provider."`
	Percent          float64 `json:"percent" doc:"Availability over the elapsed time, %."`
	Met              bool    `json:"met"`
}

// APIStatementLine is a credit line of a statement.
type APIStatementLine struct {
	Kind     string  `json:"kind" enum:"network,power,notice,installation,adjustment"`
	Contract *string `json:"contract" doc:"The contract's number."`
	Amount   int64   `json:"amount" doc:"Minor units."`
	Currency string  `json:"currency" enum:"CNY,HKD,USD,EUR"`
	Day      *string `json:"day" format:"date" doc:"A notice line's calendar day."`
	Outcome  string  `json:"outcome" doc:"A notice line's: charged, waived, already_charged."`
	Reason   string  `json:"reason"`
	Origin   *string `json:"origin" doc:"An adjustment's: the closed month (YYYY-MM) it corrects."`
	Was      *int64  `json:"was" doc:"An adjustment's: that month's credit before, minor units."`
	Now      *int64  `json:"now" doc:"An adjustment's: that month's credit now, minor units."`
}

// APIStatementClock is a clock of the month.
type APIStatementClock struct {
	Kind       string  `json:"kind"`
	Label      string  `json:"label" doc:"How people quote what it measured: OP-…, CP-…, a device's name."`
	Ref        string  `json:"ref" doc:"The record's reference (an outage's ID)."`
	StartedAt  string  `json:"started_at" format:"date-time"`
	DeadlineAt string  `json:"deadline_at" format:"date-time"`
	StoppedAt  *string `json:"stopped_at" format:"date-time"`
	Outcome    string  `json:"outcome"`
}
