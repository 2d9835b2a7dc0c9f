package handlers

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// Data-center visits, the customer's side (docs/agreement.md, clause 9):
// the list with planned and actual times, the request form, a visit's
// page, changing and cancelling it. Reception's pages are its own.

// visitPast is how many past visits one page of the list shows.
const visitPast = 50

// visitParam finds the visit of the path within the request's scope:
// another organization's is not found.
func (h *Handler) visitParam(c *fiber.Ctx) (*models.Visit, error) {
	return h.store.GetVisitByRef(c.UserContext(), scope(c), c.Params("ref"))
}

// showVisits lists a customer's visits, or every organization's for staff
// (masked: the list never holds an identity number), upcoming first.
func (h *Handler) showVisits(c *fiber.Ctx) error {
	ctx := c.UserContext()
	sc := scope(c)
	u := currentUser(c)
	vm := views.VisitsPageVM{Staff: u.Role.IsStaff(), CanCreate: u.Role == models.RoleCustomer,
		CanSites: admin.Allows(u.Role), Page: 1}
	f := models.VisitFilter{}
	if vm.Staff {
		orgs, err := h.store.ListOrgs(ctx, sc)
		if err != nil {
			return err
		}
		vm.Orgs = orgs
		vm.OrgNames = map[int64]string{}
		for _, o := range orgs {
			vm.OrgNames[o.ID] = o.Name
		}
		if id, err := strconv.ParseInt(c.Query("org"), 10, 64); err == nil && vm.OrgNames[id] != "" {
			vm.OrgID, f.OrgID = id, id
		}
	}
	if s := c.Query("state"); slices.Contains(models.VisitStates, s) {
		vm.State, f.State = s, s
	}
	if p, err := strconv.Atoi(c.Query("page")); err == nil && p > 1 && p < 10000 {
		vm.Page = p
	}
	var err error
	if vm.Page == 1 {
		up := f
		up.Period = models.VisitsUpcoming
		if vm.Upcoming, err = h.store.ListVisits(ctx, sc, up); err != nil {
			return err
		}
	}
	past := f
	past.Period, past.Limit, past.Offset = models.VisitsPast, visitPast+1, (vm.Page-1)*visitPast
	if vm.Past, err = h.store.ListVisits(ctx, sc, past); err != nil {
		return err
	}
	if len(vm.Past) > visitPast {
		vm.Past, vm.More = vm.Past[:visitPast], true
	}
	return h.render(c, fiber.StatusOK, views.VisitsPage(vm))
}

// visitForm fills the choices of the request form for the customer's
// organization: sites, its devices and their cabinets, its open operation
// requests.
func (h *Handler) visitForm(c *fiber.Ctx, vm views.VisitFormVM) (views.VisitFormVM, error) {
	ctx := c.UserContext()
	orgID := ownOrg(c)
	var err error
	if vm.Sites, err = h.store.ListSites(ctx); err != nil {
		return vm, err
	}
	if vm.Devices, err = h.store.ListDevices(ctx, scope(c), orgID); err != nil {
		return vm, err
	}
	for _, d := range vm.Devices {
		if d.Cabinet != "" && !slices.Contains(vm.Cabinets, d.Cabinet) {
			vm.Cabinets = append(vm.Cabinets, d.Cabinet)
		}
	}
	slices.Sort(vm.Cabinets)
	if vm.Operations, err = h.store.ListRequests(ctx, scope(c), models.RequestFilter{Open: true}); err != nil {
		return vm, err
	}
	vm.MaxVisitors = h.store.VisitRules().MaxVisitors
	if len(vm.Visitors) == 0 {
		vm.Visitors = []models.VisitorInput{views.BlankVisitor(state(c).lang)}
	}
	if vm.SiteID == 0 && len(vm.Sites) > 0 {
		vm.SiteID = vm.Sites[0].ID
	}
	return vm, nil
}

// newVisit shows the customer the request form.
func (h *Handler) newVisit(c *fiber.Ctx) error {
	vm, err := h.visitForm(c, views.VisitFormVM{Activity: "operation", Operation: c.Query("operation")})
	if err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.VisitFormPage(vm))
}

