package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strconv"
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

// A customer's operation page names a signed scan and its authorization by
// nothing global: the download link carries the document's own random
// reference, which is looked up within the request, and no attribute
// carries an authorization ID. The document's ID in a URL finds nothing.
func TestDocumentURLsCarryAReferenceNotTheGlobalID(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		o := newOpEnv(t, e)
		ctx := context.Background()
		sys := models.SystemActor("test")
		eng := e.as(t, e.fx.Engineer)
		// Organization B's request gets two scans first, so A's has the
		// global document and authorization ID 3.
		devB, err := e.store.CreateDevice(ctx, sys, models.DeviceInput{OrgID: e.fx.OrgB.ID, Name: "b-1", Address: "192.0.2.9"})
		if err != nil {
			t.Fatal(err)
		}
		signerB, err := e.store.CreateContact(ctx, sys, e.fx.OrgB.ID, models.ContactInput{Name: "Beta signer", Email: "s@beta.test",
			Channels: []models.Channel{models.ChannelEmail}, MayAuthorize: true, Passphrase: passphrase})
		if err != nil {
			t.Fatal(err)
		}
		rb, err := e.store.CreateRequest(ctx, sys, e.fx.OrgB.ID, models.RequestInput{Title: "B's", Work: "w", Urgency: "normal", DeviceIDs: []int64{devB.ID}})
		if err != nil {
			t.Fatal(err)
		}
		reqB := "/operations/" + rb.Ref
		for range 2 {
			wantStatus(t, eng.upload(reqB, reqB+"/authorizations", url.Values{"contact": {ids(signerB.ID)}}, "b.png", pngOf(t, 10, 10)), http.StatusSeeOther)
		}
		link := regexp.MustCompile(`href="/operations/[0-9a-f]{16}/documents/([^"]*)"`)
		mb := link.FindStringSubmatch(eng.get(reqB).Body)
		if mb == nil {
			t.Fatal("no document link on B's request")
		}

		cust := e.as(t, e.fx.CustA)
		req := o.raise(t, cust)
		scan := pngOf(t, 30, 40)
		wantStatus(t, eng.upload(req, req+"/authorizations", url.Values{"contact": {ids(o.signer.ID)}}, "scan.png", scan), http.StatusSeeOther)
		docs := o.documents(t, req)
		if len(docs) != 1 || docs[0].ID != 3 {
			t.Fatalf("A's documents %+v, want one of ID 3", docs)
		}
		docID := strconv.FormatInt(docs[0].ID, 10)
		for _, who := range []*client{cust, eng} {
			page := who.get(req)
			wantStatus(t, page, http.StatusOK)
			m := link.FindStringSubmatch(page.Body)
			if m == nil {
				t.Fatal("no document link")
			}
			if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(m[1]) {
				t.Errorf("document link ends in %q, want a 16-hex reference", m[1])
			}
			if m[1] == mb[1] {
				t.Errorf("A's and B's documents have the same reference %q", m[1])
			}
			wantNoBody(t, page, "/documents/"+docID+`"`, `id="auth-`+docID+`"`)
			if who == cust {
				if a := regexp.MustCompile(`="[^"]*auth[^"]*-\d+[^"]*"`).FindString(page.Body); a != "" {
					t.Errorf("the customer's page carries an authorization ID: %s", a)
				}
			}
		}
		m := link.FindStringSubmatch(cust.get(req).Body)
		r := cust.get(req + "/documents/" + m[1])
		wantStatus(t, r, http.StatusOK)
		if r.Body != string(scan) {
			t.Errorf("the document by its reference is not the scan")
		}
		// The global ID is not a document's address, and a reference is
		// found only within its own request.
		wantStatus(t, cust.get(req+"/documents/"+docID), http.StatusNotFound)
		wantStatus(t, eng.get(req+"/documents/"+docID), http.StatusNotFound)
		wantStatus(t, eng.get(req+"/documents/"+mb[1]), http.StatusNotFound)
		wantStatus(t, eng.get(reqB+"/documents/"+m[1]), http.StatusNotFound)
		wantStatus(t, eng.get(reqB+"/documents/"+mb[1]), http.StatusOK)
	})
}
