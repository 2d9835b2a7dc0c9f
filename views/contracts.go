package views

import (
	"context"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/colo-portal/portal/models"
)

// ContractsPageVM is the list of contracts: a customer's own, or every
// organization's for staff, with a filter.
type ContractsPageVM struct {
	Rows      []models.ContractRow
	Staff     bool
	CanCreate bool
	Orgs      []models.OrgSummary // staff: the organization filter
	OrgID     int64
	Ending    bool // only those ending within 60 days
	Today     string
	Now       time.Time
	Full      bool // the list reached its limit
}

// ContractURL is the page of the contract with reference ref.
func ContractURL(ref string) string { return "/contracts/" + ref }

// NewContractURL is the form of a new contract of organization orgID (0:
// the form asks for the organization first).
func NewContractURL(orgID int64) string {
	if orgID == 0 {
		return "/contracts/new"
	}
	return "/contracts/new?" + url.Values{"org": {I64(orgID)}}.Encode()
}

// ContractFormVM is the contract form, new (Ref "") or a change.
type ContractFormVM struct {
	Ref     string
	Number  string
	OrgID   int64
	OrgName string
	// Choices: the organization's devices and the cabinets they stand in.
	Devices  []models.Device
	Cabinets []string
	// What was entered, as typed.
	ServiceType     string
	MonthlyFee      string
	InstallationFee string
	// PowerWatts is the contracted power in watts ("" or 0: none stated).
	PowerWatts    string
	Currency      string
	SignedOn      string
	InstalledAt   string // a new contract's installation done before it was entered (datetime-local)
	StartsOn      string
	EndsOn        string
	Renewal       string
	Notes         string
	Devs          map[int64]bool
	Cabs          map[string]bool
	OtherCabinets string // cabinets named that no device of the organization stands in
	Errors        FormErrors
}

// Action is where the form posts.
func (vm ContractFormVM) Action() string {
	if vm.Ref == "" {
		return "/contracts"
	}
	return ContractURL(vm.Ref)
}

// NewContractForm is an empty form for organization orgID: CNY, signed
// and starting today, renewing automatically.
func NewContractForm(orgID int64, orgName, today string) ContractFormVM {
	return ContractFormVM{OrgID: orgID, OrgName: orgName, ServiceType: models.ServiceColocation, Currency: models.DefaultCurrency,
		SignedOn: today, StartsOn: today, Renewal: models.RenewalAuto, Devs: map[int64]bool{}, Cabs: map[string]bool{}}
}

// EditContractForm fills the form from a contract as stored.
func EditContractForm(d *models.ContractDetail) ContractFormVM {
	c := d.Contract
	vm := ContractFormVM{Ref: c.Ref, Number: c.Number(), OrgID: c.OrgID, OrgName: d.OrgName, ServiceType: c.ServiceType,
		MonthlyFee: MoneyInput(c.MonthlyFee), InstallationFee: MoneyInput(c.InstallationFee), Currency: c.Currency,
		PowerWatts: contractPowerInput(c.PowerWatts),
		SignedOn:   c.SignedOn, StartsOn: c.StartsOn, EndsOn: c.EndsOn, Renewal: c.Renewal, Notes: c.Notes,
		Devs: map[int64]bool{}, Cabs: map[string]bool{}}
	for _, t := range d.Targets {
		if t.DeviceID != nil {
			vm.Devs[*t.DeviceID] = true
		} else {
			vm.Cabs[t.Cabinet] = true
		}
	}
	return vm
}

// SetChoices fills the form's devices and cabinets of its organization,
// and moves the cabinets named that none of them stands in to the free
// text field.
func (vm *ContractFormVM) SetChoices(devices []models.Device) {
	vm.Devices = devices
	vm.Cabinets = nil
	for _, d := range devices {
		if d.Cabinet != "" && !slices.Contains(vm.Cabinets, d.Cabinet) {
			vm.Cabinets = append(vm.Cabinets, d.Cabinet)
		}
	}
	slices.Sort(vm.Cabinets)
	var others []string
	if vm.OtherCabinets != "" {
		others = append(others, SplitCabinets(vm.OtherCabinets)...)
	}
	for cab := range vm.Cabs {
		if !slices.Contains(vm.Cabinets, cab) {
			others = append(others, cab)
			delete(vm.Cabs, cab)
		}
	}
	slices.Sort(others)
	vm.OtherCabinets = strings.Join(slices.Compact(others), ", ")
}

// SplitCabinets reads cabinets typed into one field, separated by commas
// (either width), semicolons or line breaks.
func SplitCabinets(s string) []string {
	var out []string
	for _, part := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == '，' || r == ';' || r == '；' || r == '\n' || r == '\r' || r == '、'
	}) {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// MoneyInput is an amount in minor units as the form shows it: 12345.60.
func MoneyInput(amount int64) string {
	return strconv.FormatInt(amount/100, 10) + "." + strconv.FormatInt(100+amount%100, 10)[1:]
}

// ContractPageVM is one contract's page.
type ContractPageVM struct {
	D           *models.ContractDetail
	Staff       bool
	CanEdit     bool
	CanComplete bool
	Today       string
	Now         time.Time
	// The installation form: what was entered and what is wrong.
	CompletedAt string
	Note        string
	Errors      FormErrors
	// Month is the contract's part of this month's statement, so far;
	// nil when it does not run this month.
	Month *models.ContractMonth
}

// ContractStateClass is the badge class of a contract's state.
func ContractStateClass(state string) string {
	switch state {
	case models.ContractActive:
		return "ok"
	case models.ContractUpcoming:
		return "warn"
	}
	return ""
}

// InstallStateClass is the badge class of an installation's state.
func InstallStateClass(state string) string {
	switch state {
	case models.InstallMet:
		return "ok"
	case models.InstallMissed, models.InstallOverdue:
		return "bad"
	case models.InstallOpen:
		return "warn"
	}
	return ""
}

// EndsClass is the badge class of "ends in N days": warning within 30
// days unless a following contract is signed.
func EndsClass(c models.Contract, today string) string {
	if c.Renewal != models.RenewalRenewed && c.DaysLeft(today) <= models.ExpirySecond {
		return "bad"
	}
	return "warn"
}

// EndsIn says when a contract ends: today, tomorrow, in N days.
func EndsIn(ctx context.Context, c models.Contract, today string) string {
	switch n := c.DaysLeft(today); n {
	case 0:
		return T(ctx, "contracts.ends_today")
	case 1:
		return T(ctx, "contracts.ends_tomorrow")
	default:
		return T(ctx, "contracts.ends_in", Count(n))
	}
}

// AllowanceMinutes shows a duration in minutes to the hundredth, as the
// agreement writes the allowance (43.2, 44.64).
func AllowanceMinutes(d time.Duration) string {
	return strconv.FormatFloat(math.Round(d.Minutes()*100)/100, 'f', -1, 64)
}

// MonthAllowance is a device's (or a contract's) month as it runs: the
// downtime allowed over the month and how much of it counted so far.
type MonthAllowance struct {
	Allowance time.Duration
	Used      time.Duration
}

// Left is what remains of the allowance (negative: over it).
func (m MonthAllowance) Left() time.Duration { return m.Allowance - m.Used }
