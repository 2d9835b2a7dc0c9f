package models_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// incidentWorld is 60 customers with two monitored devices each, an
// authorized contact (email and mobile) and one who may not authorize,
// plus a quiet customer whose device failed ten minutes before the others
// and stays out of the incident.
type incidentWorld struct {
	s      *models.Store
	clock  *dbtest.Clock
	fx     *dbtest.Fixture
	eng    models.Actor
	orgs   []*models.Organization
	checks [][]models.Check // by org
	quiet  *models.Organization
	t0     time.Time
}

const incidentOrgs = 60

// orgStart is when org i's devices fail: the later the org, the earlier,
// all within 24 s, so their clocks run out in the reverse of name order.
func (w *incidentWorld) orgStart(i int) time.Time {
	return w.t0.Add(time.Duration(incidentOrgs-1-i) * 400 * time.Millisecond)
}

func newIncidentWorld(t *testing.T, db dbtest.DB) *incidentWorld {
	t.Helper()
	ctx := context.Background()
	clock := dbtest.NewClock()
	s := dbtest.Open(t, db, models.WithClock(clock.Now))
	w := &incidentWorld{s: s, clock: clock, fx: dbtest.Seed(t, s)}
	w.eng = models.UserActor(w.fx.Engineer, "127.0.0.1")
	sys := models.SystemActor("test")
	mkOrg := func(slug, name string, devices int) (*models.Organization, []models.Check) {
		o, err := s.CreateOrg(ctx, sys, models.OrgInput{Slug: slug, Name: name})
		if err != nil {
			t.Fatal(err)
		}
		var chks []models.Check
		for k := range devices {
			d, err := s.CreateDevice(ctx, sys, models.DeviceInput{OrgID: o.ID, Name: fmt.Sprintf("%s-srv-%d", slug, k),
				Address: fmt.Sprintf("10.%d.0.%d", o.ID%250, k+1)})
			if err != nil {
				t.Fatal(err)
			}
			c, err := s.AddCheck(ctx, sys, o.ID, d.ID, models.CheckInput{Kind: models.KindICMP, Target: d.Address})
			if err != nil {
				t.Fatal(err)
			}
			chks = append(chks, *c)
		}
		if _, err := s.CreateContact(ctx, sys, o.ID, models.ContactInput{Name: "Owner of " + name, Email: "owner@" + slug + ".test",
			Mobile: fmt.Sprintf("138%08d", o.ID), Channels: []models.Channel{models.ChannelEmail, models.ChannelMobile},
			MayAuthorize: true, Passphrase: "blue harbour 42"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateContact(ctx, sys, o.ID, models.ContactInput{Name: "Desk of " + name, Email: "desk@" + slug + ".test",
			Channels: []models.Channel{models.ChannelEmail}, Priority: 2}); err != nil {
			t.Fatal(err)
		}
		return o, chks
	}
	var quietChecks []models.Check
	w.quiet, quietChecks = mkOrg("quiet", "Quiet Holdings", 1)
	for i := range incidentOrgs {
		o, chks := mkOrg(fmt.Sprintf("cust-%02d", i), fmt.Sprintf("Customer %02d", i), 2)
		w.orgs, w.checks = append(w.orgs, o), append(w.checks, chks)
		st := ""
		switch {
		case i >= 50:
			st = models.ServiceFullCabinet
		case i >= 40:
			st = models.ServiceColocation
		case i < 10:
			st = models.ServiceServer
		}
		if st != "" {
			// The service type is derived from the contract in force.
			signContract(t, s, models.UserActor(w.fx.Service, "127.0.0.1"), o.ID, st)
		}
	}
	// The quiet customer's device failed on its own ten minutes earlier.
	clock.Advance(10 * time.Minute)
	w.t0 = clock.Now()
	q := quietChecks[0]
	if _, err := s.RecordResults(ctx, []models.ProbeResult{{CheckID: q.ID, At: w.t0.Add(-10 * time.Minute), Reason: models.ReasonTimeout},
		{CheckID: q.ID, At: w.t0.Add(-9 * time.Minute), Reason: models.ReasonTimeout}}); err != nil {
		t.Fatal(err)
	}
	// Then the upstream link: every device of the 60 fails, within 24 s.
	var rs []models.ProbeResult
	for i, chks := range w.checks {
		for _, c := range chks {
			rs = append(rs, models.ProbeResult{CheckID: c.ID, At: w.orgStart(i), Reason: models.ReasonTimeout},
				models.ProbeResult{CheckID: c.ID, At: w.orgStart(i).Add(30 * time.Second), Reason: models.ReasonTimeout})
		}
	}
	if _, err := s.RecordResults(ctx, rs); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	return w
}

// outageOf is the one outage of check c.
func (w *incidentWorld) outageOf(t *testing.T, org int64, c models.Check) models.Outage {
	t.Helper()
	os, err := w.s.ListOutages(context.Background(), models.AllOrgs(), org, c.DeviceID, 5)
	if err != nil || len(os) != 1 {
		t.Fatalf("outages of device %d = %+v, %v", c.DeviceID, os, err)
	}
	return os[0]
}

// figures is every affected device's availability today and this
// month, each outage's cause and spans, and each org's deduction lines.
func (w *incidentWorld) figures(t *testing.T) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	day := time.Date(w.t0.Year(), w.t0.Month(), w.t0.Day(), 0, 0, 0, 0, time.UTC)
	month := time.Date(w.t0.Year(), w.t0.Month(), 1, 0, 0, 0, 0, time.UTC)
	for i, o := range w.orgs {
		for k, c := range w.checks[i] {
			key := fmt.Sprintf("%s/%d", o.Slug, k)
			for _, r := range [][2]time.Time{{day, day.AddDate(0, 0, 1)}, {month, month.AddDate(0, 1, 0)}} {
				a, err := w.s.DeviceAvailability(ctx, models.AllOrgs(), o.ID, c.DeviceID, r[0], r[1])
				if err != nil {
					t.Fatal(err)
				}
				out[key+" availability "+r[0].Format("2006-01-02")+"+"] = fmt.Sprintf("%+v %.6f", a, a.Percent())
			}
			ou := w.outageOf(t, o.ID, c)
			spans, err := w.s.OutageCauseSpans(ctx, models.AllOrgs(), o.ID, ou.ID)
			if err != nil {
				t.Fatal(err)
			}
			var sp []string
			for _, p := range spans {
				sp = append(sp, fmt.Sprintf("%s–%s %s", p.StartAt.UTC(), p.EndAt.UTC(), p.Cause))
			}
			setBy := int64(0)
			if ou.CauseSetBy != nil {
				setBy = *ou.CauseSetBy
			}
			out[key+" cause"] = fmt.Sprintf("%s %q by %d spans %v", ou.Cause, ou.CauseNote, setBy, sp)
		}
		ds, err := w.s.ListDeductions(ctx, models.AllOrgs(), o.ID, "2000-01-01", "2100-01-01")
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, d := range ds {
			lines = append(lines, fmt.Sprintf("%s %s %d %s", d.Day, d.Outcome(), d.Days, d.WaiverReason))
		}
		out[o.Slug+" deductions"] = fmt.Sprint(lines)
	}
	return out
}

func sameFigures(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d figures, want %d", what, len(got), len(want))
	}
	bad := 0
	for k, v := range want {
		if got[k] != v {
			bad++
			if bad <= 5 {
				t.Errorf("%s: %s = %s, want %s", what, k, got[k], v)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%s: %d figures differ", what, bad)
	}
}

// The acceptance test of the provider-wide incident: 60 organizations'
// devices fail within the window → one incident with the 60 (not the
// quiet customer's earlier outage); one cause set for all gives every
// outage exactly what setting the cause on each would (cause, spans,
// availability, deduction lines: a provider cause keeps counting, force
// majeure excludes and waives); one update is one delivery per
// authorized contact and channel of each affected organization and none
// elsewhere, and shows on their home pages only; the phone list is in
// calling order. A twin database gets the same outages and the same
// causes set one outage at a time, without any incident.
func TestProviderWideIncidentAcrossSixtyOrganizations(t *testing.T) {
	twins := dbtest.Databases(t)
	for i, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			w := newIncidentWorld(t, db)
			single := newIncidentWorld(t, twins[i])
			s := w.s
			before := w.figures(t)
			sameFigures(t, "the twins before", single.figures(t), before)

			// Two instances detect at once: one incident opens.
			var wg sync.WaitGroup
			results := make([]bool, 2)
			errs := make([]error, 2)
			for k := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, results[k], errs[k] = s.DetectIncident(ctx, models.IncidentRules{})
				}()
			}
			wg.Wait()
			if errs[0] != nil || errs[1] != nil || results[0] == results[1] {
				t.Fatalf("two detections: opened %v, errors %v", results, errs)
			}
			inc, opened, err := s.DetectIncident(ctx, models.IncidentRules{})
			if err != nil || inc == nil || opened {
				t.Fatalf("a third detection: %+v %v %v", inc, opened, err)
			}
			if !inc.StartedAt.Equal(w.orgStart(incidentOrgs - 1)) {
				t.Errorf("incident started %v, want the earliest outage's start %v", inc.StartedAt, w.orgStart(incidentOrgs-1))
			}
			list, err := s.ListIncidents(ctx, models.AllOrgs(), 10)
			if err != nil || len(list) != 1 || list[0].Orgs != incidentOrgs || list[0].Devices != 2*incidentOrgs ||
				list[0].Outages != 2*incidentOrgs || list[0].Open != 2*incidentOrgs {
				t.Fatalf("incidents = %+v, %v", list, err)
			}
			if got := auditOf(t, s, models.AuditIncidentOpened); len(got) != 1 {
				t.Errorf("%d incident.opened records, want 1", len(got))
			}
			sameFigures(t, "grouping changes no figure", w.figures(t), before)

			// The phone list: by contracted service, then by the time the
			// earliest clock has left (org 59 failed first).
			d, err := s.GetIncidentDetail(ctx, models.AllOrgs(), inc.ID)
			if err != nil {
				t.Fatal(err)
			}
			var order []int
			for _, p := range d.Phones {
				if p.Contact.ID == 0 || !p.Contact.MayAuthorize {
					t.Fatalf("phone line %+v: not an authorized contact", p)
				}
				var n int
				fmt.Sscanf(p.Org.Name, "Customer %d", &n)
				order = append(order, n)
			}
			var want []int
			for _, r := range [][2]int{{59, 50}, {49, 40}, {9, 0}, {39, 10}} {
				for n := r[0]; n >= r[1]; n-- {
					want = append(want, n)
				}
			}
			if !slices.Equal(order, want) {
				t.Errorf("phone list order %v, want %v", order, want)
			}
			if d.Orgs[0].Deadline == nil || !d.Orgs[0].Deadline.Equal(w.orgStart(59).Add(30*time.Second+models.EmergencyDeadline)) {
				t.Errorf("first organization's clock deadline %v", d.Orgs[0].Deadline)
			}

			// A span of force majeure on one outage, then the clocks run
			// out: the same in both twins.
			for _, x := range []*incidentWorld{w, single} {
				o := x.outageOf(t, x.orgs[3].ID, x.checks[3][0])
				st, en := o.StartedAt.Add(5*time.Second), o.StartedAt.Add(25*time.Second)
				if _, err := x.s.ChangeOutageCause(ctx, x.eng, models.CauseChange{OutageID: o.ID, Cause: models.CauseFMNatural,
					Start: &st, End: &en, Note: "flood"}); err != nil {
					t.Fatal(err)
				}
				x.clock.Advance(20 * time.Minute)
				if _, err := x.s.SweepClocks(ctx); err != nil {
					t.Fatal(err)
				}
			}
			sameFigures(t, "missed clocks", w.figures(t), single.figures(t))

			// One cause for all, against the same cause set one at a time.
			for _, c := range []struct {
				cause models.Cause
				note  string
			}{{models.CauseProviderNetwork, "core switch"}, {models.CauseFMPublic, "city power cut"}} {
				n, err := s.SetIncidentCause(ctx, w.eng, inc.ID, c.cause, c.note)
				if err != nil || n != 2*incidentOrgs {
					t.Fatalf("set incident cause %s: %d, %v", c.cause, n, err)
				}
				for i, o := range single.orgs {
					for _, chk := range single.checks[i] {
						if _, err := single.s.SetOutageCause(ctx, single.eng, single.outageOf(t, o.ID, chk).ID, c.cause, c.note); err != nil {
							t.Fatal(err)
						}
					}
				}
				got, want := w.figures(t), single.figures(t)
				sameFigures(t, "cause "+string(c.cause), got, want)
				if c.cause == models.CauseFMPublic && got["cust-07 deductions"] == before["cust-07 deductions"] {
					t.Errorf("force majeure changed no deduction line: %s", got["cust-07 deductions"])
				}
				if c.cause == models.CauseProviderNetwork && got["cust-07/0 cause"] == before["cust-07/0 cause"] {
					t.Errorf("the cause did not change: %s", got["cust-07/0 cause"])
				}
			}
			if got := auditOf(t, s, models.AuditIncidentCause); len(got) != 2 {
				t.Errorf("%d incident.cause_set records, want 2", len(got))
			}
			if got, err := s.GetIncident(ctx, models.AllOrgs(), inc.ID); err != nil || got.Cause != models.CauseFMPublic || got.CauseNote != "city power cut" {
				t.Errorf("incident after cause = %+v, %v", got, err)
			}
			if _, err := s.SetIncidentCause(ctx, w.eng, inc.ID, models.CauseCustomerOperation, ""); err == nil {
				t.Error("customer_operation was set for whole outages")
			}

			// One update: one delivery per authorized contact and channel
			// of every affected organization.
			u, err := s.PostIncidentUpdate(ctx, w.eng, inc.ID, "Upstream link down; engineers on site.", "en")
			if err != nil {
				t.Fatal(err)
			}
			evs, err := s.ClaimEvents(ctx, "t", time.Minute, 10000)
			if err != nil {
				t.Fatal(err)
			}
			transport := func(ch models.Channel) string {
				switch ch {
				case models.ChannelEmail:
					return models.TransportEmail
				case models.ChannelMobile:
					return models.TransportWebhook
				}
				return ""
			}
			perOrg := map[int64]int{}
			for _, ev := range evs {
				if ev.Kind != models.EventIncidentUpdate {
					continue
				}
				if ev.RefID != u.ID {
					t.Fatalf("event %+v for another update", ev)
				}
				perOrg[ev.OrgID]++
				n, err := s.ExpandEvent(ctx, ev, "t", transport)
				if err != nil || n != 2 {
					t.Fatalf("expand for org %d: %d deliveries, %v", ev.OrgID, n, err)
				}
			}
			if len(perOrg) != incidentOrgs || perOrg[w.quiet.ID] != 0 {
				t.Fatalf("update events per org %v", perOrg)
			}
			for i, o := range w.orgs {
				if perOrg[o.ID] != 1 {
					t.Fatalf("%s: %d events", o.Slug, perOrg[o.ID])
				}
				ds, _, err := s.OutageDeliveries(ctx, models.AllOrgs(), o.ID, 0)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, d := range ds {
					if d.Event == models.EventIncidentUpdate {
						got = append(got, string(d.Channel)+" "+d.Address)
					}
				}
				slices.Sort(got)
				want := []string{"email owner@" + o.Slug + ".test", fmt.Sprintf("mobile +86138%08d", o.ID)}
				if !slices.Equal(got, want) {
					t.Fatalf("%s (%d): deliveries %v, want %v", o.Slug, i, got, want)
				}
				f, err := s.GetIncidentUpdateFacts(ctx, models.AllOrgs(), o.ID, u.ID, 0)
				if err != nil || f.Devices != 2 || f.Update.Body != u.Body {
					t.Fatalf("facts for %s: %+v, %v", o.Slug, f, err)
				}
			}
			if ds, _, _ := s.OutageDeliveries(ctx, models.AllOrgs(), w.quiet.ID, 0); len(ds) != 0 {
				t.Errorf("the quiet customer got %d deliveries", len(ds))
			}
			if _, err := s.GetIncidentUpdateFacts(ctx, models.AllOrgs(), w.quiet.ID, u.ID, 0); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("facts for an unaffected customer: %v", err)
			}

			// The banner: each affected customer, not the quiet one, and
			// only in its own scope; the incident only for staff.
			for _, o := range w.orgs {
				n, err := s.CustomerIncidentNotice(ctx, models.OrgScope(o.ID), o.ID)
				if err != nil || n == nil || n.Body != u.Body || n.Resolved {
					t.Fatalf("%s notice = %+v, %v", o.Slug, n, err)
				}
			}
			if n, err := s.CustomerIncidentNotice(ctx, models.OrgScope(w.quiet.ID), w.quiet.ID); err != nil || n != nil {
				t.Errorf("quiet notice = %+v, %v", n, err)
			}
			if _, err := s.CustomerIncidentNotice(ctx, models.OrgScope(w.quiet.ID), w.orgs[0].ID); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("another organization's notice: %v", err)
			}
			if _, err := s.GetIncident(ctx, models.OrgScope(w.orgs[0].ID), inc.ID); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("a customer read the incident: %v", err)
			}

			// Resolved: the banner stays a day, then goes; nothing joins.
			if err := s.ResolveIncident(ctx, w.eng, inc.ID); err != nil {
				t.Fatal(err)
			}
			if err := s.ResolveIncident(ctx, w.eng, inc.ID); err == nil {
				t.Error("resolved twice")
			}
			w.clock.Advance(23 * time.Hour)
			if n, err := s.CustomerIncidentNotice(ctx, models.OrgScope(w.orgs[0].ID), w.orgs[0].ID); err != nil || n == nil || !n.Resolved {
				t.Errorf("notice the day after = %+v, %v", n, err)
			}
			w.clock.Advance(2 * time.Hour)
			if n, err := s.CustomerIncidentNotice(ctx, models.OrgScope(w.orgs[0].ID), w.orgs[0].ID); err != nil || n != nil {
				t.Errorf("notice after a day = %+v, %v", n, err)
			}
			if open, _, err := s.DetectIncident(ctx, models.IncidentRules{}); err != nil || open != nil {
				t.Errorf("after resolving: open %+v, %v", open, err)
			}
		})
	}
}

