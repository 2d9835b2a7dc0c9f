package models_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	"github.com/colo-portal/portal/models/passtoken"
)

// standingInput is a valid entry for organization A (cabinet A03) from
// today (2026-11-02 in the test clock) to the end of the month.
func standingInput() models.StandingInput {
	return models.StandingInput{Name: "王芳", Company: "阿尔法科技", IDType: models.IDResident, IDNumber: residentA,
		Phone: "13812345678", Cabinets: []string{"A03"}, ValidFrom: "2026-11-02", ValidTo: "2026-11-30", Locale: "zh-CN"}
}

// invalid maps each field of err's validation errors to its error.
func invalid(err error) map[string]*models.ValidationError {
	out := map[string]*models.ValidationError{}
	for _, v := range models.Validations(err) {
		out[v.Field] = v
	}
	return out
}

// key is field's message key in err, "" if none.
func key(err error, field string) string {
	if v := invalid(err)[field]; v != nil {
		return v.Key
	}
	return ""
}

func auditCount(t *testing.T, db dbtest.DB, action string) int64 {
	t.Helper()
	var n int64
	if err := rawDB(t, db).Table("audit_events").Where("action = ?", action).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestStandingAccessListRules(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		f := newVisitFixture(t, s, clock)
		ctx := context.Background()
		scA := models.ScopeOf(f.fx.CustA)
		a, err := s.CreateStanding(ctx, f.customer, scA, f.fx.OrgA.ID, standingInput())
		if err != nil {
			t.Fatal(err)
		}
		// Sealed at rest, masked in reads.
		var row struct{ IDSealed, IDMasked, PhoneSealed string }
		if err := rawDB(t, db).Table("standing_access").Select("id_sealed, id_masked, phone_sealed").Where("id = ?", a.ID).Scan(&row).Error; err != nil {
			t.Fatal(err)
		}
		if row.IDSealed == "" || strings.Contains(row.IDSealed, residentA) || row.IDMasked != models.MaskID(residentA) || row.PhoneSealed == "" {
			t.Fatalf("stored %+v: want the number sealed and masked", row)
		}
		if n := auditCount(t, db, models.AuditStandingAdded); n != 1 {
			t.Fatalf("added audit records: %d", n)
		}
		// Another organization does not see it.
		if _, err := s.GetStanding(ctx, models.ScopeOf(f.fx.CustB), a.Ref); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("other organization reads it: %v", err)
		}
		if err := s.UpdateStanding(ctx, models.UserActor(f.fx.CustB, "x"), models.ScopeOf(f.fx.CustB), a.Ref, standingInput()); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("other organization changes it: %v", err)
		}
		// Reception sees the number, a page for everyone else the mask.
		v, err := s.StandingViewOf(ctx, models.AllOrgs(), a, true)
		if err != nil || v.ID != residentA || v.Phone != "13812345678" || len(v.Cabinets) != 1 || v.Status != models.StandingActive {
			t.Fatalf("revealed view %+v, %v", v, err)
		}
		if v, err = s.StandingViewOf(ctx, scA, a, false); err != nil || v.ID != models.MaskID(residentA) {
			t.Fatalf("masked view %+v, %v", v, err)
		}

		// Bad input: every problem at once, nothing stored.
		bad := standingInput()
		bad.Name, bad.IDNumber, bad.Cabinets, bad.ValidFrom, bad.ValidTo, bad.Phone = "", "110101199003071234", []string{"B07"}, "2026-11-01", "2027-12-01", "abc"
		_, err = s.CreateStanding(ctx, f.customer, scA, f.fx.OrgA.ID, bad)
		for _, field := range []string{"name", "id_number", "valid_from", "valid_to", "phone"} {
			if key(err, field) == "" {
				t.Errorf("no error on %s: %v", field, err)
			}
		}
		bad = standingInput()
		bad.Cabinets = []string{"B07"} // organization B's cabinet
		if _, err = s.CreateStanding(ctx, f.customer, scA, f.fx.OrgA.ID, bad); key(err, "cabinets") != "visits.error.cabinet_unknown" {
			t.Fatalf("another organization's cabinet: %v", err)
		}
		bad = standingInput()
		bad.ValidFrom, bad.ValidTo = "2026-11-20", "2026-11-10"
		if _, err = s.CreateStanding(ctx, f.customer, scA, f.fx.OrgA.ID, bad); key(err, "valid_to") != "standing.error.to_before_from" {
			t.Fatalf("last day before the first: %v", err)
		}
		var n int64
		rawDB(t, db).Table("standing_access").Count(&n)
		if n != 1 {
			t.Fatalf("%d entries after refused forms, want 1", n)
		}

		// A change keeps the number when none is typed.
		in := standingInput()
		in.IDNumber, in.Phone, in.EscortRequired, in.ValidTo = "", "", true, "2026-12-15"
		if err := s.UpdateStanding(ctx, f.customer, scA, a.Ref, in); err != nil {
			t.Fatal(err)
		}
		if v, err = s.StandingViewOf(ctx, models.AllOrgs(), mustStanding(t, s, a.Ref), true); err != nil || v.ID != residentA || v.Phone != "13812345678" || !v.EscortRequired || v.ValidTo != "2026-12-15" {
			t.Fatalf("after the change %+v, %v", v, err)
		}
		// Revoked: it stays, cannot change, cannot be revoked twice.
		if err := s.RevokeStanding(ctx, models.UserActor(f.fx.Reception, "x"), models.AllOrgs(), a.Ref, "pass lost"); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeStanding(ctx, f.customer, scA, a.Ref, ""); key(err, "reason") != "standing.error.revoked" {
			t.Fatalf("second revocation: %v", err)
		}
		if err := s.UpdateStanding(ctx, f.customer, scA, a.Ref, in); key(err, "name") != "standing.error.closed" {
			t.Fatalf("change after revocation: %v", err)
		}
		rows, err := s.ListStanding(ctx, scA, f.fx.OrgA.ID, "")
		if err != nil || len(rows) != 1 || rows[0].Status != models.StandingRevoked {
			t.Fatalf("list %+v, %v", rows, err)
		}
		if rows, _ := s.ListStanding(ctx, models.ScopeOf(f.fx.CustB), f.fx.OrgB.ID, ""); len(rows) != 0 {
			t.Fatalf("organization B lists %d of A's entries", len(rows))
		}
	})
}

