package notify

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
)

// detectIncident runs the provider-wide incident detection once a pass
// (models.Store.DetectIncident): it opens an incident when outages of
// many organizations start together and adds later outages to it.
func (d *Dispatcher) detectIncident(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	inc, opened, err := d.store.DetectIncident(ctx, d.cfg.Incident)
	if err != nil {
		d.dbFailed("detect incident", err)
		return
	}
	if opened {
		d.log.Warn("provider-wide incident opened", "incident_id", inc.ID, "started_at", inc.StartedAt)
	}
}

// incidentNotice renders an incident update for one organization's contact.
func (d *Dispatcher) incidentNotice(ctx context.Context, del models.Delivery) (*notice, string, error) {
	ref, err := d.store.EventRef(ctx, models.AllOrgs(), del.OrgID, del.EventID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, "the event no longer exists", nil
	}
	if err != nil {
		return nil, "", err
	}
	f, err := d.store.GetIncidentUpdateFacts(ctx, models.AllOrgs(), del.OrgID, ref, del.ContactID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, "the incident update no longer exists", nil
	}
	if err != nil {
		return nil, "", err
	}
	return composeIncidentUpdate(del, f, d.cfg.BaseURL, d.cfg.Location), "", nil
}

// HomeURL is the customer's home page, where the incident's latest update
// shows, or "" without a base URL.
func HomeURL(baseURL string) string { return pageURL(baseURL, "/") }

// composeIncidentUpdate renders an incident update in the contact's
// language: what the provider wrote (in the writer's language, as
// written), when the incident started, how many of the organization's own
// devices it affects, and whether it is resolved. Nothing about other
// customers.
func composeIncidentUpdate(del models.Delivery, f *models.IncidentUpdateFacts, baseURL string, loc *time.Location) *notice {
	tr := locales.For(del.Locale)
	n := &notice{Lang: tr.Lang(), To: f.ContactName, URL: HomeURL(baseURL), Incident: f}
	at := func(t time.Time) string { return t.In(loc).Format(longTime) }
	resolved := f.Incident.State == models.IncidentResolved
	if resolved {
		n.Subject = tr.T("email.incident_subject_resolved", f.Org.Name)
	} else {
		n.Subject = tr.T("email.incident_subject", f.Org.Name)
	}
	var b strings.Builder
	line := func(s string) { b.WriteString(s + "\n") }
	line(greet(tr, f.ContactName))
	line("")
	line(tr.T("email.incident_intro", at(f.Incident.StartedAt), f.Devices))
	line("")
	for _, l := range strings.Split(strings.ReplaceAll(f.Update.Body, "\r\n", "\n"), "\n") {
		line(strings.TrimRight("    "+l, " "))
	}
	line("")
	line(tr.T("email.incident_written", at(f.Update.CreatedAt)))
	if resolved && f.Incident.ResolvedAt != nil {
		line(tr.T("email.incident_resolved", at(*f.Incident.ResolvedAt)))
	}
	line(tr.T("email.incident_clocks"))
	if n.URL != "" {
		line("")
		line(tr.T("email.incident_link", n.URL))
	}
	line("")
	signOff(tr, line, tr.T("email.why", f.Org.Name))
	n.Body = b.String()
	n.Short = shorten(tr.T("email.incident_short", f.Update.Body), n.URL)
	return n
}

// IncidentPayload is the webhook body of an incident update
// (event incident.update): the organization, the contact, the update and
// the short text to send.
type IncidentPayload struct {
	Event        string          `json:"event"`
	DeliveryID   int64           `json:"delivery_id"`
	Attempt      int             `json:"attempt"`
	Organization PayloadOrg      `json:"organization"`
	Contact      PayloadContact  `json:"contact"`
	Incident     PayloadIncident `json:"incident"`
	Message      string          `json:"message"`
	Language     string          `json:"language"`
}

// PayloadIncident is the incident an update is about; times RFC 3339 UTC.
type PayloadIncident struct {
	StartedAt  time.Time  `json:"started_at"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
	Devices    int        `json:"devices"` // the organization's own
	Update     string     `json:"update"`
	URL        string     `json:"url,omitempty"`
}

// webhookBody is the JSON body of a webhook request: an outage notice's
// Payload, or an incident update's IncidentPayload.
func webhookBody(del models.Delivery, n *notice) any {
	f := n.Incident
	if f == nil {
		return payload(del, n)
	}
	p := IncidentPayload{Event: del.Event, DeliveryID: del.ID, Attempt: del.Attempts + 1,
		Organization: PayloadOrg{ID: f.Org.ID, Slug: f.Org.Slug, Name: f.Org.Name},
		Contact:      PayloadContact{Name: f.ContactName, Channel: string(del.Channel), Address: del.Address},
		Incident: PayloadIncident{StartedAt: f.Incident.StartedAt.UTC(), Devices: f.Devices, Update: f.Update.Body,
			URL: n.URL},
		Message: n.Short, Language: n.Lang}
	if f.Incident.ResolvedAt != nil {
		r := f.Incident.ResolvedAt.UTC()
		p.Incident.ResolvedAt = &r
	}
	return p
}
