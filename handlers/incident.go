package handlers

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// showIncidents lists the provider-wide incidents, newest first.
func (h *Handler) showIncidents(c *fiber.Ctx) error {
	list, err := h.store.ListIncidents(c.UserContext(), scope(c), 100)
	if err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.IncidentsPage(views.IncidentsPageVM{Incidents: list}))
}

// showIncident is an incident's page: counts, cause, updates, the phone
// list and, for engineers, naming and resolving it.
func (h *Handler) showIncident(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	return h.renderIncident(c, fiber.StatusOK, id, views.IncidentPageVM{})
}

func (h *Handler) renderIncident(c *fiber.Ctx, status int, id int64, vm views.IncidentPageVM) error {
	d, err := h.store.GetIncidentDetail(c.UserContext(), scope(c), id)
	if err != nil {
		return err
	}
	role := currentUser(c).Role
	vm.Detail, vm.Now = d, h.store.Now()
	vm.CanClassify, vm.CanPost = engineers.Allows(role), responders.Allows(role)
	return h.render(c, status, views.IncidentPage(vm))
}

// incidentParam resolves the incident of the path through the scope.
func (h *Handler) incidentParam(c *fiber.Ctx) (*models.Incident, error) {
	id, err := paramID(c, "id")
	if err != nil {
		return nil, err
	}
	return h.store.GetIncident(c.UserContext(), scope(c), id)
}

func incidentURL(id int64) string { return "/incidents/" + itoa(id) }

// renameIncident names an incident.
func (h *Handler) renameIncident(c *fiber.Ctx) error {
	inc, err := h.incidentParam(c)
	if err != nil {
		return err
	}
	title := c.FormValue("title")
	err = h.store.RenameIncident(c.UserContext(), actor(c), inc.ID, title)
	if errs := views.FromError(err); errs != nil {
		return h.renderIncident(c, fiber.StatusUnprocessableEntity, inc.ID, views.IncidentPageVM{Title: title, Errors: errs})
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.incident_renamed")
	return redirect(c, incidentURL(inc.ID))
}

// setIncidentCause sets one cause for every outage of an incident, after
// a confirmation that says how many outages it changes.
func (h *Handler) setIncidentCause(c *fiber.Ctx) error {
	inc, err := h.incidentParam(c)
	if err != nil {
		return err
	}
	cause, note := c.FormValue("cause"), c.FormValue("note")
	if cs := models.Cause(cause); !confirmed(c) {
		if _, perr := models.ParseCause(cause); perr == nil && cs.WholeOutage() {
			d, err := h.store.GetIncidentDetail(c.UserContext(), scope(c), inc.ID)
			if err != nil {
				return err
			}
			return h.confirmStep(c, views.ConfirmVM{Button: locales.For(state(c).lang).T("common.save"),
				Back: incidentURL(inc.ID),
				Text: func(ctx context.Context) (string, []string) {
					return views.T(ctx, "confirm.cause.title", views.CauseName(ctx, cs)),
						[]string{views.T(ctx, "incidents.confirm_cause", d.Incident.Outages, d.Incident.Orgs),
							views.T(ctx, "incidents.confirm_cause_counts", views.CauseName(ctx, cs))}
				}})
		}
	}
	_, err = h.store.SetIncidentCause(c.UserContext(), actor(c), inc.ID, models.Cause(cause), note)
	if errs := views.FromError(err); errs != nil {
		return h.renderIncident(c, fiber.StatusUnprocessableEntity, inc.ID, views.IncidentPageVM{Cause: cause, Note: note, Errors: errs})
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.incident_cause_set")
	return redirect(c, incidentURL(inc.ID))
}

// postIncidentUpdate sends an update to every affected organization's
// authorized contacts and puts it on their home pages.
func (h *Handler) postIncidentUpdate(c *fiber.Ctx) error {
	inc, err := h.incidentParam(c)
	if err != nil {
		return err
	}
	body := c.FormValue("body")
	_, err = h.store.PostIncidentUpdate(c.UserContext(), actor(c), inc.ID, body, state(c).lang)
	if errs := views.FromError(err); errs != nil {
		return h.renderIncident(c, fiber.StatusUnprocessableEntity, inc.ID, views.IncidentPageVM{Body: body, Errors: errs})
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.incident_update_posted")
	return redirect(c, incidentURL(inc.ID))
}

// resolveIncident ends an incident.
func (h *Handler) resolveIncident(c *fiber.Ctx) error {
	inc, err := h.incidentParam(c)
	if err != nil {
		return err
	}
	err = h.store.ResolveIncident(c.UserContext(), actor(c), inc.ID)
	if errs := views.FromError(err); errs != nil {
		return h.renderIncident(c, fiber.StatusUnprocessableEntity, inc.ID, views.IncidentPageVM{Errors: errs})
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.incident_resolved")
	return redirect(c, incidentURL(inc.ID))
}