// readVisitForm reads the posted form into what the page shows again
// and what the Store checks. Visitor rows left wholly blank are dropped
// (so a row is removed by emptying it); "add visitor" adds one blank row.
func (h *Handler) readVisitForm(c *fiber.Ctx) (views.VisitFormVM, models.VisitInput, error) {
	lang := state(c).lang
	vm := views.VisitFormVM{Activity: c.FormValue("activity"), Reason: c.FormValue("reason"), Emergency: c.FormValue("emergency") == "1",
		PlannedFrom: c.FormValue("planned_from"), PlannedTo: c.FormValue("planned_to"), Operation: c.FormValue("operation"),
		Devs: map[int64]bool{}, Cabs: map[string]bool{}, Needs: map[string]string{}, NeedOn: map[string]bool{}}
	vm.SiteID, _ = strconv.ParseInt(c.FormValue("site"), 10, 64)
	in := models.VisitInput{SiteID: vm.SiteID, Activity: vm.Activity, Reason: vm.Reason, Emergency: vm.Emergency,
		OperationRef: vm.Operation, Locale: lang, Needs: map[string]string{}}
	most := h.store.VisitRules().MaxVisitors
	rows, _ := strconv.Atoi(c.FormValue("rows"))
	rows = min(max(rows, 1), most+1) // one more than allowed shows the error
	for n := range rows {
		f := func(name string) string { return strings.TrimSpace(c.FormValue(models.VisitorField(n, name))) }
		v := models.VisitorInput{Name: f("name"), Company: f("company"), IDType: f("id_type"), IDNumber: f("id_number"), Phone: f("phone"), Locale: f("locale")}
		if v.Name == "" && v.Company == "" && v.IDNumber == "" && v.Phone == "" {
			continue
		}
		vm.Visitors = append(vm.Visitors, v)
	}
	in.Visitors = slices.Clone(vm.Visitors)
	args := c.Context().PostArgs()
	for _, b := range args.PeekMulti("devices") {
		if id, err := strconv.ParseInt(string(b), 10, 64); err == nil && id > 0 {
			in.DeviceIDs = append(in.DeviceIDs, id)
			vm.Devs[id] = true
		}
	}
	for _, b := range args.PeekMulti("cabinets") {
		if s := strings.TrimSpace(string(b)); s != "" {
			in.Cabinets = append(in.Cabinets, s)
			vm.Cabs[s] = true
		}
	}
	checked := map[string]bool{}
	for _, b := range args.PeekMulti("needs") {
		checked[string(b)] = true
	}
	for _, need := range models.VisitNeeds {
		note := c.FormValue("need_" + need)
		vm.Needs[need] = note
		// A note written beside an unticked box asks for it too.
		if checked[need] || strings.TrimSpace(note) != "" {
			vm.NeedOn[need] = true
			in.Needs[need] = note
		}
	}
	from, fromErr := h.parseLocalTime("planned_from", vm.PlannedFrom)
	to, toErr := h.parseLocalTime("planned_to", vm.PlannedTo)
	if from != nil {
		in.PlannedFrom = *from
	}
	if to != nil {
		in.PlannedTo = *to
	}
	return vm, in, errors.Join(fromErr, toErr)
}

// addVisitorRow answers "add visitor": the form again with one more blank
// row, nothing stored (the one-time token is given back).
func (h *Handler) addVisitorRow(c *fiber.Ctx, vm views.VisitFormVM) (bool, error) {
	if c.FormValue("add_visitor") != "1" {
		return false, nil
	}
	vm.Visitors = append(vm.Visitors, views.BlankVisitor(state(c).lang))
	if n := h.store.VisitRules().MaxVisitors; len(vm.Visitors) > n {
		vm.Visitors = vm.Visitors[:n]
	}
	vm, err := h.visitForm(c, vm)
	if err != nil {
		return true, err
	}
	vm.Focus = len(vm.Visitors)
	return true, h.render(c, fiber.StatusOK, views.VisitFormPage(vm))
}

// createVisit records the customer's request.
func (h *Handler) createVisit(c *fiber.Ctx) error {
	vm, in, parseErr := h.readVisitForm(c)
	if done, err := h.addVisitorRow(c, vm); done {
		return err
	}
	// A time that does not parse is left zero, which the Store refuses
	// too: every problem of the form comes back at once, the parse error
	// first for its field.
	v, err := h.store.CreateVisit(c.UserContext(), actor(c), ownOrg(c), in)
	if shown, err := h.visitFormAgain(c, vm, parseErr, err); shown || err != nil {
		return err
	}
	h.flash(c, "ok", "flash.visit_created")
	return redirect(c, views.VisitURL(v.Ref))
}

