package views

import (
	"context"
	"net/url"
	"time"

	"github.com/colo-portal/portal/models"
)

// ShipmentURL is the page of a shipment.
func ShipmentURL(ref string) string { return "/shipments/" + ref }

// ReceptionShipmentURL is the desk's page of a shipment.
func ReceptionShipmentURL(ref string) string { return "/reception/shipments/" + ref }

// ShipmentStateName names a shipment state.
func ShipmentStateName(ctx context.Context, state string) string {
	return T(ctx, "shipments.state."+state)
}

// ShipmentStateClass is the badge class of a shipment state.
func ShipmentStateClass(state string) string {
	switch state {
	case models.ShipmentArrived, models.ShipmentRequested:
		return "warn"
	case models.ShipmentCollected, models.ShipmentHandedOver:
		return "ok"
	}
	return ""
}

// ShipmentDay shows a shipment's expected or wanted day, "—" if none.
func ShipmentDay(ctx context.Context, t *time.Time) string {
	if t == nil {
		return "—"
	}
	return FormatDate(ctx, *t)
}

// ShipmentsPageVM is the list of shipments: a customer's own, or every
// organization's for staff.
type ShipmentsPageVM struct {
	Staff     bool
	CanCreate bool
	Desk      bool // staff who keep the desk: links to its page
	Rows      []models.ShipmentRow
	Counts    models.ShipmentCounts // a customer's
	Now       time.Time
	Hold      time.Duration
	Direction string
	State     string
}

// HoldDays is the hold limit in days.
func (vm ShipmentsPageVM) HoldDays() int { return int(vm.Hold / (24 * time.Hour)) }

// ShipmentFormVM is the customer's announcement or outbound request form.
type ShipmentFormVM struct {
	Ref      string // set when editing
	Number   string
	Outbound bool
	In       models.ShipmentInput
	Cabinets []string // the organization's; free text when none
	Errors   FormErrors
	Focus    int // the collector row to focus (from 1), after "add"
}

// Action is where the form posts.
func (vm ShipmentFormVM) Action() string {
	switch {
	case vm.Ref != "":
		return ShipmentURL(vm.Ref) + "/edit"
	case vm.Outbound:
		return "/shipments/outbound/new"
	}
	return "/shipments/new"
}

// CanAdd reports room for another collector row.
func (vm ShipmentFormVM) CanAdd() bool { return len(vm.In.Collectors) < models.MaxCollectors }

// BlankCollector is an empty collector row.
func BlankCollector() models.VisitorInput { return models.VisitorInput{IDType: models.IDResident} }

// EditShipmentForm fills the form from a stored shipment, identity
// numbers and phones masked (kept by the Store when left as shown).
func EditShipmentForm(d *models.ShipmentDetail, loc *time.Location) ShipmentFormVM {
	sh := d.Shipment
	vm := ShipmentFormVM{Ref: sh.Ref, Number: sh.Number(), Outbound: !sh.Inbound(), In: models.ShipmentInput{Method: sh.Method,
		Carrier: sh.Carrier, Tracking: sh.Tracking, Parcels: I64(int64(sh.Parcels)), Contents: sh.Contents, Cabinet: sh.Cabinet}}
	if sh.ExpectedOn != nil {
		vm.In.Date = sh.ExpectedOn.In(loc).Format(time.DateOnly)
	}
	for _, p := range d.People {
		vm.In.Collectors = append(vm.In.Collectors, models.VisitorInput{Name: p.Name, Company: p.Company, IDType: p.IDType,
			IDNumber: p.IDMasked, Phone: p.PhoneMasked})
	}
	return vm
}

// ShipmentPageVM is a shipment's page, masked for everyone.
type ShipmentPageVM struct {
	D         *models.ShipmentDetail
	Staff     bool
	Desk      bool // links to the desk's page
	CanChange bool
	Now       time.Time
	Hold      time.Duration
	Errors    FormErrors
	// CabinetURLs maps the organization's metered cabinets to their pages.
	CabinetURLs map[string]string
}

// ShipmentDeskVM is reception's desk of shipments: the tracking number
// field with what it found, and the lists.
type ShipmentDeskVM struct {
	D        *models.ShipmentDesk
	Now      time.Time
	Hold     time.Duration
	Tracking string
	Searched bool
	Matches  []models.ShipmentRow
	Recorded []models.ShipmentRow // no announced match: the same number already recorded
	Reveal   bool                 // reception: the CSV link
}

// HoldDays is the hold limit in days.
func (vm ShipmentDeskVM) HoldDays() int { return int(vm.Hold / (24 * time.Hour)) }

// ArrivalForm is the values of an arrival form.
type ArrivalForm struct {
	OrgID         int64
	Carrier       string
	Tracking      string
	Contents      string
	Parcels       string
	StoragePlace  string
	Condition     string
	ConditionNote string
}

// UnannouncedVM is the form logging a parcel nobody announced.
type UnannouncedVM struct {
	Orgs   []models.OrgSummary
	Form   ArrivalForm
	Errors FormErrors
}

// DeskShipmentVM is the desk's page of one shipment: its people (opened
// for reception) and the form its state calls for.
type DeskShipmentVM struct {
	D       *models.ShipmentDetail
	Now     time.Time
	Hold    time.Duration
	Staff   []models.Escort // who may deliver to a cabinet
	Form    string          // the posted form: arrive, collect, handover
	Errors  FormErrors
	Arrival ArrivalForm
	// Collect and hand-over values kept.
	CollectorID int64
	StaffID     int64
	HandOver    models.HandOverInput
	// CabinetURLs maps the organization's metered cabinets to their pages.
	CabinetURLs map[string]string
}

// ErrorsFor returns the errors of the given form, nil for another.
func (vm DeskShipmentVM) ErrorsFor(form string) FormErrors {
	if vm.Form != form {
		return nil
	}
	return vm.Errors
}

// HoldDays is the hold limit in days.
func (vm DeskShipmentVM) HoldDays() int { return int(vm.Hold / (24 * time.Hour)) }

func conditionName(ctx context.Context, c string) string {
	if c == "" {
		return "—"
	}
	return T(ctx, "shipments.condition."+c)
}

func methodName(ctx context.Context, m string) string { return T(ctx, "shipments.method."+m) }

func directionName(ctx context.Context, d string) string { return T(ctx, "shipments.direction."+d) }

// urlPath escapes a path segment.
func urlPath(s string) string { return url.PathEscape(s) }

// urlQuery escapes a query value.
func urlQuery(s string) string { return url.QueryEscape(s) }

// heldText says how long a parcel has been held.
func heldText(ctx context.Context, sh *models.Shipment, now time.Time) string {
	return T(ctx, "shipments.held_days", Count(sh.HeldDays(now)))
}
