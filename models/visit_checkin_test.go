package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	"github.com/colo-portal/portal/models/passtoken"
)

// approveVisit approves v with escort as reception would (approving is
// another part's Store method; a direct update keeps these tests apart).
func approveVisit(t *testing.T, db dbtest.DB, v *models.Visit, escort int64) {
	t.Helper()
	if err := rawDB(t, db).Table("visits").Where("id = ?", v.ID).
		Updates(map[string]any{"state": models.VisitApproved, "escort_id": escort}).Error; err != nil {
		t.Fatal(err)
	}
	v.State, v.EscortID = models.VisitApproved, &escort
}

// visitorIDs lists the visitors of v in their order.
func visitorIDs(t *testing.T, s *models.Store, v *models.Visit) []int64 {
	t.Helper()
	d, err := s.VisitDetailOf(context.Background(), models.AllOrgs(), v, false)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, x := range d.Visitors {
		out = append(out, x.Visitor.ID)
	}
	return out
}

// testPassKey is the key dbtest.Open's secret gives passes.
var testPassKey = passtoken.NewKey([]byte("test secret"))

func TestCheckInByPassToken(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		f := newVisitFixture(t, s, clock)
		ctx := context.Background()
		desk := models.UserActor(f.fx.Reception, "10.0.0.9")
		v, err := s.CreateVisit(ctx, f.customer, f.fx.OrgA.ID, f.input())
		if err != nil {
			t.Fatal(err)
		}
		other, err := s.CreateVisit(ctx, f.customer, f.fx.OrgA.ID, f.input())
		if err != nil {
			t.Fatal(err)
		}
		// A pending visit has no pass; another organization sees none.
		if _, err := s.PassTokens(ctx, models.AllOrgs(), v); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("pending visit's passes: %v, want not found", err)
		}
		approveVisit(t, db, v, f.fx.Engineer.ID)
		approveVisit(t, db, other, f.fx.Engineer.ID)
		if _, err := s.PassTokens(ctx, models.ScopeOf(f.fx.CustB), v); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("other organization's passes: %v, want not found", err)
		}
		tokens, err := s.PassTokens(ctx, models.ScopeOf(f.fx.CustA), v)
		if err != nil {
			t.Fatal(err)
		}
		ids := visitorIDs(t, s, v)
		if len(tokens) != 2 || tokens[ids[0]] == "" || tokens[ids[0]] == tokens[ids[1]] || len(tokens[ids[0]]) > 80 {
			t.Fatalf("tokens = %v for visitors %v", tokens, ids)
		}
		c, err := testPassKey.Verify(tokens[ids[0]], v.PlannedFrom)
		// Entry tomorrow 10:00 UTC (the test zone): good for tomorrow, from
		// its first minute to its end.
		day := v.PlannedFrom.Truncate(24 * time.Hour)
		if err != nil || c.VisitID != v.ID || c.VisitorID != ids[0] || !c.NotBefore.Equal(day) || !c.Expires.Equal(day.AddDate(0, 0, 1)) {
			t.Fatalf("claims %+v (%v), want visit %d visitor %d from %s", c, err, v.ID, ids[0], day)
		}

		// The day before: not yet.
		_, err = s.CheckInByToken(ctx, desk, tokens[ids[0]], "", 0)
		if e := wantInvalid(t, err, "token", "checkin.error.not_yet"); len(e.Args) != 1 || e.Args[0] != "张伟" {
			t.Fatalf("not yet names %v, want the visitor", e.Args)
		}
		clock.Advance(v.PlannedFrom.Sub(clock.Now()) - 10*time.Minute) // 09:50 on the day

		// Signed with another key: forged.
		forged := passtoken.NewKey([]byte("another secret")).Sign(c)
		_, err = s.CheckInByToken(ctx, desk, forged, "", 0)
		wantInvalid(t, err, "token", "checkin.error.forged")
		// One character changed: altered, so the signature fails.
		tok := tokens[ids[0]]
		i := len("V1.") + 4
		swap := byte('A')
		if tok[i] == 'A' {
			swap = 'B'
		}
		_, err = s.CheckInByToken(ctx, desk, tok[:i]+string(swap)+tok[i+1:], "", 0)
		wantInvalid(t, err, "token", "checkin.error.forged")
		// Not a token at all.
		_, err = s.CheckInByToken(ctx, desk, "hello", "", 0)
		wantInvalid(t, err, "token", "checkin.error.malformed")
		// Another visit's ID with a visitor of this one, genuinely signed:
		// the pair does not match.
		mixed := testPassKey.Sign(passtoken.Claims{VisitID: other.ID, VisitorID: ids[0], NotBefore: c.NotBefore, Expires: c.Expires})
		_, err = s.CheckInByToken(ctx, desk, mixed, "", 0)
		wantInvalid(t, err, "token", "checkin.error.wrong_visit")

		// The genuine pass, as a scanner types it (with CR LF): in, with
		// the assigned escort.
		res, err := s.CheckInByToken(ctx, desk, tokens[ids[0]]+"\r\n", "B-07", 0)
		if err != nil {
			t.Fatal(err)
		}
		if res.Name != "张伟" || res.VisitNumber != v.Number() || res.Escort != f.fx.Engineer.Name || res.Badge != "B-07" {
			t.Fatalf("check-in = %+v", res)
		}
		_, err = s.CheckInByToken(ctx, desk, tokens[ids[0]], "", 0)
		wantInvalid(t, err, "token", "checkin.error.already_in")
		evs := auditOf(t, s, models.AuditVisitCheckedIn)
		if len(evs) != 1 || strings.Contains(evs[0].Detail, residentA) || !strings.Contains(evs[0].Detail, "B-07") {
			t.Fatalf("audit = %+v", evs)
		}

		// After the exit day: the other visitor's pass has expired.
		clock.Advance(v.PlannedTo.Truncate(24*time.Hour).AddDate(0, 0, 1).Sub(clock.Now()) + time.Minute)
		_, err = s.CheckInByToken(ctx, desk, tokens[ids[1]], "", 0)
		if e := wantInvalid(t, err, "token", "checkin.error.expired"); len(e.Args) != 1 || e.Args[0] != "Anna Berg" {
			t.Fatalf("expired names %v", e.Args)
		}
	})
}

