package handlers

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// showNotifySettings is the grid of the organization's contacts and the
// events each of them is notified of.
func (h *Handler) showNotifySettings(c *fiber.Ctx) error {
	ctx := c.UserContext()
	orgID := ownOrg(c)
	contacts, err := h.store.ListContacts(ctx, scope(c), orgID)
	if err != nil {
		return err
	}
	outs, err := h.store.ListNotifyOptOuts(ctx, scope(c), orgID)
	if err != nil {
		return err
	}
	off := map[int64]map[string]bool{}
	for _, o := range outs {
		if off[o.ContactID] == nil {
			off[o.ContactID] = map[string]bool{}
		}
		off[o.ContactID][o.Event] = true
	}
	return h.render(c, fiber.StatusOK, views.NotifySettingsPage(views.NotifySettingsPageVM{Contacts: contacts, Off: off}))
}

// saveNotifySettings stores the grid: each box left unticked, for the
// contacts the form showed, is an opt-out; contacts added meanwhile keep
// their settings.
func (h *Handler) saveNotifySettings(c *fiber.Ctx) error {
	ctx := c.UserContext()
	orgID := ownOrg(c)
	args := c.Request().PostArgs()
	shown := map[int64]bool{}
	var order []int64
	for _, v := range args.PeekMulti("contact") {
		id, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil || id <= 0 {
			return fiber.ErrBadRequest
		}
		if !shown[id] {
			shown[id] = true
			order = append(order, id)
		}
	}
	on := map[string]bool{}
	for _, v := range args.PeekMulti("notify") {
		on[string(v)] = true
	}
	existing, err := h.store.ListNotifyOptOuts(ctx, scope(c), orgID)
	if err != nil {
		return err
	}
	var outs []models.NotifyOptOut
	for _, o := range existing {
		if !shown[o.ContactID] {
			outs = append(outs, o)
		}
	}
	for _, id := range order {
		for _, ev := range models.NotifyEvents {
			if !on[itoa(id)+":"+ev] {
				outs = append(outs, models.NotifyOptOut{OrgID: orgID, ContactID: id, Event: ev})
			}
		}
	}
	if err := h.store.SetNotifyOptOuts(ctx, actor(c), orgID, outs); err != nil {
		return err
	}
	h.flash(c, "ok", "flash.notify_saved")
	return redirect(c, "/contacts/notifications")
}
