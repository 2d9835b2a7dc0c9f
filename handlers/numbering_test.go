package handlers_test

import (
	"context"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/colo-portal/portal/models"
)

// A customer sees its own organization's request numbers, in pages and
// PDFs: its first request is OP-2026-0001 however many others came before.
func TestCustomersSeeTheirOwnOrganizationsRequestNumbers(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		o := newOpEnv(t, e)
		ctx := context.Background()
		devB, err := e.store.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: e.fx.OrgB.ID, Name: "b-1", Address: "192.0.2.9"})
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := e.store.CreateRequest(ctx, models.SystemActor("test"), e.fx.OrgB.ID, models.RequestInput{Title: "B's",
				Work: "w", Urgency: "normal", DeviceIDs: []int64{devB.ID}}); err != nil {
				t.Fatal(err)
			}
		}
		cust := e.as(t, e.fx.CustA)
		req := o.raise(t, cust)
		wantBody(t, cust.get("/operations"), "OP-2026-0001")
		wantNoBody(t, cust.get("/operations"), "OP-000004", "OP-2026-0004")
		wantBody(t, cust.get(req), "OP-2026-0001")
		r := cust.get(req + "/form.pdf")
		wantStatus(t, r, http.StatusOK)
		if cd := r.Header.Get("Content-Disposition"); !strings.Contains(cd, "OP-2026-0001") {
			t.Errorf("form PDF named %q, want OP-2026-0001 in it", cd)
		}
		if _, err := exec.LookPath("pdftotext"); err == nil {
			cmd := exec.Command("pdftotext", "-", "-")
			cmd.Stdin = strings.NewReader(r.Body)
			out, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), "OP-2026-0001") || strings.Contains(string(out), "OP-00000") {
				t.Errorf("form PDF text does not quote OP-2026-0001 alone:\n%s", out)
			}
		}
	})
}

// A request's URLs carry its random reference, never the global ID, which
// would tell a customer how many requests other organizations have made;
// the ID in a URL finds nothing.
func TestRequestURLsCarryAReferenceNotTheGlobalID(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		o := newOpEnv(t, e)
		ctx := context.Background()
		devB, err := e.store.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: e.fx.OrgB.ID, Name: "b-1", Address: "192.0.2.9"})
		if err != nil {
			t.Fatal(err)
		}
		var others []*models.OperationRequest
		for range 3 {
			r, err := e.store.CreateRequest(ctx, models.SystemActor("test"), e.fx.OrgB.ID, models.RequestInput{Title: "B's",
				Work: "w", Urgency: "normal", DeviceIDs: []int64{devB.ID}})
			if err != nil {
				t.Fatal(err)
			}
			others = append(others, r)
		}
		cust := e.as(t, e.fx.CustA)
		req := o.raise(t, cust)
		id := requestIDOf(e.store, req)
		if id != 4 {
			t.Fatalf("the customer's request has ID %d, want 4 (after B's three)", id)
		}
		if req == "/operations/4" || strings.HasPrefix(req, "/operations/4/") {
			t.Errorf("request page %q carries the global ID", req)
		}
		for _, page := range []string{"/operations", req} {
			wantNoBody(t, cust.get(page), `href="/operations/4"`, `href="/operations/4/`, `action="/operations/4/`)
		}
		wantStatus(t, cust.get("/operations/4"), http.StatusNotFound)
		wantStatus(t, cust.get("/operations/4/form.pdf"), http.StatusNotFound)
		// Another organization's reference is not found either.
		wantStatus(t, cust.get("/operations/"+others[0].Ref), http.StatusNotFound)
		wantStatus(t, e.as(t, e.fx.CustB).get("/operations/"+others[0].Ref), http.StatusOK)
	})
}
