package handlers_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gosnmp/gosnmp"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	"github.com/colo-portal/portal/prober/snmpagent"
)

// browserCommunity is the test agent's SNMP community.
const browserCommunity = "br0wser-c0mmunity"

// walkIfMIB is a discovery for the test (handlers may not import the
// prober's): it reads the agent's system name and IF-MIB columns over
// SNMP v2c with the credentials the Store unsealed, so the community the
// engineer typed is the one that reaches the agent.
func walkIfMIB(ctx context.Context, creds models.SNMPCredentials) (string, []models.Interface, error) {
	host, port, err := net.SplitHostPort(creds.Address)
	if err != nil {
		return "", nil, err
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return "", nil, err
	}
	g := &gosnmp.GoSNMP{Target: host, Port: uint16(p), Community: creds.Community, Version: gosnmp.Version2c,
		Timeout: 2 * time.Second, Retries: 1, Context: ctx, MaxOids: 30}
	if err := g.Connect(); err != nil {
		return "", nil, err
	}
	defer g.Conn.Close()
	sys, err := g.Get([]string{".1.3.6.1.2.1.1.5.0"})
	if err != nil {
		return "", nil, fmt.Errorf("%w: %w", handlers.ErrDiscoverNoAnswer, err)
	}
	ifs := map[int]*models.Interface{}
	var order []int
	str := func(p gosnmp.SnmpPDU) string { b, _ := p.Value.([]byte); return string(b) }
	num := func(p gosnmp.SnmpPDU) int64 { return gosnmp.ToBigInt(p.Value).Int64() }
	for _, col := range []struct {
		oid string
		set func(*models.Interface, gosnmp.SnmpPDU)
	}{
		{".1.3.6.1.2.1.2.2.1.2", func(f *models.Interface, p gosnmp.SnmpPDU) { f.Descr = str(p) }},
		{".1.3.6.1.2.1.2.2.1.3", func(f *models.Interface, p gosnmp.SnmpPDU) { f.TypeNumber = int(num(p)) }},
		{".1.3.6.1.2.1.2.2.1.7", func(f *models.Interface, p gosnmp.SnmpPDU) { f.AdminUp = num(p) == 1 }},
		{".1.3.6.1.2.1.2.2.1.8", func(f *models.Interface, p gosnmp.SnmpPDU) { f.OperUp = num(p) == 1 }},
		{".1.3.6.1.2.1.31.1.1.1.1", func(f *models.Interface, p gosnmp.SnmpPDU) { f.Name = str(p) }},
		{".1.3.6.1.2.1.31.1.1.1.6", func(f *models.Interface, _ gosnmp.SnmpPDU) { f.HC = true }},
		{".1.3.6.1.2.1.31.1.1.1.15", func(f *models.Interface, p gosnmp.SnmpPDU) { f.SpeedBps = num(p) * 1_000_000 }},
		{".1.3.6.1.2.1.31.1.1.1.18", func(f *models.Interface, p gosnmp.SnmpPDU) { f.Alias = str(p) }},
	} {
		err := g.BulkWalk(col.oid, func(p gosnmp.SnmpPDU) error {
			ix, err := strconv.Atoi(p.Name[strings.LastIndexByte(p.Name, '.')+1:])
			if err != nil {
				return err
			}
			if ifs[ix] == nil {
				ifs[ix] = &models.Interface{IfIndex: ix}
				order = append(order, ix)
			}
			col.set(ifs[ix], p)
			return nil
		})
		if err != nil {
			return "", nil, err
		}
	}
	out := make([]models.Interface, len(order))
	for i, ix := range order {
		out[i] = *ifs[ix]
	}
	return str(sys.Variables[0]), out, nil
}