// showVisit is a visit's page, masked for everyone: reception opens the
// identity numbers on its own page.
func (h *Handler) showVisit(c *fiber.Ctx) error {
	v, err := h.visitParam(c)
	if err != nil {
		return err
	}
	return h.renderVisit(c, fiber.StatusOK, v, nil)
}

func (h *Handler) renderVisit(c *fiber.Ctx, status int, v *models.Visit, errs views.FormErrors) error {
	ctx := c.UserContext()
	u := currentUser(c)
	d, err := h.store.VisitDetailOf(ctx, scope(c), v, false)
	if err != nil {
		return err
	}
	vm := views.VisitPageVM{D: d, Staff: u.Role.IsStaff(), Reception: u.Role == models.RoleReception, Errors: errs, Now: h.store.Now()}
	if u.Role == models.RoleCustomer {
		if vm.CanChange, err = h.store.VisitChangeable(ctx, v); err != nil {
			return err
		}
	}
	return h.render(c, status, views.VisitPage(vm))
}

// editVisit shows the request form filled with the visit as it stands.
func (h *Handler) editVisit(c *fiber.Ctx) error {
	v, err := h.visitParam(c)
	if err != nil {
		return err
	}
	d, err := h.store.VisitDetailOf(c.UserContext(), scope(c), v, false)
	if err != nil {
		return err
	}
	if ok, err := h.store.VisitChangeable(c.UserContext(), v); err != nil || !ok {
		if err == nil {
			h.flash(c, "warn", "flash.visit_not_changeable")
			return redirect(c, views.VisitURL(v.Ref))
		}
		return err
	}
	vm, err := h.visitForm(c, views.EditVisitForm(d, h.loc))
	if err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.VisitFormPage(vm))
}

// updateVisit stores the customer's change; an approved visit goes back
// to reception.
func (h *Handler) updateVisit(c *fiber.Ctx) error {
	v, err := h.visitParam(c)
	if err != nil {
		return err
	}
	vm, in, parseErr := h.readVisitForm(c)
	vm.Ref, vm.Number, vm.Approved = v.Ref, v.Number(), v.State == models.VisitApproved
	if done, err := h.addVisitorRow(c, vm); done {
		return err
	}
	// Identity numbers are shown masked and never sent back: a visitor
	// whose number is left as shown keeps the stored one.
	if err := h.keepSealedIDs(c, v, &in); err != nil {
		return err
	}
	_, err = h.store.UpdateVisit(c.UserContext(), actor(c), v.OrgID, v.ID, in)
	if shown, err := h.visitFormAgain(c, vm, parseErr, err); shown || err != nil {
		return err
	}
	if vm.Approved {
		h.flash(c, "ok", "flash.visit_changed_back")
	} else {
		h.flash(c, "ok", "flash.visit_changed")
	}
	return redirect(c, views.VisitURL(v.Ref))
}

// keepSealedIDs puts back the stored identity number and phone of each
// visitor of the edit form whose field still holds the masked value it
// was shown with: the form never carries an unmasked number.
func (h *Handler) keepSealedIDs(c *fiber.Ctx, v *models.Visit, in *models.VisitInput) error {
	masked := false
	for _, x := range in.Visitors {
		masked = masked || strings.Contains(x.IDNumber, "*") || strings.Contains(x.Phone, "*")
	}
	if !masked {
		return nil
	}
	// Opened only to be sealed again by the Store; never shown or logged.
	d, err := h.store.VisitDetailOf(c.UserContext(), scope(c), v, true)
	if err != nil {
		return err
	}
	// The stored visitor a row was shown from: same masked number, the
	// same name first.
	source := func(x models.VisitorInput) *models.VisitorView {
		var found *models.VisitorView
		for i := range d.Visitors {
			old := &d.Visitors[i]
			if old.PurgedAt == nil && old.IDMasked == x.IDNumber && (found == nil || old.Name == x.Name) {
				found = old
			}
		}
		return found
	}
	for i := range in.Visitors {
		x := &in.Visitors[i]
		old := source(*x)
		for j := range d.Visitors {
			if old == nil && d.Visitors[j].PurgedAt == nil && d.Visitors[j].Name == x.Name {
				old = &d.Visitors[j]
			}
		}
		if old == nil {
			continue
		}
		if x.IDNumber == old.IDMasked {
			x.IDNumber = old.ID
		}
		if x.Phone == old.PhoneMasked {
			x.Phone = old.Phone
		}
	}
	return nil
}

