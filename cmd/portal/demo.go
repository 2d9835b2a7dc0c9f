package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/blobstore"
)

type demoUser struct {
	email, name, phone, password string
	role                         models.Role
	org                          string
}

var demoStaff = []demoUser{
	{"admin@idc.example", "Chen Jing 陈静", "+86 10 8888 0001", "demo-Chen-2026", models.RoleAdmin, ""},
	{"reception@idc.example", "Zhao Min 赵敏", "+86 10 8888 0002", "demo-Zhao-2026", models.RoleReception, ""},
	{"engineer@idc.example", "Li Wei 李伟", "+86 138 0013 8000", "demo-LiWei-2026", models.RoleEngineer, ""},
	{"service@idc.example", "Wang Fang 王芳", "+86 10 8888 0004", "demo-Wang-2026", models.RoleService, ""},
}

var demoOrgs = []models.OrgInput{
	{Slug: "aurora", Name: "Aurora Cloud 极光云计算", ContactAddress: "北京市海淀区中关村大街 1 号 / 1 Zhongguancun Ave, Haidian, Beijing"},
	{Slug: "bravo", Name: "Bravo Games 博锐游戏", ContactAddress: "上海市浦东新区张江路 88 号 / 88 Zhangjiang Rd, Pudong, Shanghai"},
}

var demoCustomers = []demoUser{
	{"ops@aurora.example", "Sun Li 孙丽", "+86 139 1000 2000", "demo-Aurora-2026", models.RoleCustomer, "aurora"},
	{"cto@aurora.example", "Zhou Tao 周涛", "+86 139 1000 2001", "demo-Zhou-2026", models.RoleCustomer, "aurora"},
	{"it@bravo.example", "Ma Jun 马骏", "+86 137 2000 3000", "demo-Bravo-2026", models.RoleCustomer, "bravo"},
}

// demoDevice is a demo device on a loopback address with its checks
// beyond the default ping.
type demoDevice struct {
	org, name, address, cabinet, position string
	checks                                []models.CheckInput
	tags                                  string // as typed on the device form
}

// demoDevices are on 127.0.0.x so the prober has something real to probe:
// pings of loopback, HTTP checks of the demo service (demo_service.go,
// never the portal itself), and one TCP check of a port nothing listens
// on, so a newcomer sees a live outage. listen is the portal's address,
// which the demo service's follows.
func demoDevices(listen string) []demoDevice {
	http := func(device string) models.CheckInput {
		return models.CheckInput{Kind: models.KindHTTP, Target: demoServiceURL(listen, device), Keyword: "ok",
			Interval: time.Minute, Enabled: true}
	}
	return []demoDevice{
		{"aurora", "web-01", "127.0.0.11", "A03", "U12", []models.CheckInput{http("web-01")}, "web prod"},
		{"aurora", "db-01", "127.0.0.12", "A03", "U14", []models.CheckInput{
			{Kind: models.KindTCP, Target: "127.0.0.12:9", Interval: 30 * time.Second, Enabled: true}}, "db prod"},
		{"bravo", "game-01", "127.0.0.21", "B07", "U20", []models.CheckInput{http("game-01")}, "game"},
		{"bravo", "game-02", "127.0.0.22", "B07", "U22", nil, "game spare"},
	}
}

// portalHealthz reports an HTTP check target that is a portal's own
// /healthz on this machine, as demos before the demo service watched.
func portalHealthz(target string) bool {
	u, err := url.Parse(target)
	if err != nil || u.Path != "/healthz" {
		return false
	}
	ip := net.ParseIP(u.Hostname())
	return u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback())
}