// Below both thresholds no incident opens: ten organizations at once are
// fewer than 50 and 10 % of the devices; 25 devices over ten minutes
// never fall in one window. A burst of 20 % of the devices in four
// organizations opens one; an outage after it joins it.
func TestIncidentThresholds(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		sys := models.SystemActor("test")
		var checks []models.Check
		for i := range 20 {
			o, err := s.CreateOrg(ctx, sys, models.OrgInput{Slug: fmt.Sprintf("org-%02d", i), Name: fmt.Sprintf("Org %02d", i)})
			if err != nil {
				t.Fatal(err)
			}
			for k := range 5 {
				d, err := s.CreateDevice(ctx, sys, models.DeviceInput{OrgID: o.ID, Name: fmt.Sprintf("d%d", k), Address: fmt.Sprintf("10.1.%d.%d", i, k+1)})
				if err != nil {
					t.Fatal(err)
				}
				c, err := s.AddCheck(ctx, sys, o.ID, d.ID, models.CheckInput{Kind: models.KindICMP, Target: d.Address})
				if err != nil {
					t.Fatal(err)
				}
				checks = append(checks, *c)
			}
		}
		fail := func(cs []models.Check, at time.Time) {
			t.Helper()
			var rs []models.ProbeResult
			for _, c := range cs {
				rs = append(rs, models.ProbeResult{CheckID: c.ID, At: at, Reason: models.ReasonTimeout},
					models.ProbeResult{CheckID: c.ID, At: at.Add(20 * time.Second), Reason: models.ReasonTimeout})
			}
			if _, err := s.RecordResults(ctx, rs); err != nil {
				t.Fatal(err)
			}
		}
		detect := func(what string, want bool) *models.Incident {
			t.Helper()
			inc, _, err := s.DetectIncident(ctx, models.IncidentRules{})
			if err != nil || (inc != nil) != want {
				t.Fatalf("%s: incident %+v, %v; want one: %v", what, inc, err, want)
			}
			return inc
		}
		t0 := clock.Now()
		// Ten organizations, one device each (10 of 100 devices).
		var ten []models.Check
		for i := range 10 {
			ten = append(ten, checks[i*5])
		}
		fail(ten, t0)
		clock.Advance(time.Minute)
		detect("ten organizations, 10 % of the devices", false)
		// Fifteen more over ten minutes, 3 a burst two minutes apart.
		for b := range 5 {
			var three []models.Check
			for i := range 3 {
				n := b*3 + i // organizations 10–15, devices 1–3
				three = append(three, checks[(10+n%6)*5+1+n/6])
			}
			fail(three, clock.Now())
			clock.Advance(2 * time.Minute)
			detect(fmt.Sprintf("burst %d of three devices", b), false)
		}
		// The last 15 minutes hold 16 organizations, but no window more
		// than 13 (the ten and the first three, a minute apart): a
		// threshold of 14 organizations opens nothing either, and the
		// devices rule still counts the monitored devices.
		if inc, _, err := s.DetectIncident(ctx, models.IncidentRules{Orgs: 14}); err != nil || inc != nil {
			t.Fatalf("14 organizations over 10 minutes: incident %+v, %v", inc, err)
		}
		// A burst of 20 devices (20 %) in four organizations.
		var burst []models.Check
		for i := 16; i < 20; i++ {
			burst = append(burst, checks[i*5:i*5+5]...)
		}
		start := clock.Now()
		fail(burst, start)
		clock.Advance(30 * time.Second)
		inc := detect("20 % of the devices in four organizations", true)
		if !inc.StartedAt.Equal(start) {
			t.Errorf("incident started %v, want %v", inc.StartedAt, start)
		}
		// One more device fails: it joins. The earlier ones did not.
		fail([]models.Check{checks[2]}, clock.Now())
		clock.Advance(30 * time.Second)
		detect("a later outage", true)
		d, err := s.GetIncidentDetail(ctx, models.AllOrgs(), inc.ID)
		if err != nil || d.Incident.Devices != 21 || d.Incident.Orgs != 5 {
			t.Fatalf("incident holds %+v, %v; want 21 devices of 5 organizations", d.Incident, err)
		}
	})
}

