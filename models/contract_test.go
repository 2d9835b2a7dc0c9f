package models_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// signContract records a contract of orgID for service st in force from
// today for a year, 8,000.00 a month, covering nothing.
func signContract(t *testing.T, s *models.Store, actor models.Actor, orgID int64, st string) *models.Contract {
	t.Helper()
	today := s.Today()
	c, err := s.CreateContract(context.Background(), actor, models.ContractInput{OrgID: orgID, ServiceType: st,
		MonthlyFee: 800000, SignedOn: today, StartsOn: today})
	if err != nil {
		t.Fatalf("sign a contract of organization %d: %v", orgID, err)
	}
	return c
}

// setClock moves clock to at.
func setClock(clock *dbtest.Clock, at time.Time) { clock.Advance(at.Sub(clock.Now())) }

// shanghaiZone is the provider's zone of the calendar tests.
func shanghaiZone(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// problemsOf maps each field of a validation error to its key.
func problemsOf(err error) map[string]string {
	out := map[string]string{}
	for _, v := range models.Validations(err) {
		out[v.Field] = v.Key
	}
	return out
}

// Every rule of the contract form is reported at once, and nothing is
// stored (not even a number taken): the next good contract is the first.
// Missing defaults are filled: CNY, renewing automatically, one year.
func TestCreateContractRules(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		desk := models.UserActor(fx.Service, "10.0.0.2")
		sys := models.SystemActor("test")
		devB, err := s.CreateDevice(ctx, sys, models.DeviceInput{OrgID: fx.OrgB.ID, Name: "bravo-1", Address: "10.0.0.9"})
		if err != nil {
			t.Fatal(err)
		}
		today := s.Today() // 2026-11-02
		many := make([]string, models.MaxContractTargets+1)
		for i := range many {
			many[i] = fmt.Sprintf("C%03d", i)
		}
		for _, c := range []struct {
			name string
			in   models.ContractInput
			want map[string]string
		}{
			{"everything wrong at once", models.ContractInput{OrgID: fx.OrgA.ID, ServiceType: "castle", MonthlyFee: 0, InstallationFee: -1,
				Currency: "XBT", Renewal: "maybe", SignedOn: "2026-11-03", StartsOn: "2026-11-31", Notes: "a\x00b", Cabinets: many},
				map[string]string{"service_type": "contracts.error.service_type", "monthly_fee": "contracts.error.monthly_fee",
					"installation_fee": "contracts.error.installation_fee", "currency": "contracts.error.currency",
					"renewal": "contracts.error.renewal", "signed_on": "contracts.error.signed_future", "starts_on": "error.date_invalid",
					"notes": "error.control_chars_text", "targets": "contracts.error.too_many_targets"}},
			{"dates missing", models.ContractInput{OrgID: fx.OrgA.ID, ServiceType: models.ServiceServer, MonthlyFee: 1},
				map[string]string{"signed_on": "error.required", "starts_on": "error.required"}},
			{"ends on its start", models.ContractInput{OrgID: fx.OrgA.ID, ServiceType: models.ServiceServer, MonthlyFee: 1,
				SignedOn: today, StartsOn: "2026-12-01", EndsOn: "2026-12-01"}, map[string]string{"ends_on": "contracts.error.ends_before_start"}},
			{"ends before its start", models.ContractInput{OrgID: fx.OrgA.ID, ServiceType: models.ServiceServer, MonthlyFee: 1,
				SignedOn: today, StartsOn: "2026-12-01", EndsOn: "2026-11-30"}, map[string]string{"ends_on": "contracts.error.ends_before_start"}},
			{"longer than five years", models.ContractInput{OrgID: fx.OrgA.ID, ServiceType: models.ServiceServer, MonthlyFee: 1,
				SignedOn: today, StartsOn: "2026-12-01", EndsOn: "2031-12-01"}, map[string]string{"ends_on": "contracts.error.too_long"}},
			{"signed after its start", models.ContractInput{OrgID: fx.OrgA.ID, ServiceType: models.ServiceServer, MonthlyFee: 1,
				SignedOn: today, StartsOn: "2026-11-01"}, map[string]string{"signed_on": "contracts.error.signed_after_start"}},
			{"out of range and not a date", models.ContractInput{OrgID: fx.OrgA.ID, ServiceType: models.ServiceServer, MonthlyFee: 1,
				SignedOn: "1999-12-31", StartsOn: "2026-12-01", EndsOn: "1.1.2027"}, map[string]string{"signed_on": "error.date_range",
				"ends_on": "error.date_invalid"}},
			{"a fee beyond what a form reads", models.ContractInput{OrgID: fx.OrgA.ID, ServiceType: models.ServiceServer, MonthlyFee: models.MaxFee + 1,
				SignedOn: today, StartsOn: today}, map[string]string{"monthly_fee": "contracts.error.money"}},
			{"a cabinet that is no short name", models.ContractInput{OrgID: fx.OrgA.ID, ServiceType: models.ServiceServer, MonthlyFee: 1,
				SignedOn: today, StartsOn: today, Cabinets: []string{strings.Repeat("A", 41)}}, map[string]string{"targets": "contracts.error.cabinet"}},
			{"another organization's device", models.ContractInput{OrgID: fx.OrgA.ID, ServiceType: models.ServiceServer, MonthlyFee: 1,
				SignedOn: today, StartsOn: today, DeviceIDs: []int64{devB.ID}}, map[string]string{"targets": "contracts.error.device_unknown"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := s.CreateContract(ctx, desk, c.in)
				got := problemsOf(err)
				if len(got) == 0 {
					t.Fatalf("no validation error: %v", err)
				}
				for field, key := range c.want {
					if got[field] != key {
						t.Errorf("%s: %q, want %q (all: %v)", field, got[field], key, got)
					}
				}
				if len(got) != len(c.want) {
					t.Errorf("problems %v, want %v", got, c.want)
				}
			})
		}
		if rows, err := s.ListContracts(ctx, models.AllOrgs(), models.ContractFilter{}); err != nil || len(rows) != 0 {
			t.Fatalf("stored after refusals: %+v, %v", rows, err)
		}
		if _, err := s.CreateContract(ctx, desk, models.ContractInput{OrgID: 999999, ServiceType: models.ServiceServer, MonthlyFee: 1,
			SignedOn: today, StartsOn: today}); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unknown organization: %v", err)
		}
		// Defaults: CNY, renews automatically, a year less a day; a
		// contract may cover nothing yet.
		c, err := s.CreateContract(ctx, desk, models.ContractInput{OrgID: fx.OrgA.ID, ServiceType: models.ServiceColocation,
			MonthlyFee: 1234567, SignedOn: "2026-10-30", StartsOn: "2028-02-29", Notes: "  rack A-07  "})
		if err != nil {
			t.Fatal(err)
		}
		if c.Number() != "CT-2026-0001" || c.Currency != "CNY" || c.Renewal != models.RenewalAuto || c.EndsOn != "2029-02-28" ||
			c.Notes != "rack A-07" || !models.ValidRequestRef(c.Ref) || *c.CreatedBy != fx.Service.ID {
			t.Fatalf("contract %+v", c)
		}
		// Five years to the day less one is allowed.
		if _, err := s.CreateContract(ctx, desk, models.ContractInput{OrgID: fx.OrgA.ID, ServiceType: models.ServiceColocation,
			MonthlyFee: 1, SignedOn: today, StartsOn: "2026-12-01", EndsOn: "2031-11-30", Currency: "USD", Renewal: models.RenewalEnds}); err != nil {
			t.Fatal(err)
		}
		evs := auditOf(t, s, models.AuditContractCreated)
		if len(evs) != 2 {
			t.Fatalf("%d contract.created records, want 2", len(evs))
		}
		d := detailOf(t, evs[1])
		if d["contract"] != "CT-2026-0001" || d["monthly_fee"] != "¥12,345.67" || d["service_type"] != models.ServiceColocation ||
			d["ends_on"] != "2029-02-28" {
			t.Fatalf("audit detail %v", d)
		}
	})
}

