package handlers_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/blobstore"
)

// opEnv is a request of organization A with a device and an authorized
// contact, on an app whose uploads go to a temporary folder with a small
// size limit.
type opEnv struct {
	*env
	blobDir string
	dev     *models.Device
	signer  *models.Contact
}

const uploadLimit = 256 << 10

func newOpEnv(t *testing.T, e *env) *opEnv {
	t.Helper()
	ctx := context.Background()
	o := &opEnv{env: e, blobDir: filepath.Join(t.TempDir(), "documents")}
	blobs, err := blobstore.New(o.blobDir)
	if err != nil {
		t.Fatal(err)
	}
	lim := models.DefaultUploadLimits
	lim.MaxBytes = uploadLimit
	e.app = newApp(e.store, func(d *handlers.Deps) { d.Blobs, d.Uploads = blobs, lim })
	sys := models.SystemActor("test")
	if o.dev, err = e.store.CreateDevice(ctx, sys, models.DeviceInput{OrgID: e.fx.OrgA.ID, Name: "web-01", Address: "127.0.0.20"}); err != nil {
		t.Fatal(err)
	}
	if o.signer, err = e.store.CreateContact(ctx, sys, e.fx.OrgA.ID, models.ContactInput{Name: "孙丽 Sun Li", Email: "sun.li@alpha.test",
		Channels: []models.Channel{models.ChannelEmail}, MayAuthorize: true, Passphrase: passphrase}); err != nil {
		t.Fatal(err)
	}
	return o
}

// raise files a request as customer a and returns its path.
func (o *opEnv) raise(t *testing.T, a *client) string {
	t.Helper()
	r := a.submit("/operations/new", "/operations", url.Values{"title": {"更换硬盘 Replace disk"}, "work": {"Replace the failed disk in slot 2 并重建 RAID"},
		"urgency": {"urgent"}, "devices": {ids(o.dev.ID)}})
	wantStatus(t, r, http.StatusSeeOther)
	loc := r.Header.Get("Location")
	if !regexp.MustCompile(`^/operations/[0-9a-f]{16}$`).MatchString(loc) {
		t.Fatalf("after create: redirect to %q", loc)
	}
	return loc
}

// upload posts a multipart form with a file to path, with page's CSRF token.
func (c *client) upload(page, path string, fields url.Values, fileName string, data []byte) *response {
	c.t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, vs := range fields {
		for _, v := range vs {
			w.WriteField(k, v)
		}
	}
	w.WriteField("_csrf", c.csrf(page))
	h := textproto.MIMEHeader{}
	// Written by hand so that names with quotes and slashes reach the app
	// exactly as a hostile client would send them.
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+strings.ReplaceAll(fileName, `"`, `\"`)+`"`)
	h.Set("Content-Type", "application/octet-stream")
	part, _ := w.CreatePart(h)
	part.Write(data)
	w.Close()
	return c.send(http.MethodPost, path, &b, http.Header{"Content-Type": {w.FormDataContentType()}})
}

func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// hugePNGHeader is a PNG whose header claims 30,000 × 30,000 pixels.
func hugePNGHeader() []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], 30000)
	binary.BigEndian.PutUint32(ihdr[4:], 30000)
	ihdr[8], ihdr[9] = 8, 0
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return b.Bytes()
}

