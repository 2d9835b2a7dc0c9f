package prober

import (
	"context"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// A slot polled twice (two instances around a hand-over, or a poll
// replayed) stores one sample per port: each reading is stamped with its
// slot, never with the time the agent answered (which differs between the
// two polls, as the real client's time.Now does), so (port_id, at)
// deduplicates.
func TestASlotPolledTwiceStoresOneSamplePerPort(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			clock := newManualClock()
			s := dbtest.Open(t, db, models.WithClock(clock.Now))
			f := newSwitchFixture(t, s, db)
			sw := f.addSwitch(t, "core-1", "127.0.2.1")
			hc := f.addPort(t, sw, 1, true, false)
			c32 := f.addPort(t, sw, 2, false, false)
			agents := newFakeAgents(clock)
			agents.add(sw.Address, map[int]*fakePort{1: {hc: true, in: 1000, out: 250, start: 1 << 40}, 2: {in: 100, out: 10}})
			calls := 0
			fake := agents.pollFunc("x")
			poll := func(ctx context.Context, creds models.SNMPCredentials, ports []PollPort) (PollResult, error) {
				res, err := fake(ctx, creds, ports)
				calls++
				for k, rd := range res.Readings {
					rd.At = clock.Now().Add(time.Duration(calls) * 137 * time.Millisecond)
					res.Readings[k] = rd
				}
				return res, err
			}
			p := New(Config{InstanceID: "x", Clock: clock, Jitter: -1, BatchAge: time.Second, SNMPPoll: poll},
				s, func(context.Context, *models.Check) Outcome { return Outcome{} }, testLogger(t))
			sn := newSNMPPoller(p, "memory")
			target := &models.PollTarget{Switch: sw, Creds: models.SNMPCredentials{SwitchID: sw.ID, Address: sw.Address, Community: fakeCommunity}}
			slot := gridAfter(sw.ID, pollEvery, clock.Now())
			clock.Advance(slot.Sub(clock.Now()))
			for range 2 { // two instances, each with its own state
				sn.pollOne(context.Background(), target, &swState{base: map[int64]models.CounterReading{}}, slot)
			}
			sn.close()
			for _, port := range []models.SwitchPort{hc, c32} {
				ss := f.samples(t, port.ID)
				if len(ss) != 1 || !ss[0].At.Equal(slot) {
					t.Errorf("port %d: samples %+v; want one at the slot %v", port.IfIndex, ss, slot)
				}
			}
		})
	}
}
