package prober

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// Issue 12: checks no instance holds are logged at ERROR every lease round
// with their count, not once as a warning. Instance a cannot ping, so
// nobody takes the three ping checks: past a lease and a round, each of
// a's rounds logs them. Once b, which can ping, holds them, the alarm
// stops.
func TestUnclaimedChecksAreLoggedAtErrorEveryRound(t *testing.T) {
	db := dbtest.Databases(t)[0] // lease rounds only: SQLite is enough
	clock := newManualClock()
	s := dbtest.Open(t, db, models.WithClock(clock.Now))
	rec := newProbeRecorder(clock)
	newProberFixture(t, s, models.KindICMP, models.KindICMP, models.KindICMP, models.KindTCP)
	var mu sync.Mutex
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, nil))
	alarms := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, l := range strings.Split(buf.String(), "\n") {
			if strings.Contains(l, "level=ERROR") && strings.Contains(l, "go unprobed") {
				if !strings.Contains(l, "checks=3") {
					t.Errorf("the alarm does not count the 3 ping checks: %s", l)
				}
				n++
			}
		}
		return n
	}
	lease := time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	a := &running{p: New(Config{InstanceID: "a", Clock: clock, Lease: lease, Jitter: -1, SkipICMP: true}, s, rec.probeFunc("a"), log),
		cancel: cancel, done: make(chan error, 1)}
	go func() { a.done <- a.p.Run(ctx) }()
	t.Cleanup(func() { a.stop(t) })

	clock.run(lease)
	eventually(t, "a holds the TCP check", func() bool { return a.p.Stats().Checks == 1 })
	if n := alarms(); n != 0 {
		t.Errorf("%d alarms within the grace, want none", n)
	}
	clock.run(lease + lease/2) // past the grace: at least two rounds of a
	eventually(t, "two rounds of a log the alarm", func() bool { return alarms() >= 2 })

	b := start(t, Config{InstanceID: "b", Clock: clock, Lease: lease, Jitter: -1}, s, rec.probeFunc("b"))
	clock.run(lease / 2)
	eventually(t, "b holds the 3 ping checks", func() bool { return b.p.Stats().Checks >= 3 })
	clock.run(lease / 2)
	before := alarms()
	clock.run(lease)
	if n := alarms(); n != before {
		t.Errorf("%d alarms after b holds every ping check, want none", n-before)
	}
}

// A single instance that starts after a pause longer than a lease and a
// round claims every check in its first round, and logs no alarm for them:
// the count is taken after the round's claims. It used to log "checks=4"
// at ERROR at once, right before "claimed=4".
func TestAFirstRoundAfterAPauseLogsNoAlarmForWhatItClaims(t *testing.T) {
	db := dbtest.Databases(t)[0] // lease rounds only: SQLite is enough
	clock := newManualClock()
	s := dbtest.Open(t, db, models.WithClock(clock.Now))
	rec := newProbeRecorder(clock)
	newProberFixture(t, s, models.KindTCP, models.KindTCP, models.KindTCP, models.KindTCP)
	lease := time.Minute
	clock.Advance(time.Hour) // the pause: nobody holds the checks
	if u, err := s.UnprobedChecks(context.Background(), lease+lease/4); err != nil || u.Checks != 4 {
		t.Fatalf("before the instance starts: %d unprobed (%v), want 4", u.Checks, err)
	}
	var mu sync.Mutex
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, nil))
	ctx, cancel := context.WithCancel(context.Background())
	a := &running{p: New(Config{InstanceID: "a", Clock: clock, Lease: lease, Jitter: -1, SkipICMP: true}, s, rec.probeFunc("a"), log),
		cancel: cancel, done: make(chan error, 1)}
	go func() { a.done <- a.p.Run(ctx) }()
	t.Cleanup(func() { a.stop(t) })

	eventually(t, "a holds the 4 checks", func() bool { return a.p.Stats().Checks == 4 })
	clock.run(lease) // and a few rounds more
	mu.Lock()
	defer mu.Unlock()
	if strings.Contains(buf.String(), "go unprobed") {
		t.Errorf("the instance logs the alarm for the checks it claims:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), "claimed=4") {
		t.Errorf("no round logs claimed=4:\n%s", buf.String())
	}
}
