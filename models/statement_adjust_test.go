package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// A correction of a closed month is adjusted once: on the next open
// statement, which carries it when it is closed in turn; the month after
// adjusts only what changed since, from what the two closed statements
// gave together. The closed statements never change.
func TestAnAdjustmentIsCarriedOnceByTheNextClosedMonth(t *testing.T) {
	ledgerStore(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx, _, c := probeFixture(t, s)
		k := contract(t, s, fx.OrgA.ID, "2026-11-01", fee, "A03")
		desk, eng := models.UserActor(fx.Service, "10.0.0.2"), models.UserActor(fx.Engineer, "10.0.0.1")
		downFor(t, s, clock, c, local(t, "2026-11-20 10:00:00.000"), 65*time.Minute) // over 43.2: the fee
		o := lastOutage(t, s, fx.OrgA.ID, c)
		cause := func(to models.Cause) {
			t.Helper()
			if _, err := s.ChangeOutageCause(ctx, eng, models.CauseChange{OutageID: o.ID, Cause: to, Note: "reclassified"}); err != nil {
				t.Fatal(err)
			}
		}
		closeMonth := func(month, at string) {
			t.Helper()
			clock.Advance(local(t, at).Sub(clock.Now()))
			if _, err := s.SweepClocks(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s.CloseMonth(ctx, desk, fx.OrgA.ID, month); err != nil {
				t.Fatal(err)
			}
		}
		adjustments := func(month string) []models.CreditLine { return statement(t, s, fx.OrgA.ID, month).Adjustments }

		closeMonth("2026-11", "2026-12-02 09:00:00.000")
		nov := statement(t, s, fx.OrgA.ID, "2026-11")
		if nov.Provisional || contractOf(t, nov, k).Credit != fee {
			t.Fatalf("November closed with credit %d, provisional %v", contractOf(t, nov, k).Credit, nov.Provisional)
		}
		cause(models.CauseCustomerEquipment)
		if a := adjustments("2026-12"); len(a) != 1 || a[0].Origin != "2026-11" || a[0].Amount != -fee || a[0].Was != fee || a[0].Now != 0 ||
			len(a[0].Changes) != 1 || a[0].Changes[0].Kind != models.LineNetwork {
			t.Fatalf("December's adjustments %+v", a)
		}
		if again := statement(t, s, fx.OrgA.ID, "2026-11"); contractOf(t, again, k).Credit != fee || len(again.Adjustments) != 0 {
			t.Fatalf("the closed November changed: %+v", again)
		}
		closeMonth("2026-12", "2027-01-02 09:00:00.000")
		dec := statement(t, s, fx.OrgA.ID, "2026-12")
		if len(dec.Adjustments) != 1 || dec.Adjustments[0].Amount != -fee || len(dec.Totals) != 1 || dec.Totals[0].Credit != -fee {
			t.Fatalf("December closed with adjustments %+v, totals %+v", dec.Adjustments, dec.Totals)
		}
		if a := adjustments("2027-01"); len(a) != 0 {
			t.Fatalf("January adjusts November again: %+v", a)
		}
		cause(models.CauseUnknown) // back to the provider's: the fee again
		if a := adjustments("2027-01"); len(a) != 1 || a[0].Origin != "2026-11" || a[0].Amount != fee || a[0].Was != 0 || a[0].Now != fee {
			t.Fatalf("January's adjustments %+v", a)
		}
		if again := statement(t, s, fx.OrgA.ID, "2026-12"); len(again.Adjustments) != 1 || again.Adjustments[0].Amount != -fee {
			t.Fatalf("the closed December changed: %+v", again.Adjustments)
		}
	})
}
