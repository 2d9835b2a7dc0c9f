package handlers

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// Contracts (docs/agreement.md §3, §11): the list, a contract's page with
// its coverage and installation order, the desk's form to record and
// change one, and recording the installation done.

// contractParam finds the contract of the path within the request's
// scope: another organization's is not found.
func (h *Handler) contractParam(c *fiber.Ctx) (*models.ContractDetail, error) {
	return h.store.ContractOf(c.UserContext(), scope(c), c.Params("ref"))
}

// showContracts lists a customer's contracts, or every organization's for
// staff, with the organization and "ending within 60 days" filters.
func (h *Handler) showContracts(c *fiber.Ctx) error {
	ctx := c.UserContext()
	u := currentUser(c)
	vm := views.ContractsPageVM{Staff: u.Role.IsStaff(), CanCreate: contractDesk.Allows(u.Role), Today: h.store.Today(),
		Now: h.store.Now(), Ending: c.Query("ending") == "1"}
	f := models.ContractFilter{Ending: vm.Ending}
	if vm.Staff {
		orgs, err := h.store.ListOrgs(ctx, scope(c))
		if err != nil {
			return err
		}
		vm.Orgs = orgs
		if id, err := strconv.ParseInt(c.Query("org"), 10, 64); err == nil {
			for _, o := range orgs {
				if o.ID == id {
					vm.OrgID, f.OrgID = id, id
				}
			}
		}
	}
	const shown = 500
	f.Limit = shown
	rows, err := h.store.ListContracts(ctx, scope(c), f)
	if err != nil {
		return err
	}
	vm.Rows, vm.Full = rows, len(rows) == shown
	return h.render(c, fiber.StatusOK, views.ContractsPage(vm))
}

// newContract shows the desk the form of a new contract of the
// organization in ?org=, or asks for the organization first.
func (h *Handler) newContract(c *fiber.Ctx) error {
	ctx := c.UserContext()
	id, err := strconv.ParseInt(c.Query("org"), 10, 64)
	if err != nil || id <= 0 {
		orgs, err := h.store.ListOrgs(ctx, scope(c))
		if err != nil {
			return err
		}
		return h.render(c, fiber.StatusOK, views.ContractPickOrgPage(orgs))
	}
	o, err := h.store.GetOrg(ctx, scope(c), id)
	if err != nil {
		return err
	}
	vm := views.NewContractForm(o.ID, o.Name, h.store.Today())
	return h.renderContractForm(c, fiber.StatusOK, vm)
}

// renderContractForm fills the form's choices (the organization's devices
// and their cabinets) and renders it.
func (h *Handler) renderContractForm(c *fiber.Ctx, status int, vm views.ContractFormVM) error {
	devices, err := h.store.ListDevices(c.UserContext(), scope(c), vm.OrgID)
	if err != nil {
		return err
	}
	vm.SetChoices(devices)
	return h.render(c, status, views.ContractFormPage(vm))
}

// readMoney reads an amount field: empty is 0, anything ParseMoney
// refuses is a validation error of the field.
func readMoney(field, s string) (int64, error) {
	if strings.TrimSpace(s) == "" {
		return 0, nil
	}
	v, ok := models.ParseMoney(s)
	if !ok {
		return 0, models.Invalid(field, "contracts.error.money")
	}
	return v, nil
}

// readContractForm reads the posted form into what the page shows again
// and what the Store checks; parseErr holds the amounts that do not read.
func (h *Handler) readContractForm(c *fiber.Ctx) (views.ContractFormVM, models.ContractInput, error) {
	vm := views.ContractFormVM{ServiceType: c.FormValue("service_type"), MonthlyFee: c.FormValue("monthly_fee"),
		InstallationFee: c.FormValue("installation_fee"), Currency: c.FormValue("currency"), SignedOn: c.FormValue("signed_on"),
		StartsOn: c.FormValue("starts_on"), EndsOn: c.FormValue("ends_on"), Renewal: c.FormValue("renewal"),
		Notes: c.FormValue("notes"), OtherCabinets: c.FormValue("other_cabinets"), Devs: map[int64]bool{}, Cabs: map[string]bool{}}
	vm.OrgID, _ = strconv.ParseInt(c.FormValue("org"), 10, 64)
	in := models.ContractInput{OrgID: vm.OrgID, ServiceType: vm.ServiceType, Currency: vm.Currency, SignedOn: vm.SignedOn,
		StartsOn: vm.StartsOn, EndsOn: vm.EndsOn, Renewal: vm.Renewal, Notes: vm.Notes}
	monthly, err1 := readMoney("monthly_fee", vm.MonthlyFee)
	install, err2 := readMoney("installation_fee", vm.InstallationFee)
	in.MonthlyFee, in.InstallationFee = monthly, install
	vm.PowerWatts = c.FormValue("power_watts")
	var err4 error
	if s := strings.TrimSpace(vm.PowerWatts); s != "" {
		w, err := strconv.ParseInt(s, 10, 64)
		if err != nil || w < 0 || w > models.MaxContractPowerWatts {
			err4 = models.Invalid("power_watts", "contracts.error.power_watts", models.Number(models.MaxContractPowerWatts))
		}
		in.PowerWatts = w
	}
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
	in.Cabinets = append(in.Cabinets, views.SplitCabinets(vm.OtherCabinets)...)
	var err3 error
	if vm.InstalledAt = strings.TrimSpace(c.FormValue("installed_at")); vm.InstalledAt != "" {
		at, err := h.parseLocalTime("installed_at", vm.InstalledAt)
		if err != nil {
			err3 = err
		} else {
			in.InstalledAt = at
		}
	}
	return vm, in, errors.Join(err1, err2, err3, err4)
}