// cancelVisit calls a visit off after the confirmation step.
func (h *Handler) cancelVisit(c *fiber.Ctx) error {
	v, err := h.visitParam(c)
	if err != nil {
		return err
	}
	if !confirmed(c) {
		return h.confirmStep(c, views.ConfirmVM{Button: locales.For(state(c).lang).T("visits.cancel"), Back: views.VisitURL(v.Ref),
			Text: func(ctx context.Context) (string, []string) {
				return views.T(ctx, "visits.cancel_confirm.title", v.Number()), views.CancelVisitChanges(views.Tc(ctx), v)
			}})
	}
	err = h.store.CancelVisit(c.UserContext(), actor(c), v.OrgID, v.ID, c.FormValue("reason"))
	if errs := views.FromError(err); errs != nil {
		return h.renderVisit(c, fiber.StatusUnprocessableEntity, v, errs)
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.visit_cancelled")
	return redirect(c, views.VisitURL(v.Ref))
}

// showSites lists the sites with the form to add one.
func (h *Handler) showSites(c *fiber.Ctx) error {
	return h.renderSites(c, fiber.StatusOK, views.SitesPageVM{Form: views.SiteFormOf(nil)})
}

func (h *Handler) renderSites(c *fiber.Ctx, status int, vm views.SitesPageVM) error {
	var err error
	if vm.Sites, err = h.store.ListSites(c.UserContext()); err != nil {
		return err
	}
	return h.render(c, status, views.SitesPage(vm))
}

// editSite shows one site's form.
func (h *Handler) editSite(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	site, err := h.store.GetSite(c.UserContext(), id)
	if err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.SitePage(views.SiteFormOf(site)))
}

func siteInput(c *fiber.Ctx) models.SiteInput {
	return models.SiteInput{Name: c.FormValue("name"), Address: c.FormValue("address"), Open: c.FormValue("open"),
		Close: c.FormValue("close"), AllDay: c.FormValue("all_day") == "1", MaxInside: c.FormValue("max_inside")}
}

// createSite adds a site.
func (h *Handler) createSite(c *fiber.Ctx) error {
	in := siteInput(c)
	_, err := h.store.SaveSite(c.UserContext(), actor(c), 0, in)
	if errs := views.FromError(err); errs != nil {
		return h.renderSites(c, fiber.StatusUnprocessableEntity, views.SitesPageVM{Form: views.SiteForm{Input: in, Errors: errs}})
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.site_saved")
	return redirect(c, "/admin/sites")
}

// updateSite changes a site.
func (h *Handler) updateSite(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	if _, err := h.store.GetSite(c.UserContext(), id); err != nil {
		return err
	}
	in := siteInput(c)
	_, err = h.store.SaveSite(c.UserContext(), actor(c), id, in)
	if errs := views.FromError(err); errs != nil {
		return h.render(c, fiber.StatusUnprocessableEntity, views.SitePage(views.SiteForm{ID: id, Input: in, Errors: errs}))
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.site_saved")
	return redirect(c, "/admin/sites")
}

// visitFormAgain shows the request form again, input kept, when the
// posted visit has problems: parseErr (a time that could not be read)
// joined to the Store's err. shown says it did; any other error is
// returned.
func (h *Handler) visitFormAgain(c *fiber.Ctx, vm views.VisitFormVM, parseErr, err error) (shown bool, _ error) {
	if parseErr != nil && err == nil {
		return false, parseErr // cannot happen: the Store refuses a zero time too
	}
	errs := views.FromError(errors.Join(parseErr, err))
	if errs == nil {
		return false, err
	}
	vm.Errors = errs
	if vm, err = h.visitForm(c, vm); err != nil {
		return false, err
	}
	return true, h.render(c, fiber.StatusUnprocessableEntity, views.VisitFormPage(vm))
}
