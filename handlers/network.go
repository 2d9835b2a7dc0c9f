package handlers

import (
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// Network devices (switches and routers polled over SNMP for the traffic
// pages): every staff role reads them; engineers and admins add, change
// and remove them, discover their interfaces, pick the ports to monitor
// and map each port to an organization, a device and a contract. A
// device's secrets never leave the Store but to the discovery call: the
// pages say whether each is set, and no log line or error shows one.

// switchParam finds the network device of the path (staff only: another
// scope finds none).
func (h *Handler) switchParam(c *fiber.Ctx) (*models.Switch, error) {
	id, err := paramID(c, "id")
	if err != nil {
		return nil, err
	}
	return h.store.GetSwitch(c.UserContext(), scope(c), id)
}

// switchPortParam finds the device of the path and its monitored port of
// reference :port; a port of another device is not found.
func (h *Handler) switchPortParam(c *fiber.Ctx) (*models.Switch, *models.SwitchPort, error) {
	sw, err := h.switchParam(c)
	if err != nil {
		return nil, nil, err
	}
	p, err := h.store.GetSwitchPort(c.UserContext(), scope(c), c.Params("port"))
	if err != nil {
		return nil, nil, err
	}
	if p.SwitchID != sw.ID {
		return nil, nil, fiber.ErrNotFound
	}
	return sw, p, nil
}

// showNetwork lists the network devices.
func (h *Handler) showNetwork(c *fiber.Ctx) error {
	rows, err := h.store.ListSwitches(c.UserContext(), scope(c))
	if err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.NetworkListPage(views.NetworkListVM{Rows: rows,
		CanManage: engineers.Allows(currentUser(c).Role)}))
}

// newSwitch is the empty form of a network device.
func (h *Handler) newSwitch(c *fiber.Ctx) error {
	return h.render(c, fiber.StatusOK, views.NetworkFormPage(views.NetworkFormOf(nil)))
}

// formCount reads a number field: empty is 0 (the default), anything but
// a positive number -1, which the Store refuses as out of range.
func formCount(s string) int {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return -1
	}
	return n
}

// readSwitchForm reads the posted form: what the page shows again (never
// a secret) and the input.
func readSwitchForm(c *fiber.Ctx, vm *views.NetworkFormVM) models.SwitchInput {
	vm.Name, vm.Address, vm.Site = c.FormValue("name"), c.FormValue("address"), c.FormValue("site")
	vm.Version, vm.V3User = c.FormValue("version"), c.FormValue("v3_user")
	vm.V3AuthProto, vm.V3PrivProto = c.FormValue("v3_auth_proto"), c.FormValue("v3_priv_proto")
	vm.IntervalSec, vm.TimeoutMs, vm.MaxOIDs = c.FormValue("interval_sec"), c.FormValue("timeout_ms"), c.FormValue("max_oids")
	vm.Enabled = c.FormValue("enabled") == "1"
	if vm.ID == 0 {
		vm.Kind = c.FormValue("kind") // a device's kind is chosen once
	}
	return models.SwitchInput{Kind: vm.Kind, Name: vm.Name, Address: vm.Address, Site: vm.Site, Version: vm.Version,
		Community: c.FormValue("community"), V3User: vm.V3User, V3AuthProto: vm.V3AuthProto,
		V3AuthKey: c.FormValue("v3_auth_key"), V3PrivProto: vm.V3PrivProto, V3PrivKey: c.FormValue("v3_priv_key"),
		IntervalSec: formCount(vm.IntervalSec), TimeoutMs: formCount(vm.TimeoutMs), MaxOIDs: formCount(vm.MaxOIDs),
		Enabled: vm.Enabled}
}

// switchFormAgain shows the form again, as typed but for its secrets,
// when the Store refused it; shown says it did.
func (h *Handler) switchFormAgain(c *fiber.Ctx, vm views.NetworkFormVM, err error) (shown bool, _ error) {
	errs := views.FromError(err)
	if errs == nil {
		return false, err
	}
	vm.Errors = errs
	return true, h.render(c, fiber.StatusUnprocessableEntity, views.NetworkFormPage(vm))
}

