package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/views"
)

// showHome is the customer's organization page, or the staff start page.
func (h *Handler) showHome(c *fiber.Ctx) error {
	u := currentUser(c)
	ctx := c.UserContext()
	if orgID, ok := scope(c).Org(); ok {
		home, err := h.store.GetOrgHome(ctx, scope(c), orgID)
		if err != nil {
			return err
		}
		st, err := h.contactStatus(ctx, scope(c), orgID)
		if err != nil {
			return err
		}
		// An empty list has nothing to confirm; the set-up notice asks first.
		vm := views.HomePageVM{Home: home, SetUp: st.setUp, ConfirmDue: st.due && len(st.contacts) > 0,
			ConfirmEvery: h.store.ConfirmEvery()}
		if st.last != nil {
			vm.LastConfirmed = &st.last.ConfirmedAt
		}
		if vm.Overdue, err = h.store.OverdueFollowUps(ctx, scope(c), orgID); err != nil {
			return err
		}
		return h.render(c, fiber.StatusOK, views.HomePage(vm))
	}
	orgs, err := h.store.ListOrgs(ctx, scope(c))
	if err != nil {
		return err
	}
	users, err := h.store.CountUsers(ctx)
	if err != nil {
		return err
	}
	vm := views.StaffHomePageVM{OrgCount: len(orgs), UserCount: users}
	for _, o := range orgs {
		mine := (o.ServiceRepUserID != nil && *o.ServiceRepUserID == u.ID) || (o.EngineerUserID != nil && *o.EngineerUserID == u.ID)
		if mine {
			vm.Mine = append(vm.Mine, o)
		}
	}
	return h.render(c, fiber.StatusOK, views.StaffHomePage(vm))
}
