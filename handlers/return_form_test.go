package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/blobstore"
)

// The customer returns the signed form on the request's page, with the
// same checks as the engineer's upload; the engineer then accepts it. The
// page and the form say who the form goes back to and how.
func TestCustomerReturnsTheSignedForm(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		o := newOpEnv(t, e)
		blobs, err := blobstore.New(o.blobDir)
		if err != nil {
			t.Fatal(err)
		}
		provider := models.Provider{Name: "North China Cloud IDC", Address: "10 Jiuxianqiao Road\nBeijing 100015",
			Phone: "+861055550100", Fax: "+861055550199", Email: "forms@idc.example"}
		lim := models.DefaultUploadLimits
		lim.MaxBytes = uploadLimit
		e.app = newApp(e.store, func(d *handlers.Deps) {
			d.Blobs, d.Uploads, d.Provider, d.BaseURL = blobs, lim, provider, "https://portal.idc.example"
		})
		cust, eng, other := e.as(t, e.fx.CustA), e.as(t, e.fx.Engineer), e.as(t, e.fx.CustB)
		req := o.raise(t, cust)

		page := cust.get(req)
		wantStatus(t, page, http.StatusOK)
		wantBody(t, page, zh("operation.return.title"), zh("operation.return.step_return_to", provider.Name), "forms@idc.example",
			"+86 10 5555 0199", "10 Jiuxianqiao Road", `action="`+req+`/authorizations"`)

		if text := pdfText(t, []byte(cust.get(req+"/form.pdf").Body)); text != "" {
			flat := strings.Join(strings.Fields(text), "")
			for _, w := range []string{provider.Name, "forms@idc.example", "+861055550199", "https://portal.idc.example" + req} {
				if !strings.Contains(flat, strings.Join(strings.Fields(w), "")) {
					t.Errorf("the form does not show %q:\n%s", w, text)
				}
			}
		}

		t.Run("every refusal of the engineer's upload refuses the customer's too", func(t *testing.T) {
			r := cust.upload(req, req+"/authorizations", url.Values{"contact": {ids(o.signer.ID)}}, "scan.pdf",
				[]byte("<!DOCTYPE html><html><script>alert(1)</script></html>"))
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, zh("upload.error.type"), zh("operation.return.title"))
			r = cust.upload(req, req+"/authorizations", url.Values{"contact": {"0"}}, "../scan.png", pngOf(t, 10, 10))
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, zh("upload.error.name"))
			if n := o.storedFiles(t); n != 0 {
				t.Errorf("%d files stored after refusals", n)
			}
		})
		t.Run("without the CSRF token it is refused", func(t *testing.T) {
			r := cust.send(http.MethodPost, req+"/authorizations", strings.NewReader("contact=1"),
				http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
			wantStatus(t, r, http.StatusForbidden)
		})
		t.Run("another organization's customer gets not found", func(t *testing.T) {
			r := other.upload("/operations", req+"/authorizations", url.Values{"contact": {ids(o.signer.ID)}}, "scan.png", pngOf(t, 10, 10))
			wantStatus(t, r, http.StatusNotFound)
		})

		r := cust.upload(req, req+"/authorizations", url.Values{"contact": {ids(o.signer.ID)}}, "signed.png", pngOf(t, 20, 20))
		wantStatus(t, r, http.StatusSeeOther)
		r = cust.get(req)
		wantBody(t, r, zh("flash.signed_form_returned"), "signed.png", zh("operation.auth.status.pending"))
		ev := auditActions(t, e, models.AuditAuthUploaded)
		if len(ev) != 1 || ev[0].ActorID == nil || *ev[0].ActorID != e.fx.CustA.ID {
			t.Fatalf("upload audit = %+v, want one by the customer", ev)
		}

		// The engineer sees it pending, with the signer, and accepts it.
		r = eng.get(req)
		wantBody(t, r, "signed.png", "孙丽 Sun Li", zh("operation.auth.accept"))
		rq, err := e.store.GetRequestByRef(context.Background(), models.AllOrgs(), strings.TrimPrefix(req, "/operations/"))
		if err != nil {
			t.Fatal(err)
		}
		d, err := e.store.RequestDetailOf(context.Background(), models.AllOrgs(), rq)
		if err != nil || len(d.Authorizations) != 1 {
			t.Fatalf("detail: %v, %d authorizations", err, len(d.Authorizations))
		}
		r = eng.submit(req, req+"/authorizations/"+ids(d.Authorizations[0].ID)+"/accept", url.Values{"confirmed": {"1"}})
		wantStatus(t, r, http.StatusSeeOther)
		r = cust.get(req)
		wantBody(t, r, zh("operation.state.authorized"))
		wantNoBody(t, r, zh("operation.return.title"))
	})
}
