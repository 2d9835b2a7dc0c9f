package notify

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
)

// notice is one notification rendered in its recipient's language: an
// email subject and body, and a short text for SMS and pagers.
type notice struct {
	Lang     string
	To       string // the recipient's name, "" when unknown
	Subject  string
	Body     string
	Short    string
	URL      string
	Facts    *models.NoticeFacts         // outage notices only; the webhook payload needs it
	Incident *models.IncidentUpdateFacts // incident updates only (notify/incident.go)
}

// MaxShort is the most characters of the short text (one SMS).
const MaxShort = 140

const (
	longTime  = "2006-01-02 15:04:05 UTC-07:00"
	probeTime = "2006-01-02 15:04:05"
	shortTime = "01-02 15:04"
)

// OutageURL is the page of an outage, or "" without a base URL.
func OutageURL(baseURL string, outageID int64) string {
	return pageURL(baseURL, fmt.Sprintf("/outages/%d", outageID))
}

// pageURL is path on the portal at baseURL, or "" without a base URL (a
// notice then carries no link).
func pageURL(baseURL, path string) string {
	if baseURL == "" {
		return ""
	}
	return strings.TrimRight(baseURL, "/") + path
}

// OperationURL is the page of an operation request, or "" without a base URL.
func OperationURL(baseURL, requestRef string) string {
	return pageURL(baseURL, "/operations/"+requestRef)
}

// ContactsURL is the customer's page of authorized contacts, or "".
func ContactsURL(baseURL string) string {
	return pageURL(baseURL, "/contacts")
}

func deviceName(f *models.NoticeFacts) string { return nameOf(&f.Device, f.Outage.DeviceID) }

// nameOf names device d (deviceID when it was deleted since).
func nameOf(d *models.Device, deviceID int64) string {
	if d.Name != "" {
		return d.Name
	}
	return fmt.Sprintf("#%d", deviceID)
}

// withAddress is a device's name and, when it has one, its address.
func withAddress(name string, d *models.Device) string {
	if d.Address != "" {
		return name + " (" + d.Address + ")"
	}
	return name
}

// outageTail ends an outage notice: the link (linkKey), the promise to
// keep the contact informed while the outage lasts, and the sign-off.
func outageTail(tr *locales.Translator, line func(string), linkKey, url string, closed bool, org string) {
	if url != "" {
		line("")
		line(tr.T(linkKey, url))
	}
	line("")
	if !closed {
		line(tr.T("email.promise"))
		line("")
	}
	signOff(tr, line, tr.T("email.why", org))
}

// checkLabel names a check: its translated kind, and its target.
func checkLabel(kind string, c *models.Check) string {
	if c.Kind == "" || c.Target == "" {
		return kind
	}
	return kind + " " + c.Target
}