func (o *opEnv) storedFiles(t *testing.T) int {
	t.Helper()
	n := 0
	filepath.WalkDir(o.blobDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func (o *opEnv) documents(t *testing.T, reqPath string) []models.Document {
	t.Helper()
	id := requestIDOf(o.store, reqPath)
	d, err := o.store.GetRequestDetail(context.Background(), models.AllOrgs(), o.fx.OrgA.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return d.Documents
}

// requestIDOf is the ID of the request whose page is path (its URL
// carries the reference, not the ID); 0 when there is none.
func requestIDOf(s *models.Store, path string) int64 {
	r, err := s.GetRequestByRef(context.Background(), models.AllOrgs(), strings.TrimPrefix(path, "/operations/"))
	if err != nil {
		return 0
	}
	return r.ID
}

func TestOperationFlowThroughThePortal(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		o := newOpEnv(t, e)
		ctx := context.Background()
		cust := e.as(t, e.fx.CustA)
		eng := e.as(t, e.fx.Engineer)
		other := e.as(t, e.fx.CustB)
		var req string

		t.Run("a request without devices is refused with the values kept", func(t *testing.T) {
			r := cust.submit("/operations/new", "/operations", url.Values{"title": {"Reboot <b>now</b>"}, "work": {"please"}, "urgency": {"normal"}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, zh("operation.error.no_devices"), `value="Reboot &lt;b&gt;now&lt;/b&gt;"`, ">please</textarea>")
			wantNoBody(t, r, "<b>now</b>")
		})
		// Step: A customer raises a request and sees it awaiting authorization.
		func() {
			req = o.raise(t, cust)
			r := cust.get(req)
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, "更换硬盘 Replace disk", zh("operation.state.awaiting_authorization"), zh("operation.feedback_not_started"), "web-01")
			wantNoBody(t, r, zh("operation.upload.title"), zh("operation.phone.title"))
		}()
		// Step: The customer downloads the authorization form as a PDF attachment.
		func() {
			r := cust.get(req + "/form.pdf")
			wantStatus(t, r, http.StatusOK)
			if r.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment;") ||
				r.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(r.Body, "%PDF-") {
				t.Fatalf("form download: %v %q", r.Header, clip(r.Body[:20]))
			}
			if text := pdfText(t, []byte(r.Body)); text != "" && !strings.Contains(text, "孙丽 Sun Li") {
				t.Fatalf("the form does not name the contact who may sign:\n%s", text)
			}
			if n := len(auditActions(t, e, models.AuditFormDownloaded)); n != 1 {
				t.Fatalf("%d form downloads audited", n)
			}
		}()
		// Step: Another organization gets not found for the request and its documents.
		func() {
			for _, p := range []string{req, req + "/form.pdf", req + "/report.pdf", req + "/documents/1"} {
				r := other.get(p)
				wantStatus(t, r, http.StatusNotFound)
				wantNoBody(t, r, "Replace disk", e.fx.OrgA.Name)
			}
			r := other.submit("/operations", req+"/messages", url.Values{"body": {"hello"}})
			wantStatus(t, r, http.StatusNotFound)
			r = other.get("/operations")
			wantNoBody(t, r, "Replace disk")
		}()
		// Step: Reception cannot file a form, and a customer cannot accept one.
		func() {
			r := e.as(t, e.fx.Reception).upload(req, req+"/authorizations", url.Values{"contact": {ids(o.signer.ID)}}, "scan.png", pngOf(t, 10, 10))
			wantStatus(t, r, http.StatusForbidden)
			r = cust.submit(req, req+"/authorizations/1/accept", nil)
			wantStatus(t, r, http.StatusForbidden)
		}()
		good := url.Values{"contact": {ids(o.signer.ID)}}
		for _, c := range []struct {
			name, file string
			data       []byte
			key        string
		}{
			{"a file over the limit is refused", "scan.pdf", append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("x"), uploadLimit)...), "upload.error.too_large"},
			{"an HTML file renamed .pdf is refused by its content", "scan.pdf", []byte("<!DOCTYPE html><html><script>alert(1)</script></html>"), "upload.error.type"},
			{"an SVG renamed .png is refused", "scan.png", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), "upload.error.type"},
			{"a PNG of 30,000 × 30,000 pixels is refused before decoding", "scan.png", hugePNGHeader(), "upload.error.dimensions"},
			{"a name with a path is refused", "../../etc/scan.png", pngOf(t, 10, 10), "upload.error.name"},
			{"a name with quotes is refused", `scan".png`, pngOf(t, 10, 10), "upload.error.name"},
			{"a name with a backslash is refused", `C:\scans\scan.png`, pngOf(t, 10, 10), "upload.error.name"},
		} {
			t.Run(c.name+" with a clear message and nothing stored", func(t *testing.T) {
				r := eng.upload(req, req+"/authorizations", good, c.file, c.data)
				wantStatus(t, r, http.StatusUnprocessableEntity)
				wantBody(t, r, `id="e-file"`)
				if !strings.Contains(r.Body, strings.SplitN(zh(c.key, "%"), "%", 2)[0]) {
					t.Errorf("the page does not say %s", c.key)
				}
				if n := o.storedFiles(t); n != 0 {
					t.Fatalf("%d files stored", n)
				}
				if ds := o.documents(t, req); len(ds) != 0 {
					t.Fatalf("documents stored: %+v", ds)
				}
			})
		}
		var docPath string
		scan := pngOf(t, 30, 40)
		// Step: An engineer uploads the signed scan and accepts it, which starts the clock.
		func() {
			r := eng.upload(req, req+"/authorizations", good, "签字 scan.png", scan)
			wantStatus(t, r, http.StatusSeeOther)
			r = eng.get(req)
			wantBody(t, r, "签字 scan.png", zh("operation.auth.status.pending"), zh("operation.auth.accept"))
			m := regexp.MustCompile(`href="(/operations/[0-9a-f]{16}/documents/[0-9a-f]{16})"`).FindStringSubmatch(r.Body)
			if m == nil {
				t.Fatal("no document link")
			}
			docPath = m[1]
			am := regexp.MustCompile(`action="(/operations/[0-9a-f]{16}/authorizations/\d+/accept)"`).FindStringSubmatch(r.Body)
			if am == nil {
				t.Fatal("no accept button")
			}
			// Accepting is for good: the first post only asks, saying what it
			// changes, and changes nothing.
			r = eng.submit(req, am[1], nil)
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, zh("confirm.accept.title"), zh("confirm.accept.changes", "孙丽 Sun Li"), `name="confirmed" value="1"`,
				`action="`+am[1]+`"`, `href="`+req+`#auth-h"`)
			wantBody(t, cust.get(req), zh("operation.state.awaiting_authorization"))
			wantRedirect(t, eng.submit(req, am[1], url.Values{"confirmed": {"1"}}), req)
			r = cust.get(req)
			wantBody(t, r, zh("operation.state.authorized"), zh("clock.running"), "孙丽 Sun Li", zh("operation.auth.status.accepted"))
		}()
		// Step: The customer downloads the scan as an attachment that is never sniffed.
		func() {
			r := cust.get(docPath)
			wantStatus(t, r, http.StatusOK)
			if r.Body != string(scan) || r.Header.Get("Content-Type") != "image/png" || r.Header.Get("X-Content-Type-Options") != "nosniff" ||
				!strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment;") || !strings.Contains(r.Header.Get("Content-Security-Policy"), "sandbox") {
				t.Fatalf("document download headers: %v", r.Header)
			}
			if n := len(auditActions(t, e, models.AuditDocumentDownloaded)); n != 1 {
				t.Fatalf("%d document downloads audited", n)
			}
		}()
		// Step: A wrong phone passphrase is refused, audited, and not shown back.
		func() {
			r := eng.submit(req, req+"/phone", url.Values{"contact": {ids(o.signer.ID)}, "passphrase": {"not the passphrase"}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, zh("operation.phone.wrong", 4))
			wantNoBody(t, r, "not the passphrase", passphrase)
			if n := len(auditActions(t, e, models.AuditPhoneRefused)); n != 1 {
				t.Fatalf("%d refusals audited", n)
			}
		}()
		// Step: The engineer's first message stops the feedback clock in time.
		func() {
			e.clock.Advance(12 * time.Minute)
			wantRedirect(t, eng.submit(req, req+"/messages", url.Values{"body": {"已收到，正在处理 <script>x</script>"}}), req+"#timeline")
			r := cust.get(req)
			wantBody(t, r, "已收到，正在处理 &lt;script&gt;x&lt;/script&gt;", zh("clock.met"))
		}()
		// Step: Work cannot complete without saying what was done.
		func() {
			wantRedirect(t, eng.submit(req, req+"/state", url.Values{"state": {models.OpInProgress}}), req)
			e.clock.Advance(40 * time.Minute)
			r := eng.submit(req, req+"/state", url.Values{"state": {models.OpCompleted}, "confirmed": {"1"}, "result": {"success"}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, zh("error.required"))
			if r := cust.get(req + "/report.pdf"); r.StatusCode != http.StatusNotFound {
				t.Fatalf("report of unfinished work: %d", r.StatusCode)
			}
		}()
		// Step: The engineer completes the work and the customer downloads the report.
		func() {
			// Unconfirmed, closing the request only asks, with what was typed kept.
			r := eng.submit(req, req+"/state", url.Values{"state": {models.OpCompleted}, "result": {"success"},
				"work_done": {"Replaced the disk; RAID 重建完成"}})
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, zh("confirm.state.completed.title"), zh("confirm.state.outages"),
				`name="work_done" value="Replaced the disk; RAID 重建完成"`, `name="confirmed" value="1"`)
			wantBody(t, cust.get(req), zh("operation.state.in_progress"))
			wantRedirect(t, eng.submit(req, req+"/state", url.Values{"state": {models.OpCompleted}, "confirmed": {"1"}, "result": {"success"},
				"work_done": {"Replaced the disk; RAID 重建完成"}, "follow_up": {"Watch the RAID status"}}), req)
			r = cust.get(req)
			wantBody(t, r, zh("operation.state.completed"), "Replaced the disk; RAID 重建完成", `href="`+req+`/report.pdf"`)
			r = cust.get(req + "/report.pdf")
			wantStatus(t, r, http.StatusOK)
			if r.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(r.Body, "%PDF-") {
				t.Fatalf("report: %v", r.Header)
			}
			if text := pdfText(t, []byte(r.Body)); text != "" {
				for _, want := range []string{"操作情况报告", "更换硬盘 Replace disk", "孙丽 Sun Li", "RAID 重建完成", e.fx.OrgA.Name} {
					if !strings.Contains(text, want) {
						t.Errorf("the report lacks %q:\n%s", want, text)
					}
				}
			}
			r = other.get(req + "/report.pdf")
			wantStatus(t, r, http.StatusNotFound)
			if n := len(auditActions(t, e, models.AuditReportDownloaded)); n != 1 {
				t.Fatalf("%d report downloads audited", n)
			}
		}()
		// Step: Acting on the finished request is refused with a message on the page.
		func() {
			r := eng.upload(req, req+"/authorizations", good, "late.png", scan)
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, `role="alert">`+zh("operation.error.closed"))
			r = eng.submit(req, req+"/phone", url.Values{"contact": {ids(o.signer.ID)}, "passphrase": {passphrase}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, `role="alert">`+zh("operation.error.closed"))
		}()
		// Step: Every step is in the audit log.
		func() {
			for _, a := range []string{models.AuditRequestCreated, models.AuditAuthUploaded, models.AuditAuthAccepted,
				models.AuditOperationMessage, models.AuditOperationState} {
				if len(auditActions(t, e, a)) == 0 {
					t.Errorf("no %s in the audit log", a)
				}
			}
			if v, err := e.store.VerifyAudit(ctx); err != nil || !v.OK {
				t.Fatalf("audit chain: %+v, %v", v, err)
			}
		}()
	})
}

