package prober

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

func tcpKinds(n int) []models.CheckKind {
	out := make([]models.CheckKind, n)
	for i := range out {
		out[i] = models.KindTCP
	}
	return out
}

// Checks an instance picks up while it has nothing scheduled are probed
// from the time they arrive, spread over their interval: no result is
// dated before its probe (or before its check existed), no slot of a check
// taken over is probed again, and the checks are not all sent at once.
func TestPickedUpChecksAreProbedFromTheirArrival(t *testing.T) {
	db := dbtest.Databases(t)[0] // scheduling only: SQLite is enough
	clock := newManualClock()
	s := dbtest.Open(t, db, models.WithClock(clock.Now))
	rec := newProbeRecorder(clock)
	lease := time.Minute
	// No jitter: a probe runs at its slot, so the result's time and the
	// probe's differ by no more than the test's 100 ms step.
	a := start(t, Config{InstanceID: "a", Clock: clock, Lease: lease, Jitter: -1, keepLeases: true}, s, rec.probeFunc("a"))
	clock.run(25 * time.Second) // nothing to probe: the scheduler sleeps
	f := newProberFixture(t, s, tcpKinds(20)...)
	created := clock.Now()
	clock.run(lease / 3)
	eventually(t, "a holds the 20 checks", func() bool { return a.p.Stats().Checks == 20 })
	clock.run(30 * time.Second)

	// a dies holding every lease; c, started at once, has nothing to
	// schedule until the leases end.
	a.stop(t)
	killed := clock.Now()
	c := start(t, Config{InstanceID: "c", Clock: clock, Lease: lease, Jitter: -1}, s, rec.probeFunc("c"))
	clock.run(2*lease + 30*time.Second)
	eventually(t, "c holds the 20 checks", func() bool { return c.p.Stats().Checks == 20 })
	c.stop(t)

	firstOf := map[string][]time.Time{}
	for _, ck := range f.checks {
		calls := rec.callsOf(ck.ID)
		rs := f.results(t, s, ck.ID)
		if len(rs) != len(calls) {
			t.Errorf("check %d: %d probes stored as %d results (a slot probed twice)", ck.ID, len(calls), len(rs))
			continue
		}
		seen := map[string]bool{}
		for i, call := range calls {
			if lag := call.at.Sub(rs[i].At); lag < 0 || lag > 200*time.Millisecond {
				t.Errorf("check %d: probe by %s at %v stored as a result dated %v (%v earlier)",
					ck.ID, call.instance, call.at.Format("15:04:05.000"), rs[i].At.Format("15:04:05.000"), lag)
			}
			if rs[i].At.Before(created) {
				t.Errorf("check %d: result dated %v, before the check existed (%v)", ck.ID, rs[i].At, created)
			}
			if i > 0 {
				if gap := call.at.Sub(calls[i-1].at); gap < testInterval-200*time.Millisecond {
					t.Errorf("check %d: probed twice within %v (by %s then %s)", ck.ID, gap, calls[i-1].instance, call.instance)
				}
			}
			if !seen[call.instance] {
				seen[call.instance] = true
				firstOf[call.instance] = append(firstOf[call.instance], call.at)
			}
		}
		if !seen["c"] {
			t.Errorf("check %d: never probed after a died", ck.ID)
		}
	}
	// Spread: the first probes of the picked-up checks fall on many
	// different instants over the interval, not one burst.
	for inst, firsts := range firstOf {
		sort.Slice(firsts, func(i, j int) bool { return firsts[i].Before(firsts[j]) })
		distinct := map[time.Time]bool{}
		for _, at := range firsts {
			distinct[at] = true
		}
		if spread := firsts[len(firsts)-1].Sub(firsts[0]); len(distinct) < 10 || spread < testInterval/2 {
			t.Errorf("%s sent its first probes of %d checks at %d instants within %v, want them spread over the %v interval",
				inst, len(firsts), len(distinct), spread, testInterval)
		}
	}
	if c0 := firstOf["c"]; len(c0) > 0 && c0[0].Before(killed) {
		t.Errorf("c probed at %v, before a died", c0[0])
	}
}

