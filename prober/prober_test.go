package prober

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

func TestSlotsAreSpreadOverTheIntervalAndStable(t *testing.T) {
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	const n = 6000
	perSecond := map[int64]int{}
	for id := int64(1); id <= n; id++ {
		c := &models.Check{ID: id, IntervalSec: 60}
		s := firstSlot(c, now)
		if !s.After(now) || s.Sub(now) > time.Minute {
			t.Fatalf("check %d: first slot %v, want within the minute after %v", id, s, now)
		}
		// Every instance, at any time, finds the same grid.
		later := firstSlot(c, now.Add(17*time.Minute+333*time.Millisecond))
		if d := later.Sub(s); d%time.Minute != 0 {
			t.Fatalf("check %d: slots %v and %v are not a whole number of intervals apart", id, s, later)
		}
		perSecond[s.Unix()]++
	}
	// 6,000 checks over 60 s: 100 a second on average; a burst would show.
	if len(perSecond) != 60 {
		t.Errorf("first probes fall in %d distinct seconds, want all 60", len(perSecond))
	}
	for sec, k := range perSecond {
		if k > 150 {
			t.Errorf("%d first probes in second %d, want about 100", k, sec)
		}
	}
}

// Checks are probed once per interval on their slots, results land in
// probe_results, and a failing check opens an outage after its threshold
// and closes it on the first success.
func TestProbesEveryIntervalAndDetectsOutages(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			clock := newManualClock()
			s := dbtest.Open(t, db, models.WithClock(clock.Now))
			f := newProberFixture(t, s, models.KindICMP, models.KindTCP, models.KindHTTP, models.KindICMP, models.KindSMTP)
			failing := f.checks[1].ID
			rec := newProbeRecorder(clock)
			certExpiry := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
			rec.cert = &certExpiry
			// The failing check fails its 3rd, 4th and 5th probes.
			rec.fail = func(c *models.Check, n int) bool { return c.ID == failing && n >= 2 && n <= 4 }

			start0 := clock.Now()
			r := start(t, Config{InstanceID: "solo", Clock: clock, SpoolPath: t.TempDir() + "/prober.spool"}, s, rec.probeFunc("solo"))
			eventually(t, "the prober holds the 5 checks", func() bool { return r.p.Stats().Checks == 5 })
			clock.run(65 * time.Second)
			r.stop(t)

			for _, c := range f.checks {
				rs := f.results(t, s, c.ID)
				calls := rec.callsOf(c.ID)
				// 65 s at 10 s: 6 or 7 probes, whatever the check's phase.
				if len(rs) < 6 || len(rs) > 7 || len(rs) != len(calls) {
					t.Errorf("check %d: %d results stored, %d probes run; want 6 or 7 of each", c.ID, len(rs), len(calls))
					continue
				}
				first := firstSlot(&c, start0)
				for i, res := range rs {
					if want := first.Add(time.Duration(i) * testInterval); !res.At.Equal(want) {
						t.Errorf("check %d result %d at %v, want its slot %v", c.ID, i, res.At, want)
					}
					if c.ID != failing && (!res.OK || res.RTTus != 1500) {
						t.Errorf("check %d result %d = %+v, want ok with 1500 µs", c.ID, i, res)
					}
				}
				if n := f.rollupProbes(t, s, c.ID); n != len(rs) {
					t.Errorf("check %d: rollups count %d probes, want %d", c.ID, n, len(rs))
				}
			}

			rs := f.results(t, s, failing)
			for i, res := range rs {
				if wantFail := i >= 2 && i <= 4; res.OK == wantFail || (wantFail && res.Reason != models.ReasonTimeout) {
					t.Errorf("failing check result %d = %+v", i, res)
				}
			}
			c, _ := checkByID(t, s, f, failing)
			outages, err := s.ListOutages(context.Background(), models.AllOrgs(), f.org, c.DeviceID, 10)
			if err != nil || len(outages) != 1 {
				t.Fatalf("outages = %+v, %v; want one", outages, err)
			}
			o := outages[0]
			if !o.StartedAt.Equal(rs[2].At) || !o.ConfirmedAt.Equal(rs[3].At) || o.EndedAt == nil || !o.EndedAt.Equal(rs[5].At) || o.Failures != 3 {
				t.Errorf("outage %+v: want started %v (first failure), confirmed %v (second), ended %v (first success), 3 failures",
					o, rs[2].At, rs[3].At, rs[5].At)
			}
			kinds, _ := s.OutboxKinds(context.Background(), models.AllOrgs(), f.org)
			// No dispatcher runs: the notice has not gone out, and tells of
			// the recovery itself (models/notice.go).
			if len(kinds) != 1 || kinds[0] != models.EventOutageOpened {
				t.Errorf("outbox = %v, want the notice of the outage only", kinds)
			}

			t.Run("the certificate expiry a probe saw is recorded", func(t *testing.T) {
				c, _ := checkByID(t, s, f, f.checks[2].ID)
				if c.CertExpiresAt == nil || !c.CertExpiresAt.Equal(certExpiry) {
					t.Errorf("cert_expires_at = %v, want %v", c.CertExpiresAt, certExpiry)
				}
			})
			t.Run("leases are released at stop", func(t *testing.T) {
				for id, owner := range owners(t, s, f) {
					if owner != "" {
						t.Errorf("check %d still leased to %q", id, owner)
					}
				}
			})
		})
	}
}