func auditActions(t *testing.T, e *env, action string) []models.AuditEvent {
	t.Helper()
	evs, err := e.store.ListAudit(context.Background(), models.AllOrgs(), models.AuditFilter{Action: action, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// pdfText extracts a PDF's text with pdftotext, or returns "" when it is
// not installed (a failure under CI, where it must be).
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("pdftotext is not installed")
		}
		return ""
	}
	p := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(p, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", p, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

func TestOnCallShowsOperationsNeedingAnEngineer(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		o := newOpEnv(t, e)
		cust, eng := e.as(t, e.fx.CustA), e.as(t, e.fx.Engineer)
		req := o.raise(t, cust)
		created, err := e.store.GetRequest(context.Background(), models.AllOrgs(), requestIDOf(e.store, req))
		if err != nil {
			t.Fatal(err)
		}
		number := created.Number()
		wantNoBody(t, eng.get("/oncall"), number)
		wantRedirect(t, eng.submit(req, req+"/phone", url.Values{"contact": {ids(o.signer.ID)}, "passphrase": {passphrase}}), req+"#auth-h")
		r := eng.get("/oncall")
		wantBody(t, r, zh("oncall.operations"), number, zh("clock.running"))
		wantRedirect(t, eng.submit(req, req+"/messages", url.Values{"body": {"On it."}}), req+"#timeline")
		wantNoBody(t, eng.get("/oncall"), number)
		e.clock.Advance(25 * time.Hour)
		cust, eng = e.as(t, e.fx.CustA), e.as(t, e.fx.Engineer) // the sessions timed out
		r = eng.get("/oncall")
		wantBody(t, r, number, zh("operation.followup.overdue_badge"))
		wantBody(t, cust.get(req), zh("operation.followup.overdue_title"))
		wantBody(t, cust.get("/operations"), zh("operation.followup.overdue_badge"))
		wantBody(t, cust.get("/"), zh("home.followup_overdue", 1))
	})
}