// Instances on one database share the checks evenly: a joining instance
// gets its share at once, a killed one's checks are taken over within two
// lease periods, and every check is probed exactly once per interval
// throughout, hand-overs included; only a killed instance's checks miss
// slots, until its leases end, and a stopped one's, until the next round
// of another instance.
func TestInstancesShareTheChecksEvenly(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			clock := newManualClock()
			open := func() *models.Store { return dbtest.Open(t, db, models.WithClock(clock.Now)) }
			s := open()
			f := newProberFixture(t, s, tcpKinds(12)...)
			rec := newProbeRecorder(clock)
			lease := 6 * time.Second
			settle := 3 * lease
			count := func() map[string]int {
				n := map[string]int{}
				for id, o := range owners(t, s, f) {
					if isFixtureCheck(f, id) {
						n[o]++
					}
				}
				return n
			}
			want := func(when string, shares map[string]int) {
				t.Helper()
				if got := count(); fmt.Sprint(got) != fmt.Sprint(shares) {
					t.Errorf("%s: checks per instance %v, want %v", when, got, shares)
				}
			}

			a := start(t, Config{InstanceID: "a", Clock: clock, Lease: lease}, open(), rec.probeFunc("a"))
			clock.run(settle)
			want("a alone", map[string]int{"a": 12})
			b := start(t, Config{InstanceID: "b", Clock: clock, Lease: lease}, open(), rec.probeFunc("b"))
			clock.run(settle)
			want("b joined", map[string]int{"a": 6, "b": 6})
			c := start(t, Config{InstanceID: "c", Clock: clock, Lease: lease, keepLeases: true}, open(), rec.probeFunc("c"))
			clock.run(settle)
			want("c joined", map[string]int{"a": 4, "b": 4, "c": 4})
			ofC := map[int64]bool{}
			for id, o := range owners(t, s, f) {
				ofC[id] = o == "c"
			}
			c.stop(t) // killed: its leases stay until they end
			killed := clock.Now()
			clock.run(2 * lease)
			want("two leases after c was killed", map[string]int{"a": 6, "b": 6})
			clock.run(settle)
			ofB := map[int64]bool{}
			for id, o := range owners(t, s, f) {
				ofB[id] = o == "b"
			}
			b.stop(t) // a clean stop: b releases its checks
			stopped := clock.Now()
			clock.run(settle)
			want("b stopped", map[string]int{"a": 12})
			clock.run(settle)
			a.stop(t)

			for _, ck := range f.checks {
				calls := rec.callsOf(ck.ID)
				rs := f.results(t, s, ck.ID)
				if len(rs) != len(calls) {
					t.Errorf("check %d: %d probes stored as %d results (a slot probed twice)", ck.ID, len(calls), len(rs))
				}
				if len(rs) == 0 {
					t.Errorf("check %d never probed", ck.ID)
					continue
				}
				for i := 1; i < len(rs); i++ {
					gap := rs[i].At.Sub(rs[i-1].At)
					switch {
					case gap < testInterval:
						t.Errorf("check %d probed twice in one interval: %v and %v", ck.ID, rs[i-1].At, rs[i].At)
					case gap == testInterval:
					case ofC[ck.ID] && rs[i-1].At.Before(killed) && rs[i].At.Before(killed.Add(2*lease+testInterval)):
						// c's check: no probe from c's death to the end of its lease.
					case ofB[ck.ID] && rs[i-1].At.Before(stopped) && rs[i].At.Before(stopped.Add(lease/4+testInterval)):
						// b's check: released at b's stop, claimed at a's next round.
					default:
						t.Errorf("check %d: no probe between %v and %v (%v)", ck.ID, rs[i-1].At.Format("15:04:05.000"),
							rs[i].At.Format("15:04:05.000"), gap)
					}
				}
			}
		})
	}
}

// An offered lease ends at the time it was cut to even when another
// instance takes the check before this one reads back what it holds (the
// check is then missing from the set, whose lease end the scheduler kept
// from the round before): the new owner probes from the cut on. Seen in
// a two-process run: 222 slots probed by both instances after a join.
func TestOfferedLeaseEndsAtItsCutWhenTakenBeforeReadBack(t *testing.T) {
	p := New(Config{InstanceID: "a", Jitter: -1}, nil, nil, nil)
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	c := models.Check{ID: 7, Enabled: true, IntervalSec: 10, LeaseUntil: now.Add(time.Minute)}
	var h schedHeap
	entries := map[int64]*entry{}
	p.apply([]models.Check{c}, now, &h, entries)
	if e := entries[7]; e == nil || !e.until.Equal(c.LeaseUntil) {
		t.Fatalf("held until %v, want %v", entries[7], c.LeaseUntil)
	}
	cut := now.Add(30 * time.Second)
	p.cut([]int64{7}, cut, entries)
	p.apply(nil, now.Add(time.Second), &h, entries) // taken: missing from the set
	if e := entries[7]; e == nil || !e.until.Equal(cut) || !e.offered {
		t.Fatalf("after the offer: %+v, want held until the cut %v", entries[7], cut)
	}
	// Claimed back later: a lease again.
	c.LeaseUntil = now.Add(2 * time.Minute)
	p.apply([]models.Check{c}, now.Add(40*time.Second), &h, entries)
	if e := entries[7]; e.offered || !e.until.Equal(c.LeaseUntil) {
		t.Errorf("claimed back: offered %v until %v, want a lease until %v", e.offered, e.until, c.LeaseUntil)
	}
}
