package handlers

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"

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
	up, err := h.store.OrgUptimePage(ctx, scope(c), orgID, c.QueryInt("page", 1), h.loc)
	if err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.UptimePage(views.UptimePageVM{Org: org, Staff: staff,
		CanEdit: engineers.Allows(currentUser(c).Role), Devices: up.Devices, Counts: up.Counts, Page: up.Page, Pages: up.Pages}))
}

// showFleet lists one page of the devices of every organization, problems
// first, narrowed by a search (q), a state and an organization (org).
func (h *Handler) showFleet(c *fiber.Ctx) error {
	ctx := c.UserContext()
	q := models.FleetQuery{Search: strings.TrimSpace(c.Query("q")), Page: c.QueryInt("page", 1)}
	if r := []rune(q.Search); len(r) > 100 {
		q.Search = string(r[:100])
	}
	switch st := c.Query("state"); st {
	case models.StatusDown, models.StatusUnknown, models.StatusUp:
		q.State = st
	}
	if id, err := strconv.ParseInt(c.Query("org"), 10, 64); err == nil && id > 0 {
		q.OrgID = id
	}
	fleet, err := h.store.ListFleet(ctx, scope(c), q)
	if err != nil {
		return err
	}
	orgs, err := h.store.ListOrgs(ctx, scope(c))
	if err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.FleetPage(views.FleetPageVM{Fleet: fleet, Query: q, Orgs: orgs}))
}