func TestOutagesDuringAuthorizedWorkAreClassifiedFromTheRequest(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		o := newOpEnv(t, e)
		cust, eng := e.as(t, e.fx.CustA), e.as(t, e.fx.Engineer)
		checks, err := e.store.ListChecks(ctx, models.AllOrgs(), e.fx.OrgA.ID, o.dev.ID)
		if err != nil || len(checks) == 0 {
			t.Fatalf("checks = %v, %v", checks, err)
		}
		fail := func(at time.Time) models.Outage {
			t.Helper()
			c := checks[0]
			if _, err := e.store.RecordResults(ctx, []models.ProbeResult{{CheckID: c.ID, At: at, Reason: models.ReasonTimeout},
				{CheckID: c.ID, At: at.Add(5 * time.Minute), Reason: models.ReasonTimeout}}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.store.RecordResults(ctx, []models.ProbeResult{{CheckID: c.ID, At: at.Add(10 * time.Minute), OK: true, RTTus: 200}}); err != nil {
				t.Fatal(err)
			}
			os, err := e.store.ListOutages(ctx, models.AllOrgs(), e.fx.OrgA.ID, o.dev.ID, 1)
			if err != nil || len(os) != 1 || !os[0].StartedAt.Equal(at) {
				t.Fatalf("outages = %+v, %v", os, err)
			}
			return os[0]
		}
		before := fail(e.clock.Now().Add(-3 * time.Hour))
		req := o.raise(t, cust)
		wantRedirect(t, eng.submit(req, req+"/phone", url.Values{"contact": {ids(o.signer.ID)}, "passphrase": {passphrase}}), req+"#auth-h")
		wantRedirect(t, eng.submit(req, req+"/state", url.Values{"state": {models.OpInProgress}}), req)
		during := fail(e.clock.Now().Add(time.Minute))
		e.clock.Advance(20 * time.Minute)
		eng = e.as(t, e.fx.Engineer)
		r := eng.get(req)
		wantBody(t, r, zh("operation.outages.title"), "overlap-"+ids(during.ID))
		wantNoBody(t, r, "overlap-"+ids(before.ID))
		wantNoBody(t, cust.get(req), zh("operation.outages.title"))

		t.Run("an outage outside the window is not found through the request", func(t *testing.T) {
			r := eng.submit(req, req+"/outages/"+ids(before.ID)+"/classify", nil)
			wantStatus(t, r, http.StatusNotFound)
		})
		t.Run("a customer cannot classify", func(t *testing.T) {
			r := cust.submit(req, req+"/outages/"+ids(during.ID)+"/classify", nil)
			wantStatus(t, r, http.StatusForbidden)
		})
		t.Run("the engineer attributes the overlapping outage to the customer's operation", func(t *testing.T) {
			wantRedirect(t, eng.submit(req, req+"/outages/"+ids(during.ID)+"/classify", nil), req+"#ov-h")
			os, _ := e.store.ListOutages(ctx, models.AllOrgs(), e.fx.OrgA.ID, o.dev.ID, 5)
			for _, x := range os {
				if x.Cause != models.CauseUnknown && x.Cause != "" {
					t.Errorf("outage %d own cause %q, want it kept", x.ID, x.Cause)
				}
				spans, err := e.store.OutageCauseSpans(ctx, models.AllOrgs(), e.fx.OrgA.ID, x.ID)
				want := 0
				if x.ID == during.ID {
					want = 1 // all of it lies inside the work: one span, the whole outage
				}
				if err != nil || len(spans) != want {
					t.Fatalf("outage %d spans %+v, %v", x.ID, spans, err)
				}
				if want == 1 && (!spans[0].StartAt.Equal(x.StartedAt) || !spans[0].EndAt.Equal(*x.EndedAt) ||
					spans[0].Cause != models.CauseCustomerOperation) {
					t.Errorf("span %+v, want the whole outage as the customer's operation", spans[0])
				}
			}
		})
	})
}