// Contracts are numbered per organization and year; each has its own
// random reference; another organization neither sees nor lists them.
func TestContractNumbersAndTenancy(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		desk := models.UserActor(fx.Service, "10.0.0.2")
		a1 := signContract(t, s, desk, fx.OrgA.ID, models.ServiceServer)
		a2 := signContract(t, s, desk, fx.OrgA.ID, models.ServiceColocation)
		b1 := signContract(t, s, desk, fx.OrgB.ID, models.ServiceServer)
		if a1.Number() != "CT-2026-0001" || a2.Number() != "CT-2026-0002" || b1.Number() != "CT-2026-0001" || a1.Ref == b1.Ref {
			t.Fatalf("numbers %s %s %s", a1.Number(), a2.Number(), b1.Number())
		}
		if _, err := s.ContractOf(ctx, models.OrgScope(fx.OrgB.ID), a1.Ref); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("B reads A's contract: %v", err)
		}
		if _, err := s.ContractOf(ctx, models.Scope{}, a1.Ref); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("no scope reads a contract: %v", err)
		}
		if _, err := s.ContractOf(ctx, models.AllOrgs(), "not-a-ref"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("a bad reference: %v", err)
		}
		d, err := s.ContractOf(ctx, models.OrgScope(fx.OrgA.ID), a1.Ref)
		if err != nil || d.Contract.ID != a1.ID || d.OrgName != fx.OrgA.Name || d.CreatedBy != fx.Service.Name {
			t.Fatalf("A reads %+v, %v", d, err)
		}
		rows, err := s.ListContracts(ctx, models.OrgScope(fx.OrgB.ID), models.ContractFilter{OrgID: fx.OrgA.ID})
		if err != nil || len(rows) != 0 {
			t.Fatalf("B lists A's contracts: %+v, %v", rows, err)
		}
		rows, err = s.ListContracts(ctx, models.OrgScope(fx.OrgB.ID), models.ContractFilter{})
		if err != nil || len(rows) != 1 || rows[0].ID != b1.ID || rows[0].OrgName != fx.OrgB.Name {
			t.Fatalf("B lists %+v, %v", rows, err)
		}
		if rows, err = s.ListContracts(ctx, models.Scope{}, models.ContractFilter{}); err != nil || len(rows) != 0 {
			t.Fatalf("no scope lists %+v, %v", rows, err)
		}
		rows, err = s.ListContracts(ctx, models.AllOrgs(), models.ContractFilter{OrgID: fx.OrgA.ID})
		if err != nil || len(rows) != 2 || rows[0].InstallState(clock.Now()) != models.InstallOpen {
			t.Fatalf("staff list A's %+v, %v", rows, err)
		}
	})
}

