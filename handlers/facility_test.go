package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// cabinetSite is organization A's cabinet A-07 with a PDU's two power
// feeds and a sensor's temperature and humidity, a day of readings, a
// contract of 6 kW, a crossing going on; B's cabinet B-01 with one meter;
// an open proposal for A-07.
type cabinetSite struct {
	pdu, sensor       *models.Switch
	feedA, feedB      *models.FacilityMeter
	temp, humid, bMtr *models.FacilityMeter
	keyA, keyB        string
	proposal          string
}

func seedCabinets(t *testing.T, s *models.Store, g *gorm.DB, fx *dbtest.Fixture, now time.Time) *cabinetSite {
	t.Helper()
	ctx := context.Background()
	eng := models.UserActor(fx.Engineer, "10.0.0.1")
	cs := &cabinetSite{keyA: models.CabinetKey(fx.OrgA.Slug, "A-07"), keyB: models.CabinetKey(fx.OrgB.Slug, "B-01")}
	for _, d := range []models.DeviceInput{{OrgID: fx.OrgA.ID, Name: "cab-web-1", Address: "192.0.2.10", Cabinet: "A-07"},
		{OrgID: fx.OrgB.ID, Name: "cab-db-1", Address: "192.0.2.20", Cabinet: "B-01"}} {
		if _, err := s.CreateDevice(ctx, eng, d); err != nil {
			t.Fatal(err)
		}
	}
	today := s.Today()
	ct, err := s.CreateContract(ctx, models.UserActor(fx.Admin, "10.0.0.2"), models.ContractInput{OrgID: fx.OrgA.ID,
		ServiceType: models.ServiceFullCabinet, MonthlyFee: 1280000, SignedOn: today, StartsOn: today, Cabinets: []string{"A-07"}, PowerWatts: 6000})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(name, kind string) *models.Switch {
		sw, err := s.CreateSwitch(ctx, eng, models.SwitchInput{Kind: kind, Name: name, Address: "127.0.0.1:1161",
			Version: models.SNMPv2c, Community: "cabinet-community", Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		return sw
	}
	cs.pdu, cs.sensor = mk("机柜 PDU A-07", models.SwitchPDU), mk("温湿度 env-a07", models.SwitchSensor)
	meter := func(sw *models.Switch, in models.MeterInput, org *int64, cabinet, high, low string, contract *int64) *models.FacilityMeter {
		m, err := s.AddFacilityMeter(ctx, eng, sw.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		if m, err = s.UpdateFacilityMeter(ctx, eng, m.ID, models.MeterChange{Label: in.Label, OrgID: org, Cabinet: cabinet,
			ContractID: contract, High: high, Low: low}); err != nil {
			t.Fatal(err)
		}
		return m
	}
	cs.feedA = meter(cs.pdu, models.MeterInput{OID: "1.3.6.1.4.1.318.1.1.26.4.3.1.5.1", Quantity: models.QuantityPower, Divisor: 1, Feed: "A", Label: "A 路 feed A"}, &fx.OrgA.ID, "A-07", "", "", &ct.ID)
	cs.feedB = meter(cs.pdu, models.MeterInput{OID: "1.3.6.1.4.1.318.1.1.26.4.3.1.5.2", Quantity: models.QuantityPower, Divisor: 1, Feed: "B", Label: "B 路 feed B"}, &fx.OrgA.ID, "A-07", "", "", &ct.ID)
	cs.temp = meter(cs.sensor, models.MeterInput{OID: "1.3.6.1.4.1.5528.100.4.1.1.1.9.1", Quantity: models.QuantityTemperature, Divisor: 10, Label: "进风 inlet"}, &fx.OrgA.ID, "A-07", "27", "18", nil)
	cs.humid = meter(cs.sensor, models.MeterInput{OID: "1.3.6.1.4.1.5528.100.4.1.2.1.9.1", Quantity: models.QuantityHumidity, Divisor: 1, Label: "湿度 humidity"}, &fx.OrgA.ID, "A-07", "60", "20", nil)
	cs.bMtr = meter(cs.pdu, models.MeterInput{OID: "1.3.6.1.4.1.318.1.1.26.4.3.1.5.9", Quantity: models.QuantityPower, Divisor: 1, Feed: "A", Label: "B-01 feed A"}, &fx.OrgB.ID, "B-01", "", "", nil)
	// The mapping happened now: readings from here on, back-dated mapping
	// so that the customer sees a day of them.
	since := now.Add(-25 * time.Hour)
	if err := g.Model(&models.FacilityMeter{}).Where("id IN ?", []int64{cs.feedA.ID, cs.feedB.ID, cs.temp.ID, cs.humid.ID, cs.bMtr.ID}).
		Update("mapped_since", since).Error; err != nil {
		t.Fatal(err)
	}
	start := now.Add(-24 * time.Hour).Truncate(5 * time.Minute)
	var rs []models.FacilityReading
	for i := 0; start.Add(time.Duration(i) * 5 * time.Minute).Before(now); i++ {
		at := start.Add(time.Duration(i) * 5 * time.Minute)
		wave := int64((i % 48) * 20_000)
		rs = append(rs,
			models.FacilityReading{MeterID: cs.feedA.ID, At: at, Milli: 1_900_000 + wave},
			models.FacilityReading{MeterID: cs.feedB.ID, At: at, Milli: 1_700_000 + wave/2},
			models.FacilityReading{MeterID: cs.temp.ID, At: at, Milli: 23_000 + int64(i%24)*250},
			models.FacilityReading{MeterID: cs.humid.ID, At: at, Milli: 41_000 + int64(i%12)*500},
			models.FacilityReading{MeterID: cs.bMtr.ID, At: at, Milli: 900_000})
	}
	if err := g.CreateInBatches(rs, 200).Error; err != nil {
		t.Fatal(err)
	}
	last := now.Add(-2 * time.Minute)
	for m, v := range map[*models.FacilityMeter]int64{cs.feedA: 2_300_000, cs.feedB: 2_100_000, cs.temp: 28_500, cs.humid: 44_000, cs.bMtr: 900_000} {
		if err := g.Model(&models.FacilityMeter{}).Where("id = ?", m.ID).Updates(map[string]any{"last_at": last, "last_milli": v}).Error; err != nil {
			t.Fatal(err)
		}
	}
	// The inlet is past its high threshold since half an hour.
	if err := g.Model(&models.FacilityMeter{}).Where("id = ?", cs.temp.ID).Updates(map[string]any{"alert_state": models.AlertHigh,
		"alert_since": now.Add(-30 * time.Minute)}).Error; err != nil {
		t.Fatal(err)
	}
	if err := g.Create(&models.FacilityAlert{MeterID: cs.temp.ID, OrgID: &fx.OrgA.ID, Cabinet: "A-07", Kind: models.AlertHigh,
		ValueMilli: 27_500, PeakMilli: 28_500, ThresholdMilli: 27_000, StartedAt: now.Add(-30 * time.Minute)}).Error; err != nil {
		t.Fatal(err)
	}
	ended := now.Add(-3 * time.Hour)
	p := &models.PowerProposal{Ref: "a07a07a07a07a07a", OrgID: fx.OrgA.ID, Cabinet: "A-07", State: models.ProposalOpen,
		StartedAt: now.Add(-4 * time.Hour), EndedAt: &ended, CreatedAt: now, UpdatedAt: now}
	if err := g.Create(p).Error; err != nil {
		t.Fatal(err)
	}
	cs.proposal = p.Ref
	return cs
}

// Customers see their own cabinets, another organization's cabinet and
// meter are not found; reception reads every cabinet and no meter form;
// customers and reception cannot touch meters.
func TestCabinetPagesTenancyAndRoles(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		cs := seedCabinets(t, e.store, trafficDB(t, e.db), e.fx, e.clock.Now())
		a, b := e.as(t, e.fx.CustA), e.as(t, e.fx.CustB)
		r := a.get("/cabinets")
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, zh("facility.cabinet_name", "A-07"), "4.4 kW", zh("facility.of_contracted", "6 kW"), "73%", "28.5 °C", "44 %",
			zh("facility.alerting"))
		wantNoBody(t, r, "B-01")
		r = a.get("/cabinets/" + cs.keyA)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, "<svg", "f-contract", "f-high", "进风 inlet", "readings.csv")
		r = a.get("/cabinets/" + cs.keyA + "?range=year")
		wantStatus(t, r, http.StatusOK)
		// The charts' titles and legends speak the reader's language, not
		// the default one (they were Chinese on English pages).
		if err := e.store.SetLocale(context.Background(), e.fx.CustA.ID, "en"); err != nil {
			t.Fatal(err)
		}
		en := e.as(t, e.fx.CustA)
		en.cookies["portal_lang"] = "en"
		r = en.get("/cabinets/" + cs.keyA)
		wantBody(t, r, tr("en", "facility.chart_draw", tr("en", "facility.quantity.power"), tr("en", "traffic.range.day")), tr("en", "facility.total"))
		wantNoBody(t, r, zh("traffic.range.day"))
		if err := e.store.SetLocale(context.Background(), e.fx.CustA.ID, "zh-CN"); err != nil {
			t.Fatal(err)
		}
		csv := a.get("/cabinets/" + cs.keyA + "/readings.csv?meter=" + cs.temp.Ref)
		wantStatus(t, csv, http.StatusOK)
		if lines := strings.Count(csv.Body, "\n"); lines < 200 || !strings.Contains(csv.Body, "temperature") || strings.Contains(csv.Body, "power") {
			t.Errorf("temperature CSV: %d lines\n%s", lines, clip(csv.Body))
		}
		for _, path := range []string{"/cabinets/" + cs.keyA, "/cabinets/" + cs.keyA + "/readings.csv",
			"/cabinets/" + models.CabinetKey(e.fx.OrgB.Slug, "A-07")} {
			wantStatus(t, b.get(path), http.StatusNotFound)
		}
		// A's download of B's meter, and of a meter of another cabinet.
		wantStatus(t, a.get("/cabinets/"+cs.keyA+"/readings.csv?meter="+cs.bMtr.Ref), http.StatusNotFound)
		wantStatus(t, b.get("/cabinets/"+cs.keyB+"/readings.csv?meter="+cs.feedA.Ref), http.StatusNotFound)
		wantStatus(t, b.get("/cabinets/"+cs.keyB), http.StatusOK)
		wantStatus(t, a.get("/cabinets/not-a-key"), http.StatusNotFound)
		// The customer's home says the cabinet is past a threshold.
		r = a.get("/")
		wantBody(t, r, zh("facility.home_title"), "/cabinets/"+cs.keyA)
		wantNoBody(t, b.get("/"), zh("facility.home_title"))

		meterPage := "/network/" + ids(cs.pdu.ID) + "/meters/" + cs.feedA.Ref
		for _, c := range []*client{a, e.as(t, e.fx.Reception)} {
			wantStatus(t, c.get(meterPage), http.StatusForbidden)
		}
		rc := e.as(t, e.fx.Reception)
		r = rc.get("/cabinets")
		wantBody(t, r, "A-07", "B-01")
		r = rc.get("/cabinets?org=" + ids(e.fx.OrgB.ID))
		wantBody(t, r, "B-01")
		wantNoBody(t, r, ">"+zh("facility.cabinet_name", "A-07")+"<")
		r = rc.get("/network/" + ids(cs.pdu.ID))
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, "1.3.6.1.4.1.318.1.1.26.4.3.1.5.1", "A 路 feed A")
		wantNoBody(t, r, `action="/network/`+ids(cs.pdu.ID)+`/meters"`, `id="discover"`)
		form := url.Values{"oid": {"1.3.6.1.4.1.1.1"}, "quantity": {"power"}, "divisor": {"1"}, "feed": {"A"}}
		wantStatus(t, rc.submit("/cabinets", "/network/"+ids(cs.pdu.ID)+"/meters", form), http.StatusForbidden)
		wantStatus(t, a.submit("/cabinets", "/network/"+ids(cs.pdu.ID)+"/meters", form), http.StatusForbidden)
		wantStatus(t, a.get("/power/proposals/"+cs.proposal), http.StatusForbidden)
		if rows, _ := e.store.ListFacilityMeters(context.Background(), models.AllOrgs(), cs.pdu.ID); len(rows) != 3 {
			t.Errorf("the PDU has %d meters after refused posts", len(rows))
		}
	})
}

