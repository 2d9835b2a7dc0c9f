package models

import (
	"time"
)

// The SLA ledger (docs/agreement.md §1–§3, §11): what the customer pays
// for, the records that decide what it gets back, and the monthly
// statement that settles it. Money is kept in integer minor units (fen
// for CNY), never in floats; every division says how it rounds.

// Kinds of numbered ledger records (numberPrefixes). Power incidents and
// maintenance windows belong to the provider, numbered under
// organization 0.
const (
	NumberContract      = "contract"
	NumberPowerIncident = "power"
	NumberMaintenance   = "maintenance"
)

// ClockInstallation is the clock of an installation order (agreement §3):
// it starts at the contract's signing and is due at the end of the third
// working day after it.
const ClockInstallation = "installation"

// Renewal states of a contract.
const (
	RenewalAuto    = "auto"    // renews for another year unless ended
	RenewalPending = "pending" // renewal under discussion
	RenewalEnds    = "ends"    // ends on its end date
	RenewalRenewed = "renewed" // a following contract was signed
)

// Renewals lists the renewal states in form order.
var Renewals = []string{RenewalAuto, RenewalPending, RenewalEnds, RenewalRenewed}

// DefaultCurrency is the currency of a contract that names none.
const DefaultCurrency = "CNY"

// Contract is a service contract of an organization: one of the three
// services (ServiceTypes) over the devices and cabinets it covers, with
// its fees in minor units. Dates are calendar days in the provider's zone;
// EndsOn is the last day covered.
type Contract struct {
	ID              int64
	OrgID           int64
	NumberYear      int
	NumberSeq       int
	Ref             string
	ServiceType     string
	MonthlyFee      int64 // minor units
	InstallationFee int64 // minor units
	Currency        string
	PowerWatts      int64  // the contracted power; 0 when the contract states none
	SignedOn        string // 2006-01-02
	StartsOn        string
	EndsOn          string // inclusive
	Renewal         string
	Notes           string
	CreatedBy       *int64
	Expiry60SentAt  *time.Time `gorm:"column:expiry60_sent_at"`
	Expiry30SentAt  *time.Time `gorm:"column:expiry30_sent_at"`
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

func (Contract) TableName() string { return "contracts" }

// Number is how people quote the contract (CT-2026-0001).
func (c *Contract) Number() string { return FormatNumber(NumberContract, c.NumberYear, c.NumberSeq) }

// ContractTarget is one device, or one cabinet (every device of the
// organization in it), a contract covers.
type ContractTarget struct {
	ID         int64
	ContractID int64
	OrgID      int64
	DeviceID   *int64
	Cabinet    string
}

func (ContractTarget) TableName() string { return "contract_targets" }

// InstallationOrder is the initial installation a signed contract is owed
// (agreement §3), with its clock (ClockInstallation, RefID = the order).
type InstallationOrder struct {
	ID          int64
	OrgID       int64
	ContractID  int64
	SignedAt    time.Time
	DueAt       time.Time
	CompletedAt *time.Time
	CompletedBy *int64
	Note        string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (InstallationOrder) TableName() string { return "installation_orders" }

// Late reports whether the installation was, or is by now, past its due.
func (o *InstallationOrder) Late(now time.Time) bool {
	if o.CompletedAt != nil {
		return o.CompletedAt.After(o.DueAt)
	}
	return now.After(o.DueAt)
}

// PowerIncident is an interruption of power recorded by staff (agreement
// §2). Only an incident with mains and UPS both down interrupts the
// customers' power; a force-majeure one (a public power cut) does not
// count against the provider. A nil EndedAt is still going on.
type PowerIncident struct {
	ID           int64
	NumberYear   int
	NumberSeq    int
	Ref          string
	StartedAt    time.Time
	EndedAt      *time.Time
	BothDown     bool
	Cause        string
	ForceMajeure bool
	Note         string
	CreatedBy    *int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

func (PowerIncident) TableName() string { return "power_incidents" }

// Number is how people quote the incident (PI-2026-0001).
func (p *PowerIncident) Number() string {
	return FormatNumber(NumberPowerIncident, p.NumberYear, p.NumberSeq)
}

// PowerTarget is what an incident touched: one cabinet of an
// organization, or the whole organization (Cabinet "").
type PowerTarget struct {
	ID         int64
	IncidentID int64
	OrgID      int64
	Cabinet    string
}

func (PowerTarget) TableName() string { return "power_targets" }

// MaintenanceWindow is planned maintenance announced by staff (agreement
// §1): downtime inside it is excluded only for the organizations that
// agreed to it.
type MaintenanceWindow struct {
	ID           int64
	NumberYear   int
	NumberSeq    int
	Ref          string
	Title        string
	Body         string
	StartsAt     time.Time
	EndsAt       time.Time
	CreatedBy    *int64
	CancelledAt  *time.Time
	CancelReason string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

func (MaintenanceWindow) TableName() string { return "maintenance_windows" }

// Number is how people quote the window (MW-2026-0001).
func (w *MaintenanceWindow) Number() string {
	return FormatNumber(NumberMaintenance, w.NumberYear, w.NumberSeq)
}

// MaintenanceTarget is what a window touches: a device, a cabinet of an
// organization, or the whole organization (no device, Cabinet "").
type MaintenanceTarget struct {
	ID       int64
	WindowID int64
	OrgID    int64
	DeviceID *int64
	Cabinet  string
}

func (MaintenanceTarget) TableName() string { return "maintenance_targets" }

// Answers of an organization to a maintenance window.
const (
	MaintenanceAgreed   = "agreed"
	MaintenanceDeclined = "declined"
)

// MaintenanceAnswer is an organization's answer to a window; no row means
// it has not answered, which counts as not agreed.
type MaintenanceAnswer struct {
	WindowID   int64 `gorm:"primaryKey;autoIncrement:false"`
	OrgID      int64 `gorm:"primaryKey;autoIncrement:false"`
	Answer     string
	UserID     *int64
	Note       string
	AnsweredAt time.Time
}

func (MaintenanceAnswer) TableName() string { return "maintenance_answers" }

// StatementRecord is a closed monthly statement: the statement as it was
// computed when the month was closed (Body, JSON of a Statement), never
// changed after.
type StatementRecord struct {
	ID       int64
	OrgID    int64
	Month    string // 2006-01
	Ref      string
	ClosedAt time.Time
	ClosedBy *int64
	Body     string
}

func (StatementRecord) TableName() string { return "statements" }
