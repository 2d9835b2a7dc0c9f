package notify

import (
	"strings"
	"time"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
)

// MaintenanceURL is the page of a maintenance window, where the customer
// agrees or declines, or "" without a base URL.
func MaintenanceURL(baseURL, ref string) string {
	return pageURL(baseURL, "/maintenance/"+ref)
}

// composeMaintenance tells one contact of an affected organization about
// a maintenance window, in the contact's language, times in the
// provider's zone: its announcement (the window, the work, what it touches
// of that organization only, and the link to agree or decline before the
// start) or its cancellation with the reason. Nothing about other
// customers.
func composeMaintenance(del models.Delivery, f *models.MaintenanceFacts, to, baseURL string, loc *time.Location) *notice {
	tr := locales.For(del.Locale)
	w := f.Window
	n := &notice{Lang: tr.Lang(), To: to, URL: MaintenanceURL(baseURL, w.Ref)}
	var b strings.Builder
	line := func(s string) { b.WriteString(s + "\n") }
	quote := func(text string) { quoteLines(line, text) }
	window := visitWindow(w.StartsAt, w.EndsAt, loc)
	line(greet(tr, to))
	line("")
	if f.Cancelled {
		n.Subject = tr.T("email.maintenance_cancelled_subject", f.Org.Name, w.Number(), w.Title)
		line(tr.T("email.maintenance_cancelled_intro", w.Number(), window))
		line("")
		line(tr.T("email.maintenance_cancelled_reason"))
		quote(w.CancelReason)
		if n.URL != "" {
			line("")
			line(tr.T("email.maintenance_link", n.URL))
		}
	} else {
		n.Subject = tr.T("email.maintenance_subject", f.Org.Name, w.Number(), w.Title)
		line(tr.T("email.maintenance_intro", w.Number()))
		line("")
		line(tr.T("email.maintenance_window", window))
		line(tr.T("email.maintenance_work", w.Title))
		if w.Body != "" {
			quote(w.Body)
		}
		line("")
		line(tr.T("email.maintenance_affected"))
		a := f.Affected
		if a.Whole {
			line("  - " + tr.T("maintenance.affects_whole"))
		}
		for _, c := range a.Cabinets {
			line("  - " + tr.T("maintenance.affects_cabinet", c))
		}
		for _, d := range a.Devices {
			s := "  - " + d.Name + " (" + d.Address + ")"
			if d.Cabinet != "" {
				s += ", " + tr.T("maintenance.in_cabinet", d.Cabinet)
			}
			line(s)
		}
		line("")
		line(tr.T("email.maintenance_rule"))
		line("")
		start := w.StartsAt.In(loc).Format("2006-01-02 15:04")
		if n.URL != "" {
			line(tr.T("email.maintenance_answer_link", start, n.URL))
		} else {
			line(tr.T("email.maintenance_answer_portal", start))
		}
	}
	line("")
	signOff(tr, line, tr.T("email.maintenance_why", f.Org.Name))
	n.Body = b.String()
	return n
}
