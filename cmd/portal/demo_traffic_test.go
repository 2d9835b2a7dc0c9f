package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	"github.com/colo-portal/portal/prober"
)

// demoPorts is the demo's monitored ports by "switch/label".
func demoPorts(t *testing.T, store *models.Store) (map[string]models.SwitchPortRow, []models.SwitchRow) {
	t.Helper()
	ctx := context.Background()
	sws, err := store.ListSwitches(ctx, models.AllOrgs())
	if err != nil {
		t.Fatal(err)
	}
	// The network devices only (the PDU and sensor: demo_facilities_test.go).
	sws = slices.DeleteFunc(sws, func(r models.SwitchRow) bool { return r.IsFacility() })
	out := map[string]models.SwitchPortRow{}
	for _, sw := range sws {
		ps, err := store.ListSwitchPorts(ctx, models.AllOrgs(), sw.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			out[sw.Name+"/"+p.Label()] = p
		}
	}
	return out, sws
}

// The demo's network devices, their mapped ports, 40 days of samples with
// built rollups and months, the port outage of db-01, the statements'
// traffic and, loaded again, nothing more.
func TestDemoTraffic(t *testing.T) {
	ctx := context.Background()
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			store := dbtest.Open(t, db)
			if err := loadDemo(ctx, store, "127.0.0.1:18392", demoBlobs(t), io.Discard); err != nil {
				t.Fatal(err)
			}
			all := models.AllOrgs()
			ports, sws := demoPorts(t, store)
			if len(sws) != 2 || sws[0].Name != "sw-agg-2" || sws[1].Name != "sw-core-1" ||
				sws[1].Address != "127.0.0.1:18394" || sws[0].Address != "127.0.0.1:18395" {
				t.Fatalf("demo switches: %+v", sws)
			}
			for _, sw := range sws {
				if sw.LastPollAt == nil || store.Now().Sub(*sw.LastPollAt) > 10*time.Minute || sw.SysName == "" || sw.LastError != "" {
					t.Errorf("switch %s: last poll %v, system name %q, error %q", sw.Name, sw.LastPollAt, sw.SysName, sw.LastError)
				}
			}
			want := map[string]struct{ org, device, contract string }{
				"sw-core-1/Te1/1/1":  {},
				"sw-core-1/Gi1/0/12": {"Aurora", "web-01", "C-"},
				"sw-core-1/Gi1/0/14": {"Aurora", "db-01", "C-"},
				"sw-agg-2/Gi0/1":     {"Bravo", "game-01", "C-"},
				"sw-agg-2/Fa0/48":    {},
			}
			if len(ports) != len(want) {
				t.Errorf("demo ports: %v", slices.Collect(func(yield func(string) bool) {
					for k := range ports {
						if !yield(k) {
							return
						}
					}
				}))
			}
			for name, w := range want {
				p, ok := ports[name]
				if !ok {
					t.Errorf("no port %s", name)
					continue
				}
				if !strings.HasPrefix(p.OrgName, w.org) || p.DeviceName != w.device || (w.contract == "") != (p.ContractID == nil) ||
					(w.device != "") != (p.CheckID != nil) {
					t.Errorf("port %s mapped to %q %q contract %v check %v, want %+v", name, p.OrgName, p.DeviceName, p.ContractID, p.CheckID, w)
				}
			}
			if ports["sw-agg-2/Fa0/48"].HC || !ports["sw-core-1/Te1/1/1"].HC {
				t.Error("Fa0/48 should have 32-bit counters only, the uplink 64-bit ones")
			}

			// The port checks have their past since their port's mapping:
			// daily rollups, then raw results for the last days.
			for _, name := range []string{"sw-core-1/Gi1/0/12", "sw-agg-2/Gi0/1"} {
				p := ports[name]
				now := store.Now()
				days, err := store.Rollups(ctx, all, *p.OrgID, *p.CheckID, "d", now.AddDate(-1, 0, 0), now)
				if err != nil {
					t.Fatal(err)
				}
				raw, err := store.Results(ctx, all, *p.OrgID, *p.CheckID, now.Add(-24*time.Hour), now)
				if err != nil {
					t.Fatal(err)
				}
				since := int(now.Sub(p.CreatedAt).Hours() / 24)
				if len(days) < since || since < 20 || len(raw) < 24*12-2 || slices.ContainsFunc(raw, func(r models.ProbeResult) bool { return !r.OK }) {
					t.Errorf("%s's check: %d daily rollups in the %d days since its mapping, %d results in the last day", name, len(days), since, len(raw))
				}
			}

			// Samples up to the last few minutes, with rates.
			web := ports["sw-core-1/Gi1/0/12"].SwitchPort
			latest, err := store.LatestTrafficReadings(ctx, web.SwitchID)
			if err != nil {
				t.Fatal(err)
			}
			if s, ok := latest[web.ID]; !ok || store.Now().Sub(s.At) > 10*time.Minute || !s.Valid || s.InBps() <= 0 {
				t.Errorf("web-01's newest sample: %+v", s)
			}
			now := store.Now()
			n := 0
			if err := store.EachTrafficSample(ctx, all, &web, now.AddDate(0, 0, -demoTrafficDays+1), now, func(s *models.TrafficSample) error {
				n++
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if min := (demoTrafficDays - 1) * 288; n < min {
				t.Errorf("web-01: %d samples over %d days, want at least %d", n, demoTrafficDays-1, min)
			}

			// Last month: built by the janitor's builder, with figures that
			// show what the 95th percentile is for: db-01's nightly backup
			// peaks far above the rate it bills.
			loc := store.Zone()
			lm := now.In(loc)
			lastMonth := time.Date(lm.Year(), lm.Month()-1, 1, 0, 0, 0, 0, loc).Format("2006-01")
			db01 := ports["sw-core-1/Gi1/0/14"].SwitchPort
			for _, name := range []string{"sw-core-1/Gi1/0/12", "sw-core-1/Gi1/0/14", "sw-agg-2/Gi0/1", "sw-agg-2/Fa0/48", "sw-core-1/Te1/1/1"} {
				p := ports[name].SwitchPort
				m, err := store.TrafficMonthOf(ctx, all, &p, lastMonth)
				if err != nil {
					t.Fatal(err)
				}
				if m.Samples < 14*288 || m.BuiltAt.IsZero() || m.InP95Bps <= 0 || m.OutP95Bps <= 0 || m.InMaxBps < m.InP95Bps {
					t.Errorf("%s in %s: %+v, want a built month with figures", name, lastMonth, m)
				}
				switch name {
				case "sw-core-1/Gi1/0/12":
					if b := m.BilledP95Bps(); b < 10e6 || b > 20e6 {
						t.Errorf("web-01 billed %d b/s, want under the contract's 20 Mbps and over 10", b)
					}
				case "sw-core-1/Gi1/0/14":
					if m.InMaxBps < 40e6 || m.InP95Bps > 3e6 {
						t.Errorf("db-01: peak %d b/s, 95th %d b/s: the backup should peak and be left out of the 95th", m.InMaxBps, m.InP95Bps)
					}
				}
			}

			// Statements: Aurora's last month (open) and Bravo's (closed on
			// the 2nd, or just now) carry their ports.
			for slug, want := range map[string][]string{"aurora": {"Gi1/0/12", "Gi1/0/14"}, "bravo": {"Gi0/1"}} {
				o, err := store.GetOrgBySlug(ctx, slug)
				if err != nil {
					t.Fatal(err)
				}
				st, err := store.Statement(ctx, all, o.ID, lastMonth)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, pt := range st.Traffic {
					if pt.Samples == 0 || pt.BilledP95Bps <= 0 || pt.Contract == "" {
						t.Errorf("%s's statement: %+v", slug, pt)
					}
					got = append(got, pt.Port)
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s's %s statement lists ports %v, want %v", slug, lastMonth, got, want)
				}
				if slug == "bravo" && st.ClosedAt == nil {
					t.Errorf("bravo's %s statement is not closed", lastMonth)
				}
			}

			// db-01's port went down once: an outage of its port check,
			// the customer's equipment, with the samples down meanwhile.
			outages, err := store.ListOutages(ctx, all, *db01.OrgID, *db01.DeviceID, 50)
			if err != nil {
				t.Fatal(err)
			}
			var port []models.Outage
			for _, o := range outages {
				if o.CheckID == *db01.CheckID {
					port = append(port, o)
				}
			}
			if len(port) != 1 || port[0].EndedAt == nil || port[0].Cause != models.CauseCustomerEquipment ||
				port[0].EndedAt.Sub(port[0].StartedAt) < 45*time.Minute || port[0].EndedAt.Sub(port[0].StartedAt) > time.Hour {
				t.Fatalf("db-01's port outages: %+v", port)
			}
			down, wasDown := 0, false
			if err := store.EachTrafficSample(ctx, all, &db01, port[0].StartedAt.Add(-time.Hour), *port[0].EndedAt, func(s *models.TrafficSample) error {
				if !s.OperUp {
					down++
					if wasDown && (!s.Valid || s.InOctets != 0 || s.OutOctets != 0) {
						t.Errorf("db-01's port down since the poll before %v: %+v", s.At, s)
					}
				}
				wasDown = !s.OperUp
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if down < 9 {
				t.Errorf("db-01's port: %d samples down in its outage, want its 47 minutes", down)
			}

			// A second load adds nothing.
			if err := loadDemo(ctx, store, "127.0.0.1:18392", demoBlobs(t), io.Discard); err != nil {
				t.Fatal(err)
			}
			again, sws2 := demoPorts(t, store)
			if len(again) != len(ports) || len(sws2) != len(sws) {
				t.Errorf("after a second load: %d ports on %d switches, want %d on %d", len(again), len(sws2), len(ports), len(sws))
			}
			m := 0
			if err := store.EachTrafficSample(ctx, all, &web, now.AddDate(0, 0, -demoTrafficDays+1), now, func(*models.TrafficSample) error {
				m++
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if m != n {
				t.Errorf("after a second load: %d samples of web-01, want %d", m, n)
			}

			// The rollups are built: older samples may go, and the month's
			// chart still reads every day.
			if purged, err := store.PurgeTrafficSamples(ctx, now.AddDate(0, 0, -7)); err != nil || purged == 0 {
				t.Fatalf("purged %d samples (%v): no rollups built?", purged, err)
			}
			points, err := store.TrafficSeries(ctx, all, &web, now.AddDate(0, 0, -30).Truncate(24*time.Hour), now, 24*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if len(points) < 30 {
				t.Errorf("web-01's month chart after the purge: %d days", len(points))
			}
			for _, p := range points[:20] {
				if p.Samples < 280 || p.InAvgBps <= 0 {
					t.Errorf("web-01 on %v: %+v", p.Start, p)
				}
			}
		})
	}
}

// The demo switches' agents carry every port's counters on from its
// newest stored sample, so the first live poll is a valid sample at the
// rate of the curve, not a jump; a taken address moves the switch to a
// free port, stored.
func TestDemoSwitchesCarryOn(t *testing.T) {
	ctx := context.Background()
	store := dbtest.Open(t, dbtest.Databases(t)[0])
	// A listen address whose first switch port is free now.
	free, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := "127.0.0.1:" + strconv.Itoa(free.LocalAddr().(*net.UDPAddr).Port-2)
	free.Close()
	if err := loadDemo(ctx, store, listen, demoBlobs(t), io.Discard); err != nil {
		t.Fatal(err)
	}
	// sw-agg-2's usual address is taken.
	taken, err := net.ListenPacket("udp", demoSwitchAddr(listen, 1))
	if err != nil {
		t.Skipf("UDP %s: %v", demoSwitchAddr(listen, 1), err)
	}
	defer taken.Close()
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	startDemoSwitches(actx, store, listen, slog.New(slog.NewTextHandler(io.Discard, nil)))

	ports, sws := demoPorts(t, store)
	for _, sw := range sws {
		if sw.Name == "sw-agg-2" && (sw.Address == demoSwitchAddr(listen, 1) || !strings.HasPrefix(sw.Address, "127.0.0.1:")) {
			t.Errorf("sw-agg-2 at %s, whose usual address is taken", sw.Address)
		}
		if sw.Name == "sw-core-1" && sw.Address != demoSwitchAddr(listen, 0) {
			t.Errorf("sw-core-1 at %s, want %s", sw.Address, demoSwitchAddr(listen, 0))
		}
		creds, err := store.SwitchCredentials(ctx, sw.ID)
		if err != nil {
			t.Fatal(err)
		}
		latest, err := store.LatestTrafficReadings(ctx, sw.ID)
		if err != nil {
			t.Fatal(err)
		}
		var req []prober.PollPort
		byIf := map[int]models.SwitchPort{}
		for _, p := range ports {
			if p.SwitchID == sw.ID {
				req = append(req, prober.PollPort{IfIndex: p.IfIndex, HC: p.HC})
				byIf[p.IfIndex] = p.SwitchPort
			}
		}
		res, err := prober.SNMPPoll(ctx, creds, req)
		if err != nil {
			t.Fatalf("polling %s at %s: %v", sw.Name, sw.Address, err)
		}
		if len(res.Readings) != len(req) {
			t.Errorf("%s: %d readings of %d ports", sw.Name, len(res.Readings), len(req))
		}
		for ix, rd := range res.Readings {
			p := byIf[ix]
			if rd.At.IsZero() {
				rd.At = time.Now()
			}
			if rd.Uptime == 0 {
				rd.Uptime = res.Uptime
			}
			rd.SpeedBps = p.SpeedBps
			last := latest[p.ID]
			prev := last.Reading(p.HC)
			s := models.NewTrafficSample(p.ID, &prev, rd, 15*time.Minute)
			if !s.Valid || !s.OperUp {
				t.Errorf("%s %s: the first live sample after the past is %+v (after %+v)", sw.Name, p.Label(), s, last)
				continue
			}
			// Within the curve: at most twice the port's last stored rate
			// and its peak, in b/s.
			f := demoIfaceOf(sw.Name, ix)
			if peak := 2 * (f.inPeak + 60e6); float64(s.InBps()) > peak {
				t.Errorf("%s %s: %d b/s in after the past, a jump (peak %v)", sw.Name, p.Label(), s.InBps(), f.inPeak)
			}
		}
	}
}

func demoIfaceOf(sw string, index int) *demoIface {
	for i := range demoSwitches {
		if demoSwitches[i].name == sw {
			for j := range demoSwitches[i].ifaces {
				if demoSwitches[i].ifaces[j].index == index {
					return &demoSwitches[i].ifaces[j]
				}
			}
		}
	}
	return &demoIface{}
}
