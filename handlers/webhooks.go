package handlers

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// hookLogPage is how many deliveries one page of an endpoint's log shows.
const hookLogPage = 25

// Customer webhooks: every user of an organization reads its endpoints
// and their delivery logs; its administrator (Store.IsOrgAdmin) adds,
// changes, deletes, tests and re-enables them. Another organization's
// endpoint is not found, before any role check.

// showWebhooks lists the organization's endpoints.
func (h *Handler) showWebhooks(c *fiber.Ctx) error {
	eps, err := h.store.ListWebhooks(c.UserContext(), scope(c), ownOrg(c))
	if err != nil {
		return err
	}
	admin, err := h.isOrgAdmin(c)
	if err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.WebhooksPage(views.WebhooksPageVM{Endpoints: eps, Admin: admin}))
}

func (h *Handler) newWebhook(c *fiber.Ctx) error {
	if err := h.requireOrgAdmin(c); err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.WebhookFormPage(views.WebhookFormPageVM{Form: models.WebhookInput{Events: models.HookEvents}}))
}

func webhookForm(c *fiber.Ctx) models.WebhookInput {
	in := models.WebhookInput{URL: c.FormValue("url"), Description: c.FormValue("description")}
	for _, v := range c.Request().PostArgs().PeekMulti("events") {
		in.Events = append(in.Events, string(v))
	}
	return in
}

// createWebhook registers an endpoint and shows its secret, once: the
// answer is the endpoint's page, never a redirect (the secret is in no
// URL, flash or log).
func (h *Handler) createWebhook(c *fiber.Ctx) error {
	if err := h.requireOrgAdmin(c); err != nil {
		return err
	}
	in := webhookForm(c)
	e, secret, err := h.store.CreateWebhook(c.UserContext(), actor(c), scope(c), ownOrg(c), in)
	if errs := views.FromError(err); errs != nil {
		return h.render(c, fiber.StatusUnprocessableEntity, views.WebhookFormPage(views.WebhookFormPageVM{Form: in, Errors: errs}))
	}
	if err != nil {
		return err
	}
	// Location names the endpoint, so that a repeat of the form is sent
	// to its page (oneTimeSubmission) instead of making a second one.
	c.Set(fiber.HeaderLocation, "/webhooks/"+e.Ref)
	return h.renderWebhook(c, fiber.StatusCreated, e, secret, "webhooks.created", nil, nil)
}

// webhookParam finds an endpoint of the user's own organization.
func (h *Handler) webhookParam(c *fiber.Ctx) (*models.WebhookEndpoint, error) {
	return h.store.GetWebhook(c.UserContext(), scope(c), c.Params("ref"))
}

// showWebhook is an endpoint's settings and its delivery log, newest first.
func (h *Handler) showWebhook(c *fiber.Ctx) error {
	e, err := h.webhookParam(c)
	if err != nil {
		return err
	}
	return h.renderWebhook(c, fiber.StatusOK, e, "", "", nil, nil)
}

func (h *Handler) renderWebhook(c *fiber.Ctx, status int, e *models.WebhookEndpoint, secret, secretKey string, form *models.WebhookInput, errs views.FormErrors) error {
	before, _ := strconv.ParseInt(c.Query("before"), 10, 64)
	ds, err := h.store.ListWebhookDeliveries(c.UserContext(), scope(c), e, before, hookLogPage+1)
	if err != nil {
		return err
	}
	admin, err := h.isOrgAdmin(c)
	if err != nil {
		return err
	}
	vm := views.WebhookPageVM{Endpoint: e, Admin: admin, Secret: secret, SecretKey: secretKey, Errors: errs,
		Form: models.WebhookInput{URL: e.URL, Description: e.Description, Events: e.EventList()}, Before: before}
	if form != nil {
		vm.Form = *form
	}
	if len(ds) > hookLogPage {
		ds = ds[:hookLogPage]
		vm.Older = ds[len(ds)-1].ID
	}
	vm.Deliveries = ds
	if secret != "" {
		c.Set(fiber.HeaderCacheControl, "no-store")
	}
	return h.render(c, status, views.WebhookPage(vm))
}

// adminWebhook finds the endpoint (404 for another organization's), then
// refuses a colleague who is not the administrator (403).
func (h *Handler) adminWebhook(c *fiber.Ctx) (*models.WebhookEndpoint, error) {
	e, err := h.webhookParam(c)
	if err != nil {
		return nil, err
	}
	return e, h.requireOrgAdmin(c)
}