func checkByID(t *testing.T, s *models.Store, f *proberFixture, id int64) (models.Check, bool) {
	t.Helper()
	cs, err := s.ListOrgChecks(context.Background(), models.AllOrgs(), f.org)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.ID == id {
			return c, true
		}
	}
	t.Fatalf("check %d not found", id)
	return models.Check{}, false
}

// A check disabled while the prober runs is dropped at the next claim; a
// check added is picked up; MaxChecks bounds what one instance holds; an
// instance without ICMP leaves ping checks alone.
func TestClaimsFollowTheChecksTable(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			clock := newManualClock()
			s := dbtest.Open(t, db, models.WithClock(clock.Now))
			f := newProberFixture(t, s, models.KindTCP, models.KindTCP, models.KindICMP)
			rec := newProbeRecorder(clock)
			lease := 3 * time.Second
			r := start(t, Config{InstanceID: "a", Clock: clock, Lease: lease, MaxChecks: 2, SkipICMP: true}, s, rec.probeFunc("a"))
			eventually(t, "it holds the two TCP checks", func() bool { return r.p.Stats().Checks == 2 })
			clock.run(20 * time.Second)
			if n := len(rec.callsOf(f.checks[2].ID)); n != 0 {
				t.Errorf("the ICMP check was probed %d times by an instance without ICMP", n)
			}
			if err := s.SetCheckEnabled(ctx, models.SystemActor("test"), f.org, f.checks[0].ID, false); err != nil {
				t.Fatal(err)
			}
			clock.run(lease / 3)
			eventually(t, "the disabled check is dropped", func() bool { return r.p.Stats().Checks == 1 })
			before := len(rec.callsOf(f.checks[0].ID))
			// A new TCP check fills the free place.
			d, err := s.GetDevice(ctx, models.AllOrgs(), f.checks[1].DeviceID)
			if err != nil {
				t.Fatal(err)
			}
			added, err := s.AddCheck(ctx, models.SystemActor("test"), f.org, d.ID, models.CheckInput{Kind: models.KindTCP,
				Target: "127.0.1.2:8", Interval: testInterval, Timeout: time.Second, Enabled: true})
			if err != nil {
				t.Fatal(err)
			}
			clock.run(lease / 3)
			eventually(t, "the new check is held", func() bool { return r.p.Stats().Checks == 2 })
			clock.run(25 * time.Second)
			r.stop(t)
			if after := len(rec.callsOf(f.checks[0].ID)); after != before {
				t.Errorf("the disabled check was probed %d more times", after-before)
			}
			if n := len(rec.callsOf(added.ID)); n < 2 {
				t.Errorf("the added check was probed %d times in 25 s, want 2 or 3", n)
			}
		})
	}
}

