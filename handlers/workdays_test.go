package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/colo-portal/portal/models"
)

// The admin keeps the working-day calendar: the shipped 2026 days, a day
// added, refused with what was typed, removed; only admins.
func TestAdminKeepsTheWorkingDayCalendar(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		adm := e.as(t, e.fx.Admin)
		r := adm.get("/admin/workdays") // the clock's year, 2026
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, zh("workdays.title_year", 2026), "2026-10-01", "国庆节 National Day", zh("workdays.kind.holiday"),
			zh("workdays.kind.workday"), zh("workdays.weekday.saturday"), zh("workdays.counts", 33, 6),
			`href="/admin/workdays.csv?year=2026"`, zh("workdays.fixed_hint"))
		r = adm.get("/admin/workdays?year=2027")
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, zh("workdays.none", 2027, 2027))
		for _, q := range []string{"abc", "1999", "2100"} {
			wantStatus(t, adm.get("/admin/workdays?year="+q), http.StatusNotFound)
		}
		wantBody(t, adm.get("/admin/users"), `href="/admin/workdays"`)
		wantBody(t, adm.get("/admin/sites"), `href="/admin/workdays"`)

		wantStatus(t, adm.post("/admin/workdays", url.Values{"day": {"2027-01-09"}, "kind": {"workday"}}), http.StatusForbidden)
		r = adm.submit("/admin/workdays?year=2027", "/admin/workdays", url.Values{"year": {"2027"}, "day": {"2027-01-04"},
			"kind": {"workday"}, "name": {"元旦调休"}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("workdays.form_error.workday_on_weekday"), `value="元旦调休"`, `value="2027-01-04"`,
			zh("workdays.title_year", 2027), `id="e-kind"`)
		r = adm.submit("/admin/workdays?year=2027", "/admin/workdays", url.Values{"year": {"2027"}, "day": {"2027-02-30"},
			"kind": {"holiday"}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("workdays.form_error.date"), `id="e-day"`)

		r = adm.submit("/admin/workdays?year=2027", "/admin/workdays", url.Values{"year": {"2027"}, "day": {"2027-01-09"},
			"kind": {"workday"}, "name": {"元旦调休"}})
		wantRedirect(t, r, "/admin/workdays?year=2027#day-2027-01-09")
		r = adm.get("/admin/workdays?year=2027")
		wantBody(t, r, `id="day-2027-01-09"`, "元旦调休", zh("workdays.counts", 0, 1))

		r = adm.submit("/admin/workdays?year=2027", "/admin/workdays/2027-01-09/delete", nil)
		wantRedirect(t, r, "/admin/workdays?year=2027")
		wantBody(t, adm.get("/admin/workdays?year=2027"), zh("workdays.none", 2027, 2027))
		wantStatus(t, adm.submit("/admin/workdays?year=2027", "/admin/workdays/2027-01-09/delete", nil), http.StatusNotFound)
		wantStatus(t, adm.submit("/admin/workdays?year=2027", "/admin/workdays/someday/delete", nil), http.StatusNotFound)

		// Only admins.
		for _, u := range []*models.User{e.fx.Engineer, e.fx.Service, e.fx.Reception, e.fx.CustA} {
			c := e.as(t, u)
			wantStatus(t, c.get("/admin/workdays"), http.StatusForbidden)
			wantStatus(t, c.get("/admin/workdays.csv?year=2026"), http.StatusForbidden)
		}
	})
}

// A year downloads in the import format and imports back; a file with a
// mistake changes nothing and names the line.
func TestWorkingDayCalendarImport(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		adm := e.as(t, e.fx.Admin)
		r := adm.get("/admin/workdays.csv?year=2026")
		wantStatus(t, r, http.StatusOK)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			t.Fatalf("content type %q", ct)
		}
		if !strings.HasPrefix(r.Body, "date,kind,name\n2026-01-01,holiday,元旦 New Year's Day\n") || strings.Count(r.Body, "\n") != 40 {
			t.Fatalf("CSV:\n%s", r.Body)
		}
		shipped := r.Body

		page := "/admin/workdays?year=2027"
		year := url.Values{"year": {"2027"}}
		good := "date,kind,name\n2027-01-01,holiday,元旦\n2027-02-06,workday,春节调休\n"
		wantRedirect(t, adm.upload(page, "/admin/workdays/import", year, "2027.csv", []byte(good)), page)
		r = adm.get(page)
		wantBody(t, r, "2027-02-06", "春节调休", zh("workdays.counts", 1, 1))

		for _, c := range []struct {
			name, file string
			data       []byte
			want       string
		}{
			{"a day of another year", "x.csv", []byte(good + "2028-01-01,holiday,元旦\n"), zh("workdays.error.other_year", 4, "2028-01-01", 2027)},
			{"a make-up day on a weekday", "x.csv", []byte("2027-01-04,workday,x\n"), zh("workdays.error.workday_on_weekday", 1)},
			{"not UTF-8", "x.csv", []byte("2027-01-01,holiday,\xd4\xaa\xb5\xa9\n"), zh("workdays.error.encoding")},
			{"too large", "x.csv", []byte(strings.Repeat("#", 65<<10)), zh("workdays.error.too_large", 64)},
			{"empty", "x.csv", []byte("\n"), zh("workdays.error.empty")},
			{"only a header", "x.csv", []byte("date,kind,name\n"), zh("workdays.error.empty")},
			{"a bad name", "../x.csv", []byte(good), zh("upload.error.name")},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := adm.upload(page, "/admin/workdays/import", year, c.file, c.data)
				wantStatus(t, r, http.StatusUnprocessableEntity)
				wantBody(t, r, c.want, `id="e-file"`)
			})
		}
		r = adm.submit(page, "/admin/workdays/import", year) // no file at all
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("workdays.error.no_file"))
		days, err := e.store.WorkDays(context.Background(), 2027)
		if err != nil || len(days) != 2 {
			t.Fatalf("2027 after refused imports: %+v, %v", days, err)
		}

		// The shipped year, downloaded and imported back, is the same.
		wantRedirect(t, adm.upload("/admin/workdays", "/admin/workdays/import", url.Values{"year": {"2026"}}, "2026.csv",
			[]byte(shipped)), "/admin/workdays?year=2026")
		if again := adm.get("/admin/workdays.csv?year=2026").Body; again != shipped {
			t.Fatalf("round trip:\n%s\nwant\n%s", again, shipped)
		}
		evs, err := e.store.ListAudit(context.Background(), models.AllOrgs(), models.AuditFilter{Action: models.AuditWorkDaysImported})
		if err != nil || len(evs) != 2 {
			t.Fatalf("import records %+v, %v", evs, err)
		}
		wantBody(t, adm.get("/admin/audit"), zh("audit.action.workdays.imported"))
	})
}
