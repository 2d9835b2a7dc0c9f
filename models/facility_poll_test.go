package models_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

func addMeter(t *testing.T, s *models.Store, device, kind string, m models.FacilityMeter) *models.FacilityMeter {
	t.Helper()
	got, err := models.AddTestFacilityMeter(context.Background(), s, device, kind, 300, m)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func recordPoll(t *testing.T, s *models.Store, m *models.FacilityMeter, at time.Time, values map[int64]int64) models.FacilityPollResult {
	t.Helper()
	p := models.FacilityPoll{SwitchID: m.SwitchID, At: at}
	for id, v := range values {
		p.Values = append(p.Values, models.FacilityValue{MeterID: id, Milli: v})
	}
	res, err := s.RecordFacilityPoll(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func outboxOf(t *testing.T, db dbtest.DB, kind string) []models.OutboxEvent {
	t.Helper()
	var evs []models.OutboxEvent
	if err := rawDB(t, db).Where("kind = ?", kind).Order("id").Find(&evs).Error; err != nil {
		t.Fatal(err)
	}
	return evs
}

func meterRow(t *testing.T, db dbtest.DB, id int64) models.FacilityMeter {
	t.Helper()
	var m models.FacilityMeter
	if err := rawDB(t, db).First(&m, id).Error; err != nil {
		t.Fatal(err)
	}
	return m
}

// A poll stores each meter's reading once (a slot polled again is
// skipped), keeps its last value, and a threshold crossed starts one
// alert and one event however many polls stay past it; the value back
// inside by the hysteresis (2 % of 30 °C = 0.6 °C) ends it, and a crossing
// of the other side is a new alert and event.
func TestRecordFacilityPollThresholds(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		fx := dbtest.Seed(t, s)
		temp := addMeter(t, s, "env-1", models.SwitchSensor, models.FacilityMeter{Quantity: models.QuantityTemperature, OID: "1.3.6.1.4.1.99.1",
			Divisor: 10, Label: "inlet", OrgID: &fx.OrgA.ID, Cabinet: "A-01", HighMilli: ptr[int64](30_000), LowMilli: ptr[int64](15_000)})
		hum := addMeter(t, s, "env-1", models.SwitchSensor, models.FacilityMeter{Quantity: models.QuantityHumidity, OID: "1.3.6.1.4.1.99.2",
			Label: "humidity", OrgID: &fx.OrgA.ID, Cabinet: "A-01"})
		at := clock.Now().Truncate(5 * time.Minute)
		steps := []struct {
			temp               int64
			stored, start, end int
			state              string
		}{
			{25_000, 2, 0, 0, ""},
			{31_000, 2, 1, 0, models.AlertHigh},
			{32_000, 2, 0, 0, models.AlertHigh},
			{29_500, 2, 0, 0, models.AlertHigh}, // inside, not by 0.6 °C
			{29_300, 2, 0, 1, ""},
			{14_000, 2, 1, 0, models.AlertLow},
		}
		for i, st := range steps {
			res := recordPoll(t, s, temp, at, map[int64]int64{temp.ID: st.temp, hum.ID: 45_000})
			if res.Stored != st.stored || res.AlertsStarted != st.start || res.AlertsEnded != st.end {
				t.Errorf("poll %d (%d): %+v, want %d stored, %d started, %d ended", i, st.temp, res, st.stored, st.start, st.end)
			}
			if m := meterRow(t, db, temp.ID); m.AlertState != st.state || m.LastMilli == nil || *m.LastMilli != st.temp ||
				m.LastAt == nil || !m.LastAt.Equal(at) {
				t.Errorf("poll %d: meter state %q, last %v at %v; want %q, %d at %v", i, m.AlertState, m.LastMilli, m.LastAt, st.state, st.temp, at)
			}
			if i == 2 {
				// The same slot again (a replay): nothing stored, nothing changes.
				if res := recordPoll(t, s, temp, at, map[int64]int64{temp.ID: 40_000}); res != (models.FacilityPollResult{}) {
					t.Errorf("a slot polled twice: %+v, want nothing", res)
				}
			}
			at = at.Add(5 * time.Minute)
			clock.Advance(5 * time.Minute)
		}
		evs := outboxOf(t, db, models.EventFacilityThreshold)
		if len(evs) != 2 {
			t.Fatalf("%d threshold events, want 2 (one per crossing)", len(evs))
		}
		var alerts []models.FacilityAlert
		if err := rawDB(t, db).Where("meter_id = ?", temp.ID).Order("id").Find(&alerts).Error; err != nil {
			t.Fatal(err)
		}
		if len(alerts) != 2 {
			t.Fatalf("%d alerts, want 2", len(alerts))
		}
		high, low := alerts[0], alerts[1]
		if high.Kind != models.AlertHigh || high.ValueMilli != 31_000 || high.PeakMilli != 32_000 || high.ThresholdMilli != 30_000 ||
			high.EndedAt == nil || high.OrgID == nil || *high.OrgID != fx.OrgA.ID || high.Cabinet != "A-01" {
			t.Errorf("high alert %+v", high)
		}
		if low.Kind != models.AlertLow || low.EndedAt != nil || low.ThresholdMilli != 15_000 {
			t.Errorf("low alert %+v", low)
		}
		var p models.FacilityThreshold
		if err := json.Unmarshal([]byte(evs[0].Payload), &p); err != nil {
			t.Fatal(err)
		}
		if evs[0].OrgID != fx.OrgA.ID || evs[0].RefID != high.ID || p.Kind != models.AlertHigh || p.ValueMilli != 31_000 ||
			p.ThresholdMilli != 30_000 || p.MeterID != temp.ID {
			t.Errorf("event %+v payload %+v", evs[0], p)
		}
		var n int64
		rawDB(t, db).Model(&models.FacilityReading{}).Where("meter_id = ?", hum.ID).Count(&n)
		if n != int64(len(steps)) {
			t.Errorf("%d humidity readings, want %d", n, len(steps))
		}
	})
}

// Both feeds of a cabinet, on two PDUs polled apart, reading zero propose
// one power incident from the first slot both read zero; more zero polls
// add nothing; a feed reading power again ends it; a feed whose last
// reading is old proposes nothing.
func TestRecordFacilityPollDualFeedZero(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		fx := dbtest.Seed(t, s)
		org := &fx.OrgA.ID
		a := addMeter(t, s, "pdu-a", models.SwitchPDU, models.FacilityMeter{Quantity: models.QuantityPower, OID: "1.3.6.1.4.1.99.1",
			Feed: models.FeedA, Label: "A", OrgID: org, Cabinet: "A-01"})
		b := addMeter(t, s, "pdu-b", models.SwitchPDU, models.FacilityMeter{Quantity: models.QuantityPower, OID: "1.3.6.1.4.1.99.1",
			Feed: models.FeedB, Label: "B", OrgID: org, Cabinet: "A-01"})
		// Current meters of the same cabinet do not count while it has power meters on both feeds.
		ca := addMeter(t, s, "pdu-a", models.SwitchPDU, models.FacilityMeter{Quantity: models.QuantityCurrent, OID: "1.3.6.1.4.1.99.2",
			Feed: models.FeedA, Label: "A amps", OrgID: org, Cabinet: "A-01"})
		at := clock.Now().Truncate(5 * time.Minute)
		poll := func(m *models.FacilityMeter, at time.Time, v int64, extra map[int64]int64) models.FacilityPollResult {
			vals := map[int64]int64{m.ID: v}
			for k, x := range extra {
				vals[k] = x
			}
			return recordPoll(t, s, m, at, vals)
		}
		slot := func(i int) time.Time { return at.Add(time.Duration(i) * 5 * time.Minute) }
		poll(a, slot(0), 1_500_000, map[int64]int64{ca.ID: 6_500})
		poll(b, slot(0).Add(30*time.Second), 1_400_000, nil)
		if r := poll(a, slot(1), 0, map[int64]int64{ca.ID: 0}); r.Proposed != 0 {
			t.Errorf("feed A alone at zero proposed %+v", r)
		}
		poll(b, slot(1).Add(30*time.Second), 1_400_000, nil)
		poll(a, slot(2), 0, nil)
		if r := poll(b, slot(2).Add(30*time.Second), 0, nil); r.Proposed != 1 {
			t.Errorf("both feeds at zero: %+v, want one proposal", r)
		}
		for i := 3; i < 5; i++ {
			ra := poll(a, slot(i), 0, nil)
			rb := poll(b, slot(i).Add(30*time.Second), 0, nil)
			if ra.Proposed+rb.Proposed != 0 {
				t.Errorf("slot %d: proposed again %+v %+v", i, ra, rb)
			}
		}
		if r := poll(b, slot(5).Add(30*time.Second), 900_000, nil); r.ProposalsEnded != 1 {
			t.Errorf("feed B back: %+v, want the proposal ended", r)
		}
		var ps []models.PowerProposal
		if err := rawDB(t, db).Where("org_id = ?", *org).Order("id").Find(&ps).Error; err != nil {
			t.Fatal(err)
		}
		if len(ps) != 1 {
			t.Fatalf("%d proposals, want 1", len(ps))
		}
		p := ps[0]
		// Feed A first read zero at slot 1, feed B at slot 2 (+30 s).
		if p.State != models.ProposalOpen || p.Cabinet != "A-01" || !p.StartedAt.Equal(slot(2).Add(30*time.Second)) ||
			p.EndedAt == nil || !p.EndedAt.Equal(slot(5).Add(30*time.Second)) || p.Ref == "" {
			t.Errorf("proposal %+v, want proposed from %v to %v", p, slot(2).Add(30*time.Second), slot(5).Add(30*time.Second))
		}
		evs := outboxOf(t, db, models.EventPowerProposed)
		if len(evs) != 1 || evs[0].RefID != p.ID || evs[0].OrgID != *org {
			t.Errorf("power.proposed events %+v, want one for proposal %d", evs, p.ID)
		}

		// Cabinet A-02: feed B read zero once and then nothing more (its
		// PDU stopped answering); feed A reading zero three polls later
		// proposes nothing, as B's last reading is too old to say.
		a2 := addMeter(t, s, "pdu-a", models.SwitchPDU, models.FacilityMeter{Quantity: models.QuantityPower, OID: "1.3.6.1.4.1.99.3",
			Feed: models.FeedA, Label: "A", OrgID: org, Cabinet: "A-02"})
		b2 := addMeter(t, s, "pdu-b", models.SwitchPDU, models.FacilityMeter{Quantity: models.QuantityPower, OID: "1.3.6.1.4.1.99.3",
			Feed: models.FeedB, Label: "B", OrgID: org, Cabinet: "A-02"})
		poll(b2, slot(10), 0, nil)
		for i := 13; i < 15; i++ {
			if r := poll(a2, slot(i), 0, nil); r.Proposed != 0 {
				t.Errorf("slot %d: feed B silent since slot 10, proposed %+v", i, r)
			}
		}
		if r := poll(b2, slot(15), 0, nil); r.Proposed != 1 {
			t.Errorf("feed B answering zero again beside A's zero: %+v, want a proposal", r)
		}
	})
}