func TestCheckInRefusesVisitsNotApprovedOrNotToday(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		f := newVisitFixture(t, s, clock)
		ctx := context.Background()
		desk := models.UserActor(f.fx.Reception, "10.0.0.9")
		v, err := s.CreateVisit(ctx, f.customer, f.fx.OrgA.ID, f.input())
		if err != nil {
			t.Fatal(err)
		}
		ids := visitorIDs(t, s, v)
		clock.Advance(v.PlannedFrom.Sub(clock.Now()))
		_, err = s.CheckIn(ctx, desk, f.fx.OrgA.ID, ids[0], "", 0)
		wantInvalid(t, err, "visitor", "checkin.error.not_approved")
		approveVisit(t, db, v, f.fx.Engineer.ID)
		tokens, err := s.PassTokens(ctx, models.AllOrgs(), v)
		if err != nil {
			t.Fatal(err)
		}
		// Cancelled after the pass was printed: the pass is refused.
		if err := rawDB(t, db).Table("visits").Where("id = ?", v.ID).Update("state", models.VisitCancelled).Error; err != nil {
			t.Fatal(err)
		}
		_, err = s.CheckInByToken(ctx, desk, tokens[ids[0]], "", 0)
		wantInvalid(t, err, "token", "checkin.error.cancelled")
		if err := rawDB(t, db).Table("visits").Where("id = ?", v.ID).Update("state", models.VisitApproved).Error; err != nil {
			t.Fatal(err)
		}
		// Another organization's visitor is not found; a customer is no
		// escort.
		if _, err := s.CheckIn(ctx, desk, f.fx.OrgB.ID, ids[0], "", 0); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("other organization: %v, want not found", err)
		}
		_, err = s.CheckIn(ctx, desk, f.fx.OrgA.ID, ids[0], "", f.fx.CustA.ID)
		wantInvalid(t, err, "escort", "checkin.error.escort")
		res, err := s.CheckIn(ctx, desk, f.fx.OrgA.ID, ids[0], "12", f.fx.Service.ID)
		if err != nil || res.Escort != f.fx.Service.Name {
			t.Fatalf("check-in by hand = %+v, %v", res, err)
		}
	})
}

