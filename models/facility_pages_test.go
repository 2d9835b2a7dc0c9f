package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// cabinetRig is a PDU and a sensor, a device of organization A in cabinet
// A-07 and one of B in B-01, and a contract of A with 5 kW.
type cabinetRig struct {
	fx          *dbtest.Fixture
	eng         models.Actor
	pdu, sensor *models.Switch
	contractA   *models.Contract
	contractB   *models.Contract
}

func newCabinetRig(t *testing.T, s *models.Store) *cabinetRig {
	t.Helper()
	ctx := context.Background()
	r := &cabinetRig{fx: dbtest.Seed(t, s)}
	r.eng = models.UserActor(r.fx.Engineer, "10.0.0.1")
	var err error
	pdu := v2Switch("pdu-a07")
	pdu.Kind = models.SwitchPDU
	if r.pdu, err = s.CreateSwitch(ctx, r.eng, pdu); err != nil {
		t.Fatal(err)
	}
	sensor := v2Switch("env-a07")
	sensor.Kind = models.SwitchSensor
	if r.sensor, err = s.CreateSwitch(ctx, r.eng, sensor); err != nil {
		t.Fatal(err)
	}
	for _, d := range []models.DeviceInput{{OrgID: r.fx.OrgA.ID, Name: "web-1", Address: "192.0.2.10", Cabinet: "A-07"},
		{OrgID: r.fx.OrgB.ID, Name: "db-1", Address: "192.0.2.20", Cabinet: "B-01"}} {
		if _, err := s.CreateDevice(ctx, r.eng, d); err != nil {
			t.Fatal(err)
		}
	}
	admin := models.UserActor(r.fx.Admin, "10.0.0.2")
	today := s.Today()
	if r.contractA, err = s.CreateContract(ctx, admin, models.ContractInput{OrgID: r.fx.OrgA.ID, ServiceType: models.ServiceFullCabinet,
		MonthlyFee: 800000, SignedOn: today, StartsOn: today, PowerWatts: 5000}); err != nil {
		t.Fatal(err)
	}
	if r.contractB, err = s.CreateContract(ctx, admin, models.ContractInput{OrgID: r.fx.OrgB.ID, ServiceType: models.ServiceFullCabinet,
		MonthlyFee: 800000, SignedOn: today, StartsOn: today}); err != nil {
		t.Fatal(err)
	}
	return r
}

