package handlers

import (
	"cmp"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// showHome is the customer's organization page, or the staff start page.
func (h *Handler) showHome(c *fiber.Ctx) error {
	if orgID, ok := scope(c).Org(); ok {
		return h.showCustomerHome(c, orgID)
	}
	return h.showStaffHome(c)
}

// showCustomerHome puts on top what needs the customer now, most urgent
// first (open outages and their clocks, requests waiting on them, the
// month's missed clocks, the contact re-confirmation), then each device's
// month so far against the agreement's downtime allowance.
func (h *Handler) showCustomerHome(c *fiber.Ctx, orgID int64) error {
	ctx, sc := c.UserContext(), scope(c)
	home, err := h.store.GetOrgHome(ctx, sc, orgID)
	if err != nil {
		return err
	}
	st, err := h.contactStatus(ctx, sc, orgID)
	if err != nil {
		return err
	}
	// An empty list has nothing to confirm; the set-up notice asks first.
	vm := views.HomePageVM{Home: home, SetUp: st.setUp, ConfirmDue: st.due && len(st.contacts) > 0,
		ConfirmEvery: h.store.ConfirmEvery(), Now: h.store.Now()}
	if st.last != nil {
		vm.LastConfirmed = &st.last.ConfirmedAt
	}
	if vm.Overdue, err = h.store.OverdueFollowUps(ctx, sc, orgID); err != nil {
		return err
	}
	// When many devices are down at once the home shows the most urgent
	// few and says how many there are; the uptime page lists them all.
	if vm.Outages, vm.OutagesTotal, err = h.store.OnCallOutages(ctx, sc, homeShown); err != nil {
		return err
	}
	if state(c).recentIncident != 0 {
		if vm.Incident, err = h.store.CustomerIncidentNotice(ctx, sc, orgID); err != nil {
			return err
		}
	}
	if vm.Awaiting, err = h.store.RequestsAwaitingCustomer(ctx, sc, orgID); err != nil {
		return err
	}
	if vm.Maintenance, err = h.store.MaintenanceToAnswer(ctx, sc, orgID, homeMaintenanceShown); err != nil {
		return err
	}
	if vm.Shipments, err = h.store.CountShipments(ctx, sc, orgID, vm.Now); err != nil {
		return err
	}
	if vm.Cabinets, err = h.store.AlertingCabinets(ctx, sc, orgID); err != nil {
		return err
	}
	from := monthStart(vm.Now, h.loc)
	if vm.Missed, vm.MissedTotal, err = h.store.MissedClocks(ctx, sc, orgID, from, from.AddDate(0, 1, 0), homeShown); err != nil {
		return err
	}
	devices, err := h.store.OrgUptime(ctx, sc, orgID, h.loc)
	if err != nil {
		return err
	}
	for _, d := range devices {
		vm.Devices = append(vm.Devices, deviceMonth(d))
	}
	// The devices that used most of their allowance first; the rest are on
	// the uptime page.
	slices.SortStableFunc(vm.Devices, func(a, b views.DeviceMonth) int { return cmp.Compare(b.Used(), a.Used()) })
	vm.DevicesTotal = len(vm.Devices)
	if len(vm.Devices) > homeShown {
		vm.Devices = vm.Devices[:homeShown]
	}
	return h.render(c, fiber.StatusOK, views.HomePage(vm))
}

// homeShown bounds the outages, missed clocks and devices a customer's home lists,
// so that the page stays small when thousands of devices are down.
const homeShown = 20

// homeQueueShown bounds the visit requests reception's home lists; the
// queue page (/reception) lists more.
const homeQueueShown = 10

// deviceMonth is a device's month so far with the downtime the agreement
// allows it this month.
func deviceMonth(d models.DeviceUptime) views.DeviceMonth {
	dm := views.DeviceMonth{Device: d.Device, State: d.State}
	for _, p := range d.Periods {
		if p.Period == models.PeriodMonth {
			dm.Month = p
		}
	}
	since := models.MonitoredSince(d.Device)
	dm.Allowance = models.Allowance(dm.Month.From, dm.Month.To, since)
	if since.After(dm.Month.From) {
		dm.Since = &since
	}
	return dm
}

// monthStart is midnight of the first of t's month in loc.
func monthStart(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
}

// showStaffHome shows each staff role its work: engineers open outages,
// calls, authorizations to check, feedback clocks and overdue forms;
// reception the visit requests waiting for a decision and the calls to
// make; the service desk the head of the complaint queue, calls and failed
// deliveries; admins all of it.
func (h *Handler) showStaffHome(c *fiber.Ctx) error {
	u := currentUser(c)
	ctx, sc := c.UserContext(), scope(c)
	orgs, err := h.store.ListOrgs(ctx, sc)
	if err != nil {
		return err
	}
	users, err := h.store.CountUsers(ctx)
	if err != nil {
		return err
	}
	now := h.store.Now()
	role := u.Role
	vm := views.StaffHomePageVM{Now: now, OrgCount: len(orgs), UserCount: users,
		ShowMine:       role == models.RoleEngineer || role == models.RoleService,
		ShowOutages:    engineers.Allows(role),
		ShowOperations: engineers.Allows(role),
		ShowFailed:     monthClosers.Allows(role)}
	for _, o := range orgs {
		if (o.ServiceRepUserID != nil && *o.ServiceRepUserID == u.ID) || (o.EngineerUserID != nil && *o.EngineerUserID == u.ID) {
			vm.Mine = append(vm.Mine, o)
		}
	}
	if vm.Unprobed, err = h.store.UnprobedChecks(ctx, models.UnprobedGrace); err != nil {
		return err
	}
	vm.Calls = views.OnCallPageVM{Now: now, CanCall: callers.Allows(role), Back: "/"}
	if err := h.callLines(c, &vm.Calls); err != nil {
		return err
	}
	if vm.ShowOutages {
		vm.Outages = views.OnCallPageVM{Now: now}
		if err := h.outageLines(c, &vm.Outages); err != nil {
			return err
		}
	}
	if vm.ShowOperations {
		ops, err := h.store.OnCallOperations(ctx, sc)
		if err != nil {
			return err
		}
		for _, op := range ops {
			if op.Pending > 0 {
				vm.ToCheck = append(vm.ToCheck, op)
			}
			if op.Feedback != nil {
				vm.Feedback = append(vm.Feedback, op)
			}
			if op.Overdue > 0 {
				vm.FormsOverdue = append(vm.FormsOverdue, op)
			}
		}
	}
	if complaintDesk.Allows(role) {
		if vm.Complaints, err = h.complaintQueueCard(c, now); err != nil {
			return err
		}
	}
	if desk.Allows(role) {
		rv, err := h.receptionVM(c, homeQueueShown)
		if err != nil {
			return err
		}
		vm.Visits = &rv
	}
	if shipmentDesk.Allows(role) {
		counts, err := h.store.CountDesk(ctx, scope(c), now)
		if err != nil {
			return err
		}
		vm.Shipments = &counts
	}
	if engineers.Allows(role) {
		if vm.Proposals, err = h.store.OpenPowerProposals(ctx, scope(c)); err != nil {
			return err
		}
	}
	if slices.Contains(models.EscortRoles, role) {
		if vm.Escorting, err = h.store.EscortOverlaps(ctx, u.ID, now, now.Add(views.EscortingAhead), 0); err != nil {
			return err
		}
	}
	if vm.ShowFailed {
		vm.Failed = views.OnCallPageVM{Now: now, FailedFor: failedShown, CanAct: responders.Allows(role)}
		if err := h.failedList(c, &vm.Failed); err != nil {
			return err
		}
	}
	return h.render(c, fiber.StatusOK, views.StaffHomePage(vm))
}
