package models_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// The statement benchmarks of docs/benchmarks.md ("The ledger"):
//
//	go test ./models -run '^$' -bench 'Statement|ProviderMonth' -benchtime 5x
//
// with PORTAL_TEST_MYSQL_DSN set for MySQL too. A month of 100
// organizations, each with 10 devices in two cabinets under two contracts
// and 20 outages (one of them split by a cause span), and one power
// incident touching every organization.

const (
	benchOrgs    = 100
	benchDevices = 10
	benchOutages = 20
)

func ledgerBenchStore(b *testing.B, db dbtest.DB) (*models.Store, []int64) {
	b.Helper()
	ctx := context.Background()
	clock := dbtest.NewClock() // 2 November 2026
	s := dbtest.Open(b, db, models.WithClock(clock.Now), models.WithZone(shanghai))
	sys := models.SystemActor("bench")
	var orgs []int64
	var targets []models.PowerTarget
	for i := range benchOrgs {
		o, err := s.CreateOrg(ctx, sys, models.OrgInput{Slug: fmt.Sprintf("org-%03d", i), Name: fmt.Sprintf("Org %03d", i)})
		if err != nil {
			b.Fatal(err)
		}
		orgs = append(orgs, o.ID)
		targets = append(targets, models.PowerTarget{OrgID: o.ID})
		var checks []models.Check
		for d := range benchDevices {
			dev, err := s.CreateDevice(ctx, sys, models.DeviceInput{OrgID: o.ID, Name: fmt.Sprintf("dev-%d", d),
				Address: fmt.Sprintf("10.%d.%d.%d", i/250, i%250, d+1), Cabinet: fmt.Sprintf("R%d-%d", i, d%2)})
			if err != nil {
				b.Fatal(err)
			}
			cs, err := s.ListChecks(ctx, models.AllOrgs(), o.ID, dev.ID)
			if err != nil {
				b.Fatal(err)
			}
			checks = append(checks, cs[0])
		}
		for c := range 2 {
			k := &models.Contract{OrgID: o.ID, NumberYear: 2026, NumberSeq: c + 1, ServiceType: models.ServiceColocation, MonthlyFee: 1000000,
				SignedOn: "2026-11-01", StartsOn: "2026-11-01", EndsOn: "2027-10-31"}
			if err := models.InsertContract(ctx, s, k, []string{fmt.Sprintf("R%d-%d", i, c)}, nil); err != nil {
				b.Fatal(err)
			}
		}
		var rs []models.ProbeResult
		for n := range benchOutages {
			c := checks[n%len(checks)]
			at := time.Date(2026, 11, 3+n, 2, 0, 0, 0, time.UTC)
			rs = append(rs, models.ProbeResult{CheckID: c.ID, At: at, Reason: models.ReasonTimeout},
				models.ProbeResult{CheckID: c.ID, At: at.Add(5 * time.Minute), Reason: models.ReasonTimeout},
				models.ProbeResult{CheckID: c.ID, At: at.Add(time.Duration(10+n) * time.Minute), OK: true, RTTus: 100})
		}
		clock.Advance(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC).Sub(clock.Now()))
		for _, r := range rs {
			if _, err := s.RecordResults(ctx, []models.ProbeResult{r}); err != nil {
				b.Fatal(err)
			}
		}
		clock.Advance(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC).Sub(clock.Now()))
	}
	end := time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC)
	if err := models.InsertPowerIncident(ctx, s, &models.PowerIncident{NumberYear: 2026, NumberSeq: 1, StartedAt: end.Add(-30 * time.Minute),
		EndedAt: &end, BothDown: true, Cause: "bench"}, targets); err != nil {
		b.Fatal(err)
	}
	clock.Advance(40 * 24 * time.Hour)
	return s, orgs
}

func BenchmarkStatement(b *testing.B) {
	for _, db := range dbtest.Databases(b) {
		b.Run(db.Name, func(b *testing.B) {
			s, orgs := ledgerBenchStore(b, db)
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				st, err := s.Statement(ctx, models.AllOrgs(), orgs[i%len(orgs)], "2026-11")
				if err != nil || len(st.Contracts) != 2 {
					b.Fatalf("statement: %v, %d contracts", err, len(st.Contracts))
				}
			}
		})
	}
}

func BenchmarkProviderMonth(b *testing.B) {
	for _, db := range dbtest.Databases(b) {
		b.Run(db.Name, func(b *testing.B) {
			s, _ := ledgerBenchStore(b, db)
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				rows, err := s.ProviderMonth(ctx, models.AllOrgs(), "2026-11")
				if err != nil || len(rows) != benchOrgs {
					b.Fatalf("provider month: %v, %d rows", err, len(rows))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/month")
		})
	}
}