func TestCheckOutBadgesAndOverstay(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		f := newVisitFixture(t, s, clock)
		ctx := context.Background()
		desk := models.UserActor(f.fx.Reception, "10.0.0.9")
		v, err := s.CreateVisit(ctx, f.customer, f.fx.OrgA.ID, f.input())
		if err != nil {
			t.Fatal(err)
		}
		approveVisit(t, db, v, f.fx.Engineer.ID)
		ids := visitorIDs(t, s, v)
		board := func(sc models.Scope) *models.TodayBoard {
			t.Helper()
			b, err := s.TodayBoard(ctx, sc, clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		// Today (the day before the visit) nobody is expected.
		if b := board(models.AllOrgs()); len(b.Expected) != 0 {
			t.Fatalf("expected the day before: %+v", b.Expected)
		}
		clock.Advance(v.PlannedFrom.Sub(clock.Now()) - time.Hour)
		b := board(models.AllOrgs())
		if len(b.Expected) != 2 || b.Expected[0].Name != "张伟" || b.Expected[0].IDMasked != "110***********1233" ||
			b.Expected[0].EscortName != f.fx.Engineer.Name || b.Expected[0].VisitNumber() != v.Number() || b.Expected[0].OrgName != f.fx.OrgA.Name {
			t.Fatalf("expected = %+v", b.Expected)
		}
		if b := board(models.ScopeOf(f.fx.CustB)); len(b.Expected)+len(b.Inside) != 0 {
			t.Fatalf("another organization's board: %+v", b)
		}
		if _, err := s.CheckIn(ctx, desk, f.fx.OrgA.ID, ids[0], "B-1", 0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CheckIn(ctx, desk, f.fx.OrgA.ID, ids[1], "B-2", f.fx.Reception.ID); err != nil {
			t.Fatal(err)
		}
		b = board(models.AllOrgs())
		if len(b.Expected) != 0 || len(b.Inside) != 2 || b.Overstaying != 0 || b.Inside[1].PresentName != f.fx.Reception.Name {
			t.Fatalf("after check-in: %+v", b)
		}
		// Checked out only once; a visitor not in cannot leave.
		if err := s.CheckOut(ctx, desk, f.fx.OrgB.ID, ids[0], true); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("other organization's check-out: %v", err)
		}
		// The injected clock passes the planned exit: both overstay.
		clock.Advance(v.PlannedTo.Sub(clock.Now()) + 45*time.Minute)
		b = board(models.AllOrgs())
		if b.Overstaying != 2 || b.Inside[0].Overstay != 45*time.Minute {
			t.Fatalf("overstay at planned exit + 45 min: %d, %+v", b.Overstaying, b.Inside)
		}
		if err := s.CheckOut(ctx, desk, f.fx.OrgA.ID, ids[0], true); err != nil {
			t.Fatal(err)
		}
		if err := s.CheckOut(ctx, desk, f.fx.OrgA.ID, ids[1], false); err != nil {
			t.Fatal(err)
		}
		wantInvalid(t, s.CheckOut(ctx, desk, f.fx.OrgA.ID, ids[1], true), "visitor", "checkin.error.not_inside")
		b = board(models.AllOrgs())
		if len(b.Inside) != 0 || b.Overstaying != 0 || len(b.Badges) != 1 || b.Badges[0].VisitorID != ids[1] || b.Badges[0].BadgeNumber != "B-2" {
			t.Fatalf("after check-out: %+v", b)
		}
		// The badge stays listed on the following days until it is back.
		clock.Advance(72 * time.Hour)
		if b := board(models.AllOrgs()); len(b.Badges) != 1 {
			t.Fatalf("badges three days later: %+v", b.Badges)
		}
		wantInvalid(t, s.ReturnBadge(ctx, desk, f.fx.OrgA.ID, ids[0]), "visitor", "checkin.error.no_badge_out")
		if err := s.ReturnBadge(ctx, desk, f.fx.OrgA.ID, ids[1]); err != nil {
			t.Fatal(err)
		}
		if b := board(models.AllOrgs()); len(b.Badges) != 0 {
			t.Fatalf("badges after the return: %+v", b.Badges)
		}
		outs := auditOf(t, s, models.AuditVisitCheckedOut)
		if len(outs) != 2 {
			t.Fatalf("check-out records: %+v", outs)
		}
		if back := auditOf(t, s, models.AuditBadgeReturned); len(back) != 1 || detailOf(t, back[0])["badge"] != "B-2" {
			t.Fatalf("badge return records: %+v", back)
		}
		outs = append(outs, auditOf(t, s, models.AuditBadgeReturned)...)
		for _, ev := range outs {
			if strings.Contains(ev.Detail, residentA) || strings.Contains(ev.Detail, "C01X00T47") {
				t.Fatalf("audit holds an identity number: %s", ev.Detail)
			}
		}
	})
}

func TestHandOutBadgeAfterAScan(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		f := newVisitFixture(t, s, clock)
		ctx := context.Background()
		desk := models.UserActor(f.fx.Reception, "10.0.0.9")
		v, err := s.CreateVisit(ctx, f.customer, f.fx.OrgA.ID, f.input())
		if err != nil {
			t.Fatal(err)
		}
		approveVisit(t, db, v, f.fx.Engineer.ID)
		ids := visitorIDs(t, s, v)
		clock.Advance(v.PlannedFrom.Sub(clock.Now()))
		wantInvalid(t, s.HandOutBadge(ctx, desk, f.fx.OrgA.ID, ids[0], "9"), "badge", "checkin.error.badge_not_now")
		if _, err := s.CheckIn(ctx, desk, f.fx.OrgA.ID, ids[0], "", 0); err != nil {
			t.Fatal(err)
		}
		wantInvalid(t, s.HandOutBadge(ctx, desk, f.fx.OrgA.ID, ids[0], " "), "badge", "error.required")
		if err := s.HandOutBadge(ctx, desk, f.fx.OrgA.ID, ids[0], "9"); err != nil {
			t.Fatal(err)
		}
		wantInvalid(t, s.HandOutBadge(ctx, desk, f.fx.OrgA.ID, ids[0], "10"), "badge", "checkin.error.badge_not_now")
		bv, err := s.BoardVisitorOf(ctx, models.AllOrgs(), ids[0])
		if err != nil || bv.BadgeNumber != "9" || bv.CheckedInAt == nil {
			t.Fatalf("visitor %+v, %v", bv, err)
		}
	})
}