// compose renders a delivery's notice in its contact's language, times in
// the provider's zone.
func compose(del models.Delivery, f *models.NoticeFacts, baseURL string, loc *time.Location) *notice {
	if f.Count > 1 {
		return composeGroup(del, f, baseURL, loc)
	}
	tr := locales.For(del.Locale)
	n := &notice{Lang: tr.Lang(), To: f.ContactName, URL: OutageURL(baseURL, f.Outage.ID), Facts: f}
	kind := "?"
	if f.Check.Kind != "" {
		kind = tr.T("kind." + string(f.Check.Kind))
	}
	dev, chk := deviceName(f), checkLabel(kind, &f.Check)
	at := func(t time.Time) string { return t.In(loc).Format(longTime) }
	closed := del.Event == models.EventOutageClosed && f.Outage.EndedAt != nil

	var b strings.Builder
	line := func(s string) { b.WriteString(s + "\n") }
	line(greet(tr, f.ContactName))
	line("")
	if closed {
		n.Subject = tr.T("email.subject_closed", dev, kind)
		line(tr.T("email.closed_intro", dev))
	} else {
		n.Subject = tr.T("email.subject_opened", dev, kind)
		line(tr.T("email.opened_intro", dev, max(f.Outage.Failures, 1)))
	}
	line("")
	line(tr.T("email.organization", f.Org.Name))
	line(tr.T("email.device", withAddress(dev, &f.Device)))
	line(tr.T("email.check", chk))
	line(tr.T("email.started", at(f.Outage.StartedAt)))
	line(tr.T("email.confirmed", at(f.Outage.ConfirmedAt)))
	if closed {
		line(tr.T("email.ended", at(*f.Outage.EndedAt)))
		line(tr.T("email.duration", tr.Duration(f.Outage.EndedAt.Sub(f.Outage.StartedAt))))
	} else if f.Outage.EndedAt != nil {
		// Recovered before its notice went out: no separate recovery
		// notice follows (models/notice.go).
		line(tr.T("email.recovered_since", at(*f.Outage.EndedAt)))
	}
	if !closed && len(f.Evidence) > 0 {
		line("")
		line(tr.T("email.failed_probes"))
		for _, p := range f.Evidence {
			line("  " + p.At.In(loc).Format(probeTime) + "  " + tr.T("reason."+p.Reason))
		}
		if more := f.EvidenceTotal - len(f.Evidence); more > 0 {
			line("  " + tr.T("email.probes_more", more))
		}
	}
	outageTail(tr, line, "email.link", n.URL, closed, f.Org.Name)
	n.Body = b.String()

	if closed {
		n.Short = tr.T("email.short_closed", dev, f.Outage.EndedAt.In(loc).Format(shortTime), kind,
			tr.Duration(f.Outage.EndedAt.Sub(f.Outage.StartedAt)))
	} else {
		n.Short = tr.T("email.short_opened", dev, f.Outage.StartedAt.In(loc).Format(shortTime), kind,
			f.Outage.ConfirmedAt.In(loc).Format(shortTime))
	}
	n.Short = shorten(n.Short, n.URL)
	return n
}

// UptimeURL is the customer's uptime page filtered to down devices (or
// every device, for a recovery), or "" without a base URL.
func UptimeURL(baseURL string, down bool) string {
	if down {
		return pageURL(baseURL, "/uptime?state=down")
	}
	return pageURL(baseURL, "/uptime")
}

// composeGroup renders a notice of several outages (a grouped notice, or
// a storm summary of several notices): the count, the first MaxListed
// devices each with its check, start and recovery, and a link to the
// rest.
func composeGroup(del models.Delivery, f *models.NoticeFacts, baseURL string, loc *time.Location) *notice {
	tr := locales.For(del.Locale)
	closed := del.Event == models.EventOutageClosed
	n := &notice{Lang: tr.Lang(), To: f.ContactName, URL: UptimeURL(baseURL, !closed), Facts: f}
	at := func(t time.Time) string { return t.In(loc).Format(longTime) }
	var b strings.Builder
	line := func(s string) { b.WriteString(s + "\n") }
	line(greet(tr, f.ContactName))
	line("")
	if closed {
		n.Subject = tr.T("email.group_subject_closed", f.Count, f.Org.Name)
		line(tr.T("email.group_closed_intro", f.Count))
	} else {
		n.Subject = tr.T("email.group_subject_opened", f.Count, f.Org.Name)
		line(tr.T("email.group_opened_intro", f.Count))
		if f.Recovered > 0 {
			line(tr.T("email.group_recovered", f.Recovered))
		}
	}
	if f.Notices > 1 {
		line(tr.T("email.group_summary", f.Notices))
	}
	line("")
	line(tr.T("email.organization", f.Org.Name))
	line("")
	for _, it := range f.Items {
		dev := withAddress(nameOf(&it.Device, it.Outage.DeviceID), &it.Device)
		kind := "?"
		if it.Check.Kind != "" {
			kind = tr.T("kind." + string(it.Check.Kind))
		}
		chk := checkLabel(kind, &it.Check)
		if it.Outage.EndedAt != nil {
			line(tr.T("email.group_item_recovered", dev, chk, at(it.Outage.StartedAt), at(*it.Outage.EndedAt)))
		} else {
			line(tr.T("email.group_item", dev, chk, at(it.Outage.StartedAt)))
		}
	}
	if more := f.Count - len(f.Items); more > 0 {
		line(tr.T("email.group_more", more))
	}
	outageTail(tr, line, "email.group_link", n.URL, closed, f.Org.Name)
	n.Body = b.String()
	if closed {
		n.Short = tr.T("email.group_short_closed", f.Count, f.Org.Name)
	} else {
		n.Short = tr.T("email.group_short_opened", f.Count, f.Org.Name, f.Outage.StartedAt.In(loc).Format(shortTime))
	}
	n.Short = shorten(n.Short, n.URL)
	return n
}

