package prober

import (
	"context"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	"github.com/colo-portal/portal/prober/snmptest"
)

// The meters' OIDs the snmpd of these tests serves through its pass
// script (an enterprise subtree nobody else uses).
const passRoot = "1.3.6.1.4.1.99999"

func passOID(n int) string { return passRoot + ".1." + strconv.Itoa(n) }

// SNMPReadMeters reads the integers a PDU serves, a negative temperature
// included, in requests of MaxOIDs variables; an OID the agent does not
// have is left out, and a changed value is read at the next request.
func TestSNMPReadMetersFromPassScript(t *testing.T) {
	a := snmptest.StartPass(t, passRoot, map[string]int64{passOID(1): 1500, passOID(2): -45, passOID(3): 0})
	creds := a.V2c()
	creds.MaxOIDs = 2
	oids := []string{passOID(1), passOID(2), passOID(3), passOID(4), "." + passOID(1)}
	got, err := SNMPReadMeters(context.Background(), creds, oids)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{passOID(1): 1500, passOID(2): -45, passOID(3): 0, "." + passOID(1): 1500}
	if len(got) != len(want) {
		t.Errorf("read %v, want %v", got, want)
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %d (%v), want %d", k, g, ok, v)
		}
	}
	a.SetValues(t, map[string]int64{passOID(1): 1234, passOID(4): 7})
	got, err = SNMPReadMeters(context.Background(), a.V3(), oids[:4])
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[passOID(1)] != 1234 || got[passOID(4)] != 7 {
		t.Errorf("after a change, over v3: %v, want 1234 and 7 only", got)
	}
}

// facilityRig is a prober's switch poller without its scheduler, polling
// facility devices on snmpd for the slots a test names.
type facilityRig struct {
	t      *testing.T
	sn     *snmpPoller
	raw    *switchFixture
	refs   int
	creds  models.SNMPCredentials
	states map[int64]*swState
}

func newFacilityRig(t *testing.T, s *models.Store, db dbtest.DB, creds models.SNMPCredentials, read MeterReadFunc) *facilityRig {
	p := New(Config{InstanceID: "solo", Clock: newManualClock(), SNMPPoll: SNMPPoll, SNMPMeters: read}, s, nil, testLogger(t))
	sn := newSNMPPoller(p, "memory")
	t.Cleanup(sn.close)
	return &facilityRig{t: t, sn: sn, raw: &switchFixture{raw: rawDB(t, db)}, creds: creds, states: map[int64]*swState{}}
}

// device stores a PDU or sensor polled every minute at the agent.
func (r *facilityRig) device(name, kind string) models.Switch {
	r.t.Helper()
	sw := models.Switch{Name: name, Kind: kind, Address: r.creds.Address, Version: models.SNMPv2c, Community: "sealed-elsewhere",
		IntervalSec: 60, TimeoutMs: 1000, MaxOIDs: 2, Enabled: true, LeaseUntil: time.Unix(0, 0).UTC()}
	if err := r.raw.raw.Create(&sw).Error; err != nil {
		r.t.Fatal(err)
	}
	return sw
}

func (r *facilityRig) meter(sw models.Switch, m models.FacilityMeter) models.FacilityMeter {
	r.t.Helper()
	r.refs++
	m.SwitchID, m.Ref = sw.ID, "meter"+strconv.Itoa(r.refs)
	if err := r.raw.raw.Create(&m).Error; err != nil {
		r.t.Fatal(err)
	}
	return m
}

// poll polls devices one after the other for slot, as the scheduler's
// workers would.
func (r *facilityRig) poll(slot time.Time, devices ...models.Switch) {
	r.t.Helper()
	for _, sw := range devices {
		st := r.states[sw.ID]
		if st == nil {
			st = &swState{base: map[int64]models.CounterReading{}}
			r.states[sw.ID] = st
		}
		creds := r.creds
		creds.MaxOIDs, creds.SwitchID = sw.MaxOIDs, sw.ID
		r.sn.pollOne(context.Background(), &models.PollTarget{Switch: sw, Creds: creds}, st, slot)
	}
}

func (r *facilityRig) readings(id int64) []models.FacilityReading {
	r.t.Helper()
	var rs []models.FacilityReading
	if err := r.raw.raw.Where("meter_id = ?", id).Order("at").Find(&rs).Error; err != nil {
		r.t.Fatal(err)
	}
	return rs
}

func (r *facilityRig) count(model any, where string, args ...any) int64 {
	r.t.Helper()
	var n int64
	if err := r.raw.raw.Model(model).Where(where, args...).Count(&n).Error; err != nil {
		r.t.Fatal(err)
	}
	return n
}