// meter adds a meter and maps it to organization A's cabinet A-07.
func (r *cabinetRig) meter(t *testing.T, s *models.Store, sw *models.Switch, in models.MeterInput, mapped bool) *models.FacilityMeter {
	t.Helper()
	ctx := context.Background()
	m, err := s.AddFacilityMeter(ctx, r.eng, sw.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if mapped {
		if m, err = s.UpdateFacilityMeter(ctx, r.eng, m.ID, models.MeterChange{Label: in.Label, OrgID: &r.fx.OrgA.ID,
			Cabinet: "A-07", ContractID: &r.contractA.ID}); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// setLast stores meter m's last value as a poll would.
func setLast(t *testing.T, g *gorm.DB, m *models.FacilityMeter, at time.Time, milli int64) {
	t.Helper()
	if err := g.Model(&models.FacilityMeter{}).Where("id = ?", m.ID).
		Updates(map[string]any{"last_at": at.UTC(), "last_milli": milli}).Error; err != nil {
		t.Fatal(err)
	}
}

func TestParseAndFormatMilli(t *testing.T) {
	for in, want := range map[string]int64{"12.5": 12500, "-3": -3000, "0.001": 1, ".5": 500, "+7.25": 7250, " 40 ": 40000} {
		if got, ok := models.ParseMilli(in); !ok || got != want {
			t.Errorf("ParseMilli(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "-", "1.2345", "1,5", "abc", "1e3", "1.", "1234567890"} {
		if v, ok := models.ParseMilli(in); ok {
			t.Errorf("ParseMilli(%q) = %d, want refused", in, v)
		}
	}
	for v, want := range map[int64]string{12500: "12.5", -3000: "-3", 1: "0.001", 0: "0", 4250: "4.25"} {
		if got := models.FormatMilli(v); got != want {
			t.Errorf("FormatMilli(%d) = %q, want %q", v, got, want)
		}
	}
}

// Every rule of a new meter is checked at once, each next to its field;
// power and current only on a PDU, with a feed; a sensor's quantities
// without one; one OID once per device; a network device has no meters.
func TestCabinetMeterRules(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		r := newCabinetRig(t, s)
		_, err := s.AddFacilityMeter(ctx, r.eng, r.pdu.ID, models.MeterInput{OID: "1.3.6.x", Quantity: "volts", Divisor: 7, Label: "a\tb"})
		got := fieldKeys(err)
		for f, k := range map[string]string{"oid": "facility.error.oid", "quantity": "facility.error.quantity",
			"divisor": "facility.error.divisor", "label": "error.control_chars"} {
			if got[f] != k {
				t.Errorf("field %s: %q, want %q (all: %v)", f, got[f], k, got)
			}
		}
		_, err = s.AddFacilityMeter(ctx, r.eng, r.pdu.ID, models.MeterInput{OID: "1.3.6.1.4.1.318.1", Quantity: models.QuantityPower, Divisor: 1})
		wantInvalid(t, err, "feed", "facility.error.feed")
		_, err = s.AddFacilityMeter(ctx, r.eng, r.sensor.ID, models.MeterInput{OID: "1.3.6.1.4.1.1", Quantity: models.QuantityCurrent, Divisor: 10, Feed: "A"})
		wantInvalid(t, err, "quantity", "facility.error.quantity_pdu")
		m, err := s.AddFacilityMeter(ctx, r.eng, r.pdu.ID, models.MeterInput{OID: " .1.3.6.1.4.1.318.1.1.12.2.3.1.1.2.1 ",
			Quantity: models.QuantityCurrent, Divisor: 10, Feed: "a", Label: "Bank 1"})
		if err != nil {
			t.Fatal(err)
		}
		if m.OID != "1.3.6.1.4.1.318.1.1.12.2.3.1.1.2.1" || m.Feed != models.FeedA || m.OrgID != nil || !models.ValidRequestRef(m.Ref) {
			t.Errorf("stored %+v", m)
		}
		_, err = s.AddFacilityMeter(ctx, r.eng, r.pdu.ID, models.MeterInput{OID: "1.3.6.1.4.1.318.1.1.12.2.3.1.1.2.1",
			Quantity: models.QuantityCurrent, Divisor: 10, Feed: "B"})
		wantInvalid(t, err, "oid", "facility.error.oid_taken")
		tm, err := s.AddFacilityMeter(ctx, r.eng, r.pdu.ID, models.MeterInput{OID: "1.3.6.1.4.1.318.1.1.26.10.2.2.1.8.1",
			Quantity: models.QuantityTemperature, Divisor: 10, Feed: "B"})
		if err != nil || tm.Feed != "" {
			t.Fatalf("a PDU's temperature probe: %+v, %v; want no feed", tm, err)
		}
		netSw, err := s.CreateSwitch(ctx, r.eng, v2Switch("core-1"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddFacilityMeter(ctx, r.eng, netSw.ID, models.MeterInput{OID: "1.3.6.1.2", Quantity: models.QuantityTemperature, Divisor: 1}); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("a network device's meter: %v, want not found", err)
		}
		evs := auditOf(t, s, models.AuditMeterAdded)
		if len(evs) != 2 || detailOf(t, evs[1])["meter"] != "Bank 1" || detailOf(t, evs[1])["switch"] != "pdu-a07" {
			t.Fatalf("audit: %d events %v", len(evs), evs)
		}
		rows, err := s.ListFacilityMeters(ctx, models.AllOrgs(), r.pdu.ID)
		if err != nil || len(rows) != 2 {
			t.Fatalf("list: %v, %v", rows, err)
		}
		if _, err := s.ListFacilityMeters(ctx, models.OrgScope(r.fx.OrgA.ID), r.pdu.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("a customer lists a device's meters: %v", err)
		}
		if err := s.RemoveFacilityMeter(ctx, r.eng, tm.ID); err != nil {
			t.Fatal(err)
		}
		if rows, _ := s.ListFacilityMeters(ctx, models.AllOrgs(), r.pdu.ID); len(rows) != 1 {
			t.Errorf("after removing one: %d meters", len(rows))
		}
		if evs := auditOf(t, s, models.AuditMeterRemoved); len(evs) != 1 {
			t.Errorf("removal audited %d times", len(evs))
		}
	})
}

// A meter maps to a cabinet its organization uses and a contract of that
// organization, with thresholds in the unit; a new organization starts
// MappedSince; a new mapping or threshold ends the crossing in progress.
func TestCabinetMeterMapping(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		g := rawDB(t, db)
		r := newCabinetRig(t, s)
		m := r.meter(t, s, r.pdu, models.MeterInput{OID: "1.3.6.1.4.1.9.1", Quantity: models.QuantityPower, Divisor: 1, Feed: "A"}, false)
		a, b := r.fx.OrgA.ID, r.fx.OrgB.ID
		for _, c := range []struct {
			name string
			ch   models.MeterChange
			want map[string]string
		}{
			{"a cabinet without organization", models.MeterChange{Cabinet: "A-07"}, map[string]string{"org": "facility.error.org_required"}},
			{"cabinet missing, bad thresholds", models.MeterChange{OrgID: &a, High: "1,5", Low: "x"},
				map[string]string{"cabinet": "facility.error.cabinet_required", "high": "facility.error.threshold", "low": "facility.error.threshold"}},
			{"another organization's cabinet and contract", models.MeterChange{OrgID: &a, Cabinet: "B-01", ContractID: &r.contractB.ID},
				map[string]string{"cabinet": "facility.error.cabinet_unknown", "contract": "facility.error.contract_other_org"}},
			{"high not above low", models.MeterChange{OrgID: &a, Cabinet: "A-07", High: "3", Low: "3"},
				map[string]string{"high": "facility.error.high_below_low"}},
		} {
			_, err := s.UpdateFacilityMeter(ctx, r.eng, m.ID, c.ch)
			got := fieldKeys(err)
			for f, k := range c.want {
				if got[f] != k {
					t.Errorf("%s: field %s %q, want %q (all %v)", c.name, f, got[f], k, got)
				}
			}
			if len(got) != len(c.want) {
				t.Errorf("%s: %v, want %v", c.name, got, c.want)
			}
		}
		if n := len(auditOf(t, s, models.AuditMeterChanged)); n != 0 {
			t.Fatalf("refused changes audited %d times", n)
		}
		mapped, err := s.UpdateFacilityMeter(ctx, r.eng, m.ID, models.MeterChange{Label: "Feed A", OrgID: &a, Cabinet: "a-07",
			ContractID: &r.contractA.ID, High: "4500.5", Low: ""})
		if err != nil {
			t.Fatal(err)
		}
		if mapped.Cabinet != "A-07" || mapped.HighMilli == nil || *mapped.HighMilli != 4_500_500 || mapped.LowMilli != nil ||
			mapped.MappedSince == nil || !mapped.MappedSince.Equal(clock.Now()) {
			t.Fatalf("mapped: %+v", mapped)
		}
		since := *mapped.MappedSince
		// A crossing in progress.
		if err := g.Model(&models.FacilityMeter{}).Where("id = ?", m.ID).Updates(map[string]any{"alert_state": models.AlertHigh,
			"alert_since": clock.Now()}).Error; err != nil {
			t.Fatal(err)
		}
		if err := g.Create(&models.FacilityAlert{MeterID: m.ID, OrgID: &a, Cabinet: "A-07", Kind: models.AlertHigh,
			ValueMilli: 4_600_000, PeakMilli: 4_600_000, ThresholdMilli: 4_500_500, StartedAt: clock.Now()}).Error; err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Hour)
		// The same form again changes and records nothing.
		if _, err := s.UpdateFacilityMeter(ctx, r.eng, m.ID, models.MeterChange{Label: "Feed A", OrgID: &a, Cabinet: "A-07",
			ContractID: &r.contractA.ID, High: "4500.500"}); err != nil {
			t.Fatal(err)
		}
		if n := len(auditOf(t, s, models.AuditMeterChanged)); n != 1 {
			t.Fatalf("after an unchanged form: %d records, want 1", n)
		}
		got, err := s.UpdateFacilityMeter(ctx, r.eng, m.ID, models.MeterChange{Label: "Feed A", OrgID: &a, Cabinet: "A-07",
			ContractID: &r.contractA.ID, High: "4800"})
		if err != nil {
			t.Fatal(err)
		}
		if got.AlertState != "" || got.AlertSince != nil || !got.MappedSince.Equal(since) {
			t.Errorf("a new threshold: state %q since %v mapped %v", got.AlertState, got.AlertSince, got.MappedSince)
		}
		var open int64
		g.Model(&models.FacilityAlert{}).Where("meter_id = ? AND ended_at IS NULL", m.ID).Count(&open)
		if open != 0 {
			t.Errorf("%d alerts still open after a new threshold", open)
		}
		ev := auditOf(t, s, models.AuditMeterChanged)[0]
		d := detailOf(t, ev)
		if after := d["after"].(map[string]any); after["high"] != "4800 W" || d["alert_ended"] != true || *ev.OrgID != a {
			t.Errorf("audit detail %v", d)
		}
		// To another organization: its customer reads from now.
		moved, err := s.UpdateFacilityMeter(ctx, r.eng, m.ID, models.MeterChange{OrgID: &b, Cabinet: "B-01"})
		if err != nil {
			t.Fatal(err)
		}
		if !moved.MappedSince.Equal(clock.Now()) || moved.ContractID != nil {
			t.Errorf("moved: %+v", moved)
		}
		// Unmapped: no organization, no MappedSince.
		free, err := s.UpdateFacilityMeter(ctx, r.eng, m.ID, models.MeterChange{})
		if err != nil || free.OrgID != nil || free.MappedSince != nil || free.Cabinet != "" {
			t.Errorf("unmapped: %+v, %v", free, err)
		}
		if _, err := s.GetFacilityMeter(ctx, models.OrgScope(b), m.Ref); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("a customer reads an unmapped meter: %v", err)
		}
	})
}