// addFailingOrg makes an organization with one monitored device and an
// authorized contact, whose device fails at at (confirmed 30 s later).
func (w *incidentWorld) addFailingOrg(t *testing.T, slug string, at time.Time) *models.Organization {
	t.Helper()
	ctx := context.Background()
	sys := models.SystemActor("test")
	o, err := w.s.CreateOrg(ctx, sys, models.OrgInput{Slug: slug, Name: "Org " + slug})
	if err != nil {
		t.Fatal(err)
	}
	d, err := w.s.CreateDevice(ctx, sys, models.DeviceInput{OrgID: o.ID, Name: slug + "-srv", Address: fmt.Sprintf("10.%d.9.1", o.ID%250)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := w.s.AddCheck(ctx, sys, o.ID, d.ID, models.CheckInput{Kind: models.KindICMP, Target: d.Address})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.CreateContact(ctx, sys, o.ID, models.ContactInput{Name: "Owner of " + slug, Email: "owner@" + slug + ".test",
		Channels: []models.Channel{models.ChannelEmail}, MayAuthorize: true, Passphrase: "blue harbour 42"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.RecordResults(ctx, []models.ProbeResult{{CheckID: c.ID, At: at, Reason: models.ReasonTimeout},
		{CheckID: c.ID, At: at.Add(30 * time.Second), Reason: models.ReasonTimeout}}); err != nil {
		t.Fatal(err)
	}
	return o
}

// An open incident takes in a rolling burst, not every later outage:
// an outage that starts within the window of its latest member's start
// joins (even past a window after the incident's own start), and one
// after it too; an outage two hours later does not, and its organization
// gets neither the update nor the banner. A detection pass that read the
// incident before staff resolved it adds nothing to it. (Before: the late
// outage joined, got the update and the banner; the stale pass joined
// outages to the resolved incident.)
func TestIncidentJoinsARollingBurstWhileOpen(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			w := newIncidentWorld(t, db)
			s := w.s
			inc, opened, err := s.DetectIncident(ctx, models.IncidentRules{})
			if err != nil || !opened {
				t.Fatalf("detect: %+v %v %v", inc, opened, err)
			}
			members := func() (orgs, outages int) {
				t.Helper()
				d, err := s.GetIncidentDetail(ctx, models.AllOrgs(), inc.ID)
				if err != nil {
					t.Fatal(err)
				}
				return d.Incident.Orgs, d.Incident.Outages
			}
			// The latest member started at orgStart(0), 23.6 s after the
			// incident: 50 s after it is past the incident's first window
			// but within the latest member's.
			near := w.addFailingOrg(t, "near", w.orgStart(0).Add(50*time.Second))
			nearer := w.addFailingOrg(t, "nearer", w.orgStart(0).Add(100*time.Second))
			w.clock.Advance(2 * time.Hour)
			late := w.addFailingOrg(t, "late", w.clock.Now())
			w.clock.Advance(time.Minute)
			if got, _, err := s.DetectIncident(ctx, models.IncidentRules{}); err != nil || got == nil || got.ID != inc.ID {
				t.Fatalf("detect again: %+v, %v", got, err)
			}
			if orgs, outages := members(); orgs != incidentOrgs+2 || outages != 2*incidentOrgs+2 {
				t.Fatalf("incident holds %d organizations, %d outages; want %d, %d (the burst and the two near ones, not the late one)",
					orgs, outages, incidentOrgs+2, 2*incidentOrgs+2)
			}
			u, err := s.PostIncidentUpdate(ctx, w.eng, inc.ID, "Upstream link down.", "en")
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range []*models.Organization{near, nearer} {
				if n, err := s.CustomerIncidentNotice(ctx, models.OrgScope(o.ID), o.ID); err != nil || n == nil || n.Body != u.Body {
					t.Errorf("%s: banner %+v, %v", o.Slug, n, err)
				}
			}
			if n, err := s.CustomerIncidentNotice(ctx, models.OrgScope(late.ID), late.ID); err != nil || n != nil {
				t.Errorf("the late organization's banner: %+v, %v", n, err)
			}
			if _, err := s.GetIncidentUpdateFacts(ctx, models.AllOrgs(), late.ID, u.ID, 0); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("the late organization's update facts: %v", err)
			}
			evs, err := s.ClaimEvents(ctx, "t", time.Minute, 10000)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, ev := range evs {
				if ev.Kind == models.EventIncidentUpdate {
					n++
					if ev.OrgID == late.ID {
						t.Errorf("the update was queued for the late organization")
					}
				}
			}
			if n != incidentOrgs+2 {
				t.Errorf("%d update events, want %d", n, incidentOrgs+2)
			}

			// A pass read the incident open; staff resolve it; an outage
			// starts within its window: the pass adds nothing.
			stale := *inc
			if err := s.ResolveIncident(ctx, w.eng, inc.ID); err != nil {
				t.Fatal(err)
			}
			w.addFailingOrg(t, "racer", w.orgStart(0).Add(110*time.Second))
			open, err := models.JoinIncident(ctx, s, &stale, models.DefaultIncidentWindow)
			if err != nil || open {
				t.Errorf("join into the resolved incident: open %v, %v", open, err)
			}
			if orgs, outages := members(); orgs != incidentOrgs+2 || outages != 2*incidentOrgs+2 {
				t.Errorf("the resolved incident holds %d organizations, %d outages: it took in an outage", orgs, outages)
			}
		})
	}
}

