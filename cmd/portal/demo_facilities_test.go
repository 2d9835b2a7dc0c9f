package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	"github.com/colo-portal/portal/prober"
	"gorm.io/gorm"
)

// The demo's PDU and sensor on Aurora's cabinet A03: six meters mapped
// since before their 30 days of readings, hourly and daily rollups built,
// one past temperature alert (ended) and one power proposal awaiting
// staff, each emailed once; loaded again, nothing more. Their live agents
// answer the meters' OIDs with values like the past's.
func TestDemoFacilities(t *testing.T) {
	ctx := context.Background()
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			store := dbtest.Open(t, db)
			free, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			listen := "127.0.0.1:" + strconv.Itoa(free.LocalAddr().(*net.UDPAddr).Port-5)
			free.Close()
			for range 2 {
				if err := loadDemo(ctx, store, listen, demoBlobs(t), io.Discard); err != nil {
					t.Fatal(err)
				}
			}
			raw := rawDemoDB(t, db)
			var devs []models.Switch
			if err := raw.Where("kind <> ?", models.SwitchNetwork).Order("name").Find(&devs).Error; err != nil {
				t.Fatal(err)
			}
			if len(devs) != 2 || devs[0].Name != "env-a03" || devs[0].Kind != models.SwitchSensor || devs[1].Kind != models.SwitchPDU {
				t.Fatalf("demo facility devices %+v", devs)
			}
			var meters []models.FacilityMeter
			if err := raw.Order("id").Find(&meters).Error; err != nil {
				t.Fatal(err)
			}
			aurora, err := store.GetOrgBySlug(ctx, "aurora")
			if err != nil {
				t.Fatal(err)
			}
			first := store.Now().AddDate(0, 0, -demoFacilityDays).Add(-time.Hour)
			if len(meters) != 6 {
				t.Fatalf("%d demo meters, want 6", len(meters))
			}
			for _, m := range meters {
				if m.OrgID == nil || *m.OrgID != aurora.ID || m.Cabinet != demoCabinet || m.MappedSince == nil || m.MappedSince.After(first) ||
					m.HighMilli == nil || m.LastMilli == nil {
					t.Errorf("meter %s: %+v, want Aurora's A03 since before the readings, a high threshold, a last value", m.Label, m)
				}
				var n int64
				raw.Model(&models.FacilityReading{}).Where("meter_id = ?", m.ID).Count(&n)
				if n < demoFacilityDays*288 || n > demoFacilityDays*288+2 {
					t.Errorf("meter %s: %d readings, want 30 days of 5-minute readings", m.Label, n)
				}
				for _, period := range []string{"h", "d"} {
					raw.Model(&models.FacilityRollup{}).Where("meter_id = ? AND period = ?", m.ID, period).Count(&n)
					if n < 29 {
						t.Errorf("meter %s: %d %s rollups", m.Label, n, period)
					}
				}
			}
			// The PDU draws the power of Aurora's colocation contract: the
			// cabinet's page shows its share of the 4 kW.
			cab, err := store.GetCabinet(ctx, models.OrgScope(aurora.ID), models.CabinetKey(aurora.Slug, demoCabinet))
			if err != nil || cab.ContractedW != 4000 || len(cab.Contracts) != 1 {
				t.Errorf("cabinet %s: %+v, %v; want the colocation contract's 4000 W", demoCabinet, cab, err)
			}
			var alerts []models.FacilityAlert
			raw.Find(&alerts)
			if len(alerts) != 1 || alerts[0].Kind != models.AlertHigh || alerts[0].EndedAt == nil || alerts[0].PeakMilli != 30_300 {
				t.Errorf("demo alerts %+v, want one ended high temperature peaking at 30.3 °C", alerts)
			}
			var ps []models.PowerProposal
			raw.Find(&ps)
			if len(ps) != 1 || ps[0].State != models.ProposalOpen || ps[0].Cabinet != demoCabinet || ps[0].EndedAt == nil ||
				ps[0].EndedAt.Sub(ps[0].StartedAt) != 15*time.Minute {
				t.Errorf("demo proposals %+v, want one of 15 minutes awaiting staff", ps)
			}
			for _, kind := range []string{models.EventFacilityThreshold, models.EventPowerProposed} {
				var n int64
				raw.Model(&models.OutboxEvent{}).Where("kind = ?", kind).Count(&n)
				if n != 1 {
					t.Errorf("%d %s events, want 1", n, kind)
				}
			}

			actx, cancel := context.WithCancel(ctx)
			defer cancel()
			startDemoFacilities(actx, store, listen, slog.New(slog.NewTextHandler(io.Discard, nil)))
			for _, d := range devs {
				creds, err := store.SwitchCredentials(ctx, d.ID)
				if err != nil {
					t.Fatal(err)
				}
				var oids []string
				for _, m := range meters {
					if m.SwitchID == d.ID {
						oids = append(oids, m.OID)
					}
				}
				got, err := prober.SNMPReadMeters(ctx, creds, oids)
				if err != nil || len(got) != len(oids) {
					t.Errorf("%s's agent: %v, %v; want every meter", d.Name, got, err)
				}
				for _, m := range meters {
					if v, ok := got[m.OID]; ok && (models.MeterMilli(v, m.Divisor) <= 0 || m.HighMilli != nil && models.MeterMilli(v, m.Divisor) > *m.HighMilli) {
						t.Errorf("%s live: %d (÷%d), want a reading inside its threshold", m.Label, v, m.Divisor)
					}
				}
			}
		})
	}
}

// rawDemoDB is a plain connection to db, for the rows the pages read.
func rawDemoDB(t *testing.T, db dbtest.DB) *gorm.DB {
	t.Helper()
	g, _, err := models.Open(context.Background(), models.OpenOptions{URL: db.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s, err := g.DB(); err == nil {
			s.Close()
		}
	})
	return g
}