// The installation order of a contract signed on Friday 13 February 2026
// is due at the end of Wednesday 25 February: the make-up Saturday 14 is
// the first working day, the Spring Festival (15–23, a weekend inside it)
// does not count, Tuesday 24 and Wednesday 25 do. Its clock starts at the
// start of the signing day in the provider's zone. Done on the 25th is
// met; done on the 26th missed; one the sweep marked missed at its
// deadline stays missed when its completion is entered later, back-dated,
// and keeps that time.
func TestInstallationClockOverTheSpringFestival(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		sh := shanghaiZone(t)
		s := dbtest.Open(t, db, models.WithClock(clock.Now), models.WithZone(sh))
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		desk, eng := models.UserActor(fx.Service, "10.0.0.2"), models.UserActor(fx.Engineer, "10.0.0.3")
		at := func(s string) time.Time {
			v, err := time.ParseInLocation("2006-01-02 15:04", s, sh)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		setClock(clock, at("2026-02-13 17:00"))
		sign := func() *models.ContractDetail {
			c, err := s.CreateContract(ctx, desk, models.ContractInput{OrgID: fx.OrgA.ID, ServiceType: models.ServiceColocation,
				MonthlyFee: 500000, InstallationFee: 200000, SignedOn: "2026-02-13", StartsOn: "2026-03-01"})
			if err != nil {
				t.Fatal(err)
			}
			d, err := s.ContractOf(ctx, models.AllOrgs(), c.Ref)
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		met, late, swept := sign(), sign(), sign()
		for _, d := range []*models.ContractDetail{met, late, swept} {
			o, k := d.Order, d.Clock
			if !o.SignedAt.Equal(at("2026-02-13 00:00")) || !o.DueAt.Equal(at("2026-02-26 00:00")) || o.CompletedAt != nil {
				t.Fatalf("order signed %s due %s", o.SignedAt.In(sh), o.DueAt.In(sh))
			}
			if k == nil || k.Kind != models.ClockInstallation || k.Outcome != models.ClockRunning || !k.StartedAt.Equal(o.SignedAt) ||
				!k.DeadlineAt.Equal(o.DueAt) || k.OrgID != fx.OrgA.ID {
				t.Fatalf("clock %+v", k)
			}
			if d.InstallState(clock.Now()) != models.InstallOpen {
				t.Fatalf("state %s", d.InstallState(clock.Now()))
			}
		}

		// Completion rules: not in the future, not before the signing day.
		_, err := s.CompleteInstallation(ctx, eng, met.Contract.Ref, clock.Now().Add(time.Minute), "")
		wantInvalid(t, err, "completed_at", "contracts.error.completed_future")
		_, err = s.CompleteInstallation(ctx, eng, met.Contract.Ref, at("2026-02-12 23:59"), "")
		wantInvalid(t, err, "completed_at", "contracts.error.completed_before_signing")
		_, err = s.CompleteInstallation(ctx, eng, met.Contract.Ref, time.Time{}, "")
		wantInvalid(t, err, "completed_at", "error.required")
		if _, err := s.CompleteInstallation(ctx, eng, "0123456789abcdef", clock.Now(), ""); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unknown contract: %v", err)
		}

		// Met: done on Wednesday 25 at 18:00, recorded then.
		setClock(clock, at("2026-02-25 18:30"))
		if _, err := s.CompleteInstallation(ctx, eng, met.Contract.Ref, at("2026-02-25 18:00"), "Rack A-07 cabled"); err != nil {
			t.Fatal(err)
		}
		_, err = s.CompleteInstallation(ctx, eng, met.Contract.Ref, at("2026-02-25 18:00"), "")
		wantInvalid(t, err, "completed_at", "contracts.error.installation_done")
		// Missed: done on Thursday 26 at 09:00, recorded before any sweep.
		setClock(clock, at("2026-02-26 09:05"))
		if _, err := s.CompleteInstallation(ctx, eng, late.Contract.Ref, at("2026-02-26 09:00"), ""); err != nil {
			t.Fatal(err)
		}
		// The sweep marks the third missed at its deadline.
		n, err := s.SweepClocks(ctx)
		if err != nil || n != 1 {
			t.Fatalf("swept %d, %v; want the one running installation clock", n, err)
		}
		// Entered later, back-dated to the 25th: stays missed, keeps the time.
		setClock(clock, at("2026-02-27 10:00"))
		if _, err := s.CompleteInstallation(ctx, desk, swept.Contract.Ref, at("2026-02-25 16:00"), "entered late"); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			d       *models.ContractDetail
			outcome string
			state   string
			stopped time.Time
			by      string
		}{
			{met, models.ClockMet, models.InstallMet, at("2026-02-25 18:00"), fx.Engineer.Name},
			{late, models.ClockMissed, models.InstallMissed, at("2026-02-26 09:00"), fx.Engineer.Name},
			{swept, models.ClockMissed, models.InstallMissed, at("2026-02-25 16:00"), fx.Service.Name},
		} {
			d, err := s.ContractOf(ctx, models.OrgScope(fx.OrgA.ID), c.d.Contract.Ref)
			if err != nil {
				t.Fatal(err)
			}
			k := d.Clock
			if k.Outcome != c.outcome || k.StoppedAt == nil || !k.StoppedAt.Equal(c.stopped) || !d.Order.CompletedAt.Equal(c.stopped) ||
				d.InstallState(clock.Now()) != c.state || d.CompletedBy != c.by {
				t.Errorf("%s: clock %+v, order %+v, state %s", d.Contract.Number(), k, d.Order, d.InstallState(clock.Now()))
			}
		}
		rows, err := s.ListContracts(ctx, models.AllOrgs(), models.ContractFilter{OrgID: fx.OrgA.ID})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			want := models.InstallMissed
			if r.ID == met.Contract.ID {
				want = models.InstallMet
			}
			if got := r.InstallState(clock.Now()); got != want {
				t.Errorf("list: %s %s, want %s", r.Number(), got, want)
			}
		}
		evs := auditOf(t, s, models.AuditInstallationCompleted)
		if len(evs) != 3 || detailOf(t, evs[2])["outcome"] != models.ClockMet || detailOf(t, evs[0])["outcome"] != models.ClockMissed {
			t.Fatalf("installation.completed records %+v", evs)
		}

		// The statement of February, the month they were due, follows the
		// clocks: the late and the swept-then-back-dated ones refund their
		// installation fee; the one on time does not.
		st, err := s.Statement(ctx, models.AllOrgs(), fx.OrgA.ID, "2026-02")
		if err != nil {
			t.Fatal(err)
		}
		refunds := map[int64]int64{}
		for _, cm := range st.Contracts {
			for _, l := range cm.Lines {
				if l.Kind == models.LineInstallation {
					refunds[cm.ContractID] += l.Amount
				}
			}
		}
		if len(refunds) != 2 || refunds[late.Contract.ID] != 200000 || refunds[swept.Contract.ID] != 200000 {
			t.Fatalf("February's installation refunds %v; want the late and the swept ones", refunds)
		}

		// A contract entered after its installation was done records it
		// with the contract: on time, nothing is refunded.
		done := at("2026-02-24 11:00")
		c, err := s.CreateContract(ctx, desk, models.ContractInput{OrgID: fx.OrgA.ID, ServiceType: models.ServiceColocation,
			MonthlyFee: 500000, InstallationFee: 200000, SignedOn: "2026-02-13", StartsOn: "2026-03-01", InstalledAt: &done})
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.ContractOf(ctx, models.AllOrgs(), c.Ref)
		if err != nil || d.Clock.Outcome != models.ClockMet || !d.Order.CompletedAt.Equal(done) {
			t.Fatalf("recorded installation: %+v, %+v, %v", d.Clock, d.Order, err)
		}
		future := clock.Now().Add(time.Hour)
		_, err = s.CreateContract(ctx, desk, models.ContractInput{OrgID: fx.OrgA.ID, ServiceType: models.ServiceColocation,
			MonthlyFee: 500000, SignedOn: "2026-02-13", StartsOn: "2026-03-01", InstalledAt: &future})
		wantInvalid(t, err, "installed_at", "contracts.error.completed_future")
	})
}

