package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/colo-portal/portal/models"
)

// The written record of a complaint holds the complaint, every message of
// the thread (Chinese included), the report's found, done and next and
// the resolution, in the reader's language; its download is audited; the
// named engineer and another organization get 404, and never the link.
func TestComplaintRecordHoldsTheWholeThread(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		complaintApp(t, e)
		cust, desk := e.as(t, e.fx.CustA), e.as(t, e.fx.Service)
		page := fileComplaintPage(t, e, cust, "工程师态度恶劣 Rude engineer", "现场工程师拒绝解释操作步骤。He refused to explain.")
		msgs := []struct {
			who  *client
			body string
		}{
			{desk, "您好，我们已收到投诉，正在核实。We are checking."},
			{cust, "补充：当天下午三点左右发生。It was about 15:00."},
			{desk, "已调取机房门禁记录 ZZDESKLINE"},
		}
		for _, m := range msgs {
			wantRedirect(t, m.who.submit(page, page+"/messages", url.Values{"body": {m.body}}), page+"#thread")
		}
		report := url.Values{"found": {"工程师未按规范沟通 ZZFOUND"}, "done": {"已约谈该工程师 ZZDONE"}, "next": {"下周更换负责工程师 ZZNEXT"}}
		wantRedirect(t, desk.submit(page, page+"/report", report), page+"#thread")
		wantRedirect(t, desk.submit(page, page+"/resolve", url.Values{"summary": {"已书面致歉 ZZRESOLVED"}}), page)

		// Everyone who sees the complaint is offered its record.
		for _, u := range []*models.User{e.fx.CustA, e.fx.Service, e.fx.Reception} {
			wantBody(t, e.as(t, u).get(page), `href="`+page+`/record.pdf"`, zh("complaints.record_pdf"))
		}
		for _, tc := range []struct {
			lang, query string
		}{{"zh-CN", ""}, {"en", "?lang=en"}} {
			r := cust.get(page + "/record.pdf" + tc.query)
			wantStatus(t, r, http.StatusOK)
			if r.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") ||
				!strings.Contains(r.Header.Get("Content-Disposition"), "CP-2026-0001-record-"+tc.lang+".pdf") {
				t.Fatalf("%s record headers %v", tc.lang, r.Header)
			}
			if !strings.HasPrefix(r.Body, "%PDF-") {
				t.Fatalf("%s record is not a PDF: %.20q", tc.lang, r.Body)
			}
			text := squashSpace(pdfText(t, []byte(r.Body)))
			if text == "" {
				continue // pdftotext is missing, which pdfText allows outside CI
			}
			want := []string{"CP-2026-0001", e.fx.OrgA.Name, e.fx.Engineer.Name, "工程师态度恶劣 Rude engineer", "现场工程师拒绝解释操作步骤。",
				"ZZFOUND", "ZZDONE", "ZZNEXT", "工程师未按规范沟通", "已约谈该工程师", "下周更换负责工程师", "已书面致歉 ZZRESOLVED"}
			for _, m := range msgs {
				want = append(want, m.body)
			}
			for _, k := range []string{"pdf.complaint.title", "pdf.complaint.found", "pdf.complaint.done", "pdf.complaint.next",
				"complaints.category.employee", "complaints.kind.message", "complaints.kind.report", "clock.met"} {
				want = append(want, tr(tc.lang, k))
			}
			for _, w := range want {
				if !strings.Contains(text, squashSpace(w)) {
					t.Errorf("the %s record lacks %q", tc.lang, w)
				}
			}
		}
		evs := auditActions(t, e, models.AuditComplaintRecordPDF)
		if len(evs) != 2 || !strings.Contains(evs[0].Detail, `"complaint":"CP-2026-0001"`) {
			t.Fatalf("record downloads audited as %+v", evs)
		}

		// The named engineer and another organization: not found.
		for _, u := range []*models.User{e.fx.Engineer, e.fx.CustB} {
			wantStatus(t, e.as(t, u).get(page+"/record.pdf"), http.StatusNotFound)
		}
		if n := len(auditActions(t, e, models.AuditComplaintRecordPDF)); n != 2 {
			t.Fatalf("%d record downloads audited after the refusals, want 2", n)
		}
	})
}
