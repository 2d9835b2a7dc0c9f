package views

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/colo-portal/portal/models"
)

// The monthly statements (docs/agreement.md, "The monthly statement"):
// an organization's list of months, the provider's view of one month
// across organizations, and one statement with every line's evidence.

// Money shows amount minor units of currency ("¥12,345.67"): the one
// formatter of money on pages and documents.
func Money(amount int64, currency string) string { return models.FormatMoney(amount, currency) }

// MinutesExact shows a duration in minutes with two decimals: an
// allowance of 44.64 minutes is shown as such, not rounded to 44.6.
func MinutesExact(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Minute), 'f', 2, 64)
}

// StatementURL is the page of orgID's statement of month.
func StatementURL(orgID int64, month string) string { return Path("/statements/", orgID, "/", month) }

// StatementPDFURL is the PDF of orgID's statement of month in lang.
func StatementPDFURL(orgID int64, month, lang string) string {
	return StatementURL(orgID, month) + "/statement.pdf?lang=" + lang
}

// LedgerURL is the provider's view of month.
func LedgerURL(month string) string { return "/statements?month=" + month }

// PowerURL is a power incident's page.
func PowerURL(ref string) string { return "/power/" + ref }

// EvidenceURL is the page of a record behind a measure: an outage or a
// power incident.
func EvidenceURL(e models.Evidence) string {
	if e.Kind == "power" {
		return PowerURL(e.Ref)
	}
	return Path("/outages/", e.ID)
}

// ClockURL is the page of what a clock of a statement measured: the
// outage of an emergency notice, the operation request of a first
// feedback or a phone follow-up, the complaint, the contract of an
// installation. "" when the record is not known.
func ClockURL(c models.StatementClock) string {
	if c.Ref == "" {
		return ""
	}
	switch c.Kind {
	case models.ClockEmergencyNotice:
		return "/outages/" + c.Ref
	case models.ClockOperationFeedback, models.ClockPhoneFollowUp:
		return OperationURL(c.Ref)
	case models.ClockComplaintResponse:
		return ComplaintURL(c.Ref)
	case models.ClockInstallation:
		return ContractURL(c.Ref)
	}
	return ""
}

// ClockLabel is how a statement's clock names what it measured: a
// device's name for a notice, the number of the request, complaint or
// contract.
func ClockLabel(c models.StatementClock) string {
	if c.Label != "" {
		return c.Label
	}
	if c.Ref != "" {
		return c.Ref
	}
	return "—"
}

// LineURL is the page of what produced a credit line of orgID's
// statement: the outage of a missed notice, the contract of a late
// installation, the measure above for an availability line (anchor
// within the page), the closed month an adjustment corrects.
func LineURL(orgID int64, l models.CreditLine) string {
	switch l.EvidenceKind {
	case "outage":
		return Path("/outages/", l.EvidenceID)
	case "installation":
		return ContractURL(l.EvidenceRef)
	case "statement":
		return StatementURL(orgID, l.EvidenceRef)
	case "measure":
		return "#" + MeasureAnchor(l.ContractID, l.Kind)
	}
	return ""
}

// MeasureAnchor is the ID of a contract's measure of kind (network,
// power) on the statement's page.
func MeasureAnchor(contractID int64, kind string) string {
	return Path("contract-", contractID, "-", kind)
}

// ClockKindName names a clock's kind.
func ClockKindName(ctx context.Context, kind string) string { return T(ctx, "clock.kind."+kind) }

// ExcludedName names why excluded downtime does not count: an outage
// cause, or a power incident the UPS held.
func ExcludedName(ctx context.Context, cause string) string {
	if cause == models.ExcludedUPSHeld {
		return T(ctx, "statements.ups_held")
	}
	return CauseName(ctx, models.Cause(cause))
}

// LineKindName names a kind of credit line.
func LineKindName(ctx context.Context, kind string) string { return T(ctx, "statements.line."+kind) }

// NoticeLineText says what a missed notice's line costs and why, with
// the existing wording of the outage page: one day's fee, a waiver and
// its reason, or a day already charged.
func NoticeLineText(ctx context.Context, l models.CreditLine) string {
	switch l.Outcome {
	case models.OutcomeWaived:
		return T(ctx, "clock.waived", WaiverName(ctx, l.Reason))
	case models.OutcomeCharged:
		return T(ctx, "clock.deducted", l.Day)
	}
	return T(ctx, "clock.not_first", l.Day)
}

// StatementStateName names the state of a month's statement.
func StatementStateName(ctx context.Context, state string) string {
	return T(ctx, "statements.state."+state)
}

// StatementStateClass is the badge class of a statement's state.
func StatementStateClass(state string) string {
	switch state {
	case models.StatementClosed:
		return "ok"
	case models.StatementOpen:
		return "warn"
	}
	return ""
}

// ClockOutcomeClass is the badge class of a clock's outcome.
func ClockOutcomeClass(outcome string) string {
	switch outcome {
	case models.ClockMet:
		return "ok"
	case models.ClockMissed:
		return "bad"
	}
	return "warn"
}

