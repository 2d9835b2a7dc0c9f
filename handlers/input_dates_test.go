package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/colo-portal/portal/models"
)

// Every date and time a form or a query takes lies between 2000-01-01 and
// 2099-12-31: year 0001 answered 500 on MySQL and was stored as year 0 on
// SQLite. The refusal is a translated message next to the field, and the
// rest of the form is kept.
func TestDatesOutsideTheRangeAreRefusedNextToTheField(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		o := newOpEnv(t, e)
		cust, eng := e.as(t, e.fx.CustA), e.as(t, e.fx.Engineer)
		orgA := ids(e.fx.OrgA.ID)
		rangeMsg := zh("error.date_range", models.EarliestDate, models.LatestDate)
		for _, bad := range []string{"0001-01-01T00:00", "1999-12-31T23:59", "2100-01-01T00:00", "9999-12-31T23:59"} {
			form := url.Values{"title": {"Keep this title"}, "work": {"Keep this work"}, "urgency": {"urgent"},
				"devices": {ids(o.dev.ID)}, "window_from": {bad}, "window_to": {"2026-12-01T10:00"}}
			t.Run("a customer's request window from "+bad, func(t *testing.T) {
				r := cust.submit("/operations/new", "/operations", form)
				wantStatus(t, r, http.StatusUnprocessableEntity)
				wantBody(t, r, rangeMsg, `value="Keep this title"`, "Keep this work", `value="`+bad+`"`)
			})
			t.Run("a request raised by staff with a window to "+bad, func(t *testing.T) {
				f := url.Values{}
				for k, v := range form {
					f[k] = v
				}
				f.Set("window_from", "2026-12-01T10:00")
				f.Set("window_to", bad)
				f.Set("channel", "phone")
				r := eng.submit("/orgs/"+orgA+"/operations/new", "/orgs/"+orgA+"/operations", f)
				wantStatus(t, r, http.StatusUnprocessableEntity)
				wantBody(t, r, rangeMsg, `value="Keep this title"`)
			})
		}
		rs, err := e.store.ListRequests(context.Background(), models.RequestFilter{OrgID: e.fx.OrgA.ID})
		if err != nil || len(rs) != 0 {
			t.Fatalf("requests after refused dates = %+v, %v; want none", rs, err)
		}
		for _, q := range []string{"from=0001-01-01", "from=1999-12-31&to=2000-01-02", "to=2100-01-01", "from=9999-12-30&to=9999-12-31"} {
			t.Run("a results download with "+q, func(t *testing.T) {
				r := cust.get("/devices/" + ids(o.dev.ID) + "/results.csv?" + q)
				wantStatus(t, r, http.StatusUnprocessableEntity)
				wantBody(t, r, rangeMsg)
			})
		}
		t.Run("the start of work in year 0001", func(t *testing.T) {
			req := o.raise(t, cust)
			wantStatus(t, eng.submit(req, req+"/phone", url.Values{"contact": {ids(o.signer.ID)}, "passphrase": {passphrase}}), http.StatusSeeOther)
			r := eng.submit(req, req+"/state", url.Values{"state": {models.OpInProgress}, "started_at": {"0001-01-01T00:00"},
				"notes": {"Keep these notes"}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, rangeMsg, "Keep these notes")
		})
		t.Run("the browser is told the range too", func(t *testing.T) {
			wantBody(t, cust.get("/operations/new"), `min="2000-01-01T00:00"`, `max="2099-12-31T23:59"`)
			wantBody(t, cust.get("/devices/"+ids(o.dev.ID)), `min="2000-01-01"`, `max="2099-12-31"`)
		})
		t.Run("the first and the last day of the range are accepted", func(t *testing.T) {
			wantStatus(t, cust.get("/devices/"+ids(o.dev.ID)+"/results.csv?from=2000-01-01"), http.StatusOK)
			wantStatus(t, cust.get("/devices/"+ids(o.dev.ID)+"/results.csv?from=2099-12-31"), http.StatusOK)
			r := cust.submit("/operations/new", "/operations", url.Values{"title": {"In range"}, "work": {"w"}, "urgency": {"normal"},
				"devices": {ids(o.dev.ID)}, "window_from": {"2000-01-01T00:00"}, "window_to": {"2099-12-31T23:59"}})
			wantStatus(t, r, http.StatusSeeOther)
		})
	})
}
