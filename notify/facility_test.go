package notify

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// A temperature crossing its threshold over several polls is emailed
// once to each contact of the organization with an email channel and to
// its engineer, each in their language, with the meter, cabinet, value,
// threshold and time; a contact without an email channel gets nothing.
// Both feeds of a cabinet at zero are emailed once to the organization's
// engineer; Bravo, without an engineer of its own, to every engineer.
func TestFacilityEmails(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			s := openStore(t, db, clock)
			fx := dbtest.Seed(t, s)
			sys := models.SystemActor("test")
			if err := s.SetLocale(ctx, fx.Engineer.ID, "en"); err != nil {
				t.Fatal(err)
			}
			eng2, err := s.CreateUser(ctx, sys, models.UserInput{Email: "eng2@idc.test", Name: "王工", Role: models.RoleEngineer,
				Password: dbtest.Password})
			if err != nil {
				t.Fatal(err)
			}
			w := &world{store: s, fx: fx, org: fx.OrgA}
			ann := w.contact(t, models.ContactInput{Name: "Ann Ops", Email: "ann@alpha.test", Channels: []models.Channel{models.ChannelEmail},
				Locale: "en", Mobile: "+8613800138001"})
			w.contact(t, models.ContactInput{Name: "张三", Email: "zhang@alpha.test", Channels: []models.Channel{models.ChannelEmail},
				Locale: "zh-CN", Mobile: "+8613800138002"})
			w.contact(t, models.ContactInput{Name: "Phone Only", Email: "phone@alpha.test", Channels: []models.Channel{models.ChannelMobile},
				Mobile: "+8613800138003"})

			gdb, _, err := models.Open(ctx, models.OpenOptions{URL: db.URL})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if d, err := gdb.DB(); err == nil {
					d.Close()
				}
			})
			device := func(name, kind string) models.Switch {
				sw := models.Switch{Name: name, Kind: kind, Address: "127.0.0.1", Version: models.SNMPv2c, IntervalSec: 300, TimeoutMs: 1000,
					MaxOIDs: 10, Enabled: true, LeaseUntil: clock.Now()}
				if err := gdb.Create(&sw).Error; err != nil {
					t.Fatal(err)
				}
				return sw
			}
			n := 0
			meter := func(sw models.Switch, m models.FacilityMeter) models.FacilityMeter {
				n++
				m.SwitchID, m.Ref, m.OID, m.Divisor = sw.ID, "meter"+string(rune('a'+n)), "1.3.6.1.4.1.99999.1."+string(rune('0'+n)), 1
				if err := gdb.Create(&m).Error; err != nil {
					t.Fatal(err)
				}
				return m
			}
			env, pdu := device("env-1", models.SwitchSensor), device("pdu-1", models.SwitchPDU)
			high := int64(30_000)
			temp := meter(env, models.FacilityMeter{Quantity: models.QuantityTemperature, Label: "Inlet", OrgID: &fx.OrgA.ID, Cabinet: "A-01",
				HighMilli: &high})
			bA := meter(pdu, models.FacilityMeter{Quantity: models.QuantityPower, Feed: models.FeedA, Label: "A", OrgID: &fx.OrgB.ID, Cabinet: "B-07"})
			bB := meter(pdu, models.FacilityMeter{Quantity: models.QuantityPower, Feed: models.FeedB, Label: "B", OrgID: &fx.OrgB.ID, Cabinet: "B-07"})
			aA := meter(pdu, models.FacilityMeter{Quantity: models.QuantityPower, Feed: models.FeedA, Label: "A", OrgID: &fx.OrgA.ID, Cabinet: "A-01"})
			aB := meter(pdu, models.FacilityMeter{Quantity: models.QuantityPower, Feed: models.FeedB, Label: "B", OrgID: &fx.OrgA.ID, Cabinet: "A-01"})

			slot := clock.Now().Truncate(5 * time.Minute)
			for i, v := range []int64{31_250, 32_000, 33_500} {
				at := slot.Add(time.Duration(i) * 5 * time.Minute)
				if _, err := s.RecordFacilityPoll(ctx, models.FacilityPoll{SwitchID: env.ID, At: at,
					Values: []models.FacilityValue{{MeterID: temp.ID, Milli: v}}}); err != nil {
					t.Fatal(err)
				}
				if _, err := s.RecordFacilityPoll(ctx, models.FacilityPoll{SwitchID: pdu.ID, At: at, Values: []models.FacilityValue{
					{MeterID: bA.ID, Milli: 0}, {MeterID: bB.ID, Milli: 0}, {MeterID: aA.ID, Milli: 0}, {MeterID: aB.ID, Milli: 0}}}); err != nil {
					t.Fatal(err)
				}
			}

			sink := startSMTP(t, ModeNone, nil, "", "")
			r := startDispatchers(t, clock, newDispatcher(t, s, clock, "portal-a", sink.port(t), ""))
			// Alpha's crossing: Ann, 张三 and Alpha's engineer; Alpha's
			// proposal: its engineer; Bravo's: both engineers.
			r.until(time.Minute, "the meters' emails", func() bool {
				return len(eventMails(t, sink, models.EventFacilityThreshold)) == 3 && len(eventMails(t, sink, models.EventPowerProposed)) == 3
			})
			r.step(time.Minute)
			if got := len(sink.all()); got != 6 {
				t.Fatalf("%d emails, want 6", got)
			}
			ms := mailsTo(t, sink, models.EventFacilityThreshold, ann.Email)
			if len(ms) != 1 {
				t.Fatalf("%d threshold emails to Ann, want 1", len(ms))
			}
			m := ms[0]
			if want := "[" + fx.OrgA.Name + "] Cabinet A-01: Inlet above 30 °C"; m.Subject != want || m.Header.Get("Content-Language") != "en" {
				t.Errorf("subject %q (%s), want %q in English", m.Subject, m.Header.Get("Content-Language"), want)
			}
			when := slot.In(shanghai(t)).Format("2006-01-02 15:04")
			for _, want := range []string{"Dear Ann Ops,", "The Inlet meter of cabinet A-01 read 31.25 °C at " + when,
				"threshold of 30 °C", "temperature, by env-1", "https://portal.example/cabinets/" + models.CabinetKey(fx.OrgA.Slug, "A-01"),
				"a contact of " + fx.OrgA.Name} {
				if !strings.Contains(m.Body, want) {
					t.Errorf("Ann's email lacks %q:\n%s", want, m.Body)
				}
			}
			if zh := mailsTo(t, sink, models.EventFacilityThreshold, "zhang@alpha.test"); len(zh) != 1 ||
				zh[0].Header.Get("Content-Language") != "zh-CN" || !strings.Contains(zh[0].Body, "高于阈值 30 °C") {
				t.Errorf("张三's email %+v", zh)
			}
			if e := mailsTo(t, sink, models.EventFacilityThreshold, fx.Engineer.Email); len(e) != 1 ||
				!strings.Contains(e[0].Body, "the engineer of "+fx.OrgA.Name) {
				t.Errorf("the engineer's threshold email %+v", e)
			}
			if p := mailsTo(t, sink, models.EventFacilityThreshold, "phone@alpha.test"); len(p) != 0 {
				t.Errorf("a contact without an email channel got %d emails", len(p))
			}
			mine := mailsTo(t, sink, models.EventPowerProposed, fx.Engineer.Email)
			if len(mine) != 2 {
				t.Fatalf("%d proposal emails to Alpha's engineer, want Alpha's and Bravo's", len(mine))
			}
			for _, m := range mine {
				if !strings.Contains(m.Body, "read zero on both feeds A and B from "+when) || !strings.Contains(m.Body, "https://portal.example/power") {
					t.Errorf("proposal email lacks the start or the link:\n%s", m.Body)
				}
			}
			other := mailsTo(t, sink, models.EventPowerProposed, eng2.Email)
			if len(other) != 1 || !strings.Contains(other[0].Subject, fx.OrgB.Name) || other[0].Header.Get("Content-Language") != "zh-CN" {
				t.Errorf("the other engineer's proposal emails %+v, want Bravo's only, in Chinese", other)
			}
		})
	}
}