// The poller reads two PDUs (feeds A and B of a cabinet) and a sensor on
// snmpd (values served by a pass script the test rewrites between
// polls): readings stored in thousandths of each meter's unit, a missing
// OID leaving its meter without a reading while the others are stored, a
// temperature threshold crossed notified once over three polls past it
// and ended when it comes back, and both feeds at zero proposing one
// power incident, ended when feed A reads power again.
func TestFacilityPollerAgainstSnmpd(t *testing.T) {
	first := map[string]int64{passOID(1): 1500, passOID(2): 65, passOID(3): 1400, passOID(4): 245}
	a := snmptest.StartPass(t, passRoot, first)
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			values := maps.Clone(first)
			clock := dbtest.NewClock()
			s := dbtest.Open(t, db, models.WithClock(clock.Now))
			fx := dbtest.Seed(t, s)
			r := newFacilityRig(t, s, db, a.V2c(), nil)
			org := &fx.OrgA.ID
			pduA, pduB := r.device("pdu-a", models.SwitchPDU), r.device("pdu-b", models.SwitchPDU)
			env := r.device("env-1", models.SwitchSensor)
			high := int64(30_000)
			powerA := r.meter(pduA, models.FacilityMeter{OID: passOID(1), Quantity: models.QuantityPower, Divisor: 1, Feed: models.FeedA,
				Label: "A", OrgID: org, Cabinet: "A-01"})
			ampsA := r.meter(pduA, models.FacilityMeter{OID: passOID(2), Quantity: models.QuantityCurrent, Divisor: 10, Feed: models.FeedA,
				Label: "A amps", OrgID: org, Cabinet: "A-01"})
			powerB := r.meter(pduB, models.FacilityMeter{OID: passOID(3), Quantity: models.QuantityPower, Divisor: 1, Feed: models.FeedB,
				Label: "B", OrgID: org, Cabinet: "A-01"})
			temp := r.meter(env, models.FacilityMeter{OID: passOID(4), Quantity: models.QuantityTemperature, Divisor: 10,
				Label: "inlet", OrgID: org, Cabinet: "A-01", HighMilli: &high})
			hum := r.meter(env, models.FacilityMeter{OID: passOID(5), Quantity: models.QuantityHumidity, Divisor: 1,
				Label: "humidity", OrgID: org, Cabinet: "A-01"})
			// A sensor whose only OID the agent lacks: the device's error.
			lost := r.device("env-lost", models.SwitchSensor)
			r.meter(lost, models.FacilityMeter{OID: passOID(9), Quantity: models.QuantityTemperature, Divisor: 1, Label: "nowhere"})
			all := []models.Switch{pduA, pduB, env, lost}

			slot0 := clock.Now().Truncate(time.Minute)
			slot := func(i int) time.Time { return slot0.Add(time.Duration(i) * time.Minute) }
			step := func(i int, change map[string]int64) {
				t.Helper()
				for k, v := range change {
					values[k] = v
				}
				a.SetValues(t, values)
				clock.Advance(time.Minute)
				r.poll(slot(i), all...)
			}
			step(0, nil)
			for _, c := range []struct {
				m    models.FacilityMeter
				want int64
			}{{powerA, 1_500_000}, {ampsA, 6_500}, {powerB, 1_400_000}, {temp, 24_500}} {
				rs := r.readings(c.m.ID)
				if len(rs) != 1 || rs[0].Milli != c.want || !rs[0].At.Equal(slot(0)) {
					t.Errorf("meter %s: readings %+v, want %d at %v", c.m.Label, rs, c.want, slot(0))
				}
			}
			if rs := r.readings(hum.ID); len(rs) != 0 {
				t.Errorf("the humidity OID the agent lacks gave readings %+v", rs)
			}
			if sw := r.raw.switchRow(t, env.ID); sw.LastPollAt == nil || sw.LastError != "" {
				t.Errorf("sensor after a poll with a missing OID: last poll %v, error %q; want a poll without error", sw.LastPollAt, sw.LastError)
			}
			if sw := r.raw.switchRow(t, lost.ID); sw.LastPollAt == nil || !strings.Contains(sw.LastError, "none of the meters' OIDs") {
				t.Errorf("sensor answering none of its OIDs: last poll %v, error %q", sw.LastPollAt, sw.LastError)
			}

			// 31.2 °C, 33.0 °C, 31.0 °C: one crossing, one event; 29.0 °C ends it.
			for i, v := range []int64{312, 330, 310} {
				step(1+i, map[string]int64{passOID(4): v})
			}
			if n := r.count(&models.OutboxEvent{}, "kind = ?", models.EventFacilityThreshold); n != 1 {
				t.Errorf("%d threshold events over three polls past it, want 1", n)
			}
			if n := r.count(&models.FacilityAlert{}, "meter_id = ? AND ended_at IS NULL", temp.ID); n != 1 {
				t.Errorf("%d open alerts, want 1", n)
			}
			step(4, map[string]int64{passOID(4): 290})
			if n := r.count(&models.FacilityAlert{}, "meter_id = ? AND ended_at IS NOT NULL AND peak_milli = ?", temp.ID, 33_000); n != 1 {
				t.Errorf("%d ended alerts peaking at 33 °C, want 1", n)
			}

			// Both feeds lose power for three polls, then A comes back.
			for i := 5; i < 8; i++ {
				step(i, map[string]int64{passOID(1): 0, passOID(2): 0, passOID(3): 0})
			}
			if n := r.count(&models.PowerProposal{}, "org_id = ? AND cabinet = ? AND state = ? AND started_at = ?", *org, "A-01",
				models.ProposalOpen, slot(5)); n != 1 {
				t.Errorf("%d proposals from slot 5, want 1", n)
			}
			if n := r.count(&models.OutboxEvent{}, "kind = ?", models.EventPowerProposed); n != 1 {
				t.Errorf("%d power.proposed events, want 1", n)
			}
			step(8, map[string]int64{passOID(1): 700, passOID(2): 31})
			if n := r.count(&models.PowerProposal{}, "org_id = ? AND ended_at = ?", *org, slot(8)); n != 1 {
				t.Errorf("the proposal did not end when feed A read power again at slot 8")
			}
			if rs := r.readings(powerA.ID); len(rs) != 9 || rs[8].Milli != 700_000 || rs[5].Milli != 0 {
				t.Errorf("feed A readings %+v, want 9 ending at 700 W", rs)
			}
			if rs := r.readings(hum.ID); len(rs) != 0 {
				t.Errorf("humidity readings %+v, want none", rs)
			}
		})
	}
}

