package views

import (
	"testing"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
)

// TestEveryLabelIsTranslated covers the keys the views build from values,
// which the catalog scan of the locales package cannot see.
func TestEveryLabelIsTranslated(t *testing.T) {
	var keys []string
	for _, c := range models.Causes {
		keys = append(keys, "cause."+string(c))
	}
	for _, k := range models.CheckKinds {
		keys = append(keys, "kind."+string(k))
	}
	for _, s := range []string{models.StatusUp, models.StatusDown, models.StatusUnknown, "paused"} {
		keys = append(keys, "state."+s)
	}
	for _, r := range []string{models.ReasonTimeout, models.ReasonRefused, models.ReasonUnreachable, models.ReasonDNS,
		models.ReasonBadStatus, models.ReasonKeyword, models.ReasonBadBanner, models.ReasonTLS, models.ReasonProtocol, models.ReasonError} {
		keys = append(keys, "reason."+r)
	}
	for _, p := range []string{models.Period24h, models.Period30d, models.PeriodMonth, models.Period90d} {
		keys = append(keys, "uptime.period."+p)
	}
	for _, r := range ChartRanges {
		keys = append(keys, "chart.range."+r)
	}
	for _, ch := range models.Channels {
		keys = append(keys, "channel."+string(ch))
	}
	for _, ev := range models.NotifyEvents {
		keys = append(keys, "event."+ev)
	}
	for _, st := range []string{models.DeliveryPending, models.DeliveryAccepted, models.DeliveryAnswered, models.DeliveryNoAnswer,
		models.DeliveryBounced, models.DeliveryFailed} {
		keys = append(keys, "delivery.status."+st)
	}
	for _, tp := range []string{models.TransportEmail, models.TransportWebhook, models.TransportCall} {
		keys = append(keys, "transport."+tp)
	}
	for _, w := range []string{models.WaiverForceMajeure, models.WaiverWrongDetails, models.WaiverNotReconfirmed,
		models.WaiverNoContacts} {
		keys = append(keys, "waiver."+w)
	}
	for _, f := range contactFields {
		keys = append(keys, "contacts.field."+f)
	}
	for _, f := range []string{"channel", "address", "reason", "opted_out"} {
		keys = append(keys, "contacts.field."+f)
	}
	keys = append(keys, "contacts.history.passphrase_set", "contacts.history.passphrase_replaced")
	for _, lang := range locales.Supported {
		tr := locales.For(lang)
		for _, k := range keys {
			if !tr.Has(k) {
				t.Errorf("%s lacks %q", lang, k)
			}
		}
	}
}