// A contract signed while the sweep is due leaves the clock running until
// its deadline, then the sweep marks it missed and never again.
func TestSweepMarksARunningInstallationMissedAtItsDeadline(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		// Monday 2 November 2026, UTC: due at the end of Thursday 5.
		c := signContract(t, s, models.UserActor(fx.Service, ""), fx.OrgA.ID, models.ServiceServer)
		d, err := s.ContractOf(ctx, models.AllOrgs(), c.Ref)
		if err != nil || !d.Order.DueAt.Equal(time.Date(2026, 11, 6, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("due %v, %v", d.Order.DueAt, err)
		}
		setClock(clock, d.Order.DueAt)
		if n, err := s.SweepClocks(ctx); err != nil || n != 0 {
			t.Fatalf("swept %d at the deadline itself, %v", n, err)
		}
		if got := d.InstallState(clock.Now()); got != models.InstallOpen {
			t.Fatalf("at the deadline: %s", got)
		}
		clock.Advance(time.Second)
		if n, err := s.SweepClocks(ctx); err != nil || n != 1 {
			t.Fatalf("swept %d past the deadline, %v", n, err)
		}
		if n, err := s.SweepClocks(ctx); err != nil || n != 0 {
			t.Fatalf("swept %d again, %v", n, err)
		}
		d, err = s.ContractOf(ctx, models.AllOrgs(), c.Ref)
		if err != nil || d.Clock.Outcome != models.ClockMissed || d.Clock.StoppedAt != nil || d.InstallState(clock.Now()) != models.InstallOverdue {
			t.Fatalf("after the sweep: %+v, %s, %v", d.Clock, d.InstallState(clock.Now()), err)
		}
		// No deduction line: the installation is no fee clock of §4.
		lines, err := s.ListDeductions(ctx, models.AllOrgs(), fx.OrgA.ID, "2026-01-01", "2027-01-01")
		if err != nil || len(lines) != 0 {
			t.Fatalf("deductions %+v, %v", lines, err)
		}
	})
}

