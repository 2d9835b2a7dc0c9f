package notify

import (
	"strings"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
)

// ContractURL is the page of a contract, or "" without a base URL.
func ContractURL(baseURL, ref string) string {
	return pageURL(baseURL, "/contracts/"+ref)
}

// composeContractExpiry reminds the organization's service representative
// that a contract ends soon (60 and 30 days ahead), in the
// representative's language.
func composeContractExpiry(del models.Delivery, f *models.ContractExpiryFacts, baseURL string) *notice {
	tr := locales.For(del.Locale)
	c, r := f.Contract, f.Reminder
	n := &notice{Lang: tr.Lang(), To: f.To, URL: ContractURL(baseURL, c.Ref)}
	n.Subject = tr.T("contracts.email.subject", c.Number(), f.Org.Name, r.EndsOn)
	var b strings.Builder
	line := func(s string) { b.WriteString(s + "\n") }
	line(greet(tr, f.To))
	line("")
	line(tr.T("contracts.email.intro", c.Number(), f.Org.Name, r.EndsOn, r.DaysLeft))
	line("")
	line(tr.T("contracts.email.service", tr.T("service_type."+c.ServiceType)))
	line(tr.T("contracts.email.fee", models.FormatMoney(c.MonthlyFee, c.Currency)))
	line(tr.T("contracts.email.term", c.StartsOn, c.EndsOn))
	line(tr.T("contracts.email.renewal", tr.T("contracts.renewal."+c.Renewal)))
	line("")
	line(tr.T("contracts.email.next"))
	if n.URL != "" {
		line("")
		line(tr.T("contracts.email.link", n.URL))
	}
	line("")
	signOff(tr, line, tr.T("contracts.email.why", f.Org.Name))
	n.Body = b.String()
	n.Short = n.Subject
	return n
}
