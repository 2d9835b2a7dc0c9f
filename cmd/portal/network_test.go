package main

import (
	"context"
	"errors"
	"testing"

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
}