// createSwitch adds a network device.
func (h *Handler) createSwitch(c *fiber.Ctx) error {
	vm := views.NetworkFormOf(nil)
	in := readSwitchForm(c, &vm)
	sw, err := h.store.CreateSwitch(c.UserContext(), actor(c), in)
	if shown, err := h.switchFormAgain(c, vm, err); shown || err != nil {
		return err
	}
	h.flash(c, "ok", "network.switch_added")
	return redirect(c, views.NetworkURL(sw.ID))
}

// showSwitch is a network device's page.
func (h *Handler) showSwitch(c *fiber.Ctx) error {
	sw, err := h.switchParam(c)
	if err != nil {
		return err
	}
	return h.renderSwitch(c, fiber.StatusOK, sw, "")
}

// renderSwitch renders a network device's page, with the message of
// problemKey above it ("" for none).
func (h *Handler) renderSwitch(c *fiber.Ctx, status int, sw *models.Switch, problemKey string) error {
	if sw.IsFacility() {
		return h.renderFacility(c, status, sw, views.MeterAddVM{})
	}
	ports, err := h.store.ListSwitchPorts(c.UserContext(), scope(c), sw.ID)
	if err != nil {
		return err
	}
	return h.render(c, status, views.NetworkPage(views.NetworkPageVM{Switch: sw, Ports: ports,
		CanManage: engineers.Allows(currentUser(c).Role), ProblemKey: problemKey}))
}

// editSwitch is the form of a network device, its secrets only said set.
func (h *Handler) editSwitch(c *fiber.Ctx) error {
	sw, err := h.switchParam(c)
	if err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.NetworkFormPage(views.NetworkFormOf(sw)))
}

// updateSwitch changes a network device; a secret left empty is kept.
func (h *Handler) updateSwitch(c *fiber.Ctx) error {
	sw, err := h.switchParam(c)
	if err != nil {
		return err
	}
	vm := views.NetworkFormOf(sw)
	in := readSwitchForm(c, &vm)
	_, err = h.store.UpdateSwitch(c.UserContext(), actor(c), sw.ID, in)
	if shown, err := h.switchFormAgain(c, vm, err); shown || err != nil {
		return err
	}
	h.flash(c, "ok", "network.switch_changed")
	return redirect(c, views.NetworkURL(sw.ID))
}

// problemOf is the locale key of a refusal the Store gave (a validation
// error of the whole page), "" for another error.
func problemOf(err error) string {
	if v, ok := models.AsValidation(err); ok {
		return v.Key
	}
	return ""
}

// deleteSwitch removes a network device with its ports, after the
// confirmation step.
func (h *Handler) deleteSwitch(c *fiber.Ctx) error {
	sw, err := h.switchParam(c)
	if err != nil {
		return err
	}
	if !confirmed(c) {
		return h.confirmStep(c, views.ConfirmVM{Button: locales.For(state(c).lang).T("network.remove"), Back: views.NetworkURL(sw.ID),
			Text: func(ctx context.Context) (string, []string) {
				return views.T(ctx, "network.remove_confirm", sw.Name), []string{views.T(ctx, views.RemoveHintKey(sw))}
			}})
	}
	err = h.store.DeleteSwitch(c.UserContext(), actor(c), sw.ID)
	if key := problemOf(err); key != "" {
		return h.renderSwitch(c, fiber.StatusUnprocessableEntity, sw, key)
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "network.switch_removed")
	return redirect(c, "/network")
}

// discoverErrorKey says in words why a discovery failed, without its
// details (which the log has, secrets cut out).
func discoverErrorKey(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, ErrDiscoverRefused):
		return "network.error.discover_refused"
	case errors.Is(err, ErrDiscoverSettings):
		return "network.error.discover_settings"
	case errors.Is(err, ErrDiscoverNoAnswer), errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "network.error.discover_timeout"
	}
	return "network.error.discover_failed"
}

// scrubSecrets cuts creds' secrets out of text (an error from an SNMP
// library) before it reaches a log line.
func scrubSecrets(text string, creds models.SNMPCredentials) string {
	for _, s := range []string{creds.Community, creds.V3AuthKey, creds.V3PrivKey} {
		if s != "" {
			text = strings.ReplaceAll(text, s, "[secret]")
		}
	}
	return text
}

