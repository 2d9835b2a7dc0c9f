package handlers

import (
	"context"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// The meters of a PDU or an environment sensor, on its page under
// /network: every staff role reads them; engineers and admins add a
// meter, map it to an organization's cabinet and contract with its
// thresholds, and remove it. A facility device has no interfaces to
// discover.

// facilityParam finds the PDU or sensor of the path (a network device is
// not found here).
func (h *Handler) facilityParam(c *fiber.Ctx) (*models.Switch, error) {
	sw, err := h.switchParam(c)
	if err != nil {
		return nil, err
	}
	if !sw.IsFacility() {
		return nil, fiber.ErrNotFound
	}
	return sw, nil
}

// meterParam finds the device of the path and its meter of reference
// :meter; a meter of another device is not found.
func (h *Handler) meterParam(c *fiber.Ctx) (*models.Switch, *models.FacilityMeter, error) {
	sw, err := h.facilityParam(c)
	if err != nil {
		return nil, nil, err
	}
	m, err := h.store.GetFacilityMeter(c.UserContext(), scope(c), c.Params("meter"))
	if err != nil {
		return nil, nil, err
	}
	if m.SwitchID != sw.ID {
		return nil, nil, fiber.ErrNotFound
	}
	return sw, m, nil
}

// addFacilityMeter adds a meter to a PDU or sensor; a refused form shows
// the device's page again with it as typed.
func (h *Handler) addFacilityMeter(c *fiber.Ctx) error {
	sw, err := h.facilityParam(c)
	if err != nil {
		return err
	}
	vm := views.MeterAddVM{OID: c.FormValue("oid"), Quantity: c.FormValue("quantity"), Divisor: c.FormValue("divisor"),
		Feed: c.FormValue("feed"), Label: c.FormValue("label")}
	div, convErr := strconv.Atoi(strings.TrimSpace(vm.Divisor))
	if convErr != nil {
		div = -1 // the Store refuses it with its message
	}
	_, err = h.store.AddFacilityMeter(c.UserContext(), actor(c), sw.ID, models.MeterInput{OID: vm.OID, Quantity: vm.Quantity,
		Divisor: div, Feed: vm.Feed, Label: vm.Label})
	if errs := views.FromError(err); errs != nil {
		vm.Errors = errs
		return h.renderFacility(c, fiber.StatusUnprocessableEntity, sw, vm)
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.facility_meter_added")
	return redirect(c, views.NetworkURL(sw.ID)+"#meters")
}

// renderFacility renders a PDU's or sensor's page with its meters and
// the form adding one.
func (h *Handler) renderFacility(c *fiber.Ctx, status int, sw *models.Switch, add views.MeterAddVM) error {
	meters, err := h.store.ListFacilityMeters(c.UserContext(), scope(c), sw.ID)
	if err != nil {
		return err
	}
	if add.Quantity == "" {
		add.Quantity, add.Divisor = models.QuantityPower, "1"
		if sw.Kind == models.SwitchSensor {
			add.Quantity, add.Divisor = models.QuantityTemperature, "10"
		}
	}
	return h.render(c, status, views.NetworkPage(views.NetworkPageVM{Switch: sw, Meters: meters, MeterAdd: add,
		CanManage: engineers.Allows(currentUser(c).Role)}))
}

// meterForm fills a meter page's choices for its organization: the
// organizations, and that one's cabinets and contracts.
func (h *Handler) meterForm(c *fiber.Ctx, vm *views.MeterPageVM) error {
	ctx := c.UserContext()
	orgs, err := h.store.ListOrgs(ctx, scope(c))
	if err != nil {
		return err
	}
	vm.Orgs = orgs
	known := false
	for _, o := range orgs {
		known = known || o.ID == vm.OrgID
	}
	if !known {
		vm.OrgID, vm.ContractID, vm.Cabinet = 0, 0, ""
		return nil
	}
	if vm.Cabinets, err = h.store.OrgCabinets(ctx, scope(c), vm.OrgID); err != nil {
		return err
	}
	vm.Contracts, err = h.store.ListContracts(ctx, scope(c), models.ContractFilter{OrgID: vm.OrgID})
	return err
}

// showFacilityMeter is a meter's page with its mapping form, for the
// organization of ?org= (the form's first step) or the meter's own.
func (h *Handler) showFacilityMeter(c *fiber.Ctx) error {
	sw, m, err := h.meterParam(c)
	if err != nil {
		return err
	}
	vm := views.MeterFormOf(sw, m)
	if q := c.Query("org"); q != "" {
		id, _ := strconv.ParseInt(q, 10, 64)
		if m.OrgID == nil || id != *m.OrgID {
			vm.OrgID, vm.Cabinet, vm.ContractID = id, "", 0
		}
	}
	if err := h.meterForm(c, &vm); err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.MeterPage(vm))
}

// updateFacilityMeter saves a meter's label, mapping and thresholds.
func (h *Handler) updateFacilityMeter(c *fiber.Ctx) error {
	sw, m, err := h.meterParam(c)
	if err != nil {
		return err
	}
	ch := models.MeterChange{Label: c.FormValue("label"), OrgID: optionalID(c.FormValue("org")), Cabinet: c.FormValue("cabinet"),
		ContractID: optionalID(c.FormValue("contract")), High: c.FormValue("high"), Low: c.FormValue("low")}
	if ch.OrgID == nil {
		ch.Cabinet, ch.ContractID = "", nil
	}
	_, err = h.store.UpdateFacilityMeter(c.UserContext(), actor(c), m.ID, ch)
	if errs := views.FromError(err); errs != nil {
		vm := views.MeterPageVM{Switch: sw, Meter: m, Label: ch.Label, Cabinet: ch.Cabinet, High: ch.High, Low: ch.Low, Errors: errs}
		if ch.OrgID != nil {
			vm.OrgID = *ch.OrgID
		}
		if ch.ContractID != nil {
			vm.ContractID = *ch.ContractID
		}
		if err := h.meterForm(c, &vm); err != nil {
			return err
		}
		return h.render(c, fiber.StatusUnprocessableEntity, views.MeterPage(vm))
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.facility_meter_changed")
	return redirect(c, views.NetworkURL(sw.ID)+"#meters")
}

// removeFacilityMeter removes a meter with its readings, after the
// confirmation step.
func (h *Handler) removeFacilityMeter(c *fiber.Ctx) error {
	sw, m, err := h.meterParam(c)
	if err != nil {
		return err
	}
	if !confirmed(c) {
		return h.confirmStep(c, views.ConfirmVM{Button: locales.For(state(c).lang).T("facility.remove_meter"),
			Back: views.MeterURL(sw.ID, m.Ref),
			Text: func(ctx context.Context) (string, []string) {
				return views.T(ctx, "facility.remove_meter_confirm", m.Name()), []string{views.T(ctx, "facility.remove_meter_hint")}
			}})
	}
	if err := h.store.RemoveFacilityMeter(c.UserContext(), actor(c), m.ID); err != nil {
		return err
	}
	h.flash(c, "ok", "flash.facility_meter_removed")
	return redirect(c, views.NetworkURL(sw.ID)+"#meters")
}
