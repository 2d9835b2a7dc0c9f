package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// The secrets the network tests type: none may show up in a page or a log.
const (
	netCommunity = "s3cret-community"
	netAuthKey   = "auth-s3cret-phrase"
	netPrivKey   = "priv-s3cret-phrase"
)

// fakeDiscovery stands in for prober.SNMPDiscover: it answers ifs, or
// fails with err, and keeps the credentials it was given.
type fakeDiscovery struct {
	ifs   []models.Interface
	err   error
	creds []models.SNMPCredentials
}

func (f *fakeDiscovery) discover(ctx context.Context, creds models.SNMPCredentials) (string, []models.Interface, error) {
	f.creds = append(f.creds, creds)
	if f.err != nil {
		return "", nil, f.err
	}
	return "core-sw-1.dc.example", f.ifs, nil
}

func newFakeDiscovery() *fakeDiscovery {
	return &fakeDiscovery{ifs: []models.Interface{
		{IfIndex: 24, Name: "Lo0", Descr: "Loopback0", TypeNumber: 24, AdminUp: true, OperUp: true},
		{IfIndex: 1, Name: "Gi0/1", Descr: "GigabitEthernet0/1", Alias: "to web-01 阿尔法", SpeedBps: 1_000_000_000, HC: true, AdminUp: true, OperUp: true, TypeNumber: 6},
		{IfIndex: 2, Name: "Te0/2", Descr: "TenGigabitEthernet0/2", SpeedBps: 10_000_000_000, HC: true, AdminUp: true, TypeNumber: 6},
	}}
}

// newNetworkApp rebuilds e's app with its log kept and a fake
// discovery.
func newNetworkApp(t *testing.T, e *env) (*syncBuffer, *fakeDiscovery) {
	t.Helper()
	logs, fake := &syncBuffer{}, newFakeDiscovery()
	e.app = newApp(e.store, func(d *handlers.Deps) {
		d.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		d.DiscoverInterfaces = fake.discover
	})
	return logs, fake
}

// switchIDFrom reads the switch ID of a redirect to /network/:id.
func switchIDFrom(t *testing.T, r *response) string {
	t.Helper()
	wantStatus(t, r, http.StatusSeeOther)
	loc := r.Header.Get("Location")
	id, ok := strings.CutPrefix(loc, "/network/")
	if !ok || id == "" || strings.Contains(id, "/") {
		t.Fatalf("redirect to %q, want /network/:id", loc)
	}
	return id
}

func v2Form() url.Values {
	return url.Values{"name": {"edge-1"}, "address": {"127.0.0.1:1161"}, "site": {"Hall 1"}, "version": {"2c"},
		"community": {netCommunity}, "interval_sec": {"300"}, "timeout_ms": {"3000"}, "max_oids": {"30"}, "enabled": {"1"}}
}

func v3Form() url.Values {
	return url.Values{"name": {"core-1"}, "address": {"127.0.0.2"}, "version": {"3"}, "v3_user": {"portal-ro"},
		"v3_auth_proto": {"SHA256"}, "v3_auth_key": {netAuthKey}, "v3_priv_proto": {"AES"}, "v3_priv_key": {netPrivKey},
		"enabled": {"1"}}
}