func TestStandingCheckInAndOut(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		f := newVisitFixture(t, s, clock)
		ctx := context.Background()
		scA := models.ScopeOf(f.fx.CustA)
		desk := models.UserActor(f.fx.Reception, "10.0.0.9")
		a, err := s.CreateStanding(ctx, f.customer, scA, f.fx.OrgA.ID, standingInput())
		if err != nil {
			t.Fatal(err)
		}
		tok, err := s.StandingPassToken(ctx, scA, a)
		if err != nil || !models.IsStandingToken(tok) {
			t.Fatalf("pass token %q, %v", tok, err)
		}
		if _, err := s.StandingPassToken(ctx, models.ScopeOf(f.fx.CustB), a); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("other organization's pass: %v", err)
		}
		refused := func(err error, field, want string) {
			t.Helper()
			if key(err, field) != want {
				t.Fatalf("got %v, want %s on %s", err, want, field)
			}
		}
		res, err := s.StandingCheckInByToken(ctx, desk, " "+strings.ToLower(tok)+"\r", "", 0)
		if err != nil || res.Name != "王芳" || res.Ref != a.Ref {
			t.Fatalf("check-in: %+v, %v", res, err)
		}
		_, err = s.StandingCheckInByToken(ctx, desk, tok, "", 0)
		refused(err, "token", "standing.error.already_in")
		inside, err := s.StandingInside(ctx, models.AllOrgs())
		if err != nil || len(inside) != 1 || inside[0].Name != "王芳" || inside[0].IDMasked != models.MaskID(residentA) {
			t.Fatalf("inside %+v, %v", inside, err)
		}
		if in, _ := s.StandingInside(ctx, models.ScopeOf(f.fx.CustB)); len(in) != 0 {
			t.Fatalf("organization B sees A's people inside: %+v", in)
		}
		if _, err := s.StandingCheckOut(ctx, desk, models.OrgScope(f.fx.OrgB.ID), a.Ref, false); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("check-out through B's scope: %v", err)
		}
		clock.Advance(2 * time.Hour)
		if _, err := s.StandingCheckOut(ctx, desk, models.AllOrgs(), a.Ref, true); err != nil {
			t.Fatal(err)
		}
		_, err = s.StandingCheckOut(ctx, desk, models.AllOrgs(), a.Ref, true)
		refused(err, "standing", "standing.error.not_inside")
		day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		hist, total, err := s.StandingHistory(ctx, scA, 0, day, day.AddDate(0, 0, 30), 50)
		if err != nil || total != 1 || len(hist) != 1 || hist[0].OutAt == nil || hist[0].OutAt.Sub(hist[0].InAt) != 2*time.Hour {
			t.Fatalf("history %+v (%d), %v", hist, total, err)
		}
		if _, n, _ := s.StandingHistory(ctx, models.ScopeOf(f.fx.CustB), 0, day, day.AddDate(0, 0, 30), 50); n != 0 {
			t.Fatalf("organization B's history holds %d of A's entries", n)
		}

		// A reissued pass: the old one is refused, the new one works.
		if err := s.ReissueStanding(ctx, f.customer, scA, a.Ref); err != nil {
			t.Fatal(err)
		}
		_, err = s.StandingCheckInByToken(ctx, desk, tok, "", 0)
		refused(err, "token", "standing.error.old_pass")
		a, _ = s.GetStanding(ctx, scA, a.Ref)
		tok2, _ := s.StandingPassToken(ctx, scA, a)
		if tok2 == tok {
			t.Fatal("the reissued pass is the old one")
		}
		// Escort required: a scan without one is refused on "escort".
		in := standingInput()
		in.IDNumber, in.EscortRequired = "", true
		if err := s.UpdateStanding(ctx, f.customer, scA, a.Ref, in); err != nil {
			t.Fatal(err)
		}
		_, err = s.StandingCheckInByToken(ctx, desk, tok2, "", 0)
		refused(err, "escort", "standing.error.escort_needed")
		_, err = s.StandingCheckIn(ctx, desk, models.AllOrgs(), a.Ref, "B-12", f.fx.CustA.ID)
		refused(err, "escort", "checkin.error.escort")
		res, err = s.StandingCheckIn(ctx, desk, models.AllOrgs(), a.Ref, "B-12", f.fx.Engineer.ID)
		if err != nil || res.Escort != f.fx.Engineer.Name || res.Badge != "B-12" {
			t.Fatalf("by hand with an escort: %+v, %v", res, err)
		}
		if _, err := s.StandingCheckOut(ctx, desk, models.AllOrgs(), a.Ref, false); err != nil {
			t.Fatal(err)
		}
		if n := auditCount(t, db, models.AuditStandingCheckedIn); n != 2 {
			t.Fatalf("check-in audit records: %d, want 2", n)
		}

		// Forged and malformed passes.
		forged := passtoken.NewKey([]byte("another secret")).SignStanding(passtoken.StandingClaims{EntryID: a.ID, Version: 2,
			NotBefore: clock.Now().Add(-time.Hour), Expires: clock.Now().Add(time.Hour)})
		_, err = s.StandingCheckInByToken(ctx, desk, forged, "", 0)
		refused(err, "token", "checkin.error.forged")
		_, err = s.StandingCheckInByToken(ctx, desk, "S1.NOTATOKEN", "", 0)
		refused(err, "token", "checkin.error.malformed")
	})
}

