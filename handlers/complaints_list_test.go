package handlers_test

import (
	"context"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
)

// complaintAt has the service desk record a complaint of org, received by
// phone at received.
func (e *env) complaintAt(t *testing.T, org *models.Organization, cust *models.User, category string, named int64,
	subject string, received time.Time) *models.Complaint {
	t.Helper()
	c, err := e.store.CreateComplaint(context.Background(), models.UserActor(e.fx.Service, "10.0.0.2"), org.ID, models.ComplaintInput{
		Category: category, NamedUserID: named, Subject: subject, Description: "details of " + subject,
		Channel: "phone", ReceivedAt: received, FiledBy: cust.ID})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestComplaintListsKeepOrganizationsAndTheNamedApart(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		fx, now, h := e.fx, e.clock.Now(), time.Hour
		soon := e.complaintAt(t, fx.OrgA, fx.CustA, models.ComplaintNetwork, 0, "<script>alert('loss')</script> Alpha loss", now.Add(-20*h))
		named := e.complaintAt(t, fx.OrgA, fx.CustA, models.ComplaintEmployee, fx.Engineer.ID, "Rude engineer ZZNAMED", now.Add(-25*h))
		answered := e.complaintAt(t, fx.OrgA, fx.CustA, models.ComplaintService, 0, "Alpha answered", now.Add(-30*h))
		beta := e.complaintAt(t, fx.OrgB, fx.CustB, models.ComplaintSupport, 0, "Beta slow support", now.Add(-2*h))
		// The first response of one, written straight into the tables.
		raw, _, err := models.Open(t.Context(), models.OpenOptions{URL: e.db.URL})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if s, err := raw.DB(); err == nil {
				s.Close()
			}
		})
		if err := raw.Model(&models.Complaint{}).Where("id = ?", answered.ID).
			Updates(map[string]any{"state": models.ComplaintResponded, "first_response_at": now.Add(-10 * h).UTC()}).Error; err != nil {
			t.Fatal(err)
		}
		if err := raw.Model(&models.Clock{}).Where("kind = ? AND ref_id = ?", models.ClockComplaintResponse, answered.ID).
			Updates(map[string]any{"outcome": models.ClockMet, "stopped_at": now.Add(-10 * h).UTC()}).Error; err != nil {
			t.Fatal(err)
		}
		if err := raw.Model(&models.Complaint{}).Where("id = ?", soon.ID).Update("assignee_id", fx.Service.ID).Error; err != nil {
			t.Fatal(err)
		}
		subj := func(c *models.Complaint) string { return html.EscapeString(c.Subject) }
		link := func(c *models.Complaint) string { return `href="/complaints/` + c.Ref + `"` }
		traces := func(c *models.Complaint) []string { return []string{subj(c), link(c), c.Number()} }
		order := func(t *testing.T, r *response, cs ...*models.Complaint) {
			t.Helper()
			last := -1
			for _, c := range cs {
				i := strings.Index(r.Body, subj(c))
				if i <= last {
					t.Errorf("%q at %d, after %d: want the order %v", c.Subject, i, last, cs)
				}
				last = i
			}
		}

		// A customer sees its organization's complaints, the one about the
		// engineer included; nothing of another organization's.
		custA := e.as(t, fx.CustA)
		r := custA.get("/complaints")
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, subj(soon), subj(named), subj(answered), link(soon), soon.Number(), `href="/complaints/new"`,
			zh("complaints.state.responded"), zh("clock.met"), `href="/complaints"`)
		wantNoBody(t, r, append(traces(beta)[:2], "<script>alert")...)
		order(t, r, soon, named, answered) // the last received first
		custB := e.as(t, fx.CustB)
		r = custB.get("/complaints")
		wantBody(t, r, subj(beta), link(beta))
		wantNoBody(t, r, subj(soon), subj(named), subj(answered), link(named))
		wantStatus(t, custB.get("/complaints/figures"), http.StatusForbidden)
		wantNoBody(t, custB.get("/"), subj(soon), link(named))

		// The service desk: the queue by time left, overdue first, then
		// the answered ones; the counts; filters.
		desk := e.as(t, fx.Service)
		r = desk.get("/complaints")
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, zh("complaints.counts", 3, 1, 1, 0), fx.OrgB.Name, html.EscapeString(fx.Service.Name), zh("clock.overdue"))
		order(t, r, named, soon, beta, answered)
		r = desk.get("/complaints?org=" + ids(fx.OrgB.ID))
		wantBody(t, r, subj(beta), zh("complaints.counts", 1, 0, 0, 0))
		wantNoBody(t, r, subj(soon), subj(named), subj(answered))
		r = desk.get("/complaints?category=employee")
		wantBody(t, r, subj(named))
		wantNoBody(t, r, subj(soon), subj(beta), subj(answered))
		r = desk.get("/complaints?assignee=" + ids(fx.Service.ID))
		wantBody(t, r, subj(soon))
		wantNoBody(t, r, subj(named), subj(beta), subj(answered))
		r = desk.get("/complaints?assignee=none&state=open")
		order(t, r, named, beta)
		wantNoBody(t, r, subj(soon), subj(answered), `id="complaint-rest"`)
		r = desk.get("/complaints?state=responded")
		wantBody(t, r, subj(answered))
		wantNoBody(t, r, subj(soon), subj(named), subj(beta), `id="complaint-queue"`)
		// Its home: the head of the queue and the counts.
		r = desk.get("/")
		wantBody(t, r, `id="home-complaints"`, zh("complaints.counts", 3, 1, 1, 0), subj(named), subj(soon), subj(beta))
		order(t, r, named, soon, beta)
		wantNoBody(t, r, subj(answered))
		// Figures: November, Alpha received three.
		r = desk.get("/complaints/figures")
		wantStatus(t, r, http.StatusOK)
		received := regexp.MustCompile(`data-label="` + regexp.QuoteMeta(zh("complaints.figures.received")) + `" class="num">(\d+)<`)
		if got := received.FindAllStringSubmatch(r.Body, -1); len(got) != 2 || got[0][1] != "3" || got[1][1] != "1" {
			t.Errorf("desk figures received %q", got)
		}
		wantStatus(t, desk.get("/complaints/figures?from=2026-11&to=2026-01"), http.StatusOK)
		wantBody(t, desk.get("/complaints/figures?from=nonsense&to=2026-01"), zh("complaints.figures.error_month"))

		// The engineer the complaint names: no number, subject, link or
		// count of it anywhere.
		eng := e.as(t, fx.Engineer)
		for _, path := range []string{"/complaints", "/complaints?category=employee", "/complaints?state=open", "/", "/complaints/figures"} {
			r := eng.get(path)
			wantStatus(t, r, http.StatusOK)
			wantNoBody(t, r, traces(named)...)
			wantNoBody(t, r, "ZZNAMED", zh("complaints.counts", 3, 1, 1, 0))
		}
		r = eng.get("/complaints")
		wantBody(t, r, subj(soon), subj(beta), subj(answered), zh("complaints.counts", 2, 0, 1, 0))
		if got := received.FindAllStringSubmatch(eng.get("/complaints/figures").Body, -1); len(got) != 2 || got[0][1] != "2" {
			t.Errorf("engineer figures received %q", got)
		}
	})
}
