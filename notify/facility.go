package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
)

// CabinetsURL is the customer's page of cabinets, or "" without a base URL.
func CabinetsURL(baseURL string) string { return pageURL(baseURL, "/cabinets") }

// CabinetURL is one cabinet's page (its charts), or "".
func CabinetURL(baseURL, key string) string {
	return pageURL(baseURL, "/cabinets/"+key) // the key is URL-safe
}

// PowerURL is staff's power page (proposals to confirm), or "".
func PowerURL(baseURL string) string { return pageURL(baseURL, "/power") }

// powerProposedNotice renders the email about a power incident proposed.
func (d *Dispatcher) powerProposedNotice(ctx context.Context, del models.Delivery) (*notice, string, error) {
	f, err := d.store.PowerProposalFacts(ctx, models.AllOrgs(), del.OrgID, del.EventID, del.Address)
	if errors.Is(err, models.ErrNotFound) {
		return nil, "the proposal no longer exists", nil
	}
	if err != nil {
		return nil, "", err
	}
	return composePowerProposed(del, f, d.cfg.BaseURL, d.cfg.Location), "", nil
}

// thresholdNotice renders the email about a meter's threshold crossed.
func (d *Dispatcher) thresholdNotice(ctx context.Context, del models.Delivery) (*notice, string, error) {
	f, err := d.store.FacilityThresholdFacts(ctx, models.AllOrgs(), del.OrgID, del.EventID, del.ContactID, del.Address)
	if errors.Is(err, models.ErrNotFound) {
		return nil, "the meter no longer exists", nil
	}
	if err != nil {
		return nil, "", err
	}
	return composeFacilityThreshold(del, f, d.cfg.BaseURL, d.cfg.Location), "", nil
}

// meterValue writes milli thousandths of quantity's unit with at most
// the decimals they hold ("31.2 °C", "1500 W").
func meterValue(milli int64, quantity string) string {
	sign := ""
	if milli < 0 {
		sign, milli = "-", -milli
	}
	s := fmt.Sprintf("%s%d", sign, milli/1000)
	if frac := milli % 1000; frac != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%03d", frac), "0")
	}
	if u := models.QuantityUnit(quantity); u != "" {
		s += " " + u
	}
	return s
}

// composeFacilityThreshold tells a contact of the organization, or its
// engineer, that a meter of one of its cabinets crossed its threshold,
// in the recipient's language, times in the provider's zone.
func composeFacilityThreshold(del models.Delivery, f *models.FacilityThresholdFacts, baseURL string, loc *time.Location) *notice {
	tr := locales.For(del.Locale)
	m, th := f.Meter, f.Threshold
	// The cabinet's own page, with its charts; the list if it has none.
	n := &notice{Lang: tr.Lang(), To: f.To, URL: CabinetsURL(baseURL)}
	if f.Org.Slug != "" && m.Cabinet != "" {
		n.URL = CabinetURL(baseURL, models.CabinetKey(f.Org.Slug, m.Cabinet))
	}
	what := m.Label
	if what == "" {
		what = tr.T("facility.quantity." + m.Quantity)
	}
	value, threshold := meterValue(th.ValueMilli, m.Quantity), meterValue(th.ThresholdMilli, m.Quantity)
	n.Subject = tr.T("facility.email.threshold_subject_"+th.Kind, f.Org.Name, m.Cabinet, what, threshold)
	var b strings.Builder
	line := func(s string) { b.WriteString(s + "\n") }
	line(greet(tr, f.To))
	line("")
	line(tr.T("facility.email.threshold_intro_"+th.Kind, what, m.Cabinet, value, th.At.In(loc).Format("2006-01-02 15:04"), threshold))
	line("")
	line(tr.T("facility.email.threshold_meter", tr.T("facility.email.quantity."+m.Quantity), f.Device))
	line(tr.T("facility.email.threshold_once"))
	if n.URL != "" {
		line("")
		line(tr.T("facility.email.cabinets_link", n.URL))
	}
	line("")
	why := tr.T("facility.email.why_contact", f.Org.Name)
	if del.ContactID == 0 {
		why = tr.T("facility.email.why_engineer", f.Org.Name)
	}
	signOff(tr, line, why)
	n.Body = b.String()
	n.Short = n.Subject
	return n
}

// composePowerProposed tells an engineer that both feeds of a cabinet
// read zero: a power incident for staff to confirm or dismiss.
func composePowerProposed(del models.Delivery, f *models.PowerProposalFacts, baseURL string, loc *time.Location) *notice {
	tr := locales.For(del.Locale)
	p := f.Proposal
	n := &notice{Lang: tr.Lang(), To: f.To, URL: PowerURL(baseURL)}
	n.Subject = tr.T("facility.email.proposed_subject", f.Org.Name, p.Cabinet)
	var b strings.Builder
	line := func(s string) { b.WriteString(s + "\n") }
	line(greet(tr, f.To))
	line("")
	line(tr.T("facility.email.proposed_intro", p.Cabinet, f.Org.Name, p.StartedAt.In(loc).Format("2006-01-02 15:04")))
	if p.EndedAt != nil {
		line(tr.T("facility.email.proposed_ended", p.EndedAt.In(loc).Format("2006-01-02 15:04")))
	}
	line("")
	line(tr.T("facility.email.proposed_next"))
	if n.URL != "" {
		line("")
		line(tr.T("facility.email.power_link", n.URL))
	}
	line("")
	signOff(tr, line, tr.T("facility.email.why_proposed"))
	n.Body = b.String()
	n.Short = n.Subject
	return n
}
