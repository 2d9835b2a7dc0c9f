package handlers_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/blobstore"
)

const (
	complaintScript = "<script>alert(1)</script>"
	complaintSQL    = "'; DROP TABLE complaints; --"
)

// complaintApp gives e's app a document store and the upload limits.
func complaintApp(t *testing.T, e *env) {
	t.Helper()
	blobs, err := blobstore.New(filepath.Join(t.TempDir(), "documents"))
	if err != nil {
		t.Fatal(err)
	}
	e.app = newApp(e.store, func(d *handlers.Deps) { d.Blobs, d.Uploads = blobs, models.DefaultUploadLimits })
}

// fileComplaintPage files a complaint about the named engineer as
// customer a through the form, with a PNG, and returns its page's path.
func fileComplaintPage(t *testing.T, e *env, a *client, subject, description string) string {
	t.Helper()
	r := a.upload("/complaints/new", "/complaints/new", url.Values{"category": {models.ComplaintEmployee},
		"named_user": {ids(e.fx.Engineer.ID)}, "subject": {subject}, "description": {description}}, "scan "+complaintSQL[3:7]+".png", pngOf(t, 40, 30))
	wantStatus(t, r, http.StatusSeeOther)
	loc := r.Header.Get("Location")
	if !regexp.MustCompile(`^/complaints/[0-9a-f]{16}$`).MatchString(loc) {
		t.Fatalf("after filing: redirect to %q", loc)
	}
	return loc
}

// A customer files a complaint about a named engineer with a file; the
// desk writes the report, a message and the resolution, each emailed once;
// the customer sees them and confirms. Script and SQL in every field are
// kept as typed and shown escaped.
func TestComplaintFromFilingToClosing(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		complaintApp(t, e)
		ctx := context.Background()
		cust, desk := e.as(t, e.fx.CustA), e.as(t, e.fx.Service)
		r := cust.get("/complaints/new")
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, zh("complaints.category.employee"), html.EscapeString(e.fx.Engineer.Name+" ("+zh("role.engineer")+")"), `name="_once"`)
		wantNoBody(t, r, `name="filed_by"`, `name="received_at"`)

		evil := complaintScript + complaintSQL
		page := fileComplaintPage(t, e, cust, evil, evil+"\n工程师态度差")
		r = cust.get(page)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, "CP-2026-0001", html.EscapeString(evil), zh("clock.running"), zh("complaints.state.open"), ".png</a>")
		wantNoBody(t, r, complaintScript, zh("complaints.report.submit"), zh("complaints.assign_submit"))
		ref := strings.TrimPrefix(page, "/complaints/")
		c, err := e.store.GetComplaintByRef(ctx, models.Viewer{Scope: models.AllOrgs()}, ref)
		if err != nil || c.Subject != evil || c.Description != evil+"\n工程师态度差" {
			t.Fatalf("stored %+v (%v)", c, err)
		}
		// The file downloads as sent.
		f := regexp.MustCompile(`href="(/complaints/[0-9a-f]{16}/files/[0-9a-f]{16})"`).FindStringSubmatch(r.Body)
		if f == nil {
			t.Fatal("no file link")
		}
		dl := desk.get(f[1])
		wantStatus(t, dl, http.StatusOK)
		if dl.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(dl.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("download headers %v", dl.Header)
		}

		// The desk sees the actions, never offering the named engineer.
		e.clock.Advance(3 * time.Hour)
		cust, desk = e.as(t, e.fx.CustA), e.as(t, e.fx.Service) // signed in again after the idle timeout
		r = desk.get(page)
		wantBody(t, r, zh("complaints.report.submit"), zh("complaints.assign_submit"))
		if strings.Contains(r.Body, `<option value="`+ids(e.fx.Engineer.ID)+`"`) {
			t.Fatal("the named engineer is offered as assignee")
		}
		// A report with a part missing comes back translated, input kept.
		r = desk.submit(page, page+"/report", url.Values{"found": {evil}, "done": {""}, "next": {"明天更换光模块"}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("error.required"), html.EscapeString(evil), "明天更换光模块")
		wantNoBody(t, r, complaintScript)
		r = desk.submit(page, page+"/report", url.Values{"found": {evil}, "done": {evil}, "next": {evil}})
		wantRedirect(t, r, page+"#thread")
		r = desk.submit(page, page+"/messages", url.Values{"body": {evil + " 已联系"}})
		wantRedirect(t, r, page+"#thread")
		r = desk.submit(page, page+"/resolve", url.Values{"summary": {evil}})
		wantRedirect(t, r, page)

		r = cust.get(page)
		wantBody(t, r, zh("complaints.state.resolved"), zh("clock.met"), zh("complaints.report.found"), html.EscapeString(evil+" 已联系"),
			zh("complaints.confirm.submit"), zh("complaints.reopen.submit"))
		wantNoBody(t, r, complaintScript)
		// Three staff lines, three emails to the complaining user.
		evs, err := e.store.ClaimEvents(ctx, "t", time.Minute, 100)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ev := range evs {
			if ev.Kind == models.EventComplaintReply {
				n++
			}
		}
		if n != 3 {
			t.Fatalf("%d reply events, want 3", n)
		}
		r = cust.submit(page, page+"/confirm", nil)
		wantRedirect(t, r, page)
		r = cust.get(page)
		wantBody(t, r, zh("complaints.state.closed"))
		wantNoBody(t, r, zh("complaints.message_send"), `action="`+page+`/confirm"`)
	})
}

