package handlers_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/passtoken"
	"github.com/colo-portal/portal/views/pdf/pdftest"
)

// testStoreSecret is the secret dbtest.Open gives the store, from which
// the pass key is derived.
var testStoreSecret = []byte("test secret")

// locDuration is how lang words d, escaped as in the HTML.
func locDuration(lang string, d time.Duration) string {
	return html.EscapeString(locales.For(lang).Duration(d))
}

const (
	visitorResident = "110101199003071233"
	visitorMasked   = "110***********1233"
)

// approvedVisit makes a visit of OrgA for tomorrow 10:00–16:00 with 张伟
// (a Chinese pass) and 安娜 Anna Berg (an English one), approved with the
// engineer as escort by a direct update (approving is reception's part).
func approvedVisit(t *testing.T, e *env) (*models.Visit, []int64) {
	t.Helper()
	ctx := context.Background()
	sys := models.SystemActor("test")
	if _, err := e.store.CreateDevice(ctx, sys, models.DeviceInput{OrgID: e.fx.OrgA.ID, Name: "db-01", Address: "127.0.0.5", Cabinet: "A03"}); err != nil {
		t.Fatal(err)
	}
	sites, err := e.store.ListSites(ctx)
	if err != nil || len(sites) == 0 {
		t.Fatalf("sites %v, %v", sites, err)
	}
	day := e.clock.Now().Truncate(24*time.Hour).AddDate(0, 0, 1)
	v, err := e.store.CreateVisit(ctx, models.UserActor(e.fx.CustA, "10.0.0.1"), e.fx.OrgA.ID, models.VisitInput{SiteID: sites[0].ID,
		Activity: "operation", Reason: "更换硬盘", PlannedFrom: day.Add(10 * time.Hour), PlannedTo: day.Add(16 * time.Hour),
		Visitors: []models.VisitorInput{
			{Name: "张伟", Company: "阿尔法科技", IDType: models.IDResident, IDNumber: visitorResident, Phone: "13812345678", Locale: "zh-CN"},
			{Name: "安娜 Anna Berg", IDType: "passport", IDNumber: "C01X00T47", Phone: "+49 30 1234567", Locale: "en"},
		},
		Cabinets: []string{"A03"}, Locale: "zh-CN"})
	if err != nil {
		t.Fatal(err)
	}
	approveByUpdate(t, e, v)
	v, err = e.store.GetVisitByRef(ctx, models.AllOrgs(), v.Ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.store.VisitDetailOf(ctx, models.AllOrgs(), v, false)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, x := range d.Visitors {
		ids = append(ids, x.Visitor.ID)
	}
	return v, ids
}

// approveByUpdate approves v with the engineer as escort by a direct
// update of its row.
func approveByUpdate(t *testing.T, e *env, v *models.Visit) {
	t.Helper()
	raw, _, err := models.Open(context.Background(), models.OpenOptions{URL: e.db.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if s, err := raw.DB(); err == nil {
			s.Close()
		}
	}()
	if err := raw.Table("visits").Where("id = ?", v.ID).Updates(map[string]any{"state": models.VisitApproved, "escort_id": e.fx.Engineer.ID}).Error; err != nil {
		t.Fatal(err)
	}
}

func TestVisitPassAndReceptionAccess(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		v, vid := approvedVisit(t, e)
		pending, err := e.store.CreateVisit(context.Background(), models.UserActor(e.fx.CustA, "10.0.0.1"), e.fx.OrgA.ID, models.VisitInput{
			SiteID: v.SiteID, Activity: "tour", Reason: "参观", PlannedFrom: v.PlannedFrom, PlannedTo: v.PlannedTo,
			Visitors: []models.VisitorInput{{Name: "李雷", IDType: "passport", IDNumber: "E1234567", Phone: "13900000000"}}, Locale: "zh-CN"})
		if err != nil {
			t.Fatal(err)
		}
		custA, custB, eng, desk, adm := e.as(t, e.fx.CustA), e.as(t, e.fx.CustB), e.as(t, e.fx.Engineer), e.as(t, e.fx.Reception), e.as(t, e.fx.Admin)
		pass := "/visits/" + v.Ref + "/pass.pdf"
		visitor := "/reception/visitors/" + ids(vid[0])
		for _, c := range []struct {
			name   string
			who    *client
			method string
			path   string
			status int
		}{
			{"customer's today page", custA, "GET", "/reception/today", http.StatusForbidden},
			{"engineer's today page", eng, "GET", "/reception/today", http.StatusForbidden},
			{"customer scans", custA, "POST", "/reception/checkin", http.StatusForbidden},
			{"customer checks in by hand", custA, "POST", visitor + "/checkin", http.StatusForbidden},
			{"customer checks out", custA, "POST", visitor + "/checkout", http.StatusForbidden},
			{"customer returns a badge", custA, "POST", visitor + "/badge", http.StatusForbidden},
			{"another organization's pass", custB, "GET", pass, http.StatusNotFound},
			{"a pending visit's pass", custA, "GET", "/visits/" + pending.Ref + "/pass.pdf", http.StatusNotFound},
			{"an unknown visit's pass", custA, "GET", "/visits/0123456789abcdef/pass.pdf", http.StatusNotFound},
			{"desk: an unknown visitor", desk, "POST", "/reception/visitors/999999/checkout", http.StatusNotFound},
			{"the customer's pass", custA, "GET", pass, http.StatusOK},
			{"the engineer's pass", eng, "GET", pass, http.StatusOK},
			{"reception's pass", desk, "GET", pass, http.StatusOK},
			{"reception's today page", desk, "GET", "/reception/today", http.StatusOK},
			{"admin's today page", adm, "GET", "/reception/today", http.StatusOK},
		} {
			var r *response
			if c.method == "GET" {
				r = c.who.get(c.path)
			} else {
				r = c.who.submit("/account", c.path, url.Values{"token": {"V1.X"}})
			}
			if r.StatusCode != c.status {
				t.Errorf("%s: %s %s = %d, want %d", c.name, c.method, c.path, r.StatusCode, c.status)
			}
		}

		r := custA.get(pass)
		wantStatus(t, r, http.StatusOK)
		if ct := r.Header.Get("Content-Type"); ct != "application/pdf" {
			t.Fatalf("pass content type %q", ct)
		}
		if text := pdfText(t, []byte(r.Body)); text != "" {
			for _, w := range []string{"张伟", "安娜 Anna Berg", visitorMasked, v.Number(), tr("en", "pass.title"), tr("zh-CN", "pass.title"), e.fx.Engineer.Name, "A03"} {
				if !strings.Contains(text, w) {
					t.Errorf("pass text lacks %q:\n%s", w, text)
				}
			}
			if strings.Contains(text, visitorResident) || strings.Contains(text, "C01X00T47") {
				t.Errorf("pass shows an identity number in full:\n%s", text)
			}
		}
		if evs, err := e.store.ListAudit(context.Background(), models.AllOrgs(), models.AuditFilter{Action: models.AuditPassDownloaded, Limit: 10}); err != nil || len(evs) != 4 {
			t.Fatalf("pass downloads audited: %d (%v), want 4", len(evs), err)
		}
		// Nobody was checked in by the refused posts.
		b, err := e.store.TodayBoard(context.Background(), models.AllOrgs(), v.PlannedFrom)
		if err != nil || len(b.Inside) != 0 {
			t.Fatalf("inside after refused posts: %+v, %v", b, err)
		}
	})
}

