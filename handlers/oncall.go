package handlers

import (
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// failedShown is how far back the on-call page lists failed deliveries.
const failedShown = 7 * 24 * time.Hour

// DefaultOnCallRefresh is how often the on-call page fetches its live part.
const DefaultOnCallRefresh = 15 * time.Second

// showOnCall is the staff's on-call page: open outages with their clocks,
// phone calls to make, and failed notifications.
func (h *Handler) showOnCall(c *fiber.Ctx) error {
	return h.renderOnCall(c, fiber.StatusOK, views.OnCallPageVM{})
}

// showOnCallLive is the live part of the on-call page alone, which the
// page's script fetches every few seconds.
func (h *Handler) showOnCallLive(c *fiber.Ctx) error {
	vm, err := h.onCall(c, views.OnCallPageVM{})
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return h.render(c, fiber.StatusOK, views.OnCallLive(vm))
}

func (h *Handler) renderOnCall(c *fiber.Ctx, status int, vm views.OnCallPageVM) error {
	vm, err := h.onCall(c, vm)
	if err != nil {
		return err
	}
	return h.render(c, status, views.OnCallPage(vm))
}

// What the on-call page and the staff homes list at most, so that a page
// stays small when thousands of outages are open: call lines and
// organizations' outage lines (the most urgent first; ?all=1 shows every
// line), the devices and outages listed under all lines together, and
// failed deliveries (newest first).
const (
	callLinesShown   = 15
	outageLinesShown = 20
	callDevicesShown = 50
	outagesShown     = 50
	failedListed     = 20
)

// onCall fills the on-call page's lists for the signed-in staff member.
func (h *Handler) onCall(c *fiber.Ctx, vm views.OnCallPageVM) (views.OnCallPageVM, error) {
	ctx := c.UserContext()
	role := currentUser(c).Role
	vm.Now, vm.FailedFor = h.store.Now(), failedShown
	vm.CanAct, vm.CanCall = responders.Allows(role), callers.Allows(role)
	vm.Refresh = int(h.onCallRefresh / time.Second)
	vm.All = c.Query("all") == "1"
	var err error
	if err = h.outageLines(c, &vm); err != nil {
		return vm, err
	}
	if err = h.callLines(c, &vm); err != nil {
		return vm, err
	}
	if err = h.failedList(c, &vm); err != nil {
		return vm, err
	}
	if vm.Operations, err = h.store.OnCallOperations(ctx, scope(c)); err != nil {
		return vm, err
	}
	vm.Unprobed, err = h.store.UnprobedChecks(ctx, models.UnprobedGrace)
	return vm, err
}

// outageLines fills the open outages: the first outageLinesShown
// organizations' lines, or all with vm.All.
func (h *Handler) outageLines(c *fiber.Ctx, vm *views.OnCallPageVM) error {
	gs, err := h.store.OnCallOutageGroups(c.UserContext(), scope(c), outagesShown)
	if err != nil {
		return err
	}
	vm.OutageLines, vm.OutagesOpen = len(gs), 0
	for _, g := range gs {
		vm.OutagesOpen += g.Outages
	}
	if !vm.All && len(gs) > outageLinesShown {
		gs = gs[:outageLinesShown]
	}
	vm.OutageGroups = gs
	return nil
}

// callLines fills the calls to make: the first callLinesShown lines, or
// all with vm.All.
func (h *Handler) callLines(c *fiber.Ctx, vm *views.OnCallPageVM) error {
	gs, err := h.store.CallGroups(c.UserContext(), scope(c), callDevicesShown)
	if err != nil {
		return err
	}
	vm.CallLines = len(gs)
	if !vm.All && len(gs) > callLinesShown {
		gs = gs[:callLinesShown]
	}
	vm.CallGroups = gs
	return nil
}

// failedList fills the newest failed deliveries and counts them all.
func (h *Handler) failedList(c *fiber.Ctx, vm *views.OnCallPageVM) error {
	since := vm.Now.Add(-failedShown)
	var err error
	if vm.Failed, err = h.store.FailedDeliveries(c.UserContext(), scope(c), since, failedListed); err != nil {
		return err
	}
	vm.FailedCount, err = h.store.CountFailedDeliveries(c.UserContext(), scope(c), since)
	return err
}

// logCall records a phone call made for one call task: answered or not,
// and a note. An answered call to a contact who may authorize stops the
// clock. The pages log a whole line at once (logCalls); this route stays
// for one delivery.
func (h *Handler) logCall(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	answered, note := c.FormValue("answered"), c.FormValue("note")
	if answered != "yes" && answered != "no" {
		err = models.Invalid("answered", "error.answer_required")
	}
	if err == nil {
		var clean string
		if clean, err = models.CallNote(note); err == nil {
			err = h.store.LogCall(c.UserContext(), actor(c), id, answered == "yes", clean)
		}
	}
	if errs := views.FromError(err); errs != nil {
		// The page shows the call's line with the error.
		vm := views.OnCallPageVM{FormDelivery: id, FormKind: "call", Answered: answered, Note: note, Errors: errs}
		if d, err := h.store.GetDelivery(c.UserContext(), scope(c), id); err == nil {
			g := models.CallGroup{OrgID: d.OrgID, ContactID: d.ContactID, Address: d.Address}
			vm.FormGroup, vm.FormKind = g.Key(), "calls"
		}
		return h.renderOnCall(c, fiber.StatusUnprocessableEntity, vm)
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.call_logged")
	if c.FormValue("next") == "/" { // logged from the home page
		return redirect(c, "/#home-calls")
	}
	return redirect(c, "/oncall#calls")
}

// logCalls records one phone call to a contact of an organization at a
// number as the result of every pending call to them there: answered or
// not, and a note. An answered call to a contact who may authorize stops
// the clocks of all their outages.
func (h *Handler) logCalls(c *fiber.Ctx) error {
	orgID, err := paramID(c, "id")
	if err != nil {
		return err
	}
	contactID, err := strconv.ParseInt(c.FormValue("contact"), 10, 64)
	if err != nil || contactID <= 0 || !scope(c).Allows(orgID) {
		return models.ErrNotFound
	}
	address := c.FormValue("address")
	answered, note := c.FormValue("answered"), c.FormValue("note")
	asOf, ok := callPageAsOf(c.FormValue("as_of"))
	switch {
	case answered != "yes" && answered != "no":
		err = models.Invalid("answered", "error.answer_required")
	case !ok:
		err = models.Invalid("as_of", "error.call_page_unknown")
	}
	if err == nil {
		var clean string
		if clean, err = models.CallNote(note); err == nil {
			_, err = h.store.LogCalls(c.UserContext(), actor(c), orgID, contactID, address, answered == "yes", clean, asOf)
		}
	}
	if errs := views.FromError(err); errs != nil {
		g := models.CallGroup{OrgID: orgID, ContactID: contactID, Address: address}
		vm := views.OnCallPageVM{FormGroup: g.Key(), FormKind: "calls", Answered: answered, Note: note, Errors: errs}
		return h.renderOnCall(c, fiber.StatusUnprocessableEntity, vm)
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.calls_logged")
	if c.FormValue("next") == "/" { // logged from the home page
		return redirect(c, "/#home-calls")
	}
	return redirect(c, "/oncall#calls")
}

// callPageAsOf reads a call form's as_of: when the page it was on was
// drawn, in Unix milliseconds (views.AsOf). ok is false when it is
// missing or garbled.
func callPageAsOf(v string) (time.Time, bool) {
	ms, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}, false
	}
	return time.UnixMilli(ms).UTC(), true
}

// retryDelivery queues a failed, bounced or unanswered delivery again.
func (h *Handler) retryDelivery(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	if err := h.store.RetryDelivery(c.UserContext(), actor(c), id); err != nil {
		return err
	}
	h.flash(c, "ok", "flash.delivery_retried")
	return redirect(c, "/oncall#failed")
}

// markDeliveryWrong marks the contact detail a delivery used as wrong, the
// customer's to correct; a reason is required, as it may waive a deduction.
func (h *Handler) markDeliveryWrong(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	d, err := h.store.GetDelivery(ctx, scope(c), id)
	if err != nil {
		return err
	}
	reason := c.FormValue("reason")
	if strings.TrimSpace(reason) == "" {
		err = models.Invalid("reason", "error.required")
	} else {
		err = h.store.MarkContactDetailWrong(ctx, actor(c), d.ContactID, d.Channel, reason)
	}
	if errs := views.FromError(err); errs != nil {
		return h.renderOnCall(c, fiber.StatusUnprocessableEntity, views.OnCallPageVM{FormDelivery: id, FormKind: "wrong",
			Reason: reason, Errors: errs})
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.detail_marked_wrong")
	return redirect(c, "/oncall#failed")
}