func TestAnEngineerRaisesARequestForACaller(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		o := newOpEnv(t, e)
		eng, cust := e.as(t, e.fx.Engineer), e.as(t, e.fx.CustA)
		orgA := ids(e.fx.OrgA.ID)
		page := "/orgs/" + orgA + "/operations/new"
		wantBody(t, eng.get("/orgs/"+orgA), `href="`+page+`"`)
		r := eng.get(page)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, e.fx.CustA.Email, "web-01")
		wantNoBody(t, r, e.fx.CustB.Email)
		wantStatus(t, cust.get(page), http.StatusForbidden)
		form := url.Values{"title": {"Power-cycle web-01"}, "work": {"Caller asked for a hard reboot"}, "urgency": {"emergency"},
			"devices": {ids(o.dev.ID)}, "channel": {"phone"}, "requested_by": {ids(e.fx.CustB.ID)}}
		r = eng.submit(page, "/orgs/"+orgA+"/operations", form)
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("operation.error.requester_unknown"))
		form.Set("requested_by", ids(e.fx.CustA.ID))
		r = eng.submit(page, "/orgs/"+orgA+"/operations", form)
		wantStatus(t, r, http.StatusSeeOther)
		rs, err := e.store.ListRequests(ctx, models.OrgScope(e.fx.OrgA.ID), models.RequestFilter{})
		if err != nil || len(rs) != 1 {
			t.Fatalf("requests = %+v, %v", rs, err)
		}
		got := rs[0]
		if got.Channel != "phone" || got.RaisedBy != e.fx.Engineer.ID || got.RequestedBy == nil || *got.RequestedBy != e.fx.CustA.ID || got.Urgency != "emergency" {
			t.Fatalf("request raised for a caller = %+v", got)
		}
		wantBody(t, cust.get("/operations"), "Power-cycle web-01")
	})
}