// The whole staff path of a network device: added with its secrets,
// changed with them left empty, discovered, its ports picked and mapped,
// a failed discovery and refused forms; no page of /network…, and no log
// line, ever holds a secret (nor its sealed form), and the secrets reach
// the discovery.
func TestNetworkSecretsNeverInAPageOrALog(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		logs, fake := newNetworkApp(t, e)
		dev, err := e.store.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: e.fx.OrgA.ID,
			Name: "web-01.alpha", Address: "127.0.0.20"})
		if err != nil {
			t.Fatal(err)
		}
		devB, err := e.store.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: e.fx.OrgB.ID,
			Name: "game-01.bravo", Address: "127.0.0.21"})
		if err != nil {
			t.Fatal(err)
		}
		eng := e.as(t, e.fx.Engineer)
		var pages []*response
		keep := func(r *response) *response { pages = append(pages, r); return r }

		keep(eng.get("/network/new"))
		v2 := switchIDFrom(t, keep(eng.submit("/network/new", "/network", v2Form())))
		v3 := switchIDFrom(t, keep(eng.submit("/network/new", "/network", v3Form())))

		// A refused form comes back as typed, its secrets empty.
		bad := v3Form()
		bad.Set("name", "core-2 typed")
		bad.Set("v3_user", "")
		bad.Set("interval_sec", "abc")
		r := keep(eng.submit("/network/new", "/network", bad))
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, `value="core-2 typed"`, `value="abc"`, zh("error.required"), zh("network.error.range", "60", "3,600"),
			`type="password"`, `autocomplete="new-password"`)

		// Its pages say "set", never what.
		for _, id := range []string{v2, v3} {
			r := keep(eng.get("/network/" + id))
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, zh("network.secret_set"))
			r = keep(eng.get("/network/" + id + "/edit"))
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, zh("network.secret_kept"))
		}
		// Changed with the secrets left empty: they stay.
		change := v3Form()
		change.Set("v3_auth_key", "")
		change.Set("v3_priv_key", "")
		change.Set("site", "Hall 3")
		wantRedirect(t, keep(eng.submit("/network/"+v3+"/edit", "/network/"+v3, change)), "/network/"+v3)
		change = v2Form()
		change.Set("community", "")
		wantRedirect(t, keep(eng.submit("/network/"+v2+"/edit", "/network/"+v2, change)), "/network/"+v2)
		// A change refused keeps the form, not the secret typed.
		change.Set("community", "an0ther-community")
		change.Set("max_oids", "500")
		r = keep(eng.submit("/network/"+v2+"/edit", "/network/"+v2, change))
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantNoBody(t, r, "an0ther-community")

		// Discovery gets the secrets in the clear and lists the interfaces.
		r = keep(eng.submit("/network/"+v2, "/network/"+v2+"/discover", nil))
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, "Gi0/1", "TenGigabitEthernet0/2", "to web-01 阿尔法", "10 Gb/s", "1 Gb/s", "core-sw-1.dc.example", `name="if" value="2"`)
		if n := len(fake.creds); n != 1 || fake.creds[0].Community != netCommunity || fake.creds[0].Address != "127.0.0.1:1161" {
			t.Fatalf("discovery got %d calls: %+v", n, fake.creds)
		}
		r = keep(eng.submit("/network/"+v2, "/network/"+v2+"/ports", nil))
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("network.error.none_picked"), "Gi0/1")
		wantRedirect(t, keep(eng.submit("/network/"+v2, "/network/"+v2+"/ports", url.Values{"if": {"1", "2"}})), "/network/"+v2)
		r = keep(eng.get("/network/" + v2))
		ports, err := e.store.ListSwitchPorts(ctx, models.AllOrgs(), mustID(t, v2))
		if err != nil || len(ports) != 2 {
			t.Fatalf("ports %+v, %v", ports, err)
		}
		wantBody(t, r, `href="/traffic/`+ports[0].Ref+`"`, `href="/network/`+v2+`/ports/`+ports[0].Ref+`"`, "to web-01 阿尔法")
		// Discovered again, the monitored ones are marked.
		r = keep(eng.submit("/network/"+v2, "/network/"+v2+"/discover", nil))
		wantBody(t, r, zh("network.monitored"), `name="if" value="24"`)
		wantNoBody(t, r, `name="if" value="1"`)
		// Monitoring another one refreshes the names of those monitored.
		for i := range fake.ifs {
			if fake.ifs[i].IfIndex == 1 {
				fake.ifs[i].Alias = "to web-01 renamed"
			}
		}
		wantRedirect(t, keep(eng.submit("/network/"+v2, "/network/"+v2+"/ports", url.Values{"if": {"24"}})), "/network/"+v2)
		if p, err := e.store.GetSwitchPort(ctx, models.AllOrgs(), ports[0].Ref); err != nil || p.Alias != "to web-01 renamed" || p.IfIndex != 1 {
			t.Fatalf("port 1 after monitoring port 24: %+v, %v", p, err)
		}
		r = keep(eng.submit("/network/"+v2, "/network/"+v2+"/ports", url.Values{"if": {"1"}}))
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("network.error.none_picked"))

		// The mapping form: the organization first, then its devices.
		port := "/network/" + v2 + "/ports/" + ports[0].Ref
		r = keep(eng.get(port))
		wantStatus(t, r, http.StatusOK)
		// Removing the port says an open outage would end.
		wantBody(t, r, zh("network.unmapped_note"), zh("network.outage_end_hint"))
		r = keep(eng.get(port + "?org=" + ids(e.fx.OrgA.ID)))
		wantBody(t, r, "web-01.alpha", `name="org" value="`+ids(e.fx.OrgA.ID)+`"`)
		wantNoBody(t, r, "game-01.bravo")
		// Another organization's device is refused, the choice kept.
		r = keep(eng.submit(port, port, url.Values{"org": {ids(e.fx.OrgA.ID)}, "device": {ids(devB.ID)}}))
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("network.error.device_other_org"), "web-01.alpha")
		wantRedirect(t, keep(eng.submit(port, port, url.Values{"org": {ids(e.fx.OrgA.ID)}, "device": {ids(dev.ID)}})), "/network/"+v2)
		checks, err := e.store.ListChecks(ctx, models.AllOrgs(), e.fx.OrgA.ID, dev.ID)
		if err != nil || len(checks) != 2 || checks[1].Kind != models.KindPort || checks[1].Target != "edge-1 Gi0/1" {
			t.Fatalf("the device's checks after the mapping: %+v, %v", checks, err)
		}
		r = keep(eng.get("/network/" + v2))
		wantBody(t, r, "web-01.alpha", e.fx.OrgA.Name)

		// A discovery that fails says so in words; the log has the
		// error with the secret cut out.
		fake.err = fmt.Errorf("%w: snmp: request with community %s, nothing after 3 s", handlers.ErrDiscoverNoAnswer, netCommunity)
		r = keep(eng.submit("/network/"+v2, "/network/"+v2+"/discover", nil))
		wantStatus(t, r, http.StatusBadGateway)
		wantBody(t, r, zh("network.error.discover_timeout"))
		if !strings.Contains(logs.String(), "[secret]") {
			t.Fatalf("the failed discovery is not logged with its secret cut out:\n%s", logs.String())
		}
		fake.err = fmt.Errorf("%w: wrong digest for user portal-ro with %s", handlers.ErrDiscoverRefused, netAuthKey)
		r = keep(eng.submit("/network/"+v3, "/network/"+v3+"/discover", nil))
		wantStatus(t, r, http.StatusBadGateway)
		wantBody(t, r, zh("network.error.discover_refused"))
		fake.err = errors.New("unexpected PDU type from an agent, priv key " + netPrivKey)
		r = keep(eng.submit("/network/"+v3, "/network/"+v3+"/discover", nil))
		wantStatus(t, r, http.StatusBadGateway)
		wantBody(t, r, zh("network.error.discover_failed"))
		if c := fake.creds[len(fake.creds)-1]; c.V3AuthKey != netAuthKey || c.V3PrivKey != netPrivKey || c.V3PrivProto != "AES" {
			t.Fatalf("the v3 discovery's credentials: %+v", c)
		}

		// Every page and the list, as each staff role sees them.
		for _, u := range []*models.User{e.fx.Admin, e.fx.Service, e.fx.Reception} {
			c := e.as(t, u)
			keep(c.get("/network"))
			keep(c.get("/network/" + v2))
			keep(c.get("/network/" + v3))
			keep(c.get(port))
		}
		keep(eng.get("/network"))

		var sealed []string
		for _, id := range []string{v2, v3} {
			sw, err := e.store.GetSwitch(ctx, models.AllOrgs(), mustID(t, id))
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{sw.Community, sw.V3AuthKey, sw.V3PrivKey} {
				if s != "" {
					sealed = append(sealed, s)
				}
			}
		}
		if len(sealed) != 3 {
			t.Fatalf("%d sealed secrets stored, want 3", len(sealed))
		}
		secrets := append([]string{netCommunity, netAuthKey, netPrivKey, "an0ther-community"}, sealed...)
		for _, r := range pages {
			for _, s := range secrets {
				if strings.Contains(r.Body, s) {
					t.Errorf("%s %s (%d) shows the secret %q", r.Request.Method, r.Request.URL, r.StatusCode, s)
				}
			}
		}
		log := logs.String()
		if !strings.Contains(log, "/network") {
			t.Fatalf("the log captured no request; the test is broken:\n%s", log)
		}
		for _, s := range secrets {
			if strings.Contains(log, s) {
				t.Errorf("the log holds the secret %q", s)
			}
		}
	})
}