// A change keeps the organization, service, currency and signing date;
// it replaces the coverage, is audited with what changed, and re-derives
// the organization's service type. The coverage reads devices named and
// those standing in cabinets named.
func TestUpdateContract(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		desk, sys := models.UserActor(fx.Service, "10.0.0.2"), models.SystemActor("test")
		mk := func(name, cabinet string) *models.Device {
			d, err := s.CreateDevice(ctx, sys, models.DeviceInput{OrgID: fx.OrgA.ID, Name: name, Address: name + ".example",
				Cabinet: cabinet})
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		web, db1, db2 := mk("web-1", "A-07"), mk("db-11", "B-02"), mk("db-222", "B-02")
		c, err := s.CreateContract(ctx, desk, models.ContractInput{OrgID: fx.OrgA.ID, ServiceType: models.ServiceServer, MonthlyFee: 100000,
			SignedOn: "2026-11-01", StartsOn: "2026-11-01", DeviceIDs: []int64{web.ID, web.ID}})
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.ContractOf(ctx, models.AllOrgs(), c.Ref)
		if err != nil || !slices.Equal(d.Coverage.Devices, []int64{web.ID}) || !slices.Equal(d.Coverage.Cabinets, []string{"A-07"}) {
			t.Fatalf("coverage %+v, %v", d.Coverage, err)
		}
		in := models.ContractInput{ServiceType: models.ServiceFullCabinet, Currency: "EUR", SignedOn: "2026-01-01", OrgID: fx.OrgB.ID,
			MonthlyFee: 150000, InstallationFee: 5000, StartsOn: "2026-11-01", EndsOn: "2027-12-31", Renewal: models.RenewalPending,
			Cabinets: []string{"B-02", " C-01 "}}
		c2, err := s.UpdateContract(ctx, desk, c.Ref, in)
		if err != nil {
			t.Fatal(err)
		}
		if c2.ServiceType != models.ServiceServer || c2.Currency != "CNY" || c2.SignedOn != "2026-11-01" || c2.OrgID != fx.OrgA.ID ||
			c2.MonthlyFee != 150000 || c2.EndsOn != "2027-12-31" || c2.Renewal != models.RenewalPending {
			t.Fatalf("changed %+v", c2)
		}
		d, err = s.ContractOf(ctx, models.AllOrgs(), c.Ref)
		if err != nil || !slices.Equal(d.Coverage.Devices, []int64{db1.ID, db2.ID}) || !slices.Equal(d.Coverage.Cabinets, []string{"B-02", "C-01"}) ||
			len(d.Devices) != 2 || d.Devices[0].Name != "db-11" {
			t.Fatalf("coverage %+v devices %+v, %v", d.Coverage, d.Devices, err)
		}
		ev := auditOf(t, s, models.AuditContractUpdated)
		if len(ev) != 1 {
			t.Fatalf("%d contract.updated records", len(ev))
		}
		detail := detailOf(t, ev[0])
		changed := fmt.Sprint(detail["changed"])
		if changed != "[cabinets devices ends_on installation_fee monthly_fee renewal]" {
			t.Fatalf("changed %s (%v)", changed, detail)
		}
		if b := detail["before"].(map[string]any); b["monthly_fee"] != "¥1,000.00" || b["ends_on"] != "2027-10-31" {
			t.Fatalf("before %v", b)
		}
		// Bad input: every problem, nothing changed.
		_, err = s.UpdateContract(ctx, desk, c.Ref, models.ContractInput{MonthlyFee: 0, StartsOn: "2026-11-01", EndsOn: "2026-10-01"})
		if got := problemsOf(err); got["monthly_fee"] != "contracts.error.monthly_fee" || got["ends_on"] != "contracts.error.ends_before_start" {
			t.Fatalf("problems %v (%v)", got, err)
		}
		if d2, _ := s.ContractOf(ctx, models.AllOrgs(), c.Ref); d2.Contract.MonthlyFee != 150000 {
			t.Fatalf("stored after a refusal: %+v", d2.Contract)
		}
		if _, err := s.UpdateContract(ctx, desk, "0123456789abcdef", in); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unknown contract: %v", err)
		}
	})
}