// walkInterfaces runs the discovery of switch sw: its system name and
// interfaces by ifIndex, or the locale key of why it failed.
func (h *Handler) walkInterfaces(c *fiber.Ctx, sw *models.Switch) (string, []models.Interface, string, error) {
	if h.discover == nil {
		return "", nil, "network.error.discover_unavailable", nil
	}
	ctx := c.UserContext()
	creds, err := h.store.SwitchCredentials(ctx, sw.ID)
	if err != nil {
		if ctx.Err() != nil {
			return "", nil, "", err
		}
		h.logger(c).Error("network device secrets do not open", "switch_id", sw.ID, "err", err)
		return "", nil, "network.error.secrets_unreadable", nil
	}
	sysName, ifs, err := h.discover(ctx, creds)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return "", nil, "", err
		}
		h.logger(c).Warn("network device discovery failed", "switch_id", sw.ID, "address", sw.Address,
			"err", scrubSecrets(err.Error(), creds))
		return "", nil, discoverErrorKey(err), nil
	}
	slices.SortFunc(ifs, func(a, b models.Interface) int { return a.IfIndex - b.IfIndex })
	return scrubSecrets(sysName, creds), ifs, "", nil
}

// renderDiscovered shows the interfaces discovery read, the monitored
// ones marked.
func (h *Handler) renderDiscovered(c *fiber.Ctx, status int, sw *models.Switch, sysName string, ifs []models.Interface, errs views.FormErrors) error {
	ports, err := h.store.ListSwitchPorts(c.UserContext(), scope(c), sw.ID)
	if err != nil {
		return err
	}
	vm := views.NetworkDiscoverVM{Switch: sw, SysName: sysName, Interfaces: ifs, Monitored: map[int]bool{}, Errors: errs}
	for _, p := range ports {
		vm.Monitored[p.IfIndex] = true
	}
	return h.render(c, status, views.NetworkDiscoverPage(vm))
}

// discoverSwitch walks a network device's IF-MIB and lists its interfaces
// to pick the ports to monitor; a failure is said on the device's page.
func (h *Handler) discoverSwitch(c *fiber.Ctx) error {
	sw, err := h.switchParam(c)
	if err != nil {
		return err
	}
	if sw.IsFacility() {
		return fiber.ErrNotFound // a PDU or sensor has meters, not interfaces
	}
	sysName, ifs, problem, err := h.walkInterfaces(c, sw)
	if err != nil {
		return err
	}
	if problem != "" {
		return h.renderSwitch(c, fiber.StatusBadGateway, sw, problem)
	}
	return h.renderDiscovered(c, fiber.StatusOK, sw, sysName, ifs, nil)
}

// addSwitchPorts monitors the interfaces picked on the discovery page:
// the device is walked again, so that what is stored is what it says now
// (for the ports monitored already too).
func (h *Handler) addSwitchPorts(c *fiber.Ctx) error {
	sw, err := h.switchParam(c)
	if err != nil {
		return err
	}
	if sw.IsFacility() {
		return fiber.ErrNotFound
	}
	picked := map[int]bool{}
	for _, b := range c.Context().PostArgs().PeekMulti("if") {
		if n, err := strconv.Atoi(string(b)); err == nil && n > 0 {
			picked[n] = true
		}
	}
	sysName, ifs, problem, err := h.walkInterfaces(c, sw)
	if err != nil {
		return err
	}
	if problem != "" {
		return h.renderSwitch(c, fiber.StatusBadGateway, sw, problem)
	}
	ports, err := h.store.ListSwitchPorts(c.UserContext(), scope(c), sw.ID)
	if err != nil {
		return err
	}
	monitored := map[int]bool{}
	for _, p := range ports {
		monitored[p.IfIndex] = true
	}
	// The ports monitored already take the names read now.
	var chosen []models.Interface
	fresh := 0
	for _, f := range ifs {
		if picked[f.IfIndex] && !monitored[f.IfIndex] {
			fresh++
		}
		if picked[f.IfIndex] || monitored[f.IfIndex] {
			chosen = append(chosen, f)
		}
	}
	if fresh == 0 {
		chosen = nil // nothing new ticked: the Store says so
	}
	n, err := h.store.AddSwitchPorts(c.UserContext(), actor(c), sw.ID, chosen)
	if errs := views.FromError(err); errs != nil {
		return h.renderDiscovered(c, fiber.StatusUnprocessableEntity, sw, sysName, ifs, errs)
	}
	if err != nil {
		return err
	}
	h.logger(c).Info("network ports monitored", "switch_id", sw.ID, "added", n)
	h.flash(c, "ok", "network.ports_added")
	return redirect(c, views.NetworkURL(sw.ID))
}