// An expired entry refuses check-in with its last day; one not started
// yet with its first; a revoked one says so.
func TestStandingCheckInRefusesOutsideItsDays(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		f := newVisitFixture(t, s, clock)
		ctx := context.Background()
		scA := models.ScopeOf(f.fx.CustA)
		desk := models.UserActor(f.fx.Reception, "10.0.0.9")
		in := standingInput()
		in.ValidTo = "2026-11-03"
		a, err := s.CreateStanding(ctx, f.customer, scA, f.fx.OrgA.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := s.StandingPassToken(ctx, scA, a)
		in.ValidFrom, in.ValidTo = "2026-11-10", "2026-11-20"
		later, err := s.CreateStanding(ctx, f.customer, scA, f.fx.OrgA.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		laterTok, _ := s.StandingPassToken(ctx, scA, later)
		_, err = s.StandingCheckInByToken(ctx, desk, laterTok, "", 0)
		if v := invalid(err)["token"]; v == nil || v.Key != "standing.error.not_yet" || v.Args[1] != "2026-11-10" {
			t.Fatalf("before its first day: %v", err)
		}
		clock.Advance(3 * 24 * time.Hour) // 2026-11-05
		_, err = s.StandingCheckInByToken(ctx, desk, tok, "", 0)
		if v := invalid(err)["token"]; v == nil || v.Key != "standing.error.expired" || v.Args[0] != "王芳" || v.Args[1] != "2026-11-03" {
			t.Fatalf("after its last day: %v", err)
		}
		_, err = s.StandingCheckIn(ctx, desk, models.AllOrgs(), a.Ref, "", 0)
		if key(err, "standing") != "standing.error.expired" {
			t.Fatalf("after its last day, by hand: %v", err)
		}
		if err := s.RevokeStanding(ctx, f.customer, scA, later.Ref, ""); err != nil {
			t.Fatal(err)
		}
		clock.Advance(6 * 24 * time.Hour) // 2026-11-11
		_, err = s.StandingCheckInByToken(ctx, desk, laterTok, "", 0)
		if key(err, "token") != "standing.error.revoked" {
			t.Fatalf("revoked: %v", err)
		}
		var n int64
		rawDB(t, db).Table("standing_entries").Count(&n)
		if n != 0 {
			t.Fatalf("%d entries logged by refused check-ins", n)
		}
	})
}