// A cabinet's figures now: the draw per feed and in total against the
// contracted power, the temperature; another organization's cabinet is
// not found; a customer reads nothing from before the meter was mapped
// to it, in figures, alerts, series and downloads; the series add up the
// same from rollups and from readings.
func TestCabinetReads(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		g := rawDB(t, db)
		r := newCabinetRig(t, s)
		a := r.fx.OrgA.ID
		feedA := r.meter(t, s, r.pdu, models.MeterInput{OID: "1.3.6.1.4.1.9.1", Quantity: models.QuantityPower, Divisor: 1, Feed: "A", Label: "A"}, true)
		feedB := r.meter(t, s, r.pdu, models.MeterInput{OID: "1.3.6.1.4.1.9.2", Quantity: models.QuantityPower, Divisor: 1, Feed: "B", Label: "B"}, true)
		temp := r.meter(t, s, r.sensor, models.MeterInput{OID: "1.3.6.1.4.1.9.3", Quantity: models.QuantityTemperature, Divisor: 10, Label: "front"}, true)
		r.meter(t, s, r.pdu, models.MeterInput{OID: "1.3.6.1.4.1.9.4", Quantity: models.QuantityCurrent, Divisor: 10, Feed: "A"}, false)
		clock.Advance(10 * time.Minute)
		now := clock.Now()
		setLast(t, g, feedA, now.Add(-time.Minute), 1_200_000)
		setLast(t, g, feedB, now.Add(-time.Minute), 1_300_000)
		setLast(t, g, temp, now.Add(-2*time.Hour), 24_500) // stale: older than three polls
		sc := models.OrgScope(a)
		cabs, err := s.ListCabinets(ctx, sc, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(cabs) != 1 || cabs[0].Cabinet != "A-07" || len(cabs[0].Meters) != 3 {
			t.Fatalf("cabinets: %+v", cabs)
		}
		c := cabs[0]
		if c.DrawQuantity != models.QuantityPower || *c.FeedA != 1_200_000 || *c.FeedB != 1_300_000 || *c.Total != 2_500_000 ||
			c.ContractedW != 5000 || c.Temperature != nil {
			t.Errorf("figures: %+v", c)
		}
		if pct, ok := c.SharePct(); !ok || pct != 50 {
			t.Errorf("share %d %v, want 50", pct, ok)
		}
		if other, err := s.ListCabinets(ctx, models.OrgScope(r.fx.OrgB.ID), 0); err != nil || len(other) != 0 {
			t.Errorf("organization B lists %v, %v", other, err)
		}
		if _, err := s.GetCabinet(ctx, models.OrgScope(r.fx.OrgB.ID), c.Key); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("B reads A's cabinet: %v", err)
		}
		for _, key := range []string{"alpha", "alpha.", "alpha.!!", models.CabinetKey("alpha", "Z-99"), models.CabinetKey("nobody", "A-07")} {
			if _, err := s.GetCabinet(ctx, models.AllOrgs(), key); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("key %q: %v", key, err)
			}
		}
		got, err := s.GetCabinet(ctx, sc, models.CabinetKey("alpha", "A-07"))
		if err != nil || got.Cabinet != "A-07" {
			t.Fatalf("get: %+v, %v", got, err)
		}
		// Readings from before the mapping and after, a day of them every
		// 5 minutes for feed A.
		mapped := *feedA.MappedSince
		start := mapped.Add(-2 * time.Hour).Truncate(time.Hour)
		var rs []models.FacilityReading
		for i := 0; i < 288; i++ {
			rs = append(rs, models.FacilityReading{MeterID: feedA.ID, At: start.Add(time.Duration(i) * 5 * time.Minute), Milli: int64(1_000_000 + i*1000)})
		}
		if err := g.CreateInBatches(rs, 100).Error; err != nil {
			t.Fatal(err)
		}
		clock.Advance(24 * time.Hour)
		to := clock.Now()
		staff, err := s.GetCabinet(ctx, models.AllOrgs(), c.Key)
		if err != nil {
			t.Fatal(err)
		}
		series := func(sc models.Scope, c *models.CabinetNow, step time.Duration) *models.CabinetSeries {
			t.Helper()
			out, err := s.CabinetSeriesOf(ctx, sc, c, start, to, step)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		hourly := series(models.AllOrgs(), staff, time.Hour)
		if len(hourly.Draw) != 24 || hourly.Draw[0].Avg() != 1_000_000+5500 {
			t.Fatalf("staff's hourly draw: %d points, first %+v", len(hourly.Draw), hourly.Draw[0])
		}
		cust := series(sc, got, time.Hour)
		if len(cust.Draw) != 22 || cust.Draw[0].Start.Before(mapped) {
			t.Errorf("customer's hourly draw: %d points from %v (mapped %v)", len(cust.Draw), cust.Draw[0].Start, mapped)
		}
		// The same from hourly rollups built up to a mark.
		var rolls []models.FacilityRollup
		var seriesA *models.MeterSeries
		for i := range hourly.Meters {
			if hourly.Meters[i].Meter.ID == feedA.ID {
				seriesA = &hourly.Meters[i]
			}
		}
		if seriesA == nil {
			t.Fatal("no series of feed A")
		}
		for _, p := range seriesA.Points {
			rolls = append(rolls, models.FacilityRollup{MeterID: feedA.ID, Period: "h", Start: p.Start, N: p.N, MinMilli: p.Min, MaxMilli: p.Max, SumMilli: p.Sum})
		}
		// The rollups say something else, so that reading them shows.
		for i := range rolls {
			rolls[i].SumMilli += int64(rolls[i].N) * 7
		}
		if err := g.Create(&rolls).Error; err != nil {
			t.Fatal(err)
		}
		if err := g.Exec("INSERT INTO facility_marks (period, built_until) VALUES (?, ?)", "h", start.Add(12*time.Hour)).Error; err != nil {
			t.Fatal(err)
		}
		again := series(models.AllOrgs(), staff, time.Hour)
		if len(again.Draw) != 24 || again.Draw[0].Avg() != hourly.Draw[0].Avg()+7 || again.Draw[12].Avg() != hourly.Draw[12].Avg() {
			t.Errorf("with rollups to the mark: %d points, first %d (was %d), 13th %d (was %d)", len(again.Draw),
				again.Draw[0].Avg(), hourly.Draw[0].Avg(), again.Draw[12].Avg(), hourly.Draw[12].Avg())
		}
		// Downloads: a customer's since the mapping only.
		count := func(sc models.Scope, c *models.CabinetNow, meter *models.FacilityMeter) (int, time.Time) {
			n, first := 0, time.Time{}
			err := s.EachCabinetReading(ctx, sc, c, meter, start, to, func(m *models.CabinetMeter, r *models.FacilityReading) error {
				if n == 0 {
					first = r.At
				}
				n++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			return n, first
		}
		if n, _ := count(models.AllOrgs(), staff, nil); n != 288 {
			t.Errorf("staff download: %d readings", n)
		}
		if n, first := count(sc, got, feedA); n >= 288 || first.Before(mapped) {
			t.Errorf("customer download: %d readings from %v, mapped %v", n, first, mapped)
		}
		if err := s.EachCabinetReading(ctx, models.OrgScope(r.fx.OrgB.ID), got, nil, start, to, nil); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("B downloads A's cabinet: %v", err)
		}
		// Alerts: an open one and one from before the mapping.
		for _, al := range []models.FacilityAlert{
			{MeterID: feedA.ID, OrgID: &a, Cabinet: "A-07", Kind: models.AlertHigh, ValueMilli: 1, PeakMilli: 1, ThresholdMilli: 1, StartedAt: to.Add(-time.Hour)},
			{MeterID: feedA.ID, OrgID: &a, Cabinet: "A-07", Kind: models.AlertLow, ValueMilli: 1, PeakMilli: 1, ThresholdMilli: 1,
				StartedAt: mapped.Add(-time.Hour), EndedAt: ptr(to.Add(-2 * time.Hour))},
		} {
			if err := g.Create(&al).Error; err != nil {
				t.Fatal(err)
			}
		}
		setLast(t, g, feedA, to.Add(-time.Minute), 1_000)
		cc, _ := s.GetCabinet(ctx, sc, c.Key)
		sf, _ := s.GetCabinet(ctx, models.AllOrgs(), c.Key)
		if len(cc.Open) != 1 || len(cc.Recent) != 0 || len(sf.Open) != 1 || len(sf.Recent) != 1 || !cc.Alerting() {
			t.Errorf("alerts: customer %d open %d recent, staff %d open %d recent", len(cc.Open), len(cc.Recent), len(sf.Open), len(sf.Recent))
		}
	})
}

