package handlers

import (
	"errors"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// requestParam finds the operation request of the path within the
// request's scope: a customer's only in their own organization (another's
// is not found).
func (h *Handler) requestParam(c *fiber.Ctx) (*models.OperationRequest, error) {
	return h.store.GetRequestByRef(c.UserContext(), scope(c), c.Params("id"))
}

// requestChild is the request of the path and the ID of the path
// parameter param naming something of it (an authorization, an outage;
// staff-only actions: a document is named by its reference instead),
// which the caller looks up within the request's organization.
func (h *Handler) requestChild(c *fiber.Ctx, param string) (*models.OperationRequest, int64, error) {
	r, err := h.requestParam(c)
	if err != nil {
		return nil, 0, err
	}
	id, err := paramID(c, param)
	return r, id, err
}

// showOperations lists requests: a customer's own, or every open one for staff.
func (h *Handler) showOperations(c *fiber.Ctx) error {
	ctx := c.UserContext()
	u := currentUser(c)
	sc := scope(c)
	vm := views.OperationsPageVM{Staff: u.Role.IsStaff(), Now: h.store.Now()}
	// A customer sees all of theirs; staff the open ones unless asked.
	f := models.RequestFilter{Open: false}
	if vm.Staff {
		vm.All = c.Query("all") == "1"
		f.Open = !vm.All
		orgs, err := h.store.ListOrgs(ctx, sc)
		if err != nil {
			return err
		}
		vm.Orgs = map[int64]string{}
		for _, o := range orgs {
			vm.Orgs[o.ID] = o.Name
		}
	}
	var err error
	if vm.Requests, err = h.store.ListRequests(ctx, sc, f); err != nil {
		return err
	}
	ids := make([]int64, len(vm.Requests))
	for i, r := range vm.Requests {
		ids[i] = r.ID
	}
	if vm.Clocks, vm.Overdue, err = h.store.RequestListClocks(ctx, sc, ids); err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.OperationsPage(vm))
}

// requestForm fills the form's choices for organization orgID.
func (h *Handler) requestForm(c *fiber.Ctx, orgID int64, vm views.RequestFormVM) (views.RequestFormVM, error) {
	ctx := c.UserContext()
	var err error
	if vm.Org, err = h.store.GetOrg(ctx, scope(c), orgID); err != nil {
		return vm, err
	}
	if vm.Devices, err = h.store.ListDevices(ctx, scope(c), orgID); err != nil {
		return vm, err
	}
	if vm.Staff {
		if vm.Users, err = h.store.ListUsers(ctx, scope(c), models.UserFilter{OrgID: orgID, Role: models.RoleCustomer, EnabledOnly: true}); err != nil {
			return vm, err
		}
	}
	if vm.Urgency == "" {
		vm.Urgency = "normal"
	}
	return vm, nil
}

// newRequest shows a customer the form to ask for work on their equipment.
func (h *Handler) newRequest(c *fiber.Ctx) error {
	vm, err := h.requestForm(c, ownOrg(c), views.RequestFormVM{})
	if err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.RequestFormPage(vm))
}

// newRequestForOrg shows staff the form to raise a request for a customer
// who called or wrote.
func (h *Handler) newRequestForOrg(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	vm, err := h.requestForm(c, id, views.RequestFormVM{Staff: true, Channel: "phone"})
	if err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.RequestFormPage(vm))
}

// createRequest records a customer's request; they ask for themselves.
func (h *Handler) createRequest(c *fiber.Ctx) error {
	u := currentUser(c)
	return h.saveRequest(c, ownOrg(c), false, &u.ID)
}

// createRequestForOrg records a request raised by staff for a customer.
func (h *Handler) createRequestForOrg(c *fiber.Ctx) error {
	org, err := h.orgParam(c)
	if err != nil {
		return err
	}
	return h.saveRequest(c, org.ID, true, optionalID(c.FormValue("requested_by")))
}

