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
	q := listQuery(c)
	up, err := h.store.OrgUptimeList(ctx, scope(c), orgID, q, h.loc)
	if err != nil {
		return err
	}
	// The filters offer the organization's own cabinets and tags only.
	choices, err := h.store.OrgFilterChoices(ctx, scope(c), orgID)
	if err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.UptimePage(views.UptimePageVM{Org: org, Staff: staff,
		CanEdit: engineers.Allows(currentUser(c).Role), Devices: up.Devices, Counts: up.Counts, Page: up.Page, Pages: up.Pages,
		Query: q, Choices: choices}))
}

// listQuery reads a device list's search (q), state, cabinet, tag and
// page from the query string; an unknown state is any state.
func listQuery(c *fiber.Ctx) models.FleetQuery {
	q := models.FleetQuery{Search: clip(c.Query("q"), 100), Page: c.QueryInt("page", 1),
		Cabinet: clip(c.Query("cabinet"), 40), Tag: strings.ToLower(clip(c.Query("tag"), models.MaxTagLen))}
	switch st := c.Query("state"); st {
	case models.StatusDown, models.StatusUnknown, models.StatusUp:
		q.State = st
	}
	return q
}

// clip is s trimmed and cut to at most n characters.
func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > n {
		s = strings.TrimSpace(string(r[:n]))
	}
	return s
}

// showFleet lists one page of the devices of every organization, problems
// first, narrowed by a search (q), a state, an organization (org), a
// cabinet and a tag.
func (h *Handler) showFleet(c *fiber.Ctx) error {
	ctx := c.UserContext()
	q := listQuery(c)
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
