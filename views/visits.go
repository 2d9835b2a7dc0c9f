package views

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/a-h/templ"

	"github.com/colo-portal/portal/models"
)

// VisitsPageVM is the list of visits: a customer's own, or every
// organization's for staff, with a filter.
type VisitsPageVM struct {
	Upcoming  []models.VisitRow
	Past      []models.VisitRow
	More      bool // older visits than this page's
	Page      int
	Staff     bool
	CanCreate bool
	CanSites  bool                // admins keep the sites
	Orgs      []models.OrgSummary // staff: the organization filter
	OrgNames  map[int64]string
	OrgID     int64
	State     string
}

// pageURL is the list with the same filter on page p.
func (vm VisitsPageVM) pageURL(p int) string {
	q := url.Values{}
	if vm.OrgID != 0 {
		q.Set("org", I64(vm.OrgID))
	}
	if vm.State != "" {
		q.Set("state", vm.State)
	}
	if p > 1 {
		q.Set("page", fmt.Sprint(p))
	}
	if len(q) == 0 {
		return "/visits"
	}
	return "/visits?" + q.Encode()
}

// VisitFormVM is the request form, new (Ref "") or a change.
type VisitFormVM struct {
	Ref      string
	Number   string
	Approved bool // the visit being changed is approved: a change sends it back
	// Choices.
	Sites       []models.Site
	Devices     []models.Device
	Cabinets    []string
	Operations  []models.OperationRequest
	MaxVisitors int
	// What was entered.
	SiteID      int64
	Activity    string
	Reason      string
	Emergency   bool
	PlannedFrom string
	PlannedTo   string
	Visitors    []models.VisitorInput
	Devs        map[int64]bool
	Cabs        map[string]bool
	Needs       map[string]string // need → note
	NeedOn      map[string]bool
	Operation   string
	Errors      FormErrors
	// Focus is the visitor row (from 1) just added, which gets the focus.
	Focus int
}

// Action is where the form posts.
func (vm VisitFormVM) Action() string {
	if vm.Ref == "" {
		return "/visits/new"
	}
	return VisitURL(vm.Ref) + "/edit"
}

// BlankVisitor is an empty visitor row of the form: a resident identity
// card, the pass in lang.
func BlankVisitor(lang string) models.VisitorInput {
	return models.VisitorInput{IDType: models.IDResident, Locale: lang}
}

// EditVisitForm fills the form from a visit as stored, identity numbers
// and phones masked (the handler keeps a masked value as it is stored).
func EditVisitForm(d *models.VisitDetail, loc *time.Location) VisitFormVM {
	v := d.Visit
	vm := VisitFormVM{Ref: v.Ref, Number: v.Number(), Approved: v.State == models.VisitApproved, SiteID: v.SiteID, Activity: v.Activity,
		Reason: v.Reason, Emergency: v.Emergency, PlannedFrom: LocalInput(v.PlannedFrom, loc), PlannedTo: LocalInput(v.PlannedTo, loc),
		Devs: map[int64]bool{}, Cabs: map[string]bool{}, Needs: map[string]string{}, NeedOn: map[string]bool{}}
	if d.Operation != nil {
		vm.Operation = d.Operation.Ref
	}
	for _, x := range d.Visitors {
		vm.Visitors = append(vm.Visitors, models.VisitorInput{Name: x.Name, Company: x.Company, IDType: x.IDType, IDNumber: x.ID,
			Phone: x.Phone, Locale: x.Locale})
	}
	for _, t := range d.Targets {
		if t.DeviceID != nil {
			vm.Devs[*t.DeviceID] = true
		} else {
			vm.Cabs[t.Cabinet] = true
		}
	}
	for _, n := range d.Needs {
		vm.NeedOn[n.Need], vm.Needs[n.Need] = true, n.Note
	}
	return vm
}

// LocalInput is t as a datetime-local input's value in loc.
func LocalInput(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02T15:04")
}

// CanAdd reports whether another visitor row fits.
func (vm VisitFormVM) CanAdd() bool { return len(vm.Visitors) < vm.MaxVisitors }

// VisitPageVM is one visit's page.
type VisitPageVM struct {
	D         *models.VisitDetail
	Staff     bool
	Reception bool // links to reception's own page of the visit
	CanChange bool // the customer may still change or cancel it
	Errors    FormErrors
	Now       time.Time
}

