package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/prober"
)

// snmpDiscover walks a network device's IF-MIB for the staff's discovery
// page (/network/:id/discover).
var snmpDiscover prober.DiscoverFunc = prober.SNMPDiscover

// discoverInterfaces adapts a prober.DiscoverFunc to the handlers' shape
// (handlers may not import prober): the system's name and the interfaces,
// and the kind of a failure as the pages know it.
func discoverInterfaces(f prober.DiscoverFunc) handlers.DiscoverFunc {
	if f == nil {
		return nil
	}
	return func(ctx context.Context, creds models.SNMPCredentials) (string, []models.Interface, error) {
		sys, ifs, err := f(ctx, creds)
		for _, k := range []struct{ snmp, page error }{{prober.ErrSNMPNoAnswer, handlers.ErrDiscoverNoAnswer},
			{prober.ErrSNMPRefused, handlers.ErrDiscoverRefused}, {prober.ErrSNMPConfig, handlers.ErrDiscoverSettings}} {
			if errors.Is(err, k.snmp) {
				return sys.Name, ifs, fmt.Errorf("%w: %w", k.page, err)
			}
		}
		return sys.Name, ifs, err
	}
}