// A proposal is confirmed as a power incident touching its cabinet,
// through the power incidents' own rules, or dismissed with a reason;
// either once; customers see none.
func TestCabinetProposalConfirmAndDismiss(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		g := rawDB(t, db)
		r := newCabinetRig(t, s)
		started := clock.Now().Add(-40 * time.Minute)
		ended := clock.Now().Add(-10 * time.Minute)
		one := &models.PowerProposal{Ref: "0123456789abcdef", OrgID: r.fx.OrgA.ID, Cabinet: "A-07", State: models.ProposalOpen,
			StartedAt: started, EndedAt: &ended, CreatedAt: started, UpdatedAt: started}
		two := &models.PowerProposal{Ref: "fedcba9876543210", OrgID: r.fx.OrgB.ID, Cabinet: "B-01", State: models.ProposalOpen,
			StartedAt: started, CreatedAt: started, UpdatedAt: started}
		for _, p := range []*models.PowerProposal{one, two} {
			if err := g.Create(p).Error; err != nil {
				t.Fatal(err)
			}
		}
		if l, err := s.OpenPowerProposals(ctx, models.OrgScope(r.fx.OrgA.ID)); err != nil || len(l) != 0 {
			t.Errorf("a customer lists %v, %v", l, err)
		}
		if _, err := s.GetPowerProposal(ctx, models.OrgScope(r.fx.OrgA.ID), one.Ref); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("a customer reads a proposal: %v", err)
		}
		open, err := s.OpenPowerProposals(ctx, models.AllOrgs())
		if err != nil || len(open) != 2 {
			t.Fatalf("open: %v, %v", open, err)
		}
		p, err := s.GetPowerProposal(ctx, models.AllOrgs(), one.Ref)
		if err != nil || p.OrgSlug != "alpha" {
			t.Fatalf("get: %+v, %v", p, err)
		}
		// The power incidents' rules: a cause is required.
		_, err = s.ConfirmPowerProposal(ctx, r.eng, p, models.ProposalConfirm{StartedAt: p.StartedAt, EndedAt: p.EndedAt, BothDown: true})
		wantInvalid(t, err, "cause", "error.required")
		inc, err := s.ConfirmPowerProposal(ctx, r.eng, p, models.ProposalConfirm{StartedAt: p.StartedAt, EndedAt: p.EndedAt,
			BothDown: true, Cause: "UPS B failed during the mains transfer"})
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.PowerIncidentOf(ctx, models.OrgScope(r.fx.OrgA.ID), inc.Ref)
		if err != nil || len(d.Targets) != 1 || d.Targets[0].Cabinet != "A-07" || !d.Incident.StartedAt.Equal(started) ||
			!d.Incident.CountsAgainstProvider() {
			t.Fatalf("incident as A reads it: %+v, %v", d, err)
		}
		p2, _ := s.GetPowerProposal(ctx, models.AllOrgs(), one.Ref)
		if p2.State != models.ProposalConfirmed || p2.IncidentID == nil || *p2.IncidentID != inc.ID || p2.DecidedBy == nil {
			t.Errorf("proposal after: %+v", p2.PowerProposal)
		}
		if _, err := s.ConfirmPowerProposal(ctx, r.eng, p, models.ProposalConfirm{StartedAt: p.StartedAt, BothDown: true, Cause: "again"}); err == nil {
			t.Fatal("confirmed twice")
		} else {
			wantInvalid(t, err, "proposal", "facility.error.proposal_decided")
		}
		if n := len(auditOf(t, s, models.AuditPowerRecorded)); n != 1 {
			t.Errorf("%d incidents recorded, want 1", n)
		}
		if evs := auditOf(t, s, models.AuditProposalConfirmed); len(evs) != 1 || detailOf(t, evs[0])["incident"] != inc.Number() {
			t.Errorf("confirmation audit: %v", evs)
		}
		wantInvalid(t, s.DismissPowerProposal(ctx, r.eng, two.Ref, "  "), "reason", "error.required")
		if err := s.DismissPowerProposal(ctx, r.eng, two.Ref, "PDU B firmware reported zero while rebooting"); err != nil {
			t.Fatal(err)
		}
		wantInvalid(t, s.DismissPowerProposal(ctx, r.eng, two.Ref, "again"), "proposal", "facility.error.proposal_decided")
		if evs := auditOf(t, s, models.AuditProposalDismissed); len(evs) != 1 || detailOf(t, evs[0])["reason"] == "" {
			t.Errorf("dismissal audit: %v", evs)
		}
		if open, _ := s.OpenPowerProposals(ctx, models.AllOrgs()); len(open) != 0 {
			t.Errorf("still open: %v", open)
		}
	})
}