// Two instances share one database: every check is probed by one of them,
// once per interval, and when one dies without releasing its leases the
// other takes its checks over within two lease periods.
func TestTwoInstancesShareChecksAndTakeOver(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			clock := newManualClock()
			sa := dbtest.Open(t, db, models.WithClock(clock.Now))
			sb := dbtest.Open(t, db, models.WithClock(clock.Now)) // a second pool on the same database
			kinds := []models.CheckKind{models.KindICMP, models.KindTCP, models.KindICMP, models.KindTCP, models.KindHTTP,
				models.KindICMP, models.KindTCP, models.KindICMP, models.KindFTP, models.KindICMP}
			f := newProberFixture(t, sa, kinds...)
			rec := newProbeRecorder(clock)
			lease := 5 * time.Second

			a := start(t, Config{InstanceID: "instance-a", Clock: clock, Lease: lease, MaxChecks: 4, keepLeases: true}, sa, rec.probeFunc("a"))
			eventually(t, "A holds 4 checks", func() bool { return a.p.Stats().Checks == 4 })
			b := start(t, Config{InstanceID: "instance-b", Clock: clock, Lease: lease}, sb, rec.probeFunc("b"))
			eventually(t, "B holds the other 6", func() bool { return b.p.Stats().Checks == 6 })
			clock.run(40 * time.Second)

			held := owners(t, sa, f)
			var ofA []int64
			for _, c := range f.checks {
				switch held[c.ID] {
				case "instance-a":
					ofA = append(ofA, c.ID)
				case "instance-b":
				default:
					t.Fatalf("check %d leased to %q while both run", c.ID, held[c.ID])
				}
			}
			for _, c := range f.checks {
				calls := rec.callsOf(c.ID)
				if len(calls) < 3 {
					t.Errorf("check %d probed %d times in 40 s, want 4", c.ID, len(calls))
				}
				for _, call := range calls {
					if want := map[bool]string{true: "a", false: "b"}[held[c.ID] == "instance-a"]; call.instance != want {
						t.Errorf("check %d leased to %s was probed by %s", c.ID, held[c.ID], call.instance)
					}
				}
			}

			// A dies: its leases stay in the table until they expire.
			a.stop(t)
			crashed := clock.Now()
			for _, id := range ofA {
				if held := owners(t, sa, f)[id]; held != "instance-a" {
					t.Fatalf("after the crash check %d is leased to %q, want still instance-a", id, held)
				}
			}
			clock.run(2 * lease)
			// Claims triggered by then may still be on their way to the database.
			eventually(t, "B holds all 10 checks", func() bool { return b.p.Stats().Checks == 10 })
			for id, owner := range owners(t, sb, f) {
				if isFixtureCheck(f, id) && owner != "instance-b" {
					t.Errorf("check %d leased to %q two leases after A died, want instance-b", id, owner)
				}
			}
			clock.run(30 * time.Second)
			b.stop(t)

			for _, c := range f.checks {
				calls := rec.callsOf(c.ID)
				for i := 1; i < len(calls); i++ {
					// Slots are 10 s apart; the jitter (≤ 1 s) and the
					// test's steps move a probe by little.
					if gap := calls[i].at.Sub(calls[i-1].at); gap < testInterval-1500*time.Millisecond {
						t.Errorf("check %d probed twice within %v (by %s then %s)", c.ID, gap, calls[i-1].instance, calls[i].instance)
					}
				}
				rs := f.results(t, sa, c.ID)
				if len(rs) != len(calls) {
					t.Errorf("check %d: %d results for %d probes", c.ID, len(rs), len(calls))
				}
				window := map[int64]int{}
				for _, res := range rs {
					window[res.At.Sub(firstSlot(&c, crashed)).Milliseconds()/testInterval.Milliseconds()]++
				}
				for w, n := range window {
					if n > 1 {
						t.Errorf("check %d has %d results in interval window %d", c.ID, n, w)
					}
				}
			}
			for _, id := range ofA {
				var afterCrash int
				for _, call := range rec.callsOf(id) {
					if call.instance == "b" && call.at.After(crashed) {
						afterCrash++
					}
				}
				if afterCrash < 2 {
					t.Errorf("check %d of the dead instance: probed %d times by B afterwards, want ≥ 2", id, afterCrash)
				}
			}
		})
	}
}

func isFixtureCheck(f *proberFixture, id int64) bool {
	for _, c := range f.checks {
		if c.ID == id {
			return true
		}
	}
	return false
}

// A probe still running when its check is due again is not started a
// second time: that slot is skipped and counted.
func TestSlowProbeIsNotRunTwiceAtOnce(t *testing.T) {
	db := dbtest.Databases(t)[0] // scheduling only: SQLite is enough
	clock := newManualClock()
	s := dbtest.Open(t, db, models.WithClock(clock.Now))
	newProberFixture(t, s, models.KindTCP)
	release := make(chan struct{})
	var calls atomic.Int32
	hung := func(ctx context.Context, c *models.Check) Outcome {
		calls.Add(1)
		<-release // a probe that ignores its deadline
		return Outcome{OK: true}
	}
	r := start(t, Config{InstanceID: "slow", Clock: clock}, s, hung)
	eventually(t, "the check is held", func() bool { return r.p.Stats().Checks == 1 })
	clock.run(45 * time.Second)
	if n := calls.Load(); n != 1 {
		t.Errorf("the check was started %d times while its first probe hung, want 1", n)
	}
	if sk := r.p.Stats().Skipped; sk < 3 {
		t.Errorf("skipped %d slots, want 3 or 4", sk)
	}
	close(release)
	r.stop(t)
}