// contractFormAgain shows the form again, input kept, when the posted
// contract has problems: parseErr joined to the Store's err. shown says
// it did; any other error is returned.
func (h *Handler) contractFormAgain(c *fiber.Ctx, vm views.ContractFormVM, parseErr, err error) (shown bool, _ error) {
	errs := views.FromError(errors.Join(parseErr, err))
	if errs == nil {
		return false, err
	}
	vm.Errors = errs
	return true, h.renderContractForm(c, fiber.StatusUnprocessableEntity, vm)
}

// createContract records a signed contract.
func (h *Handler) createContract(c *fiber.Ctx) error {
	ctx := c.UserContext()
	vm, in, parseErr := h.readContractForm(c)
	o, err := h.store.GetOrg(ctx, scope(c), vm.OrgID)
	if err != nil {
		return err
	}
	vm.OrgName = o.Name
	if parseErr != nil {
		// An amount that does not read: nothing is stored, every other
		// problem of the form is shown with it.
		_, err := h.contractFormAgain(c, vm, parseErr, h.store.CheckContract(in))
		return err
	}
	ct, err := h.store.CreateContract(ctx, actor(c), in)
	if shown, err := h.contractFormAgain(c, vm, nil, err); shown || err != nil {
		return err
	}
	h.flash(c, "ok", "flash.contract_created")
	return redirect(c, views.ContractURL(ct.Ref))
}

// showContract is a contract's page.
func (h *Handler) showContract(c *fiber.Ctx) error {
	d, err := h.contractParam(c)
	if err != nil {
		return err
	}
	return h.renderContract(c, fiber.StatusOK, d, views.ContractPageVM{})
}

func (h *Handler) renderContract(c *fiber.Ctx, status int, d *models.ContractDetail, vm views.ContractPageVM) error {
	u := currentUser(c)
	vm.D, vm.Staff, vm.Today, vm.Now = d, u.Role.IsStaff(), h.store.Today(), h.store.Now()
	vm.CanEdit, vm.CanComplete = contractDesk.Allows(u.Role), installers.Allows(u.Role)
	if vm.CompletedAt == "" {
		vm.CompletedAt = views.LocalInput(vm.Now, h.loc)
	}
	// The month as it runs: the contract's part of this month's
	// statement, so the page and the statement read the same figures.
	st, err := h.store.Statement(c.UserContext(), scope(c), d.Contract.OrgID, h.store.CurrentMonth())
	if err != nil {
		return err
	}
	for i := range st.Contracts {
		if cm := st.Contracts[i]; cm.ContractID == d.Contract.ID && cm.Days > 0 {
			vm.Month = &cm
		}
	}
	return h.render(c, status, views.ContractPage(vm))
}

// editContract shows the form filled with the contract as it stands.
func (h *Handler) editContract(c *fiber.Ctx) error {
	d, err := h.contractParam(c)
	if err != nil {
		return err
	}
	return h.renderContractForm(c, fiber.StatusOK, views.EditContractForm(d))
}

// updateContract stores the desk's change of a contract.
func (h *Handler) updateContract(c *fiber.Ctx) error {
	d, err := h.contractParam(c)
	if err != nil {
		return err
	}
	ct := d.Contract
	vm, in, parseErr := h.readContractForm(c)
	vm.Ref, vm.Number, vm.OrgID, vm.OrgName = ct.Ref, ct.Number(), ct.OrgID, d.OrgName
	vm.ServiceType, vm.Currency, vm.SignedOn = ct.ServiceType, ct.Currency, ct.SignedOn
	in.OrgID, in.ServiceType, in.Currency, in.SignedOn = ct.OrgID, ct.ServiceType, ct.Currency, ct.SignedOn
	if parseErr != nil {
		_, err := h.contractFormAgain(c, vm, parseErr, h.store.CheckContract(in))
		return err
	}
	_, err = h.store.UpdateContract(c.UserContext(), actor(c), ct.Ref, in)
	if shown, err := h.contractFormAgain(c, vm, nil, err); shown || err != nil {
		return err
	}
	h.flash(c, "ok", "flash.contract_saved")
	return redirect(c, views.ContractURL(ct.Ref))
}

// completeInstallation records the contract's installation done.
func (h *Handler) completeInstallation(c *fiber.Ctx) error {
	d, err := h.contractParam(c)
	if err != nil {
		return err
	}
	vm := views.ContractPageVM{CompletedAt: c.FormValue("completed_at"), Note: c.FormValue("note")}
	at, err := h.parseLocalTime("completed_at", strings.TrimSpace(vm.CompletedAt))
	if err == nil {
		if at == nil {
			at = &time.Time{} // refused as missing
		}
		_, err = h.store.CompleteInstallation(c.UserContext(), actor(c), d.Contract.Ref, *at, vm.Note)
	}
	if errs := views.FromError(err); errs != nil {
		vm.Errors = errs
		return h.renderContract(c, fiber.StatusUnprocessableEntity, d, vm)
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.installation_completed")
	return redirect(c, views.ContractURL(d.Contract.Ref)+"#installation")
}