// A contract's power is kept, changed and audited with the contract.
func TestContractPowerWatts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		r := newCabinetRig(t, s)
		admin := models.UserActor(r.fx.Admin, "10.0.0.2")
		today := s.Today()
		_, err := s.CreateContract(ctx, admin, models.ContractInput{OrgID: r.fx.OrgA.ID, ServiceType: models.ServiceFullCabinet,
			MonthlyFee: 1, SignedOn: today, StartsOn: today, PowerWatts: models.MaxContractPowerWatts + 1})
		wantInvalid(t, err, "power_watts", "contracts.error.power_watts")
		c, err := s.UpdateContract(ctx, admin, r.contractA.Ref, models.ContractInput{MonthlyFee: 800000, StartsOn: r.contractA.StartsOn,
			EndsOn: r.contractA.EndsOn, Renewal: r.contractA.Renewal, PowerWatts: 7200})
		if err != nil || c.PowerWatts != 7200 {
			t.Fatalf("updated: %+v, %v", c, err)
		}
		d := detailOf(t, auditOf(t, s, models.AuditContractUpdated)[0])
		if after := d["after"].(map[string]any); after["power_watts"] != float64(7200) {
			t.Errorf("audit detail %v", d)
		}
		cabs, err := s.ListCabinets(ctx, models.AllOrgs(), 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(cabs) != 0 {
			t.Errorf("cabinets without meters: %v", cabs)
		}
	})
}
