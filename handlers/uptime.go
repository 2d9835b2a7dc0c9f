package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/views"
)

// showUptime is the customer's uptime page: every device of their own
// organization.
func (h *Handler) showUptime(c *fiber.Ctx) error {
	return h.renderUptime(c, ownOrg(c), false)
}

// showOrgUptime is the same page of any organization, for staff.
func (h *Handler) showOrgUptime(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	return h.renderUptime(c, id, true)
}

func (h *Handler) renderUptime(c *fiber.Ctx, orgID int64, staff bool) error {
	ctx := c.UserContext()
	org, err := h.store.GetOrg(ctx, scope(c), orgID)
	if err != nil {
		return err
	}
	devices, err := h.store.OrgUptime(ctx, scope(c), orgID, h.loc)
	if err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.UptimePage(views.UptimePageVM{Org: org, Staff: staff,
		CanEdit: engineers.Allows(currentUser(c).Role), Devices: devices}))
}

// showFleet lists every device of every organization, problems first.
func (h *Handler) showFleet(c *fiber.Ctx) error {
	devices, err := h.store.ListFleet(c.UserContext(), scope(c))
	if err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.FleetPage(views.FleetPageVM{Devices: devices}))
}