// Bad input on the meter forms is answered with the form again, every
// problem translated next to its field and what was typed kept; a post
// without the CSRF token changes nothing; a network device's discovery is
// not a PDU's.
func TestMeterFormsBadInputAndCSRF(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		cs := seedCabinets(t, e.store, trafficDB(t, e.db), e.fx, e.clock.Now())
		eng := e.as(t, e.fx.Engineer)
		page := "/network/" + ids(cs.pdu.ID)
		r := eng.get(page)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, zh("facility.add_meter"), `name="_once"`)
		bad := url.Values{"oid": {"1.3.x"}, "quantity": {"power"}, "divisor": {"7"}, "feed": {""}, "label": {"后面板 rear"}}
		r = eng.submit(page, page+"/meters", bad)
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("facility.error.oid"), zh("facility.error.divisor"), zh("facility.error.feed"), `value="1.3.x"`, `value="后面板 rear"`)
		wantStatus(t, eng.post(page+"/meters", url.Values{"oid": {"1.3.6.1.4.1.99"}, "quantity": {"power"}, "divisor": {"1"}, "feed": {"B"}}),
			http.StatusForbidden)
		good := url.Values{"oid": {".1.3.6.1.4.1.318.1.1.26.6.3.1.5.1"}, "quantity": {"current"}, "divisor": {"10"}, "feed": {"B"}, "label": {"后面板 rear"}}
		wantRedirect(t, eng.submit(page, page+"/meters", good), page+"#meters")
		r = eng.get(page)
		wantBody(t, r, "1.3.6.1.4.1.318.1.1.26.6.3.1.5.1", "后面板 rear")
		// The mapping form: a threshold that does not read, a cabinet of
		// another organization.
		mp := "/network/" + ids(cs.pdu.ID) + "/meters/" + cs.feedA.Ref
		r = eng.get(mp)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, `<option value="A-07" selected`)
		r = eng.submit(mp, mp, url.Values{"org": {ids(e.fx.OrgA.ID)}, "cabinet": {"B-01"}, "high": {"4,5 kW"}, "low": {""}, "label": {"A 路 feed A"}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("facility.error.threshold"), zh("facility.error.cabinet_unknown", e.fx.OrgA.Name), `value="4,5 kW"`)
		r = eng.submit(mp, mp, url.Values{"org": {ids(e.fx.OrgA.ID)}, "cabinet": {"a-07"}, "high": {"5500"}, "low": {""}, "label": {"A 路 feed A"}})
		wantRedirect(t, r, page+"#meters")
		m, err := e.store.GetFacilityMeter(context.Background(), models.AllOrgs(), cs.feedA.Ref)
		if err != nil || m.HighMilli == nil || *m.HighMilli != 5_500_000 || m.Cabinet != "A-07" {
			t.Fatalf("after saving: %+v, %v", m, err)
		}
		// A meter of another device through this one is not found.
		wantStatus(t, eng.get("/network/"+ids(cs.sensor.ID)+"/meters/"+cs.feedA.Ref), http.StatusNotFound)
		wantStatus(t, eng.submit(page, page+"/discover", nil), http.StatusNotFound)
		// Removal asks first, then removes.
		r = eng.submit(mp, mp+"/delete", nil)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, zh("facility.remove_meter_confirm", "A 路 feed A"))
		wantRedirect(t, eng.submit(mp, mp+"/delete", url.Values{"confirmed": {"1"}}), page+"#meters")
		wantStatus(t, eng.get(mp), http.StatusNotFound)
	})
}