// Setting the incident's cause in several transactions: each writes
// its own incident.cause_set record naming its outages and their previous
// causes, so that a run stopped half way leaves no outage changed without
// a record. (Before: one record, with the last chunk, naming no outage.)
func TestIncidentCauseAuditedWithEachChunk(t *testing.T) {
	defer models.SetIncidentCauseChunk(50)()
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			w := newIncidentWorld(t, db)
			s := w.s
			inc, _, err := s.DetectIncident(ctx, models.IncidentRules{})
			if err != nil || inc == nil {
				t.Fatalf("detect: %+v, %v", inc, err)
			}
			n, err := s.SetIncidentCause(ctx, w.eng, inc.ID, models.CauseProviderNetwork, "core switch")
			if err != nil || n != 2*incidentOrgs {
				t.Fatalf("set cause: %d, %v", n, err)
			}
			recs := auditOf(t, s, models.AuditIncidentCause)
			if len(recs) != 3 { // 120 outages, 50 a transaction
				t.Fatalf("%d incident.cause_set records, want 3", len(recs))
			}
			named := map[string]string{}
			withIncident := 0
			for _, r := range recs {
				d := detailOf(t, r)
				prev, _ := d["previous"].(map[string]any)
				if len(prev) == 0 || d["outages"] != float64(len(prev)) {
					t.Errorf("record %s names outages %v", r.Detail[:min(len(r.Detail), 200)], prev)
				}
				for id, c := range prev {
					if _, dup := named[id]; dup {
						t.Errorf("outage %s named twice", id)
					}
					named[id], _ = c.(string)
				}
				if _, ok := d["previous_cause"]; ok {
					withIncident++
				}
			}
			if withIncident != 1 {
				t.Errorf("%d records carry the incident's previous cause, want 1", withIncident)
			}
			for i, o := range w.orgs {
				for _, c := range w.checks[i] {
					ou := w.outageOf(t, o.ID, c)
					if ou.Cause != models.CauseProviderNetwork {
						t.Fatalf("outage %d cause %s", ou.ID, ou.Cause)
					}
					if got := named[fmt.Sprint(ou.ID)]; got != string(models.CauseUnknown) {
						t.Errorf("outage %d: named with previous cause %q, want %q", ou.ID, got, models.CauseUnknown)
					}
				}
			}
			if len(named) != 2*incidentOrgs {
				t.Errorf("%d outages named, want %d", len(named), 2*incidentOrgs)
			}
		})
	}
}