// greet opens an email to the recipient by name, or without one.
func greet(tr *locales.Translator, name string) string {
	if name != "" {
		return tr.T("email.greeting", name)
	}
	return tr.T("email.greeting_anonymous")
}

// signOff ends an email: why the recipient gets it, and who sent it.
func signOff(tr *locales.Translator, line func(string), why string) {
	line(why)
	line("")
	line("-- ")
	line(tr.T("email.footer", tr.T("app.name")))
}

// composeOperation renders an engineer's message on an operation request
// for the requesting user or a contact who authorized the work, in the
// recipient's language, times in the provider's zone.
func composeOperation(del models.Delivery, f *models.OperationNoticeFacts, to, baseURL string, loc *time.Location) *notice {
	tr := locales.For(del.Locale)
	n := &notice{Lang: tr.Lang(), To: to, URL: OperationURL(baseURL, f.Request.Ref)}
	n.Subject = tr.T("email.operation_subject", f.Request.Number(), f.Request.Title)
	var b strings.Builder
	line := func(s string) { b.WriteString(s + "\n") }
	line(greet(tr, to))
	line("")
	if f.Message.AuthorName != "" {
		line(tr.T("email.operation_intro", f.Message.AuthorName, f.Request.Number(), f.Request.Title))
	} else {
		line(tr.T("email.operation_intro_anonymous", f.Request.Number(), f.Request.Title))
	}
	line("")
	// The message as written, set off by an indent; a CR LF typed in a
	// browser is one line end.
	for _, l := range strings.Split(strings.ReplaceAll(f.Message.Body, "\r\n", "\n"), "\n") {
		line(strings.TrimRight("    "+l, " "))
	}
	line("")
	line(tr.T("email.operation_request", f.Request.Number(), f.Request.Title))
	line(tr.T("email.organization", f.Org.Name))
	line(tr.T("email.operation_state", tr.T("operation.state."+f.Request.State)))
	line(tr.T("email.operation_written", f.Message.CreatedAt.In(loc).Format(longTime)))
	if n.URL != "" {
		line("")
		line(tr.T("email.operation_link", n.URL))
	}
	line("")
	why := tr.T("email.operation_why_requester", f.Org.Name)
	if del.ContactID != 0 {
		why = tr.T("email.operation_why_signer", f.Org.Name)
	}
	signOff(tr, line, why)
	n.Body = b.String()
	return n
}

// composeCauseSpan tells the requester of an operation that part of an
// outage was attributed to it: which part is exempt, and what still counts.
func composeCauseSpan(del models.Delivery, f *models.CauseSpanFacts, to, baseURL string, loc *time.Location) *notice {
	tr := locales.For(del.Locale)
	n := &notice{Lang: tr.Lang(), To: to, URL: OutageURL(baseURL, f.Outage.ID)}
	n.Subject = tr.T("email.cause_span_subject", f.Request.Number(), f.Device)
	var b strings.Builder
	line := func(s string) { b.WriteString(s + "\n") }
	at := func(t time.Time) string { return t.In(loc).Format(longTime) }
	line(greet(tr, to))
	line("")
	line(tr.T("email.cause_span_intro", f.Device, f.Request.Number(), f.Request.Title))
	line("")
	line(tr.T("email.cause_span_exempt", at(f.Notice.Start), at(f.Notice.End), tr.Duration(f.Notice.End.Sub(f.Notice.Start))))
	if f.Outage.EndedAt != nil {
		line(tr.T("email.cause_span_outage", at(f.Outage.StartedAt), at(*f.Outage.EndedAt)))
	} else {
		line(tr.T("email.cause_span_ongoing", at(f.Outage.StartedAt)))
	}
	counted, exempt := models.SplitTotals(f.Segments, f.Now)
	line(tr.T("email.cause_span_rest", tr.Duration(counted), tr.Duration(exempt)))
	if n.URL != "" {
		line("")
		line(tr.T("email.cause_span_link", n.URL))
	}
	line("")
	signOff(tr, line, tr.T("email.operation_why_requester", f.Org.Name))
	n.Body = b.String()
	return n
}

