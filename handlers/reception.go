package handlers

import (
	"errors"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// Reception's desk (docs/agreement.md, clause 9): the queue of visit
// requests and the decision on each.

// queueShown bounds the pending visits the queue lists (the count says
// how many there are in all), and upcomingShown the approved ones.
const (
	queueShown    = 100
	upcomingShown = 20
)

// showReception is reception's queue: pending visits, emergencies first
// then by entry, the day's expected visitors and the approved visits to come.
func (h *Handler) showReception(c *fiber.Ctx) error {
	vm, err := h.receptionVM(c, queueShown)
	if err != nil {
		return err
	}
	if vm.Upcoming, err = h.store.UpcomingVisits(c.UserContext(), scope(c), vm.Now, upcomingShown); err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.ReceptionPage(vm))
}

// receptionVM is the queue (at most limit lines) with its counts.
func (h *Handler) receptionVM(c *fiber.Ctx, limit int) (views.ReceptionVM, error) {
	ctx, sc := c.UserContext(), scope(c)
	vm := views.ReceptionVM{Now: h.store.Now()}
	var err error
	if vm.Queue, vm.Pending, err = h.store.ReceptionQueue(ctx, sc, limit); err != nil {
		return vm, err
	}
	local := vm.Now.In(h.loc)
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, h.loc)
	if vm.Expected, err = h.store.VisitorsExpected(ctx, sc, day, day.AddDate(0, 0, 1)); err != nil {
		return vm, err
	}
	vm.Inside, err = h.store.InsideNow(ctx, sc)
	return vm, err
}

// localInput is the layout of a datetime-local field.
const localInput = "2006-01-02T15:04"

// receptionVisit is the visit of the path's reference.
func (h *Handler) receptionVisit(c *fiber.Ctx) (*models.Visit, error) {
	return h.store.GetVisitByRef(c.UserContext(), scope(c), c.Params("ref"))
}

// showReceptionVisit is reception's page of a visit.
func (h *Handler) showReceptionVisit(c *fiber.Ctx) error {
	v, err := h.receptionVisit(c)
	if err != nil {
		return err
	}
	return h.renderReceptionVisit(c, fiber.StatusOK, v, views.ReceptionVisitVM{})
}

// renderReceptionVisit loads visit v with its visitors, revealed for
// reception only (an admin sees them masked), and renders the page with
// vm's form state. An empty approval form starts from the requested times
// and the escort an undone approval had.
func (h *Handler) renderReceptionVisit(c *fiber.Ctx, status int, v *models.Visit, vm views.ReceptionVisitVM) error {
	ctx := c.UserContext()
	d, err := h.store.VisitDetailOf(ctx, scope(c), v, currentUser(c).Role == models.RoleReception)
	if err != nil {
		return err
	}
	vm.D, vm.Now = d, h.store.Now()
	if v.State == models.VisitPending {
		if vm.Escorts, err = h.store.ListEscorts(ctx); err != nil {
			return err
		}
		if v.EscortID != nil {
			vm.Suggestion = *v.EscortID
		}
		if vm.Form != "approve" {
			vm.EscortID = vm.Suggestion
			vm.From, vm.To = v.PlannedFrom.In(h.loc).Format(localInput), v.PlannedTo.In(h.loc).Format(localInput)
		}
	}
	return h.render(c, status, views.ReceptionVisitPage(vm))
}

// approveVisit approves a pending visit with an escort, optionally
// adjusted times and a note. A busy escort shows the overlapping visits
// and a button to approve anyway.
func (h *Handler) approveVisit(c *fiber.Ctx) error {
	v, err := h.receptionVisit(c)
	if err != nil {
		return err
	}
	vm := views.ReceptionVisitVM{Form: "approve", From: c.FormValue("planned_from"), To: c.FormValue("planned_to"), Note: c.FormValue("note")}
	vm.EscortID, _ = strconv.ParseInt(c.FormValue("escort"), 10, 64)
	in := models.ApproveInput{EscortID: vm.EscortID, Note: vm.Note, Confirmed: confirmed(c), AsOf: asOf(c)}
	var fromErr, toErr error
	in.From, fromErr = h.parseLocalTime("planned_from", vm.From)
	in.To, toErr = h.parseLocalTime("planned_to", vm.To)
	if err = errors.Join(fromErr, toErr); err == nil {
		_, err = h.store.ApproveVisit(c.UserContext(), actor(c), v.OrgID, v.ID, in)
	}
	if busy := (*models.EscortBusy)(nil); errors.As(err, &busy) {
		vm.Busy = busy
		return h.renderReceptionVisit(c, fiber.StatusConflict, v, vm)
	}
	if errs := views.FromError(err); errs != nil {
		vm.Errors = errs
		return h.renderReceptionVisit(c, fiber.StatusUnprocessableEntity, v, vm)
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.visit_approved")
	return redirect(c, "/reception")
}

// asOf reads the form's as_of: when the visit had last changed as the
// page showed it (zero when absent or unreadable, which checks nothing).
func asOf(c *fiber.Ctx) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, c.FormValue("as_of"))
	return t
}

// refuseVisit refuses a pending visit with a reason.
func (h *Handler) refuseVisit(c *fiber.Ctx) error {
	v, err := h.receptionVisit(c)
	if err != nil {
		return err
	}
	reason := c.FormValue("reason")
	_, err = h.store.RefuseVisit(c.UserContext(), actor(c), v.OrgID, v.ID, reason, asOf(c))
	if errs := views.FromError(err); errs != nil {
		return h.renderReceptionVisit(c, fiber.StatusUnprocessableEntity, v, views.ReceptionVisitVM{Form: "refuse", Errors: errs, Reason: reason})
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.visit_refused")
	return redirect(c, "/reception")
}
