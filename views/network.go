package views

import (
	"context"
	"strconv"

	"github.com/colo-portal/portal/models"
)

// NetworkListVM is the list of network devices.
type NetworkListVM struct {
	Rows      []models.SwitchRow
	CanManage bool
}

// NetworkFormVM is the form that adds or changes a network device, as
// typed. Secrets are never in it: only whether each is stored.
type NetworkFormVM struct {
	ID    int64 // 0 for a new device
	Title string
	// Kind is the device's kind (models.SwitchKinds): chosen when it is
	// added, shown after.
	Kind                             string
	Name, Address, Site, Version     string
	V3User, V3AuthProto, V3PrivProto string
	IntervalSec, TimeoutMs, MaxOIDs  string
	Enabled                          bool
	HasCommunity, HasAuthKey         bool
	HasPrivKey                       bool
	Errors                           FormErrors
}

// NetworkFormOf is the form of switch sw as stored (nil: a new one, with
// the defaults).
func NetworkFormOf(sw *models.Switch) NetworkFormVM {
	if sw == nil {
		return NetworkFormVM{Kind: models.SwitchNetwork, Version: models.SNMPv3, V3AuthProto: "SHA256", V3PrivProto: "AES", Enabled: true, IntervalSec: strconv.Itoa(models.SwitchIntervalDefault),
			TimeoutMs: strconv.Itoa(models.SwitchTimeoutDefault), MaxOIDs: strconv.Itoa(models.SwitchMaxOIDsDefault)}
	}
	return NetworkFormVM{ID: sw.ID, Kind: sw.Kind, Title: sw.Name, Name: sw.Name, Address: sw.Address, Site: sw.Site, Version: sw.Version,
		V3User: sw.V3User, V3AuthProto: sw.V3AuthProto, V3PrivProto: sw.V3PrivProto,
		IntervalSec: strconv.Itoa(sw.IntervalSec), TimeoutMs: strconv.Itoa(sw.TimeoutMs), MaxOIDs: strconv.Itoa(sw.MaxOIDs),
		Enabled: sw.Enabled, HasCommunity: sw.HasCommunity(), HasAuthKey: sw.HasAuthKey(), HasPrivKey: sw.HasPrivKey()}
}

// Action is where the form posts.
func (vm NetworkFormVM) Action() string {
	if vm.ID == 0 {
		return "/network"
	}
	return NetworkURL(vm.ID)
}

// NetworkPageVM is one network device's page.
type NetworkPageVM struct {
	Switch *models.Switch
	Ports  []models.SwitchPortRow
	// Meters are a PDU's or sensor's (facility.templ), MeterAdd the form
	// adding one as typed.
	Meters    []models.FacilityMeterRow
	MeterAdd  MeterAddVM
	CanManage bool
	// ProblemKey is the locale key of a message above the page (a
	// discovery that failed, a removal refused), "" for none.
	ProblemKey string
}

// NetworkDiscoverVM is the interfaces a discovery read, to pick the
// ones to monitor.
type NetworkDiscoverVM struct {
	Switch     *models.Switch
	SysName    string
	Interfaces []models.Interface
	Monitored  map[int]bool // by ifIndex
	Errors     FormErrors
}

// NetworkPortVM is the page of one monitored port with its mapping form:
// the organization is chosen first (the page reloads with its devices and
// contracts), then the device and the contract.
type NetworkPortVM struct {
	Switch     *models.Switch
	Port       *models.SwitchPort
	Orgs       []models.OrgSummary
	OrgID      int64 // the organization the form is for; 0 none
	Devices    []models.Device
	Contracts  []models.ContractRow
	DeviceID   int64
	ContractID int64
	Errors     FormErrors
	// ProblemKey is the locale key of a message above the page (a
	// removal refused), "" for none.
	ProblemKey string
}

// OrgName is the name of the form's organization.
func (vm NetworkPortVM) OrgName() string {
	for _, o := range vm.Orgs {
		if o.ID == vm.OrgID {
			return o.Name
		}
	}
	return ""
}

// SwitchURL is a network device's page.
func NetworkURL(id int64) string { return Path("/network/", id) }

// SwitchPortURL is the mapping page of a monitored port.
func NetworkPortURL(switchID int64, ref string) string {
	return Path("/network/", switchID, "/ports/", ref)
}

// portTrafficURL is a port's traffic page.
func portTrafficURL(ref string) string { return "/traffic/" + ref }

// networkSpeed shows an interface's speed: "10 Gb/s", "100 Mb/s"; "—"
// when the agent does not say.
func networkSpeed(bps int64) string {
	if bps <= 0 {
		return "—"
	}
	return BitRate(bps)
}

// SNMPVersionName is how a page names an SNMP version.
func SNMPVersionName(v string) string { return "SNMPv" + v }

// SecretState says whether a secret is stored, which is all a page tells.
func SecretState(ctx context.Context, set bool) string {
	if set {
		return T(ctx, "network.secret_set")
	}
	return T(ctx, "network.secret_not_set")
}

// networkIfLabel is an interface's name, else its description.
func networkIfLabel(f models.Interface) string {
	if f.Name != "" {
		return f.Name
	}
	return f.Descr
}

// networkOrDash shows "—" for an empty value.
func networkOrDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// Choose puts the given organization, device and contract (nil: none)
// in the port form, as chosen.
func (vm *NetworkPortVM) Choose(orgID, deviceID, contractID *int64) {
	for _, x := range []struct{ id, dst *int64 }{{orgID, &vm.OrgID}, {deviceID, &vm.DeviceID}, {contractID, &vm.ContractID}} {
		if x.id != nil {
			*x.dst = *x.id
		}
	}
}
