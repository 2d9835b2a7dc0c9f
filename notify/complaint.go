package notify

import (
	"strings"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
)

// ComplaintURL is the page of a complaint, or "" without a base URL.
func ComplaintURL(baseURL, ref string) string {
	return pageURL(baseURL, "/complaints/"+ref)
}

// composeComplaintReply tells the customer user who complained what the
// service desk wrote: a message, the written handling report (found,
// done, next) or the resolution, in the recipient's language.
func composeComplaintReply(del models.Delivery, f *models.ComplaintReplyFacts, to, baseURL string) *notice {
	tr := locales.For(del.Locale)
	c, l := f.Complaint, f.Line
	n := &notice{Lang: tr.Lang(), To: to, URL: ComplaintURL(baseURL, c.Ref)}
	var b strings.Builder
	line := func(s string) { b.WriteString(s + "\n") }
	quote := func(text string) { quoteLines(line, text) }
	line(greet(tr, to))
	line("")
	switch l.Kind {
	case models.ComplaintReport:
		n.Subject = tr.T("email.complaint_report_subject", c.Number(), c.Subject)
		line(tr.T("email.complaint_report_intro", c.Number(), l.AuthorName))
		for _, part := range []struct{ key, text string }{{"complaints.report.found", l.Found}, {"complaints.report.done", l.Done},
			{"complaints.report.next", l.Next}} {
			line("")
			line(tr.T(part.key) + ":")
			quote(part.text)
		}
	case models.ComplaintResolution:
		n.Subject = tr.T("email.complaint_resolved_subject", c.Number(), c.Subject)
		line(tr.T("email.complaint_resolved_intro", c.Number(), l.AuthorName))
		line("")
		quote(l.Body)
		line("")
		line(tr.T("email.complaint_resolved_next"))
	default:
		n.Subject = tr.T("email.complaint_message_subject", c.Number(), c.Subject)
		line(tr.T("email.complaint_message_intro", c.Number(), l.AuthorName))
		line("")
		quote(l.Body)
	}
	if n.URL != "" {
		line("")
		line(tr.T("email.complaint_link", n.URL))
	}
	line("")
	signOff(tr, line, tr.T("email.complaint_why", f.Org.Name))
	n.Body = b.String()
	return n
}

// quoteLines writes text through line, each of its lines indented four
// spaces, as an email quotes what someone wrote.
func quoteLines(line func(string), text string) {
	for _, t := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		line(strings.TrimRight("    "+t, " "))
	}
}