// phase is where an approved visit stands: "over" once its planned exit
// has passed with nobody inside, "under_way" once someone has come in,
// otherwise its state.
func (vm VisitPageVM) phase() string {
	v := vm.D.Visit
	if v.State != models.VisitApproved {
		return v.State
	}
	begun, inside := false, false
	for _, x := range vm.D.Visitors {
		begun = begun || x.CheckedInAt != nil
		inside = inside || (x.CheckedInAt != nil && x.CheckedOutAt == nil)
	}
	switch {
	case !vm.Now.Before(v.PlannedTo) && !inside:
		return "over"
	case begun:
		return "under_way"
	}
	return v.State
}

// Over reports an approved visit whose planned exit has passed with
// nobody inside.
func (vm VisitPageVM) Over() bool { return vm.phase() == "over" }

// NextKey is the locale key of what happens next to the visit.
func (vm VisitPageVM) NextKey() string { return "visits.next." + vm.phase() }

// PassOffered reports whether the page offers the visitor passes: an
// approved visit not over yet.
func (vm VisitPageVM) PassOffered() bool {
	return vm.D.Visit.State == models.VisitApproved && vm.phase() != "over"
}

// EscortingAhead is how far ahead a staff member's home lists the visits
// they escort.
const EscortingAhead = 14 * 24 * time.Hour

// VisitURL is the page of the visit with reference ref.
func VisitURL(ref string) string { return "/visits/" + ref }

// ReceptionVisitURL is reception's page of the visit.
func ReceptionVisitURL(ref string) string { return "/reception/visits/" + ref }

// VisitStateClass is the badge class of a visit state.
func VisitStateClass(state string) string {
	switch state {
	case models.VisitApproved:
		return "ok"
	case models.VisitRefused:
		return "bad"
	case models.VisitPending:
		return "warn"
	}
	return ""
}

// VisitStateName names a visit state.
func VisitStateName(ctx context.Context, state string) string { return T(ctx, "visits.state."+state) }

// CancelVisitChanges says what cancelling a visit does.
func CancelVisitChanges(t Tr, v *models.Visit) []string {
	out := []string{t("visits.cancel_confirm.changes", v.Number())}
	if v.State == models.VisitApproved {
		out = append(out, t("visits.cancel_confirm.approved"))
	}
	return out
}

// SiteHours is a site's visiting hours for reading.
func SiteHours(ctx context.Context, s models.Site) string {
	if s.AllDay() {
		return T(ctx, "sites.all_day")
	}
	return clock(s.OpenMinute) + "–" + clock(s.CloseMinute)
}

func clock(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

// SitesPageVM is the admin's list of sites with the form to add one.
type SitesPageVM struct {
	Sites []models.Site
	Form  SiteForm
}

// SiteForm is the form of one site: ID 0 adds one.
type SiteForm struct {
	ID     int64
	Input  models.SiteInput
	Errors FormErrors
}

// SiteFormOf fills the form from a site, or empty for a new one (visiting
// hours 08:00–18:00 to start from).
func SiteFormOf(s *models.Site) SiteForm {
	if s == nil {
		return SiteForm{Input: models.SiteInput{Open: "08:00", Close: "18:00"}}
	}
	in := models.SiteInput{Name: s.Name, Address: s.Address, AllDay: s.AllDay(), Open: clock(s.OpenMinute), Close: clock(s.CloseMinute)}
	if s.AllDay() {
		in.Open, in.Close = "08:00", "18:00"
	}
	if s.MaxInside > 0 {
		in.MaxInside = fmt.Sprint(s.MaxInside)
	}
	return SiteForm{ID: s.ID, Input: in}
}

// Action is where the site form posts.
func (f SiteForm) Action() string {
	if f.ID == 0 {
		return "/admin/sites"
	}
	return Path("/admin/sites/", f.ID)
}

// visitorCount is how many visitors a visit names.
func visitorCount(_ context.Context, n int) string { return Count(n) }

// needLabel names a kind of coordination.
func needLabel(ctx context.Context, need string) string { return T(ctx, "visits.need."+need) }

// idTypeName names an identity document.
func idTypeName(ctx context.Context, t string) string { return T(ctx, "visits.id_type."+t) }

// activityName names what a visit is for.
func activityName(ctx context.Context, a string) string { return T(ctx, "visits.activity."+a) }

// visitorAttrs are the attributes of a visitor row's text input.
func visitorAttrs(focus bool, maxlen string) templ.Attributes {
	a := templ.Attributes{"maxlength": maxlen, "autocomplete": "off"}
	if focus {
		a["autofocus"] = true
	}
	return a
}

// needNote is a need's note after its name: "：note" in Chinese, ": note"
// in English, nothing without a note.
func needNote(ctx context.Context, note string) string {
	if note == "" {
		return ""
	}
	return T(ctx, "visits.need_with_note", note)
}