func TestCustomerWithdrawsAndSeesRejectedForms(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		o := newOpEnv(t, e)
		cust, eng, other := e.as(t, e.fx.CustA), e.as(t, e.fx.Engineer), e.as(t, e.fx.CustB)
		req := o.raise(t, cust)
		t.Run("an engineer's rejection of a signed form shows in the customer's timeline with the reason", func(t *testing.T) {
			wantStatus(t, eng.upload(req, req+"/authorizations", url.Values{"contact": {ids(o.signer.ID)}}, "scan.png", pngOf(t, 10, 10)), http.StatusSeeOther)
			m := regexp.MustCompile(`action="(/operations/[0-9a-f]{16}/authorizations/\d+/reject)"`).FindStringSubmatch(eng.get(req).Body)
			if m == nil {
				t.Fatal("no reject form")
			}
			r := eng.submit(req, m[1], url.Values{"reason": {""}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, zh("error.required"))
			wantRedirect(t, eng.submit(req, m[1], url.Values{"reason": {"Not signed <b>at all</b>"}}), req)
			wantBody(t, cust.get(req), zh("operation.auth.rejected_note", "Not signed <b>at all</b>"), zh("operation.auth.status.rejected"))
			r = eng.submit(req, m[1], url.Values{"reason": {"again"}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, `role="alert">`+zh("operation.error.already_decided"))
		})
		t.Run("only the customer withdraws, and only their own organization's request", func(t *testing.T) {
			wantStatus(t, eng.submit(req, req+"/withdraw", nil), http.StatusForbidden)
			wantStatus(t, other.submit("/operations", req+"/withdraw", nil), http.StatusNotFound)
		})
		t.Run("the customer withdraws a request nobody has authorized", func(t *testing.T) {
			wantRedirect(t, cust.submit(req, req+"/withdraw", url.Values{"reason": {"Fixed it ourselves"}}), req)
			r := cust.get(req)
			wantBody(t, r, zh("operation.state.abandoned"), "Fixed it ourselves", `href="`+req+`/report.pdf"`)
			if n := len(auditActions(t, e, models.AuditOperationState)); n != 1 {
				t.Fatalf("%d state changes audited", n)
			}
		})
		t.Run("an authorized request cannot be withdrawn", func(t *testing.T) {
			req2 := o.raise(t, cust)
			wantRedirect(t, eng.submit(req2, req2+"/phone", url.Values{"contact": {ids(o.signer.ID)}, "passphrase": {passphrase}}), req2+"#auth-h")
			r := cust.submit(req2, req2+"/withdraw", nil)
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, `role="alert">`+zh("operation.error.withdraw_authorized"))
		})
	})
}