// composePhoneLock tells a customer user, or the contact itself, that
// wrong passphrases locked phone authorization for a contact.
func composePhoneLock(del models.Delivery, f *models.PhoneLockFacts, to, baseURL string, loc *time.Location) *notice {
	tr := locales.For(del.Locale)
	n := &notice{Lang: tr.Lang(), To: to, URL: ContactsURL(baseURL)}
	n.Subject = tr.T("email.phone_lock_subject", f.ContactName)
	var b strings.Builder
	line := func(s string) { b.WriteString(s + "\n") }
	line(greet(tr, to))
	line("")
	line(tr.T("email.phone_lock_intro", f.ContactName, f.Org.Name, f.LockedUntil.In(loc).Format(longTime), models.PhoneLockAfter))
	line("")
	line(tr.T("email.phone_lock_written"))
	line("")
	line(tr.T("email.phone_lock_call"))
	if n.URL != "" {
		line("")
		line(tr.T("email.phone_lock_link", n.URL))
	}
	line("")
	why := tr.T("email.phone_lock_why_user", f.Org.Name)
	if del.ContactID == f.ContactID {
		why = tr.T("email.phone_lock_why_contact", f.Org.Name)
	}
	signOff(tr, line, why)
	n.Body = b.String()
	return n
}

// shorten appends the link when it fits in one SMS, and cuts a text that
// is too long on its own.
func shorten(text, url string) string {
	if url != "" && utf8.RuneCountInString(text)+1+utf8.RuneCountInString(url) <= MaxShort {
		return text + " " + url
	}
	if utf8.RuneCountInString(text) <= MaxShort {
		return text
	}
	r := []rune(text)
	return string(r[:MaxShort-1]) + "…"
}

// InvitationURL is the link with which an invited user sets a password,
// or "" without a base URL (the email then says to ask for a new one).
func InvitationURL(baseURL, token string) string {
	return pageURL(baseURL, "/invite/"+token)
}

// AccountURL is the user's account page, or "".
func AccountURL(baseURL string) string {
	return pageURL(baseURL, "/account")
}

// composeRecoveryUsed tells a user that one of their recovery codes was
// used to sign in: when, from where, how many are left, and what to do
// if it was not them.
func composeRecoveryUsed(del models.Delivery, f *models.RecoveryNotice, baseURL string, loc *time.Location) *notice {
	tr := locales.For(del.Locale)
	n := &notice{Lang: tr.Lang(), To: f.UserName, URL: AccountURL(baseURL)}
	n.Subject = tr.T("email.recovery_subject")
	var b strings.Builder
	line := func(s string) { b.WriteString(s + "\n") }
	line(greet(tr, f.UserName))
	line("")
	line(tr.T("email.recovery_intro", f.Email, f.At.In(loc).Format(longTime), f.IP))
	line(tr.T("email.recovery_left", f.Left))
	line("")
	line(tr.T("email.recovery_not_you"))
	if n.URL != "" {
		line("")
		line(tr.T("email.recovery_link", n.URL))
	}
	line("")
	signOff(tr, line, tr.T("email.recovery_why"))
	n.Body = b.String()
	return n
}

// composeInvitation sends an invited colleague the one-time link to set
// a password.
func composeInvitation(del models.Delivery, f *models.InvitationNotice, baseURL string, loc *time.Location) *notice {
	tr := locales.For(del.Locale)
	n := &notice{Lang: tr.Lang(), To: f.UserName, URL: InvitationURL(baseURL, f.Token)}
	n.Subject = tr.T("email.invite_subject", f.OrgName)
	var b strings.Builder
	line := func(s string) { b.WriteString(s + "\n") }
	line(greet(tr, f.UserName))
	line("")
	if f.Inviter != "" {
		line(tr.T("email.invite_intro", f.Inviter, f.OrgName))
	} else {
		line(tr.T("email.invite_intro_anonymous", f.OrgName))
	}
	line("")
	if n.URL != "" {
		line(tr.T("email.invite_link", n.URL))
	} else {
		line(tr.T("email.invite_no_link"))
	}
	line(tr.T("email.invite_expires", f.ExpiresAt.In(loc).Format(longTime)))
	line(tr.T("email.invite_sign_in", f.Email))
	line("")
	signOff(tr, line, tr.T("email.invite_why", f.OrgName))
	n.Body = b.String()
	return n
}