// MeasureLeft is what is left of a measure's allowance, or "" when the
// counted downtime went over it (MeasureOver says by how much).
func MeasureLeft(m models.Measure) string {
	if m.Counted > m.Allowance {
		return ""
	}
	return MinutesExact(m.Allowance - m.Counted)
}

// MeasureOver is how far the counted downtime went over the allowance.
func MeasureOver(m models.Measure) string { return MinutesExact(m.Counted - m.Allowance) }

// MeasureUsed is the share of the allowance counted downtime used, in
// percent for a meter (at most 100).
func MeasureUsed(m models.Measure) string {
	if m.Allowance <= 0 {
		if m.Counted > 0 {
			return "100"
		}
		return "0"
	}
	return strconv.Itoa(int(min(100, 100*float64(m.Counted)/float64(m.Allowance))))
}

// MonthPercent shows a provider row's lowest availability, "—" for an
// organization with no contract in the month.
func MonthPercent(p float64, contracts int) string {
	if contracts == 0 {
		return "—"
	}
	return Percent(p)
}

// StatementsPageVM is an organization's list of monthly statements: the
// customer's own, or one organization's for staff (?org=).
type StatementsPageVM struct {
	OrgID   int64
	OrgName string
	Staff   bool
	Months  []models.StatementMonth
}

// LedgerRow is one organization's month in the provider's view.
type LedgerRow struct {
	models.ProviderRow
	State string
}

// LedgerPageVM is the provider's view of one month across organizations.
type LedgerPageVM struct {
	Month      string
	Prev, Next string // "" when there is none to show
	Rows       []LedgerRow
	Totals     []models.CurrencyTotal
	Open       int  // statements of the month ended and not closed
	Ended      bool // the month is over
	CanClose   bool
}

// StatementPageVM is one statement.
type StatementPageVM struct {
	St       *models.Statement
	State    string
	Staff    bool
	CanClose bool
	Errors   FormErrors
}

// StatementContracts lists the contracts a statement shows: those that
// ran in the month, and any other with a line (an installation due in
// it).
func StatementContracts(st *models.Statement) []models.ContractMonth {
	var out []models.ContractMonth
	for _, cm := range st.Contracts {
		if cm.Days > 0 || len(cm.Lines) > 0 {
			out = append(out, cm)
		}
	}
	return out
}

// ClosedBy names who closed a statement, "—" when not known.
func ClosedBy(st *models.Statement) string {
	if st.ClosedByName != "" {
		return st.ClosedByName
	}
	return "—"
}

// statementZone is the provider's zone a statement was computed in.
func statementZone(st *models.Statement) *time.Location {
	if loc, err := time.LoadLocation(st.Zone); err == nil && st.Zone != "" {
		return loc
	}
	return time.UTC
}

// PeriodText is the calendar days of the month a contract ran:
// "2026-11-01 – 2026-11-30".
func PeriodText(st *models.Statement, cm models.ContractMonth) string {
	if cm.Days == 0 {
		return "—"
	}
	loc := statementZone(st)
	return cm.From.In(loc).Format(time.DateOnly) + " – " + cm.To.Add(-time.Nanosecond).In(loc).Format(time.DateOnly)
}

// LineDetail says why a credit line of contract cm is there: the
// availability that fell below 99.9 %, the missed notice's outcome, the
// late installation.
func LineDetail(ctx context.Context, cm models.ContractMonth, l models.CreditLine) string {
	switch l.Kind {
	case models.LineNetwork:
		return T(ctx, "statements.line_measure_detail", Percent(cm.Network.Percent), MinutesExact(cm.Network.Counted), MinutesExact(cm.Network.Allowance))
	case models.LinePower:
		return T(ctx, "statements.line_measure_detail", Percent(cm.Power.Percent), MinutesExact(cm.Power.Counted), MinutesExact(cm.Power.Allowance))
	case models.LineNotice:
		return NoticeLineText(ctx, l)
	case models.LineInstallation:
		return T(ctx, "statements.line_installation_detail")
	}
	return ""
}

// LineEvidence names what LineURL links a line to.
func LineEvidence(ctx context.Context, cm models.ContractMonth, l models.CreditLine) string {
	switch l.EvidenceKind {
	case "outage":
		return T(ctx, "statements.outage_n", l.EvidenceID)
	case "installation":
		return T(ctx, "statements.installation_of", cm.Number)
	case "measure":
		return T(ctx, "statements.see_measure")
	}
	return ""
}

// EvidenceName names a record behind a measure: an outage with its
// device, a power incident by its number.
func EvidenceName(ctx context.Context, e models.Evidence) string {
	if e.Kind == "power" {
		if e.Label != "" {
			return T(ctx, "statements.power_incident", e.Label)
		}
		return T(ctx, "statements.power_incident", e.Ref)
	}
	return T(ctx, "statements.outage_device", e.ID, e.Label)
}

// CauseList names causes, comma-separated.
func CauseList(ctx context.Context, causes []string) string {
	names := make([]string, len(causes))
	for i, c := range causes {
		names[i] = ExcludedName(ctx, c)
	}
	return strings.Join(names, T(ctx, "statements.list_sep"))
}