// A document row whose file is gone from the document store (documents
// lost, or a database restored without them) answers a page that says so
// in the reader's language, and logs an error for the operators: not a
// 404 that looks like a wrong link.
func TestADocumentWhoseFileIsGoneSaysSoAndIsLogged(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		o := newOpEnv(t, e)
		var logs logLines
		blobs, err := blobstore.New(o.blobDir)
		if err != nil {
			t.Fatal(err)
		}
		e.app = newApp(e.store, func(d *handlers.Deps) { d.Blobs, d.Logger = blobs, logs.logger() })
		cust := e.as(t, e.fx.CustA)
		eng := e.as(t, e.fx.Engineer)
		req := o.raise(t, cust)
		r := eng.upload(req, req+"/authorizations", url.Values{"contact": {ids(o.signer.ID)}}, "scan.png", pngOf(t, 30, 40))
		wantStatus(t, r, http.StatusSeeOther)
		m := regexp.MustCompile(`href="(/operations/[0-9a-f]{16}/documents/[0-9a-f]{16})"`).FindStringSubmatch(eng.get(req).Body)
		if m == nil {
			t.Fatal("no document link")
		}
		wantStatus(t, cust.get(m[1]), http.StatusOK)
		if err := os.RemoveAll(o.blobDir); err != nil {
			t.Fatal(err)
		}
		r = cust.get(m[1])
		wantStatus(t, r, http.StatusInternalServerError)
		wantBody(t, r, zh("error.document_missing"), zh("error.document_missing_hint"))
		missing := withMsg(logs.lines(t), "document file missing from the document store")
		if len(missing) != 1 || missing[0]["level"] != "ERROR" || missing[0]["document_id"] == nil || missing[0]["store"] != blobs.Where() {
			t.Fatalf("log lines about the missing file: %v", missing)
		}
	})
}