// composeContactsRequest asks a customer's portal user to name the
// organization's authorized contacts, which it has none of yet.
func composeContactsRequest(del models.Delivery, org *models.Organization, to, baseURL string) *notice {
	tr := locales.For(del.Locale)
	n := &notice{Lang: tr.Lang(), To: to, URL: ContactsURL(baseURL)}
	n.Subject = tr.T("email.contacts_request_subject", org.Name)
	var b strings.Builder
	line := func(s string) { b.WriteString(s + "\n") }
	line(greet(tr, to))
	line("")
	line(tr.T("email.contacts_request_intro", org.Name))
	line("")
	line(tr.T("email.contacts_request_why"))
	if n.URL != "" {
		line("")
		line(tr.T("email.contacts_request_link", n.URL+"/new"))
	}
	line("")
	signOff(tr, line, tr.T("email.phone_lock_why_user", org.Name))
	n.Body = b.String()
	return n
}

// VisitURL is the customer's page of a visit, or "" without a base URL.
func VisitURL(baseURL, ref string) string {
	return pageURL(baseURL, "/visits/"+ref)
}

// composeVisitDecision tells the customer user who asked for a visit what
// reception decided: approved (the window, the site, the escort, the note
// on adjusted times, links to the visit and its passes) or refused (the
// reason), in the requester's language, times in the provider's zone.
func composeVisitDecision(del models.Delivery, f *models.VisitDecisionFacts, to, baseURL string, loc *time.Location) *notice {
	tr := locales.For(del.Locale)
	n := &notice{Lang: tr.Lang(), To: to, URL: VisitURL(baseURL, f.Visit.Ref)}
	number, d := f.Visit.Number(), f.Decision
	var b strings.Builder
	line := func(s string) { b.WriteString(s + "\n") }
	window := visitWindow(d.From, d.To, loc)
	line(greet(tr, to))
	line("")
	if del.Event == models.EventVisitApproved {
		n.Subject = tr.T("email.visit_approved_subject", number, d.From.In(loc).Format("2006-01-02 15:04"))
		line(tr.T("email.visit_approved_intro", number))
		line("")
		line(tr.T("email.visit_window", window))
		if d.Adjusted {
			line(tr.T("email.visit_adjusted", d.Note))
		}
		line(tr.T("email.visit_site", f.Site.Name))
		if f.Site.Address != "" {
			line(tr.T("email.visit_address", f.Site.Address))
		}
		line(tr.T("email.visit_escort", f.Escort))
		if !d.Adjusted && d.Note != "" {
			line(tr.T("email.visit_note", d.Note))
		}
		line("")
		line(tr.T("email.visit_bring_id"))
		if n.URL != "" {
			line("")
			line(tr.T("email.visit_link", n.URL))
			line(tr.T("email.visit_pass_link", n.URL+"/pass.pdf"))
		}
	} else {
		n.Subject = tr.T("email.visit_refused_subject", number)
		line(tr.T("email.visit_refused_intro", number, window))
		line("")
		line(tr.T("email.visit_reason"))
		for _, l := range strings.Split(strings.ReplaceAll(d.Note, "\r\n", "\n"), "\n") {
			line(strings.TrimRight("    "+l, " "))
		}
		line("")
		line(tr.T("email.visit_ask_again"))
		if n.URL != "" {
			line("")
			line(tr.T("email.visit_link", n.URL))
		}
	}
	line("")
	signOff(tr, line, tr.T("email.visit_why", f.Org.Name))
	n.Body = b.String()
	return n
}

// visitWindow is a visit's time in loc: "2026-11-03 10:00 – 16:00
// (UTC+08:00)", the exit with its date when it falls on another day.
func visitWindow(from, to time.Time, loc *time.Location) string {
	from, to = from.In(loc), to.In(loc)
	end := to.Format("15:04")
	if to.Format(time.DateOnly) != from.Format(time.DateOnly) {
		end = to.Format("2006-01-02 15:04")
	}
	return fmt.Sprintf("%s – %s (%s)", from.Format("2006-01-02 15:04"), end, from.Format("UTC-07:00"))
}
