package models_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// BenchmarkRecordFacilityPoll stores one poll of a PDU a loop: 48 meters
// (power and current on feeds A and B of 12 cabinets, each with a high
// threshold never crossed), so each poll also applies the dual-feed rule
// to 12 cabinets. "zero" polls both feeds of every cabinet at zero after
// a proposal is open for each (the rule's reads, no new row). Reproduce:
//
//	PORTAL_TEST_MYSQL_DSN=mysql://root@127.0.0.1:3306/bench \
//	  go test ./models -run '^$' -bench RecordFacilityPoll -benchtime 2s
func BenchmarkRecordFacilityPoll(b *testing.B) {
	for _, mode := range []string{"power", "zero"} {
		for i := range dbtest.Databases(b) {
			b.Run(mode+"/"+dbtest.Databases(b)[i].Name, func(b *testing.B) {
				db := dbtest.Databases(b)[i]
				ctx := context.Background()
				clock := dbtest.NewClock()
				s := dbtest.Open(b, db, models.WithClock(clock.Now))
				fx := dbtest.Seed(b, s)
				var ids []int64
				var sw int64
				for c := range 12 {
					for _, feed := range []string{models.FeedA, models.FeedB} {
						for i, q := range []string{models.QuantityPower, models.QuantityCurrent} {
							high := int64(5_000_000)
							m, err := models.AddTestFacilityMeter(ctx, s, "pdu-1", models.SwitchPDU, 300, models.FacilityMeter{
								Quantity: q, OID: fmt.Sprintf("1.3.6.1.4.1.99999.%d.%s.%d", c, feed, i), Feed: feed,
								Label: feed, OrgID: &fx.OrgA.ID, Cabinet: fmt.Sprintf("A-%02d", c), HighMilli: &high})
							if err != nil {
								b.Fatal(err)
							}
							ids, sw = append(ids, m.ID), m.SwitchID
						}
					}
				}
				value := int64(1_200_000)
				if mode == "zero" {
					value = 0
				}
				at := clock.Now().Truncate(5 * time.Minute)
				poll := func() {
					p := models.FacilityPoll{SwitchID: sw, At: at}
					for _, id := range ids {
						p.Values = append(p.Values, models.FacilityValue{MeterID: id, Milli: value})
					}
					if _, err := s.RecordFacilityPoll(ctx, p); err != nil {
						b.Fatal(err)
					}
					at = at.Add(5 * time.Minute)
					clock.Advance(5 * time.Minute)
				}
				poll() // the proposals of "zero" open here
				for b.Loop() {
					poll()
				}
			})
		}
	}
}