// portForm fills the mapping form's choices for organization orgID: the
// organizations, and that one's devices and contracts.
func (h *Handler) portForm(c *fiber.Ctx, vm *views.NetworkPortVM) error {
	ctx := c.UserContext()
	orgs, err := h.store.ListOrgs(ctx, scope(c))
	if err != nil {
		return err
	}
	vm.Orgs = orgs
	if !slices.ContainsFunc(orgs, func(o models.OrgSummary) bool { return o.ID == vm.OrgID }) {
		vm.OrgID, vm.DeviceID, vm.ContractID = 0, 0, 0
		return nil
	}
	if vm.Devices, err = h.store.ListDevices(ctx, scope(c), vm.OrgID); err != nil {
		return err
	}
	vm.Contracts, err = h.store.ListContracts(ctx, scope(c), models.ContractFilter{OrgID: vm.OrgID})
	return err
}

// showSwitchPort is a monitored port with its mapping form, for the
// organization of ?org= (the form's first step) or the port's own.
func (h *Handler) showSwitchPort(c *fiber.Ctx) error {
	sw, p, err := h.switchPortParam(c)
	if err != nil {
		return err
	}
	vm := views.NetworkPortVM{Switch: sw, Port: p}
	if p.OrgID != nil {
		vm.OrgID = *p.OrgID
	}
	if q := c.Query("org"); q != "" {
		vm.OrgID, _ = strconv.ParseInt(q, 10, 64)
	}
	if p.OrgID != nil && vm.OrgID == *p.OrgID {
		if p.DeviceID != nil {
			vm.DeviceID = *p.DeviceID
		}
		if p.ContractID != nil {
			vm.ContractID = *p.ContractID
		}
	}
	if err := h.portForm(c, &vm); err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.NetworkPortPage(vm))
}

// mapSwitchPort saves a port's organization, device and contract.
func (h *Handler) mapSwitchPort(c *fiber.Ctx) error {
	sw, p, err := h.switchPortParam(c)
	if err != nil {
		return err
	}
	m := models.PortMapping{OrgID: optionalID(c.FormValue("org")), DeviceID: optionalID(c.FormValue("device")),
		ContractID: optionalID(c.FormValue("contract"))}
	_, err = h.store.MapSwitchPort(c.UserContext(), actor(c), p.ID, m)
	if errs := views.FromError(err); errs != nil {
		vm := views.NetworkPortVM{Switch: sw, Port: p, Errors: errs}
		vm.Choose(m.OrgID, m.DeviceID, m.ContractID)
		if err := h.portForm(c, &vm); err != nil {
			return err
		}
		return h.render(c, fiber.StatusUnprocessableEntity, views.NetworkPortPage(vm))
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "network.port_mapped")
	return redirect(c, views.NetworkURL(sw.ID))
}

// removeSwitchPort stops monitoring a port, after the confirmation step.
func (h *Handler) removeSwitchPort(c *fiber.Ctx) error {
	sw, p, err := h.switchPortParam(c)
	if err != nil {
		return err
	}
	back := views.NetworkPortURL(sw.ID, p.Ref)
	if !confirmed(c) {
		return h.confirmStep(c, views.ConfirmVM{Button: locales.For(state(c).lang).T("network.remove_port"), Back: back,
			Text: func(ctx context.Context) (string, []string) {
				return views.T(ctx, "network.remove_port_confirm", p.Label()), []string{views.T(ctx, "network.remove_port_hint")}
			}})
	}
	err = h.store.RemoveSwitchPort(c.UserContext(), actor(c), p.ID)
	if key := problemOf(err); key != "" {
		vm := views.NetworkPortVM{Switch: sw, Port: p, ProblemKey: key}
		vm.Choose(p.OrgID, p.DeviceID, p.ContractID)
		if err := h.portForm(c, &vm); err != nil {
			return err
		}
		return h.render(c, fiber.StatusUnprocessableEntity, views.NetworkPortPage(vm))
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "network.port_removed")
	return redirect(c, views.NetworkURL(sw.ID))
}