// While the database refuses a poll (its readings table gone for a
// while), the poller keeps the device's polls in memory and stores them,
// oldest first, with the next poll the database takes: no reading is
// lost, and the threshold crossed during the outage is notified once,
// dated when it happened.
func TestFacilityPollerKeepsPollsWhileTheDatabaseRefuses(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			clock := dbtest.NewClock()
			s := dbtest.Open(t, db, models.WithClock(clock.Now))
			fx := dbtest.Seed(t, s)
			var temp int64 = 250
			read := func(_ context.Context, _ models.SNMPCredentials, oids []string) (map[string]int64, error) {
				return map[string]int64{oids[0]: temp}, nil
			}
			r := newFacilityRig(t, s, db, models.SNMPCredentials{Address: "127.0.0.1:1"}, read)
			env := r.device("env-1", models.SwitchSensor)
			high := int64(30_000)
			m := r.meter(env, models.FacilityMeter{OID: passOID(1), Quantity: models.QuantityTemperature, Divisor: 10,
				Label: "inlet", OrgID: &fx.OrgA.ID, Cabinet: "A-01", HighMilli: &high})
			slot0 := clock.Now().Truncate(time.Minute)
			slot := func(i int) time.Time { return slot0.Add(time.Duration(i) * time.Minute) }
			r.poll(slot(0), env)
			if err := r.raw.raw.Migrator().RenameTable("facility_readings", "facility_readings_away"); err != nil {
				t.Fatal(err)
			}
			for i, v := range []int64{315, 320} {
				temp = v
				clock.Advance(time.Minute)
				r.poll(slot(1+i), env)
			}
			if n := len(r.states[env.ID].fac.pending); n != 2 {
				t.Errorf("%d polls kept while the database refuses them, want 2", n)
			}
			if n := r.count(&models.FacilityAlert{}, "meter_id = ?", m.ID); n != 0 {
				t.Errorf("%d alerts while the database refused the polls", n)
			}
			if err := r.raw.raw.Migrator().RenameTable("facility_readings_away", "facility_readings"); err != nil {
				t.Fatal(err)
			}
			temp = 325
			clock.Advance(time.Minute)
			r.poll(slot(3), env)
			rs := r.readings(m.ID)
			want := []int64{25_000, 31_500, 32_000, 32_500}
			if len(rs) != len(want) {
				t.Fatalf("readings %+v, want %v", rs, want)
			}
			for i, rd := range rs {
				if rd.Milli != want[i] || !rd.At.Equal(slot(i)) {
					t.Errorf("reading %d: %+v, want %d at %v", i, rd, want[i], slot(i))
				}
			}
			if n := r.count(&models.FacilityAlert{}, "meter_id = ? AND started_at = ? AND peak_milli = ?", m.ID, slot(1), 32_500); n != 1 {
				t.Errorf("%d alerts from slot 1 peaking at 32.5 °C, want 1", n)
			}
			if n := r.count(&models.OutboxEvent{}, "kind = ?", models.EventFacilityThreshold); n != 1 {
				t.Errorf("%d threshold events, want 1", n)
			}
			if n := len(r.states[env.ID].fac.pending); n != 0 {
				t.Errorf("%d polls still kept", n)
			}
		})
	}
}