func (h *Handler) updateWebhook(c *fiber.Ctx) error {
	e, err := h.adminWebhook(c)
	if err != nil {
		return err
	}
	in := webhookForm(c)
	err = h.store.UpdateWebhook(c.UserContext(), actor(c), scope(c), e.Ref, in)
	if errs := views.FromError(err); errs != nil {
		return h.renderWebhook(c, fiber.StatusUnprocessableEntity, e, "", "", &in, errs)
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.webhook_updated")
	return redirect(c, "/webhooks/"+e.Ref)
}

func (h *Handler) deleteWebhook(c *fiber.Ctx) error {
	e, err := h.adminWebhook(c)
	if err != nil {
		return err
	}
	if err := h.store.DeleteWebhook(c.UserContext(), actor(c), scope(c), e.Ref); err != nil {
		return err
	}
	h.flash(c, "ok", "flash.webhook_deleted")
	return redirect(c, "/webhooks")
}

// rotateWebhook makes a new secret and shows it once.
func (h *Handler) rotateWebhook(c *fiber.Ctx) error {
	e, err := h.adminWebhook(c)
	if err != nil {
		return err
	}
	secret, err := h.store.RotateWebhookSecret(c.UserContext(), actor(c), scope(c), e.Ref)
	if err != nil {
		return err
	}
	return h.renderWebhook(c, fiber.StatusOK, e, secret, "webhooks.rotated", nil, nil)
}

func (h *Handler) enableWebhook(c *fiber.Ctx) error  { return h.setWebhookEnabled(c, true) }
func (h *Handler) disableWebhook(c *fiber.Ctx) error { return h.setWebhookEnabled(c, false) }

func (h *Handler) setWebhookEnabled(c *fiber.Ctx, on bool) error {
	e, err := h.adminWebhook(c)
	if err != nil {
		return err
	}
	if err := h.store.SetWebhookEnabled(c.UserContext(), actor(c), scope(c), e.Ref, on); err != nil {
		return err
	}
	key := "flash.webhook_disabled"
	if on {
		key = "flash.webhook_enabled"
	}
	h.flash(c, "ok", key)
	return redirect(c, "/webhooks/"+e.Ref)
}

// testWebhook queues a ping, sent by the next pass of the dispatcher.
func (h *Handler) testWebhook(c *fiber.Ctx) error {
	e, err := h.adminWebhook(c)
	if err != nil {
		return err
	}
	d, err := h.store.SendWebhookTest(c.UserContext(), actor(c), scope(c), e.Ref)
	if _, ok := models.AsValidation(err); ok {
		h.flash(c, "bad", "flash.webhook_test_pending")
		return redirect(c, "/webhooks/"+e.Ref)
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.webhook_test_queued")
	return redirect(c, "/webhooks/"+e.Ref+"/deliveries/"+itoa(d.ID))
}

// showWebhookDelivery is one delivery with its payload and every attempt.
func (h *Handler) showWebhookDelivery(c *fiber.Ctx) error {
	e, err := h.webhookParam(c)
	if err != nil {
		return err
	}
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	d, as, err := h.store.GetWebhookDelivery(c.UserContext(), scope(c), e, id)
	if err != nil {
		return err
	}
	admin, err := h.isOrgAdmin(c)
	if err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.WebhookDeliveryPage(views.WebhookDeliveryPageVM{Endpoint: e, Delivery: d,
		Attempts: as, Admin: admin}))
}

// redeliverWebhook puts a finished delivery back in the queue.
func (h *Handler) redeliverWebhook(c *fiber.Ctx) error {
	e, err := h.webhookParam(c)
	if err != nil {
		return err
	}
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	if _, _, err := h.store.GetWebhookDelivery(c.UserContext(), scope(c), e, id); err != nil {
		return err
	}
	if err := h.requireOrgAdmin(c); err != nil {
		return err
	}
	err = h.store.RedeliverWebhook(c.UserContext(), actor(c), scope(c), e.Ref, id)
	if _, ok := models.AsValidation(err); ok {
		h.flash(c, "bad", "flash.webhook_still_pending")
		return redirect(c, "/webhooks/"+e.Ref+"/deliveries/"+itoa(id))
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.webhook_redelivered")
	return redirect(c, "/webhooks/"+e.Ref+"/deliveries/"+itoa(id))
}
