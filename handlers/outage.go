package handlers

import (
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// outageParam finds the outage of the path within the request's scope: a
// customer's only in their own organization (another's is not found).
func (h *Handler) outageParam(c *fiber.Ctx) (*models.Outage, error) {
	id, err := paramID(c, "id")
	if err != nil {
		return nil, err
	}
	return h.store.GetOutage(c.UserContext(), scope(c), id)
}

// showOutage is one outage: its times, evidence, emergency-notice clock and
// every notification sent with each attempt. Every query is filtered by the
// outage's organization.
func (h *Handler) showOutage(c *fiber.Ctx) error {
	o, err := h.outageParam(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	u := currentUser(c)
	vm := views.OutagePageVM{Outage: o, Now: h.store.Now(), Staff: u.Role.IsStaff(), CanEdit: engineers.Allows(u.Role),
		CanRetry: responders.Allows(u.Role)}
	if vm.Org, err = h.store.GetOrg(ctx, scope(c), o.OrgID); err != nil {
		return err
	}
	if vm.Device, err = h.store.GetDevice(ctx, scope(c), o.DeviceID); err != nil {
		return err
	}
	checks, err := h.store.ListChecks(ctx, scope(c), o.OrgID, o.DeviceID)
	if err != nil {
		return err
	}
	for i := range checks {
		if checks[i].ID == o.CheckID {
			vm.Check = &checks[i]
		}
	}
	if err := h.evidencePage(c, &vm); err != nil {
		return err
	}
	if vm.Clock, err = h.store.OutageClock(ctx, scope(c), o.OrgID, o.ID); err != nil {
		return err
	}
	if vm.Clock != nil && vm.Clock.Outcome == models.ClockMissed {
		if vm.Deduction, err = h.store.ClockDeduction(ctx, scope(c), o.OrgID, vm.Clock.ID); err != nil {
			return err
		}
		if vm.Deduction != nil {
			if vm.MonthClosed, err = h.store.MonthClosed(ctx, scope(c), o.OrgID, vm.Deduction.Day[:7]); err != nil {
				return err
			}
		}
	}
	if vm.Deliveries, vm.Attempts, err = h.store.OutageDeliveries(ctx, scope(c), o.OrgID, o.ID); err != nil {
		return err
	}
	contacts, err := h.store.ListContacts(ctx, scope(c), o.OrgID)
	if err != nil {
		return err
	}
	vm.Contacts = map[int64]string{}
	for _, ct := range contacts {
		vm.Contacts[ct.ID] = ct.Name
	}
	// Split by its cause spans and the maintenance its organization agreed to.
	segs, err := h.store.OutageSegmentsOf(ctx, scope(c), o.OrgID, []models.Outage{*o})
	if err != nil {
		return err
	}
	vm.Segments = segs[o.ID]
	var loggers []int64
	for _, g := range vm.Segments {
		if g.Part != nil && g.Part.SetBy != nil {
			loggers = append(loggers, *g.Part.SetBy)
		}
	}
	for _, as := range vm.Attempts {
		for _, a := range as {
			if a.ByUserID != nil {
				loggers = append(loggers, *a.ByUserID)
			}
		}
	}
	if vm.StaffNames, err = h.store.StaffNames(ctx, loggers); err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.OutagePage(vm))
}

// retryOutageDelivery queues one of the outage's failed, bounced or
// unanswered deliveries again, from the outage page. A delivery that is not
// one of this outage's (another organization's, another outage's) is not
// found.
func (h *Handler) retryOutageDelivery(c *fiber.Ctx) error {
	o, err := h.outageParam(c)
	if err != nil {
		return err
	}
	id, err := paramID(c, "delivery")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	ds, _, err := h.store.OutageDeliveries(ctx, scope(c), o.OrgID, o.ID)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(ds, func(d models.Delivery) bool { return d.ID == id }) {
		return models.ErrNotFound
	}
	if err := h.store.RetryDelivery(ctx, actor(c), id); err != nil {
		return err
	}
	h.flash(c, "ok", "flash.delivery_retried")
	return redirect(c, views.Path("/outages/", o.ID, "#delivery-", id))
}

// evidencePage fills in the page of evidence that ?page= asks for (the
// first, newest, when it is missing or not a number; the last when beyond).
func (h *Handler) evidencePage(c *fiber.Ctx, vm *views.OutagePageVM) error {
	page := c.QueryInt("page", 1)
	if page < 1 {
		page = 1
	}
	ctx, o := c.UserContext(), vm.Outage
	for {
		ev, total, err := h.store.OutageEvidencePage(ctx, scope(c), o.OrgID, o.ID, (page-1)*views.EvidencePerPage, views.EvidencePerPage)
		if err != nil {
			return err
		}
		pages := int((total + views.EvidencePerPage - 1) / views.EvidencePerPage)
		if pages < 1 {
			pages = 1
		}
		if page > pages {
			page = pages
			continue
		}
		vm.Evidence, vm.EvidenceTotal, vm.EvidencePage, vm.EvidencePages = ev, total, page, pages
		return nil
	}
}