// loadDemo fills the database with a small, realistic data set; listen is
// the portal's PORTAL_LISTEN, which the demo service's address follows.
// Running it again changes nothing that is already there, except that HTTP
// checks of the portal's own /healthz (older demos) are switched off.
func loadDemo(ctx context.Context, store *models.Store, listen string, blobs blobstore.Store, out io.Writer) error {
	sys := models.SystemActor("demo")
	ensureUser := func(d demoUser, org *int64) (*models.User, error) {
		if u, err := store.GetUserByEmail(ctx, d.email); err == nil {
			return u, nil
		} else if !errors.Is(err, models.ErrNotFound) {
			return nil, err
		}
		return store.CreateUser(ctx, sys, models.UserInput{Email: d.email, Name: d.name, Phone: d.phone,
			Role: d.role, OrgID: org, Password: d.password})
	}
	ids := map[models.Role]int64{}
	for _, d := range demoStaff {
		u, err := ensureUser(d, nil)
		if err != nil {
			return fmt.Errorf("demo user %s: %w", d.email, err)
		}
		ids[d.role] = u.ID
	}
	orgIDs := map[string]int64{}
	for _, in := range demoOrgs {
		o, err := store.GetOrgBySlug(ctx, in.Slug)
		if errors.Is(err, models.ErrNotFound) {
			rep, eng := ids[models.RoleService], ids[models.RoleEngineer]
			in.ServiceRepUserID, in.EngineerUserID = &rep, &eng
			// Opened when its contracts say it became a customer (demo_ledger.go).
			opened := demoOrgOpened(store.Now().In(store.Zone()), in.Slug)
			o, err = store.Clocked(func() time.Time { return opened }).CreateOrg(ctx, sys, in)
		}
		if err != nil {
			return fmt.Errorf("demo organization %s: %w", in.Slug, err)
		}
		orgIDs[o.Slug] = o.ID
	}
	for _, d := range demoCustomers {
		id := orgIDs[d.org]
		if _, err := ensureUser(d, &id); err != nil {
			return fmt.Errorf("demo user %s: %w", d.email, err)
		}
	}
	created := map[string]bool{}
	for _, dd := range demoDevices(listen) {
		isNew, err := ensureDemoDevice(ctx, store, sys, orgIDs[dd.org], dd)
		if err != nil {
			return fmt.Errorf("demo device %s: %w", dd.name, err)
		}
		created[dd.name] = isNew
	}
	// Aurora has an authorized contact, so its outage shows a call task on
	// the on-call page and a running 15-minute clock; Bravo has none yet,
	// so its home page asks for one.
	if cs, err := store.ListContacts(ctx, models.AllOrgs(), orgIDs["aurora"]); err != nil {
		return err
	} else if len(cs) == 0 {
		_, err := store.CreateContact(ctx, sys, orgIDs["aurora"], models.ContactInput{Name: "孙丽 Sun Li", Title: "运维经理 Operations manager",
			Mobile: "+86 139 1000 2000", Email: "ops@aurora.example", Channels: []models.Channel{models.ChannelMobile, models.ChannelEmail},
			MayAuthorize: true, Passphrase: "demo-aurora-phrase", Locale: "zh-CN"})
		if err != nil {
			return fmt.Errorf("demo contact: %w", err)
		}
	}
	// The devices just created get their past: 90 days of probes, past
	// outages with their notices (demo_history.go), and the ledger's
	// contracts, power incidents, maintenance windows and a closed month
	// among them (demo_ledger.go).
	eng, err := store.GetUserByEmail(ctx, "engineer@idc.example")
	if err != nil {
		return err
	}
	ledger, err := demoLedgerPast(ctx, store, orgIDs)
	if err != nil {
		return err
	}
	// The network devices and their traffic (demo_traffic.go) come in
	// the same history, among the ledger's steps.
	traffic, trafficPast := demoTrafficPast(store, listen, ledger.incidents)
	ledger.steps = append(ledger.steps, trafficPast.steps...)
	// Aurora's cabinet power and environment (demo_facilities.go), too.
	facilityPast, err := demoFacilitiesPast(ctx, store, listen, orgIDs["aurora"])
	if err != nil {
		return err
	}
	ledger.steps = append(ledger.steps, facilityPast...)
	if err := seedDemoHistory(ctx, store, orgIDs, created, models.UserActor(eng, ""), ledger); err != nil {
		return err
	}
	if err := finishDemoTraffic(ctx, store, traffic); err != nil {
		return err
	}
	if err := loadDemoOperations(ctx, store, blobs, orgIDs["aurora"], "ops@aurora.example", "engineer@idc.example"); err != nil {
		return err
	}
	if err := loadDemoVisits(ctx, store, orgIDs); err != nil {
		return err
	}
	if err := loadDemoStanding(ctx, store, orgIDs); err != nil {
		return err
	}
	if err := loadDemoComplaints(ctx, store, orgIDs); err != nil {
		return err
	}
	if err := loadDemoShipments(ctx, store, orgIDs); err != nil {
		return err
	}
	fmt.Fprintln(out, "Demo data loaded. Sign in with:")
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ROLE\tEMAIL\tPASSWORD\tORGANIZATION")
	for _, d := range append(append([]demoUser{}, demoStaff...), demoCustomers...) {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", d.role, d.email, d.password, d.org)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out, "Demo devices on 127.0.0.x are probed live; the TCP check of 127.0.0.12:9 fails on purpose,")
	fmt.Fprintln(out, "so an outage opens on db-01 about a minute after start.")
	fmt.Fprintf(out, "Demo network devices sw-core-1 and sw-agg-2 are SNMP agents in the demo process (UDP %s and %s)\n",
		demoSwitchAddr(listen, 0), demoSwitchAddr(listen, 1))
	fmt.Fprintf(out, "polled every 5 minutes, with %d days of traffic behind them: see /traffic.\n", demoTrafficDays)
	return demoAPIToken(ctx, store, out, listen)
}

// ensureDemoDevice creates a demo device and adds each of its checks it
// lacks (same kind and target), so a second run adds nothing.
func ensureDemoDevice(ctx context.Context, store *models.Store, sys models.Actor, orgID int64, dd demoDevice) (created bool, err error) {
	devices, err := store.ListDevices(ctx, models.AllOrgs(), orgID)
	if err != nil {
		return false, err
	}
	var d *models.Device
	for i := range devices {
		if devices[i].Name == dd.name {
			d = &devices[i]
		}
	}
	if d == nil {
		if d, err = store.CreateDevice(ctx, sys, models.DeviceInput{OrgID: orgID, Name: dd.name, Address: dd.address,
			Cabinet: dd.cabinet, Position: dd.position, Tags: &dd.tags}); err != nil {
			return false, err
		}
		created = true
	}
	checks, err := store.ListChecks(ctx, models.AllOrgs(), orgID, d.ID)
	if err != nil {
		return false, err
	}
	has := map[string]bool{}
	for _, c := range checks {
		if c.Kind == models.KindHTTP && c.Enabled && portalHealthz(c.Target) {
			if err := store.SetCheckEnabled(ctx, sys, orgID, c.ID, false); err != nil {
				return false, err
			}
			continue
		}
		has[string(c.Kind)+" "+c.Target] = true
	}
	for _, in := range dd.checks {
		if has[string(in.Kind)+" "+in.Target] {
			continue
		}
		if _, err := store.AddCheck(ctx, sys, orgID, d.ID, in); err != nil {
			return false, err
		}
	}
	return created, nil
}

// demoProvider is the demo's fictional data center when the configuration
// names no provider at all (no name, address, phone, fax or email), so that
// the demo's PDFs carry a letterhead and return instructions; ok is false,
// and the configured identity stays, when any of them is set.
func demoProvider(configured models.Provider) (p models.Provider, ok bool) {
	if configured.Name != "" || configured.Address != "" || configured.Phone != "" || configured.Fax != "" || configured.Email != "" {
		return configured, false
	}
	p = configured // a configured logo stays
	p.Name = "示例云数据中心 Example Cloud Data Center Ltd."
	p.Address = "北京市朝阳区示例路 88 号 3 层\nFloor 3, 88 Example Road, Chaoyang District, Beijing 100020"
	p.Phone = "+861055550100"
	p.Fax = "+861055550199"
	p.Email = "service@idc.example"
	return p, true
}