// The identity numbers and phones of entries that ended more than the
// purge period ago are removed; names and entries stay.
func TestPurgeStanding(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now), models.WithVisitRules(models.VisitRules{PurgeAfter: 10 * 24 * time.Hour}))
		f := newVisitFixture(t, s, clock)
		ctx := context.Background()
		scA := models.ScopeOf(f.fx.CustA)
		in := standingInput()
		in.ValidTo = "2026-11-03"
		ended, err := s.CreateStanding(ctx, f.customer, scA, f.fx.OrgA.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		in.ValidTo = "2026-12-31"
		current, err := s.CreateStanding(ctx, f.customer, scA, f.fx.OrgA.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := s.PurgeStanding(ctx, clock.Now().Add(10*24*time.Hour)); err != nil || n != 0 {
			t.Fatalf("purge before the period: %d, %v", n, err)
		}
		if n, err := s.PurgeStanding(ctx, clock.Now().Add(15*24*time.Hour)); err != nil || n != 1 {
			t.Fatalf("purge after the period: %d, %v", n, err)
		}
		v, err := s.StandingViewOf(ctx, models.AllOrgs(), mustStanding(t, s, ended.Ref), true)
		if err != nil || v.ID != "" || v.Phone != "" || v.PurgedAt == nil || v.Name != "王芳" {
			t.Fatalf("purged entry %+v, %v", v, err)
		}
		if v, _ := s.StandingViewOf(ctx, models.AllOrgs(), mustStanding(t, s, current.Ref), true); v.ID != residentA {
			t.Fatalf("current entry lost its number: %+v", v)
		}
		if n := auditCount(t, db, models.AuditStandingPurged); n != 1 {
			t.Fatalf("purge audit records: %d", n)
		}
	})
}

func mustStanding(t *testing.T, s *models.Store, ref string) *models.StandingAccess {
	t.Helper()
	a, err := s.GetStanding(context.Background(), models.AllOrgs(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// A genuine standing pass whose entry is gone (its organization deleted)
// is refused with the standing list's message, not the visitors' ("no
// longer on any visit"), both inside its days and after them.
func TestStandingPassOfAnEntryGone(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		f := newVisitFixture(t, s, clock)
		ctx := context.Background()
		scA := models.ScopeOf(f.fx.CustA)
		desk := models.UserActor(f.fx.Reception, "10.0.0.9")
		a, err := s.CreateStanding(ctx, f.customer, scA, f.fx.OrgA.ID, standingInput())
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := s.StandingPassToken(ctx, scA, a)
		g := rawDB(t, db)
		for _, table := range []string{"standing_access_cabinets", "standing_access"} {
			col := "access_id"
			if table == "standing_access" {
				col = "id"
			}
			if err := g.Exec("DELETE FROM "+table+" WHERE "+col+" = ?", a.ID).Error; err != nil {
				t.Fatal(err)
			}
		}
		_, err = s.StandingCheckInByToken(ctx, desk, tok, "", 0)
		if k := key(err, "token"); k != "standing.error.unknown" {
			t.Fatalf("entry gone: %v, want standing.error.unknown", err)
		}
		clock.Advance(60 * 24 * time.Hour) // after the pass's last day
		_, err = s.StandingCheckInByToken(ctx, desk, tok, "", 0)
		if k := key(err, "token"); k != "standing.error.unknown" {
			t.Fatalf("entry gone, pass ended: %v, want standing.error.unknown", err)
		}
	})
}

// The list's bound never cuts an entry still to use for ended ones: a
// thousand revoked entries named before it alphabetically leave a current
// one on the list (fails when the bound was applied by name alone).
func TestListStandingKeepsCurrentEntriesPastTheBound(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		f := newVisitFixture(t, s, clock)
		ctx := context.Background()
		scA := models.ScopeOf(f.fx.CustA)
		in := standingInput()
		in.Name = "Zhou Yu"
		cur, err := s.CreateStanding(ctx, f.customer, scA, f.fx.OrgA.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		now := clock.Now()
		rows := make([]map[string]any, models.StandingListLimit)
		for i := range rows {
			rows[i] = map[string]any{"org_id": f.fx.OrgA.ID, "ref": "old" + strings.Repeat("0", 13-len(itoa(i))) + itoa(i),
				"name": "Ann " + itoa(i), "company": "", "id_type": models.IDResident, "id_sealed": "", "id_masked": "",
				"phone_sealed": "", "phone_masked": "", "locale": "en", "valid_from": "2026-01-01", "valid_to": "2026-06-30",
				"escort_required": false, "note": "", "pass_version": 1, "revoked_at": now, "created_at": now, "updated_at": now}
		}
		if err := rawDB(t, db).Table("standing_access").CreateInBatches(rows, 200).Error; err != nil {
			t.Fatal(err)
		}
		list, err := s.ListStanding(ctx, scA, f.fx.OrgA.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != models.StandingListLimit || list[0].ID != cur.ID {
			t.Fatalf("the list has %d rows, first %q; want %d with %q first", len(list), list[0].Name, models.StandingListLimit, cur.Name)
		}
	})
}

func itoa(i int) string { return strconv.Itoa(i) }