// On /power staff see the proposals; an engineer confirms one through
// the form prefilled with its cabinet and times (a missing cause is
// answered translated, the form kept), or dismisses one with a reason.
func TestProposalPages(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		cs := seedCabinets(t, e.store, trafficDB(t, e.db), e.fx, e.clock.Now())
		eng := e.as(t, e.fx.Engineer)
		r := eng.get("/power")
		wantBody(t, r, zh("facility.proposals"), "/power/proposals/"+cs.proposal)
		wantNoBody(t, e.as(t, e.fx.CustA).get("/power"), zh("facility.proposals"))
		rc := e.as(t, e.fx.Reception).get("/power")
		wantBody(t, rc, zh("facility.proposals"))
		wantNoBody(t, rc, "/power/proposals/"+cs.proposal)
		// The engineer's home lists it as work waiting on them; the
		// other roles' homes do not.
		wantBody(t, eng.get("/"), `id="proposals"`, "/power/proposals/"+cs.proposal)
		wantNoBody(t, e.as(t, e.fx.Reception).get("/"), `id="proposals"`)
		wantNoBody(t, e.as(t, e.fx.CustA).get("/"), `id="proposals"`)
		page := "/power/proposals/" + cs.proposal
		r = eng.get(page)
		wantStatus(t, r, http.StatusOK)
		started := e.clock.Now().Add(-4 * time.Hour).In(e.store.Zone()).Format("2006-01-02T15:04")
		wantBody(t, r, `value="`+started+`"`, zh("facility.confirm_target", e.fx.OrgA.Name, "A-07"))
		wantBody(t, r, `href="/cabinets/`+cs.keyA+`?range=week" id="proposal-cabinet"`)
		form := url.Values{"started_at": {started}, "ended_at": {e.clock.Now().Add(-3 * time.Hour).In(e.store.Zone()).Format("2006-01-02T15:04")},
			"both_down": {"yes"}, "cause": {""}, "note": {"夜班确认 night shift"}}
		r = eng.submit(page, page+"/confirm", form)
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("error.required"), "夜班确认 night shift")
		form.Set("cause", "UPS B 切换失败 UPS B failed to take over")
		r = eng.submit(page, page+"/confirm", form)
		wantStatus(t, r, http.StatusSeeOther)
		inc := r.Header.Get("Location")
		if !strings.HasPrefix(inc, "/power/") {
			t.Fatalf("confirmed to %q", inc)
		}
		r = e.as(t, e.fx.CustA).get(inc)
		wantStatus(t, r, http.StatusOK)
		// The incident's cabinet links to its readings.
		wantBody(t, r, "A-07", `href="/cabinets/`+url.PathEscape(cs.keyA)+`"`)
		wantStatus(t, e.as(t, e.fx.CustB).get(inc), http.StatusNotFound)
		r = eng.submit(page, page+"/dismiss", url.Values{"reason": {"again"}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("facility.error.proposal_decided"))
		wantNoBody(t, eng.get("/power"), "/power/proposals/"+cs.proposal)
	})
}