// The organization's service type is derived from its contracts in force
// today, the highest first; contracts starting and ending move it as the
// days pass (the periodic sweep), each change audited.
func TestServiceTypeFollowsTheContractsInForce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		desk := models.UserActor(fx.Service, "10.0.0.2")
		serviceOf := func() string {
			t.Helper()
			o, err := s.GetOrg(ctx, models.AllOrgs(), fx.OrgA.ID)
			if err != nil {
				t.Fatal(err)
			}
			if o.ServiceType == nil {
				return ""
			}
			return *o.ServiceType
		}
		if serviceOf() != "" {
			t.Fatal("a service type before any contract")
		}
		// Server rental now; colocation from December; a full cabinet
		// from December to January.
		signContract(t, s, desk, fx.OrgA.ID, models.ServiceServer)
		if got := serviceOf(); got != models.ServiceServer {
			t.Fatalf("after the first contract: %q", got)
		}
		if _, err := s.CreateContract(ctx, desk, models.ContractInput{OrgID: fx.OrgA.ID, ServiceType: models.ServiceColocation,
			MonthlyFee: 1, SignedOn: "2026-11-02", StartsOn: "2026-12-01"}); err != nil {
			t.Fatal(err)
		}
		cab, err := s.CreateContract(ctx, desk, models.ContractInput{OrgID: fx.OrgA.ID, ServiceType: models.ServiceFullCabinet,
			MonthlyFee: 1, SignedOn: "2026-11-02", StartsOn: "2026-12-01", EndsOn: "2027-01-31"})
		if err != nil {
			t.Fatal(err)
		}
		if got := serviceOf(); got != models.ServiceServer {
			t.Fatalf("contracts not yet in force changed it: %q", got)
		}
		for _, c := range []struct {
			day  string
			want string
			n    int
		}{
			{"2026-11-30", models.ServiceServer, 0},
			{"2026-12-01", models.ServiceFullCabinet, 1},
			{"2027-01-31", models.ServiceFullCabinet, 0},
			{"2027-02-01", models.ServiceColocation, 1},
			{"2027-12-01", "", 1}, // every contract has ended
		} {
			day, _ := time.Parse(time.DateOnly, c.day)
			setClock(clock, day.Add(12*time.Hour))
			sw, err := s.SweepContracts(ctx)
			if err != nil || sw.ServiceTypes != c.n {
				t.Fatalf("%s: swept %+v, %v; want %d changes", c.day, sw, err, c.n)
			}
			if got := serviceOf(); got != c.want {
				t.Fatalf("%s: %q, want %q", c.day, got, c.want)
			}
		}
		evs := auditOf(t, s, models.AuditOrgServiceSet)
		if len(evs) != 3 || detailOf(t, evs[0])["service_type"] != "" || detailOf(t, evs[2])["service_type"] != models.ServiceFullCabinet {
			t.Fatalf("service type records %+v", evs)
		}
		// A change that puts a contract back in force derives it at once.
		setClock(clock, time.Date(2027, 1, 15, 12, 0, 0, 0, time.UTC))
		if _, err := s.UpdateContract(ctx, desk, cab.Ref, models.ContractInput{MonthlyFee: 1, StartsOn: "2026-12-01", EndsOn: "2027-03-31"}); err != nil {
			t.Fatal(err)
		}
		if got := serviceOf(); got != models.ServiceFullCabinet {
			t.Fatalf("after extending the full cabinet: %q", got)
		}
		// Organization B, without contracts, is left alone.
		if o, err := s.GetOrg(ctx, models.AllOrgs(), fx.OrgB.ID); err != nil || o.ServiceType != nil {
			t.Fatalf("B: %+v, %v", o, err)
		}
	})
}