// The janitor's rollups sum each meter's readings per hour and per day
// once the period is over, a reading stored after its hour was built
// counts again, and the purge drops readings older than its bound once
// rolled up, never the rollups.
func TestFacilityRollupsAndPurge(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		fx := dbtest.Seed(t, s)
		m := addMeter(t, s, "env-1", models.SwitchSensor, models.FacilityMeter{Quantity: models.QuantityTemperature, OID: "1.3.6.1.4.1.99.1",
			Label: "inlet", OrgID: &fx.OrgA.ID, Cabinet: "A-01"})
		day := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
		// Two hours of 5-minute readings: 20.000 °C + i × 0.1 °C.
		for i := range 24 {
			recordPoll(t, s, m, day.Add(time.Duration(i)*5*time.Minute), map[int64]int64{m.ID: 20_000 + int64(i)*100})
		}
		clock.Advance(48 * time.Hour) // 2026-11-04 09:00
		n, err := s.BuildFacilityRollups(ctx, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if n < 3 {
			t.Errorf("built %d periods, want every hour since the first reading and a day", n)
		}
		hours, err := models.StoredFacilityRollups(ctx, s, m.ID, "h")
		if err != nil {
			t.Fatal(err)
		}
		if len(hours) != 2 {
			t.Fatalf("hour rollups %+v, want 2", hours)
		}
		// Hour 0: i = 0..11: min 20.0, max 21.1, sum 12×20.0 + 66×0.1.
		if h := hours[0]; !h.Start.Equal(day) || h.N != 12 || h.MinMilli != 20_000 || h.MaxMilli != 21_100 || h.SumMilli != 12*20_000+66*100 {
			t.Errorf("first hour %+v", h)
		}
		days, _ := models.StoredFacilityRollups(ctx, s, m.ID, "d")
		if len(days) != 1 || days[0].N != 24 || days[0].MaxMilli != 22_300 {
			t.Errorf("day rollups %+v, want one of 24 readings up to 22.3", days)
		}
		if again, _ := s.BuildFacilityRollups(ctx, 1000); again != 0 {
			t.Errorf("built %d periods again", again)
		}

		// A past loaded in bulk: new slots only, no state.
		if n, err := s.ImportFacilityReadings(ctx, []models.FacilityReading{{MeterID: m.ID, At: day.Add(-time.Hour), Milli: 50_000},
			{MeterID: m.ID, At: day, Milli: 1}}); err != nil || n != 1 {
			t.Errorf("imported %d, %v; want the one new slot", n, err)
		}
		if row := meterRow(t, db, m.ID); row.AlertState != "" || row.LastMilli == nil || *row.LastMilli != 22_300 {
			t.Errorf("an import moved the meter's state: %+v", row)
		}
		rawDB(t, db).Where("meter_id = ? AND at = ?", m.ID, day.Add(-time.Hour)).Delete(&models.FacilityReading{})

		// A late poll (a retry after the database came back) in the first hour.
		recordPoll(t, s, m, day.Add(2*time.Minute), map[int64]int64{m.ID: 35_000})
		hours, _ = models.StoredFacilityRollups(ctx, s, m.ID, "h")
		if hours[0].N != 13 || hours[0].MaxMilli != 35_000 {
			t.Errorf("first hour after a late reading %+v, want 13 readings up to 35.0", hours[0])
		}
		days, _ = models.StoredFacilityRollups(ctx, s, m.ID, "d")
		if days[0].N != 25 {
			t.Errorf("day after a late reading %+v, want 25 readings", days[0])
		}

		// 35 days on: the readings go, the rollups stay.
		clock.Advance(36 * 24 * time.Hour)
		recordPoll(t, s, m, clock.Now().Truncate(5*time.Minute), map[int64]int64{m.ID: 21_000})
		if _, err := s.BuildFacilityRollups(ctx, 10_000); err != nil {
			t.Fatal(err)
		}
		gone, err := s.PurgeFacilityReadings(ctx, clock.Now().Add(-models.FacilityReadingDays*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if gone != 25 {
			t.Errorf("purged %d readings, want the 25 old ones", gone)
		}
		var left int64
		rawDB(t, db).Model(&models.FacilityReading{}).Where("meter_id = ?", m.ID).Count(&left)
		if left != 1 {
			t.Errorf("%d readings left, want the new one", left)
		}
		if hours, _ = models.StoredFacilityRollups(ctx, s, m.ID, "h"); len(hours) != 2 {
			t.Errorf("hour rollups after the purge: %d, want 2 kept", len(hours))
		}
	})
}

// A proposal staff decided while both feeds still read zero is the
// outage going on: the next zero polls propose nothing more (no second
// email, no second incident to confirm for the same outage). Power back
// and zero again is a new outage, proposed afresh.
func TestRecordFacilityPollDecidedProposalGoingOn(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		fx := dbtest.Seed(t, s)
		eng := models.UserActor(fx.Engineer, "10.0.0.1")
		org := &fx.OrgA.ID
		a := addMeter(t, s, "pdu-a", models.SwitchPDU, models.FacilityMeter{Quantity: models.QuantityPower, OID: "1.3.6.1.4.1.99.1",
			Feed: models.FeedA, Label: "A", OrgID: org, Cabinet: "A-01"})
		b := addMeter(t, s, "pdu-a", models.SwitchPDU, models.FacilityMeter{Quantity: models.QuantityPower, OID: "1.3.6.1.4.1.99.2",
			Feed: models.FeedB, Label: "B", OrgID: org, Cabinet: "A-01"})
		at := clock.Now().Truncate(5 * time.Minute)
		slot := func(i int) time.Time { return at.Add(time.Duration(i) * 5 * time.Minute) }
		poll := func(i int, v int64) models.FacilityPollResult {
			clock.Advance(slot(i).Add(time.Second).Sub(clock.Now()))
			return recordPoll(t, s, a, slot(i), map[int64]int64{a.ID: v, b.ID: v})
		}
		poll(0, 1_000_000)
		if r := poll(1, 0); r.Proposed != 1 {
			t.Fatalf("both feeds at zero: %+v, want a proposal", r)
		}
		open, err := s.OpenPowerProposals(ctx, models.AllOrgs())
		if err != nil || len(open) != 1 {
			t.Fatalf("open %v, %v", open, err)
		}
		if err := s.DismissPowerProposal(ctx, eng, open[0].Ref, "the customer powered the cabinet down to move it"); err != nil {
			t.Fatal(err)
		}
		for i := 2; i < 5; i++ {
			if r := poll(i, 0); r.Proposed != 0 {
				t.Errorf("slot %d, the dismissed outage still going on: proposed again %+v", i, r)
			}
		}
		if r := poll(5, 800_000); r.Proposed != 0 {
			t.Errorf("power back: %+v", r)
		}
		if r := poll(6, 0); r.Proposed != 1 {
			t.Errorf("zero again after power came back: %+v, want a new proposal", r)
		}
		if evs := outboxOf(t, db, models.EventPowerProposed); len(evs) != 2 {
			t.Errorf("%d power.proposed events, want 2 (one per outage)", len(evs))
		}
	})
}