func TestReceptionChecksVisitorsInAndOut(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		v, vid := approvedVisit(t, e)
		cust := e.as(t, e.fx.CustA)
		r := cust.get("/visits/" + v.Ref + "/pass.pdf")
		wantStatus(t, r, http.StatusOK)
		tokens := pdftest.QRTokens(t, []byte(r.Body))
		if len(tokens) != 2 {
			t.Fatalf("QR codes on the pass: %d, want 2", len(tokens))
		}
		// The morning of the visit.
		e.clock.Advance(v.PlannedFrom.Add(-30 * time.Minute).Sub(e.clock.Now()))
		desk := e.as(t, e.fx.Reception)
		today := desk.get("/reception/today")
		wantStatus(t, today, http.StatusOK)
		wantBody(t, today, `name="token"`, "autofocus", `autocomplete="off"`, "张伟", visitorMasked, zh("checkin.expected"))
		wantNoBody(t, today, visitorResident)

		// A forged pass, one altered by a character, another visit's.
		claims, err := passtoken.NewKey(testStoreSecret).Verify(tokens[0], e.clock.Now())
		if err != nil {
			t.Fatalf("the pass's QR code does not verify under the store's key: %v", err)
		}
		alt := []byte(tokens[0])
		alt[6] ^= 'A' ^ 'B'
		other := passtoken.NewKey(testStoreSecret).Sign(passtoken.Claims{VisitID: v.ID + 1000, VisitorID: claims.VisitorID, NotBefore: claims.NotBefore, Expires: claims.Expires})
		for _, c := range []struct{ token, msg string }{
			{passtoken.NewKey([]byte("not our secret")).Sign(claims), zh("checkin.error.forged")},
			{string(alt), zh("checkin.error.forged")},
			{other, zh("checkin.error.wrong_visit", "张伟")},
			{"", zh("checkin.error.empty")},
		} {
			r := desk.submit("/reception/today", "/reception/checkin", url.Values{"token": {c.token}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, c.msg, "autofocus")
		}

		// The scanner types the token and Enter: back on the page, naming
		// the visitor, the field focused again.
		r = desk.submit("/reception/today", "/reception/checkin", url.Values{"token": {tokens[0] + "\r\n"}})
		wantRedirect(t, r, "/reception/today?done=in&v="+ids(vid[0]))
		r = desk.get(r.Header.Get("Location"))
		wantBody(t, r, zh("checkin.done_in", "张伟", v.Number(), e.fx.OrgA.Name), zh("checkin.done_escort", e.fx.Engineer.Name), "autofocus")
		r = desk.submit("/reception/today", "/reception/checkin", url.Values{"token": {tokens[0]}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("checkin.error.already_in", "张伟"))

		// The badge is noted after the scan; the second visitor is picked
		// by hand with a badge and another escort.
		wantRedirect(t, desk.submit("/reception/today", "/reception/visitors/"+ids(vid[0])+"/badge-number", url.Values{"badge": {"B-7"}}),
			"/reception/today?done=handed&v="+ids(vid[0]))
		r = desk.submit("/reception/today", "/reception/visitors/"+ids(vid[1])+"/checkin", url.Values{"badge": {"B-8"}, "escort": {ids(e.fx.CustA.ID)}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("checkin.error.escort"))
		wantRedirect(t, desk.submit("/reception/today", "/reception/visitors/"+ids(vid[1])+"/checkin", url.Values{"badge": {"B-8"}, "escort": {ids(e.fx.Reception.ID)}}),
			"/reception/today?done=in&v="+ids(vid[1]))
		r = desk.get("/reception/today")
		wantBody(t, r, zh("checkin.inside"), "B-7", "B-8", zh("checkin.expected_none"))
		wantNoBody(t, r, `class="overstay"`)

		// An hour past the planned exit (the session renewed by a fresh
		// sign-in): both are flagged.
		e.clock.Advance(v.PlannedTo.Add(time.Hour).Sub(e.clock.Now()))
		desk = e.as(t, e.fx.Reception)
		r = desk.get("/reception/today")
		wantBody(t, r, zh("checkin.overstaying_count", "2"), "overstay")
		if !strings.Contains(r.Body, zh("checkin.overstay", locDuration("zh-CN", time.Hour))) {
			t.Errorf("no overstay of an hour on the page:\n%s", clip(r.Body))
		}

		// Out: one with the badge back, one without; the missing badge is
		// listed until it is returned.
		wantRedirect(t, desk.submit("/reception/today", "/reception/visitors/"+ids(vid[0])+"/checkout", url.Values{"badge_returned": {"yes"}}),
			"/reception/today?done=out&v="+ids(vid[0]))
		wantRedirect(t, desk.submit("/reception/today", "/reception/visitors/"+ids(vid[1])+"/checkout", nil), "/reception/today?done=out&v="+ids(vid[1]))
		r = desk.get("/reception/today?done=out&v=" + ids(vid[1]))
		wantBody(t, r, zh("checkin.done_out", "安娜 Anna Berg", v.Number()), zh("checkin.done_badge_missing", "B-8"), zh("checkin.inside_none"))
		b, err := e.store.TodayBoard(context.Background(), models.AllOrgs(), e.clock.Now())
		if err != nil || len(b.Badges) != 1 || b.Badges[0].BadgeNumber != "B-8" {
			t.Fatalf("badges out: %+v, %v", b, err)
		}
		wantRedirect(t, desk.submit("/reception/today", "/reception/visitors/"+ids(vid[1])+"/badge", nil), "/reception/today?done=badge&v="+ids(vid[1]))
		r = desk.get("/reception/today")
		wantBody(t, r, zh("checkin.badges_none"))
		evs, err := e.store.ListAudit(context.Background(), models.AllOrgs(), models.AuditFilter{Action: models.AuditVisitCheckedOut, Limit: 10})
		if err != nil || len(evs) != 2 {
			t.Fatalf("check-out records %d (%v), want 2", len(evs), err)
		}
		evs, err = e.store.ListAudit(context.Background(), models.AllOrgs(), models.AuditFilter{Action: models.AuditBadgeReturned, Limit: 10})
		if err != nil || len(evs) != 1 || !strings.Contains(evs[0].Detail, "B-8") {
			t.Fatalf("badge return records %+v (%v), want 1 of B-8", evs, err)
		}
	})
}