// expiryEvents expands the outbox's new expiry reminders (email only) and
// returns their payloads by contract.
func expiryEvents(t *testing.T, s *models.Store) map[int64]models.ExpiryReminder {
	t.Helper()
	ctx := context.Background()
	evs, err := s.ClaimEvents(ctx, "test", time.Minute, 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]models.ExpiryReminder{}
	for _, ev := range evs {
		if ev.Kind != models.EventContractExpiry {
			continue
		}
		var r models.ExpiryReminder
		if err := json.Unmarshal([]byte(ev.Payload), &r); err != nil {
			t.Fatal(err)
		}
		if _, twice := out[ev.RefID]; twice {
			t.Fatalf("two reminders of contract %d in one sweep", ev.RefID)
		}
		out[ev.RefID] = r
		if _, err := s.ExpandEvent(ctx, ev, "test", func(ch models.Channel) string {
			if ch == models.ChannelEmail {
				return models.TransportEmail
			}
			return ""
		}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// A contract is reminded to its organization's service representative 60
// and 30 days before its last day, once each; one first seen at 20 days
// only at 30; a renewed one never; moving its end later reminds again.
// The email goes to the representative in their language; an
// organization without one emails nobody.
func TestContractExpiryReminders(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		desk := models.UserActor(fx.Service, "10.0.0.2")
		if err := s.SetLocale(ctx, fx.Service.ID, "en"); err != nil {
			t.Fatal(err)
		}
		today := s.Today() // 2026-11-02
		sign := func(org int64, endsIn int, renewal string) *models.Contract {
			t.Helper()
			c, err := s.CreateContract(ctx, desk, models.ContractInput{OrgID: org, ServiceType: models.ServiceServer, MonthlyFee: 1,
				SignedOn: "2026-01-01", StartsOn: "2026-01-01", EndsOn: time.Date(2026, 11, 2+endsIn, 0, 0, 0, 0, time.UTC).Format(time.DateOnly),
				Renewal: renewal})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		in61 := sign(fx.OrgA.ID, 61, models.RenewalAuto)
		in45 := sign(fx.OrgA.ID, 45, models.RenewalPending)
		in20 := sign(fx.OrgA.ID, 20, models.RenewalEnds)
		sign(fx.OrgA.ID, 10, models.RenewalRenewed) // never reminded
		noRep := sign(fx.OrgB.ID, 59, models.RenewalAuto)
		if !in45.EndsSoon(today) || in61.EndsSoon(today) || in45.DaysLeft(today) != 45 {
			t.Fatal("EndsSoon/DaysLeft")
		}
		expiryEvents(t, s) // nothing yet: creating queues none
		sw, err := s.SweepContracts(ctx)
		if err != nil || sw.Reminders != 3 {
			t.Fatalf("first sweep %+v, %v", sw, err)
		}
		got := expiryEvents(t, s)
		want := map[int64]models.ExpiryReminder{
			in45.ID:  {Reminder: 60, DaysLeft: 45, EndsOn: in45.EndsOn},
			in20.ID:  {Reminder: 30, DaysLeft: 20, EndsOn: in20.EndsOn},
			noRep.ID: {Reminder: 60, DaysLeft: 59, EndsOn: noRep.EndsOn},
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("reminders %v, want %v", got, want)
		}
		// One email each to the representative of A, in English; B has
		// no representative.
		ds, err := s.ClaimDeliveries(ctx, "test", time.Minute, 100, []string{models.TransportEmail})
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 2 {
			t.Fatalf("%d deliveries, want 2: %+v", len(ds), ds)
		}
		for _, d := range ds {
			if d.Address != fx.Service.Email || d.Locale != "en" || d.OrgID != fx.OrgA.ID || d.Event != models.EventContractExpiry || d.Authorized {
				t.Fatalf("delivery %+v", d)
			}
			f, err := s.ContractExpiryFacts(ctx, models.AllOrgs(), d.OrgID, d.EventID, d.Address)
			if err != nil || f.To != fx.Service.Name || f.Org.ID != fx.OrgA.ID || (f.Contract.ID != in45.ID && f.Contract.ID != in20.ID) {
				t.Fatalf("facts %+v, %v", f, err)
			}
			if _, err := s.ContractExpiryFacts(ctx, models.OrgScope(fx.OrgB.ID), d.OrgID, d.EventID, d.Address); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("facts out of scope: %v", err)
			}
		}
		// Again the same day: nothing.
		if sw, err := s.SweepContracts(ctx); err != nil || sw.Reminders != 0 {
			t.Fatalf("second sweep %+v, %v", sw, err)
		}
		// A day later the 61-day one is at 60; 16 days later the 45-day
		// one reaches 30; the 20-day one was reminded at 30 already.
		sweep := func() {
			t.Helper()
			if _, err := s.SweepContracts(ctx); err != nil {
				t.Fatal(err)
			}
		}
		clock.Advance(24 * time.Hour)
		sweep()
		if got := expiryEvents(t, s); len(got) != 1 || got[in61.ID].Reminder != 60 {
			t.Fatalf("day 1: %v", got)
		}
		clock.Advance(15 * 24 * time.Hour)
		sweep()
		if got := expiryEvents(t, s); len(got) != 1 || got[in45.ID] != (models.ExpiryReminder{Reminder: 30, DaysLeft: 29, EndsOn: in45.EndsOn}) {
			t.Fatalf("day 16: %v", got)
		}
		// Extended by a year: reminded again when the new date comes near.
		if _, err := s.UpdateContract(ctx, desk, in20.Ref, models.ContractInput{MonthlyFee: 1, StartsOn: "2026-01-01", EndsOn: "2027-11-22",
			Renewal: models.RenewalAuto}); err != nil {
			t.Fatal(err)
		}
		if sw, err := s.SweepContracts(ctx); err != nil || sw.Reminders != 0 {
			t.Fatalf("a year ahead %+v, %v", sw, err)
		}
		setClock(clock, time.Date(2027, 10, 1, 12, 0, 0, 0, time.UTC))
		sweep()
		if got := expiryEvents(t, s); got[in20.ID].Reminder != 60 {
			t.Fatalf("the extended contract: %v", got)
		}
		rows, err := s.ListContracts(ctx, models.AllOrgs(), models.ContractFilter{Ending: true})
		if err != nil || len(rows) != 1 || rows[0].ID != in20.ID {
			t.Fatalf("ending within 60 days on 2027-10-01: %+v, %v", rows, err)
		}
	})
}
