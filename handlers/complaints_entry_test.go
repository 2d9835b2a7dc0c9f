package handlers_test

import (
	"net/http"
	"testing"

	"github.com/colo-portal/portal/models"
)

// The complaints page leads to the form: a customer files a complaint,
// the service desk records one received by phone, email or letter; other
// staff, who may do neither, are not offered it.
func TestComplaintsPageLeadsToTheForm(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		complaintApp(t, e)
		for _, tc := range []struct {
			u         *models.User
			button    string // the link offered, "" for none
			form      int    // GET /complaints/new
			formTitle string
		}{
			{e.fx.CustA, `id="new-complaint"`, http.StatusOK, zh("complaints.new.title")},
			{e.fx.Service, `id="record-complaint"`, http.StatusOK, zh("complaints.record.title")},
			{e.fx.Admin, `id="record-complaint"`, http.StatusOK, zh("complaints.record.title")},
			{e.fx.Engineer, "", http.StatusForbidden, ""},
			{e.fx.Reception, "", http.StatusForbidden, ""},
		} {
			c := e.as(t, tc.u)
			r := c.get("/complaints")
			wantStatus(t, r, http.StatusOK)
			if tc.button == "" {
				wantNoBody(t, r, `href="/complaints/new"`)
			} else {
				wantBody(t, r, `href="/complaints/new" `+tc.button)
			}
			r = c.get("/complaints/new")
			wantStatus(t, r, tc.form)
			if tc.formTitle != "" {
				wantBody(t, r, `action="/complaints/new"`, tc.formTitle)
			}
		}
		// Each button says what its reader does there.
		wantBody(t, e.as(t, e.fx.Service).get("/complaints"), zh("complaints.record.title"))
		wantBody(t, e.as(t, e.fx.CustA).get("/complaints"), zh("complaints.new"))
		// The form's optional links offer "none", not the empty list's
		// sentence (two helpers gave the key two meanings).
		form := e.as(t, e.fx.CustA).get("/complaints/new")
		wantBody(t, form, `<option value="">`+zh("complaints.concerns_none")+`</option>`)
		wantNoBody(t, form, zh("complaints.none"))
	})
}
