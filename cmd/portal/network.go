package main

import (
	"context"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/prober"
)

// snmpDiscover walks a network device's IF-MIB for the staff's discovery
// page (/network/:id/discover).
// TODO(merger): set to prober.SNMPDiscover once the SNMP client is on main;
// until then the page says discovery is unavailable.
var snmpDiscover prober.DiscoverFunc

// discoverInterfaces adapts a prober.DiscoverFunc to the handlers' shape
// (handlers may not import prober): the system's name and the interfaces.
func discoverInterfaces(f prober.DiscoverFunc) handlers.DiscoverFunc {
	if f == nil {
		return nil
	}
	return func(ctx context.Context, creds models.SNMPCredentials) (string, []models.Interface, error) {
		sys, ifs, err := f(ctx, creds)
		return sys.Name, ifs, err
	}
}