// TestBrowserTrafficFromDiscoveryToTheCustomer is the traffic feature end
// to end in a browser, on both databases: an engineer adds a network
// device through the form, pointing at an SNMP agent on loopback,
// discovers its interfaces, ticks two and maps one to the customer's
// device and contract; samples are stored at known rates; the customer
// sees that port alone on /traffic, its page with the four charts and the
// 95th percentile the samples make, and downloads its CSV; another
// organization's customer gets 404 for it.
func TestBrowserTrafficFromDiscoveryToTheCustomer(t *testing.T) {
	agent, err := snmpagent.Start(snmpagent.Config{Community: browserCommunity, SysName: "edge-7.hall-c", MaxOIDs: 40,
		Interfaces: []snmpagent.Interface{
			{Index: 1, Name: "Gi0/1", Descr: "GigabitEthernet0/1", Alias: "to alpha web-01", SpeedBps: 1_000_000_000, InBps: 12e6, OutBps: 2e6},
			{Index: 2, Name: "Gi0/2", Descr: "GigabitEthernet0/2", Alias: "spare", SpeedBps: 1_000_000_000},
			{Index: 3, Name: "Gi0/3", Descr: "GigabitEthernet0/3", Alias: "unused", SpeedBps: 1_000_000_000, OperDown: true},
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer agent.Close()

	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx0 := context.Background()
			clock := dbtest.NewClock()
			store := dbtest.Open(t, db, models.WithClock(clock.Now))
			fx := dbtest.Seed(t, store)
			dev, err := store.CreateDevice(ctx0, models.SystemActor("test"), models.DeviceInput{OrgID: fx.OrgA.ID, Name: "web-01", Address: "127.0.0.31"})
			if err != nil {
				t.Fatal(err)
			}
			contract, err := store.CreateContract(ctx0, models.UserActor(fx.Service, "10.0.0.2"), models.ContractInput{OrgID: fx.OrgA.ID,
				ServiceType: models.ServiceColocation, MonthlyFee: 1200000, SignedOn: "2026-01-05", StartsOn: "2026-01-05",
				DeviceIDs: []int64{dev.ID}, Renewal: models.RenewalAuto})
			if err != nil {
				t.Fatal(err)
			}
			app := handlers.New(handlers.Deps{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				Secret: []byte("browser-test-secret-browser-test-secret"), Sessions: models.DefaultSessionPolicy,
				SignIn: models.DefaultSignInLimits, DiscoverInterfaces: walkIfMIB})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go func() { _ = app.Listener(ln) }()
			t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
			base := "http://" + ln.Addr().String()

			// The engineer: the device, discovery, two ports, one mapped.
			ctx := newBrowserTimeout(t, 3*time.Minute)
			signInInBrowser(t, ctx, base, fx.Engineer.Email)
			if err := chromedp.Do(ctx, chromedp.Navigate(base+"/network/new"), chromedp.WaitVisible(chromedp.CSS("#f-name")),
				chromedp.SendKeys(chromedp.CSS("#f-name"), "edge-7"),
				chromedp.SendKeys(chromedp.CSS("#f-address"), agent.Addr()),
				chromedp.Click(chromedp.CSS(`input[name=version][value="2c"]`)),
				chromedp.SendKeys(chromedp.CSS("#f-community"), browserCommunity),
				chromedp.Click(chromedp.CSS(`form[action="/network"] button[type=submit]`)),
				chromedp.WaitVisible(chromedp.CSS("#discover")),
				chromedp.Click(chromedp.CSS("#discover")), chromedp.WaitVisible(chromedp.CSS("#monitor-ports"))); err != nil {
				t.Fatal(err)
			}
			if got := text(t, ctx, "main"); !strings.Contains(got, "edge-7.hall-c") || !strings.Contains(got, "to alpha web-01") ||
				!strings.Contains(got, "GigabitEthernet0/3") || strings.Contains(got, browserCommunity) {
				t.Fatalf("the discovery page shows %q", got)
			}
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`input[name=if][value="1"]`)),
				chromedp.Click(chromedp.CSS(`input[name=if][value="2"]`)),
				chromedp.Click(chromedp.CSS("#monitor-ports")), chromedp.WaitVisible(chromedp.CSS("#switch-ports-h"))); err != nil {
				t.Fatal(err)
			}
			sws, err := store.ListSwitches(ctx0, models.AllOrgs())
			if err != nil || len(sws) != 1 {
				t.Fatalf("switches %+v, %v", sws, err)
			}
			ports, err := store.ListSwitchPorts(ctx0, models.AllOrgs(), sws[0].ID)
			if err != nil || len(ports) != 2 || ports[0].IfIndex != 1 || ports[1].IfIndex != 2 || !ports[0].HC || ports[0].SpeedBps != 1e9 {
				t.Fatalf("monitored ports %+v, %v", ports, err)
			}
			port, spare := ports[0].SwitchPort, ports[1].SwitchPort
			if err := chromedp.Do(ctx, chromedp.Navigate(base+"/network/"+ids(sws[0].ID)+"/ports/"+port.Ref),
				chromedp.WaitVisible(chromedp.CSS("#f-pick-org")),
				chromedp.SetValue(chromedp.CSS("#f-pick-org"), ids(fx.OrgA.ID)),
				chromedp.Click(chromedp.CSS("#pick-org")), chromedp.WaitVisible(chromedp.CSS("#f-device")),
				chromedp.SetValue(chromedp.CSS("#f-device"), ids(dev.ID)),
				chromedp.SetValue(chromedp.CSS("#f-contract"), ids(contract.ID)),
				chromedp.Click(chromedp.CSS("#save-mapping")), chromedp.WaitVisible(chromedp.CSS("#switch-ports-h"))); err != nil {
				t.Fatal(err)
			}
			mapped, err := store.GetSwitchPort(ctx0, models.AllOrgs(), port.Ref)
			if err != nil || mapped.OrgID == nil || *mapped.OrgID != fx.OrgA.ID || mapped.DeviceID == nil || *mapped.DeviceID != dev.ID ||
				mapped.ContractID == nil || *mapped.ContractID != contract.ID || mapped.CheckID == nil {
				t.Fatalf("the mapped port: %+v, %v", mapped, err)
			}

			// Four hours later, three hours and a half of polls since the
			// mapping (the customer sees none before it): 38 at 12 Mb/s in
			// and two at 90 Mb/s, 2.5 Mb/s out; the 95th percentile of 40
			// sets the two highest aside: 12 Mb/s.
			clock.Advance(4 * time.Hour)
			start := clock.Now().Add(-205 * time.Minute)
			var samples []models.TrafficSample
			for i := range 41 {
				s := models.TrafficSample{PortID: port.ID, At: start.Add(time.Duration(i) * 5 * time.Minute), OperUp: true}
				if i == 0 {
					s.Note = models.SampleFirst
				} else {
					s.Valid, s.Ms, s.InOctets, s.OutOctets = true, 300_000, 450_000_000, 93_750_000
					if i == 17 || i == 30 {
						s.InOctets = 3_375_000_000
					}
				}
				samples = append(samples, s, models.TrafficSample{PortID: spare.ID, At: s.At, OperUp: true, Valid: i > 0, Ms: 300_000, InOctets: 7_000_000})
			}
			if _, err := store.RecordTraffic(ctx0, samples); err != nil {
				t.Fatal(err)
			}

			// The customer: its port alone, its page, its samples.
			cust := newBrowserTimeout(t, 2*time.Minute)
			signInInBrowser(t, cust, base, fx.CustA.Email)
			if err := chromedp.Do(cust, chromedp.Navigate(base+"/traffic"), chromedp.WaitVisible(chromedp.CSS("main table"))); err != nil {
				t.Fatal(err)
			}
			rows, err := chromedp.Run(cust, chromedp.Evaluate[[]string](`[...document.querySelectorAll('main table tbody tr')].map(r => r.innerText)`))
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 1 || !strings.Contains(rows[0], "Gi0/1") || !strings.Contains(rows[0], "web-01") || !strings.Contains(rows[0], "12 Mb/s") {
				t.Fatalf("the customer's traffic list: %q", rows)
			}
			if err := chromedp.Do(cust, chromedp.Click(chromedp.CSS(`main a[href="/traffic/`+port.Ref+`"]`)),
				chromedp.WaitVisible(chromedp.CSS("#chart-year"))); err != nil {
				t.Fatal(err)
			}
			charts, err := chromedp.Run(cust, chromedp.Evaluate[int](`document.querySelectorAll('figure.chart.traffic svg polygon.t-in').length`))
			if err != nil {
				t.Fatal(err)
			}
			if charts < 4 {
				t.Errorf("%d traffic areas drawn, want one in each of the four charts", charts)
			}
			for _, id := range []string{"chart-day", "chart-week", "chart-month", "chart-year"} {
				if n, err := chromedp.Run(cust, chromedp.Evaluate[int](`document.querySelectorAll('#`+id+` svg').length`)); err != nil || n != 1 {
					t.Errorf("#%s: %d charts (%v)", id, n, err)
				}
			}
			p95 := text(t, cust, "#p95-h + table")
			if strings.Count(p95, "12 Mb/s") != 2 || !strings.Contains(p95, "2.5 Mb/s") || strings.Contains(p95, "90 Mb/s") || !strings.Contains(p95, "40") {
				t.Errorf("this month's 95th percentile table: %q, want 12 Mb/s in and billed, 2.5 Mb/s out, of 40 slots", p95)
			}
			if day := text(t, cust, "#chart-day table"); !strings.Contains(day, "90 Mb/s") {
				t.Errorf("the day's figures: %q, want the 90 Mb/s peak", day)
			}
			csv, err := chromedp.Run(cust, chromedp.Evaluate[string](`fetch('/traffic/`+port.Ref+`/samples.csv').then(async r => r.status + '\n' + await r.text())`, chromedp.EvalAwaitPromise))
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(csv), "\n")
			if len(lines) != 43 || lines[0] != "200" || !strings.HasPrefix(lines[1], "at,in_bps,out_bps") ||
				!strings.Contains(lines[3], ",12000000,2500000,") || strings.Contains(csv, browserCommunity) {
				t.Errorf("the samples download: %d lines, %q", len(lines), lines[:min(len(lines), 4)])
			}

			// Another organization's customer: not found.
			other := newBrowserTimeout(t, time.Minute)
			signInInBrowser(t, other, base, fx.CustB.Email)
			if err := chromedp.Do(other, chromedp.Navigate(base+"/traffic/"+port.Ref), chromedp.WaitVisible(chromedp.CSS("main"))); err != nil {
				t.Fatal(err)
			}
			status, err := chromedp.Run(other, chromedp.Evaluate[int](`fetch(location.href).then(r => r.status)`, chromedp.EvalAwaitPromise))
			if err != nil || status != 404 {
				t.Errorf("another organization's customer on the port's page: %d (%v), want 404", status, err)
			}
			if body := text(t, other, "main"); strings.Contains(body, "Gi0/1") || strings.Contains(body, "to alpha web-01") {
				t.Errorf("another organization's customer sees the port: %q", body)
			}
			if err := chromedp.Do(other, chromedp.Navigate(base+"/traffic"), chromedp.WaitVisible(chromedp.CSS("main h1"))); err != nil {
				t.Fatal(err)
			}
			if list := text(t, other, "main"); strings.Contains(list, "Gi0/1") || strings.Contains(list, port.Ref) {
				t.Errorf("another organization's traffic list: %q", list)
			}
		})
	}
}