// The named engineer gets 404 on every complaint route, as another
// organization does; roles that may not act get 403; every post needs
// its CSRF token.
func TestComplaintRoutesWhoMay(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		complaintApp(t, e)
		cust := e.as(t, e.fx.CustA)
		page := fileComplaintPage(t, e, cust, "Rude engineer", "He shouted")
		r := cust.get(page)
		file := regexp.MustCompile(`href="(/complaints/[0-9a-f]{16}/files/[0-9a-f]{16})"`).FindStringSubmatch(r.Body)[1]
		posts := map[string]url.Values{
			"/messages": {"body": {"x"}}, "/report": {"found": {"x"}, "done": {"x"}, "next": {"x"}}, "/resolve": {"summary": {"x"}},
			"/assign": {"assignee": {ids(e.fx.Admin.ID)}}, "/confirm": {}, "/reopen": {"reason": {"x"}}, "/files": {},
		}
		for _, u := range []*models.User{e.fx.Engineer, e.fx.CustB} {
			c := e.as(t, u)
			for _, path := range []string{page, file} {
				wantStatus(t, c.get(path), http.StatusNotFound)
			}
			for suffix, form := range posts {
				wantStatus(t, c.submit("/account", page+suffix, form), http.StatusNotFound)
			}
		}
		// Reception reads the complaint (it does not name them) but acts on nothing.
		rec := e.as(t, e.fx.Reception)
		wantStatus(t, rec.get(page), http.StatusOK)
		wantStatus(t, rec.get(file), http.StatusOK)
		for suffix, form := range posts {
			wantStatus(t, rec.submit(page, page+suffix, form), http.StatusForbidden)
		}
		// The customer does not report, resolve or assign; the desk does not confirm or reopen.
		for _, suffix := range []string{"/report", "/resolve", "/assign"} {
			wantStatus(t, cust.submit(page, page+suffix, posts[suffix]), http.StatusForbidden)
		}
		desk := e.as(t, e.fx.Service)
		for _, suffix := range []string{"/confirm", "/reopen"} {
			wantStatus(t, desk.submit(page, page+suffix, posts[suffix]), http.StatusForbidden)
		}
		// Engineers and reception may not file.
		wantStatus(t, rec.get("/complaints/new"), http.StatusForbidden)
		// Without the CSRF token, nothing.
		wantStatus(t, desk.post(page+"/messages", url.Values{"body": {"x"}}), http.StatusForbidden)
		// Assigning to the named engineer is refused, translated.
		r = desk.submit(page, page+"/assign", url.Values{"assignee": {ids(e.fx.Engineer.ID)}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("complaints.error.assign_named"))
	})
}

// The desk records a complaint received by phone an hour ago: the clock
// counts from the call; a form with problems comes back with every error
// and the input kept.
func TestComplaintRecordedByTheDesk(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		complaintApp(t, e)
		desk := e.as(t, e.fx.Service)
		r := desk.get("/complaints/new")
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, `name="filed_by"`, `name="received_at"`, zh("complaints.channel.letter"))
		evil := complaintScript + complaintSQL
		called := e.clock.Now().Add(-time.Hour)
		bad := url.Values{"filed_by": {ids(e.fx.CustA.ID)}, "channel": {"phone"}, "received_at": {local(e.clock.Now().Add(time.Hour))},
			"category": {models.ComplaintNetwork}, "subject": {evil}, "description": {""}}
		r = desk.upload("/complaints/new", "/complaints/new", bad, "", nil)
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("complaints.error.received_future"), zh("error.required"), html.EscapeString(evil))
		wantNoBody(t, r, complaintScript)
		good := url.Values{"filed_by": {ids(e.fx.CustA.ID)}, "channel": {"phone"}, "received_at": {local(called)},
			"category": {models.ComplaintNetwork}, "subject": {"丢包"}, "description": {evil}}
		r = desk.upload("/complaints/new", "/complaints/new", good, "", nil)
		wantStatus(t, r, http.StatusSeeOther)
		page := r.Header.Get("Location")
		r = desk.get(page)
		wantBody(t, r, zh("complaints.channel.phone"), html.EscapeString(evil), zh("clock.running"))
		c, err := e.store.GetComplaintByRef(context.Background(), models.Viewer{Scope: models.AllOrgs()}, strings.TrimPrefix(page, "/complaints/"))
		if err != nil {
			t.Fatal(err)
		}
		k, err := e.store.ComplaintClock(context.Background(), c)
		if err != nil || !k.StartedAt.Equal(called.Truncate(time.Minute)) || *c.FiledBy != e.fx.CustA.ID || c.OrgID != e.fx.OrgA.ID {
			t.Fatalf("clock %+v (%v) complaint %+v", k, err, c)
		}
		// The customer sees it as theirs.
		wantStatus(t, e.as(t, e.fx.CustA).get(page), http.StatusOK)
		wantStatus(t, e.as(t, e.fx.CustB).get(page), http.StatusNotFound)
	})
}
