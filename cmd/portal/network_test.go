package main

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/prober"
)

// The discovery handed to the pages is the SNMP client's, reshaped: the
// same credentials in, the system's name and the interfaces out.
func TestDiscoverInterfacesAdaptsTheSNMPClient(t *testing.T) {
	if discoverInterfaces(nil) != nil {
		t.Fatal("no SNMP client should give no discovery")
	}
	boom := errors.New("timeout")
	var got models.SNMPCredentials
	f := discoverInterfaces(func(ctx context.Context, creds models.SNMPCredentials) (prober.SysInfo, []models.Interface, error) {
		got = creds
		return prober.SysInfo{Name: "core-1", Descr: "a switch"}, []models.Interface{{IfIndex: 3}}, boom
	})
	name, ifs, err := f(context.Background(), models.SNMPCredentials{SwitchID: 7, Community: "c"})
	if name != "core-1" || len(ifs) != 1 || ifs[0].IfIndex != 3 || !errors.Is(err, boom) || got.SwitchID != 7 || got.Community != "c" {
		t.Fatalf("got %q %+v %v from %+v", name, ifs, err, got)
	}
	// The client's kinds of failure become the pages'.
	for snmp, page := range map[error]error{prober.ErrSNMPNoAnswer: handlers.ErrDiscoverNoAnswer,
		prober.ErrSNMPRefused: handlers.ErrDiscoverRefused, prober.ErrSNMPConfig: handlers.ErrDiscoverSettings} {
		f := discoverInterfaces(func(context.Context, models.SNMPCredentials) (prober.SysInfo, []models.Interface, error) {
			return prober.SysInfo{}, nil, fmt.Errorf("prober: snmp discover: %w", snmp)
		})
		if _, _, err := f(context.Background(), models.SNMPCredentials{}); !errors.Is(err, page) || !errors.Is(err, snmp) {
			t.Errorf("%v became %v, want %v", snmp, err, page)
		}
	}
	if snmpDiscover == nil {
		t.Error("the portal is built without the SNMP client's discovery")
	}
}
