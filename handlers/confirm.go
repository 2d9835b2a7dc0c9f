package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/views"
)

// confirmed reports whether an irreversible action's form carries the
// confirmation: from the dialog of portal.js, or from the step page.
func confirmed(c *fiber.Ctx) bool { return c.FormValue("confirmed") == "1" }

// confirmStep answers an unconfirmed irreversible action with the page
// that says what it changes and posts the same form again, confirmed.
func (h *Handler) confirmStep(c *fiber.Ctx, vm views.ConfirmVM) error {
	vm.Action = c.Path()
	c.Request().PostArgs().VisitAll(func(k, v []byte) {
		if name := string(k); name != "_csrf" && name != "confirmed" {
			vm.Fields = append(vm.Fields, [2]string{name, string(v)})
		}
	})
	return h.render(c, fiber.StatusOK, views.ConfirmPage(vm))
}