// Who may do what: every staff role reads the list and a device's page;
// engineers and admins manage; a customer is refused every page and
// finds no link to them; a form without its CSRF token changes nothing.
func TestNetworkRolesAndCSRF(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		newNetworkApp(t, e)
		sw, err := e.store.CreateSwitch(ctx, models.UserActor(e.fx.Engineer, "10.0.0.1"), models.SwitchInput{Name: "edge-1",
			Address: "127.0.0.1", Version: models.SNMPv2c, Community: netCommunity, Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.AddSwitchPorts(ctx, models.SystemActor("test"), sw.ID, []models.Interface{{IfIndex: 7, Name: "Gi0/7"}}); err != nil {
			t.Fatal(err)
		}
		ports, err := e.store.ListSwitchPorts(ctx, models.AllOrgs(), sw.ID)
		if err != nil || len(ports) != 1 {
			t.Fatal(ports, err)
		}
		page, port := "/network/"+ids(sw.ID), "/network/"+ids(sw.ID)+"/ports/"+ports[0].Ref
		for _, c := range []struct {
			user       *models.User
			read, edit int
		}{
			{e.fx.Admin, 200, 200}, {e.fx.Engineer, 200, 200}, {e.fx.Service, 200, 403}, {e.fx.Reception, 200, 403},
			{e.fx.CustA, 403, 403},
		} {
			t.Run(string(c.user.Role), func(t *testing.T) {
				cl := e.as(t, c.user)
				for _, p := range []string{"/network", page} {
					r := cl.get(p)
					wantStatus(t, r, c.read)
					if c.read == 200 {
						wantBody(t, r, "edge-1")
					} else {
						wantNoBody(t, r, "edge-1", "Gi0/7")
					}
					if c.read == 200 && c.edit != 200 {
						wantNoBody(t, r, `href="/network/new"`, page+"/edit", page+"/discover", page+"/delete", port)
					}
				}
				for _, p := range []string{"/network/new", page + "/edit", port} {
					wantStatus(t, cl.get(p), c.edit)
				}
				if c.edit == 200 {
					wantBody(t, cl.get(page), page+"/edit", page+"/discover", page+"/delete", port)
					wantBody(t, cl.get("/network"), `href="/network/new"`)
				}
				// A form posted from a page the role may see is refused the
				// same way when the role may not manage.
				if c.edit != 200 {
					r := cl.submit("/account", page, url.Values{"name": {"hijacked"}, "address": {"127.0.0.9"}, "version": {"2c"}})
					wantStatus(t, r, http.StatusForbidden)
					r = cl.submit("/account", page+"/delete", url.Values{"confirmed": {"1"}})
					wantStatus(t, r, http.StatusForbidden)
				}
				home := cl.get("/")
				if c.user.Role == models.RoleCustomer {
					wantNoBody(t, home, `href="/network`)
				}
			})
		}
		// The fleet page links the network devices for staff.
		wantBody(t, e.as(t, e.fx.Engineer).get("/fleet"), `href="/network"`)

		// Without the CSRF token nothing changes, not even for an admin.
		adm := e.as(t, e.fx.Admin)
		r := adm.post(page, url.Values{"name": {"hijacked"}, "address": {"127.0.0.9"}, "version": {"2c"}})
		wantStatus(t, r, http.StatusForbidden)
		r = adm.post(page+"/delete", url.Values{"confirmed": {"1"}})
		wantStatus(t, r, http.StatusForbidden)
		r = adm.post(port+"/delete", url.Values{"confirmed": {"1"}})
		wantStatus(t, r, http.StatusForbidden)
		r = adm.post("/network", v2Form())
		wantStatus(t, r, http.StatusForbidden)
		if got, err := e.store.GetSwitch(ctx, models.AllOrgs(), sw.ID); err != nil || got.Name != "edge-1" {
			t.Fatalf("after the refused posts: %+v, %v", got, err)
		}
		if rows, _ := e.store.ListSwitches(ctx, models.AllOrgs()); len(rows) != 1 {
			t.Fatalf("%d switches after a refused creation", len(rows))
		}

		// A port of another device, or a device that does not exist, is
		// not found.
		other, err := e.store.CreateSwitch(ctx, models.SystemActor("test"), models.SwitchInput{Name: "edge-2",
			Address: "127.0.0.3", Version: models.SNMPv2c, Community: netCommunity})
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, adm.get("/network/"+ids(other.ID)+"/ports/"+ports[0].Ref), http.StatusNotFound)
		wantStatus(t, adm.get("/network/999999"), http.StatusNotFound)
		wantStatus(t, adm.get("/network/abc"), http.StatusNotFound)
		wantStatus(t, adm.get(page+"/ports/0000000000000000"), http.StatusNotFound)

		// Removing asks first, then removes.
		r = adm.submit(page, page+"/delete", nil)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, zh("network.remove_confirm", "edge-1"), `name="confirmed" value="1"`)
		wantRedirect(t, adm.submit(page, port+"/delete", url.Values{"confirmed": {"1"}}), page)
		wantRedirect(t, adm.submit(page, page+"/delete", url.Values{"confirmed": {"1"}}), "/network")
		wantStatus(t, adm.get(page), http.StatusNotFound)
		if evs, err := e.store.ListAudit(ctx, models.AllOrgs(), models.AuditFilter{Action: models.AuditSwitchRemoved}); err != nil || len(evs) != 1 {
			t.Fatalf("removal records: %+v, %v", evs, err)
		}
	})
}

// Without a discovery (a portal built without SNMP), the page says so.
func TestNetworkDiscoveryUnavailable(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		sw, err := e.store.CreateSwitch(context.Background(), models.SystemActor("test"), models.SwitchInput{Name: "edge-1",
			Address: "127.0.0.1", Version: models.SNMPv2c, Community: netCommunity})
		if err != nil {
			t.Fatal(err)
		}
		eng := signIn(t, e.app, e.fx.Engineer.Email, dbtest.Password)
		page := "/network/" + ids(sw.ID)
		r := eng.submit(page, page+"/discover", nil)
		wantStatus(t, r, http.StatusBadGateway)
		wantBody(t, r, zh("network.error.discover_unavailable"))
	})
}
