package handlers

import (
	"slices"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// complaintsShown bounds each list of /complaints; homeComplaintsShown
// the head of the queue on the service desk's home.
const (
	complaintsShown     = 200
	homeComplaintsShown = 10
)

// showComplaints lists a customer's organization's complaints, or shows
// staff the queue (open complaints by time left, the overdue first) and
// the answered ones, with filters.
func (h *Handler) showComplaints(c *fiber.Ctx) error {
	ctx, v := c.UserContext(), viewer(c)
	u := currentUser(c)
	vm := views.ComplaintsPageVM{Staff: u.Role.IsStaff(), Now: h.store.Now(), CanFile: u.Role == models.RoleCustomer,
		CanRecord: isComplaintDesk(c)}
	var err error
	if !vm.Staff {
		vm.Rows, err = h.store.ListComplaints(ctx, v, models.ComplaintFilter{Limit: complaintsShown + 1})
		if err != nil {
			return err
		}
		if len(vm.Rows) > complaintsShown {
			vm.Rows, vm.More = vm.Rows[:complaintsShown], true
		}
		return h.render(c, fiber.StatusOK, views.ComplaintsPage(vm))
	}
	f, err := h.complaintFilter(c, &vm)
	if err != nil {
		return err
	}
	if vm.Counts, err = h.store.CountComplaints(ctx, v, f); err != nil {
		return err
	}
	f.Limit = complaintsShown + 1
	if vm.State == "" || vm.State == models.ComplaintOpen {
		if vm.Queue, err = h.store.ComplaintQueue(ctx, v, f); err != nil {
			return err
		}
		if len(vm.Queue) > complaintsShown {
			vm.Queue, vm.More = vm.Queue[:complaintsShown], true
		}
	}
	if vm.State != models.ComplaintOpen {
		// Without a state asked for, the rest are those still being
		// handled; closed ones are one filter away.
		f.States = []string{models.ComplaintResponded, models.ComplaintResolved}
		if vm.State != "" {
			f.States = []string{vm.State}
		}
		if vm.Rows, err = h.store.ListComplaints(ctx, v, f); err != nil {
			return err
		}
		if len(vm.Rows) > complaintsShown {
			vm.Rows, vm.More = vm.Rows[:complaintsShown], true
		}
	}
	return h.render(c, fiber.StatusOK, views.ComplaintsPage(vm))
}

// complaintFilter reads the staff filters of /complaints into vm and a
// filter; values that are not a choice are ignored. It fills the names of
// organizations and staff the page shows.
func (h *Handler) complaintFilter(c *fiber.Ctx, vm *views.ComplaintsPageVM) (models.ComplaintFilter, error) {
	var f models.ComplaintFilter
	if err := h.complaintNames(c, &vm.Orgs, &vm.OrgNames, &vm.Assignees, &vm.Names); err != nil {
		return f, err
	}
	if s := c.Query("category"); slices.Contains(models.ComplaintCategories, s) {
		vm.Category, f.Category = s, s
	}
	if id, err := strconv.ParseInt(c.Query("org"), 10, 64); err == nil && vm.OrgNames[id] != "" {
		vm.OrgID, f.OrgID = id, id
	}
	if s := c.Query("state"); slices.Contains(models.ComplaintStates, s) {
		vm.State = s
	}
	switch a := c.Query("assignee"); {
	case a == "none":
		vm.Assignee, f.Unassigned = a, true
	default:
		if id, err := strconv.ParseInt(a, 10, 64); err == nil && vm.Names[id] != "" {
			vm.Assignee, f.AssigneeID = a, id
		}
	}
	return f, nil
}

// complaintNames lists the organizations and the staff (who may be
// assigned) with their names by ID.
func (h *Handler) complaintNames(c *fiber.Ctx, orgs *[]models.OrgSummary, orgNames *map[int64]string,
	staffList *[]models.Escort, names *map[int64]string) error {
	ctx := c.UserContext()
	list, err := h.store.ListOrgs(ctx, scope(c))
	if err != nil {
		return err
	}
	es, err := h.store.ListEscorts(ctx)
	if err != nil {
		return err
	}
	*orgNames, *names = map[int64]string{}, map[int64]string{}
	for _, o := range list {
		(*orgNames)[o.ID] = o.Name
	}
	for _, e := range es {
		(*names)[e.ID] = e.Name
	}
	if orgs != nil {
		*orgs = list
	}
	if staffList != nil {
		*staffList = es
	}
	return nil
}

// complaintQueueCard is the head of the queue and the counts for the
// service desk's home page.
func (h *Handler) complaintQueueCard(c *fiber.Ctx, now time.Time) (*views.ComplaintQueueCardVM, error) {
	ctx, v := c.UserContext(), viewer(c)
	vm := &views.ComplaintQueueCardVM{Now: now}
	var err error
	if vm.Counts, err = h.store.CountComplaints(ctx, v, models.ComplaintFilter{}); err != nil {
		return nil, err
	}
	if vm.Queue, err = h.store.ComplaintQueue(ctx, v, models.ComplaintFilter{Limit: homeComplaintsShown}); err != nil {
		return nil, err
	}
	if err := h.complaintNames(c, nil, &vm.OrgNames, nil, &vm.Names); err != nil {
		return nil, err
	}
	return vm, nil
}

// complaintFiguresMonths is the most months /complaints/figures shows at once.
const complaintFiguresMonths = 36

// showComplaintFigures shows staff the complaints of each organization
// per month: received, first responses met and missed, and the median
// time to the first response. The months default to the last six.
func (h *Handler) showComplaintFigures(c *fiber.Ctx) error {
	zone := h.store.Zone()
	to := monthStart(h.store.Now(), zone)
	from := to.AddDate(0, -5, 0)
	vm := views.ComplaintFiguresPageVM{}
	pf, errFrom := time.ParseInLocation("2006-01", c.Query("from"), zone)
	pt, errTo := time.ParseInLocation("2006-01", c.Query("to"), zone)
	switch {
	case c.Query("from") == "" && c.Query("to") == "":
	case errFrom != nil || errTo != nil || pf.Year() < 2000 || pt.Year() > 2099:
		vm.Error = "complaints.figures.error_month"
	case pt.Before(pf) || !pt.Before(pf.AddDate(0, complaintFiguresMonths, 0)):
		vm.Error = "complaints.figures.error_range"
	default:
		from, to = pf, pt
	}
	vm.From, vm.To = from.Format("2006-01"), to.Format("2006-01")
	var err error
	if vm.Months, err = h.store.ComplaintFigures(c.UserContext(), viewer(c), from, to.AddDate(0, 1, 0)); err != nil {
		return err
	}
	if err := h.complaintNames(c, nil, &vm.OrgNames, nil, new(map[int64]string)); err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.ComplaintFiguresPage(vm))
}