func (h *Handler) saveRequest(c *fiber.Ctx, orgID int64, staff bool, requester *int64) error {
	vm := views.RequestFormVM{Staff: staff, Title: c.FormValue("title"), Work: c.FormValue("work"), Urgency: c.FormValue("urgency"),
		Channel: c.FormValue("channel"), WindowFrom: c.FormValue("window_from"), WindowTo: c.FormValue("window_to"), Selected: map[int64]bool{}}
	if requester != nil {
		vm.Requester = *requester
	}
	in := models.RequestInput{Title: vm.Title, Work: vm.Work, Urgency: vm.Urgency, RequestedBy: requester, Channel: "portal"}
	if staff {
		in.Channel = vm.Channel
	}
	for _, v := range c.Context().PostArgs().PeekMulti("devices") {
		if id, err := strconv.ParseInt(string(v), 10, 64); err == nil && id > 0 {
			in.DeviceIDs = append(in.DeviceIDs, id)
			vm.Selected[id] = true
		}
	}
	var fromErr, toErr error
	in.WindowFrom, fromErr = h.parseLocalTime("window_from", vm.WindowFrom)
	in.WindowTo, toErr = h.parseLocalTime("window_to", vm.WindowTo)
	var r *models.OperationRequest
	err := errors.Join(fromErr, toErr)
	if err == nil {
		r, err = h.store.CreateRequest(c.UserContext(), actor(c), orgID, in)
	} else {
		err = errors.Join(err, models.CheckRequest(in)) // every error in one answer
	}
	if errs := views.FromError(err); errs != nil {
		vm.Errors = errs
		if vm, err = h.requestForm(c, orgID, vm); err != nil {
			return err
		}
		return h.render(c, fiber.StatusUnprocessableEntity, views.RequestFormPage(vm))
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.request_created")
	return redirect(c, views.OperationURL(r.Ref))
}

// parseLocalTime reads a datetime-local field in the portal's time zone,
// within the date range; empty is nil.
func (h *Handler) parseLocalTime(field, s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	t, err := time.ParseInLocation("2006-01-02T15:04", s, h.loc)
	if err != nil {
		return nil, models.Invalid(field, "error.time_invalid")
	}
	if err := models.CheckDate(field, t, h.loc); err != nil {
		return nil, err
	}
	return &t, nil
}

// showOperation is a request's page.
func (h *Handler) showOperation(c *fiber.Ctx) error {
	r, err := h.requestParam(c)
	if err != nil {
		return err
	}
	return h.renderOperation(c, fiber.StatusOK, r, views.OperationPageVM{})
}

// renderOperation loads everything about request r, filtered by its
// organization, and renders the page with vm's form state.
func (h *Handler) renderOperation(c *fiber.Ctx, status int, r *models.OperationRequest, vm views.OperationPageVM) error {
	ctx := c.UserContext()
	u := currentUser(c)
	d, err := h.store.RequestDetailOf(ctx, scope(c), r)
	if err != nil {
		return err
	}
	vm.D, vm.Now, vm.FollowUp, vm.MaxUpload, vm.Provider = d, h.store.Now(), h.followUp, h.uploads.MaxBytes, h.provider
	vm.Staff = u.Role.IsStaff()
	vm.CanOperate = engineers.Allows(u.Role)
	vm.CanMessage = correspondents.Allows(u.Role)
	if vm.Visits, err = h.store.ListVisits(ctx, scope(c), models.VisitFilter{OrgID: r.OrgID, OperationID: r.ID}); err != nil {
		return err
	}
	if vm.CanOperate {
		if vm.Outages, err = h.store.OverlappingOutages(ctx, d); err != nil {
			return err
		}
		// One query for the spans of every overlapping outage, all of the
		// request's organization (and one for its agreed maintenance).
		if vm.Splits, err = h.store.OutageSegmentsOf(ctx, scope(c), d.Request.OrgID, vm.Outages); err != nil {
			return err
		}
	}
	return h.render(c, status, views.OperationPage(vm))
}
