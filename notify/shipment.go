package notify

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
)

// ShipmentURL is the customer's page of a shipment, or "" without a base
// URL.
func ShipmentURL(baseURL, ref string) string {
	return pageURL(baseURL, "/shipments/"+ref)
}

// shipmentNotice renders an arrival or a held-too-long reminder.
func (d *Dispatcher) shipmentNotice(ctx context.Context, del models.Delivery) (*notice, string, error) {
	f, err := d.store.ShipmentFactsOf(ctx, models.AllOrgs(), del.OrgID, del.EventID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, "the shipment no longer exists", nil
	}
	if err != nil {
		return nil, "", err
	}
	to, err := d.store.RecipientName(ctx, models.AllOrgs(), del.OrgID, del.ContactID, del.Address)
	if err != nil {
		return nil, "", err
	}
	return composeShipment(del, f, to, d.cfg.BaseURL, d.cfg.Location), "", nil
}

// composeShipment tells the organization's contacts and the user who
// announced it that a parcel arrived (its number, parcels, where it is
// stored, its condition) or that it has waited longer than the hold
// limit, in the recipient's language, times in the provider's zone.
// Never a collector's identity number.
func composeShipment(del models.Delivery, f *models.ShipmentFacts, to, baseURL string, loc *time.Location) *notice {
	tr := locales.For(del.Locale)
	sh := f.Shipment
	n := &notice{Lang: tr.Lang(), To: to, URL: ShipmentURL(baseURL, sh.Ref)}
	var b strings.Builder
	line := func(s string) { b.WriteString(s + "\n") }
	line(greet(tr, to))
	line("")
	if f.Event == models.EventShipmentHeld {
		n.Subject = tr.T("email.shipment_held_subject", sh.Number(), f.HoldDays)
		line(tr.T("email.shipment_held_intro", sh.Number(), f.HoldDays))
	} else {
		n.Subject = tr.T("email.shipment_arrived_subject", sh.Number(), sh.ParcelsReceived)
		if sh.Unannounced {
			line(tr.T("email.shipment_unannounced_intro", sh.Number()))
		} else {
			line(tr.T("email.shipment_arrived_intro", sh.Number()))
		}
	}
	line("")
	if sh.ArrivedAt != nil {
		line(tr.T("email.shipment_arrived_at", sh.ArrivedAt.In(loc).Format("2006-01-02 15:04")))
	}
	if sh.Carrier != "" || sh.Tracking != "" {
		line(tr.T("email.shipment_carrier", strings.TrimSpace(sh.Carrier+" "+sh.Tracking)))
	}
	if sh.Contents != "" {
		line(tr.T("email.shipment_contents", sh.Contents))
	}
	if sh.Unannounced {
		// Nothing was announced: "(announced: n)" would be untrue.
		line(tr.T("email.shipment_parcels_received", sh.ParcelsReceived))
	} else {
		line(tr.T("email.shipment_parcels", sh.ParcelsReceived, sh.Parcels))
	}
	line(tr.T("email.shipment_place", sh.StoragePlace))
	line(tr.T("email.shipment_condition", tr.T("shipments.condition."+sh.Condition)))
	if sh.ConditionNote != "" {
		quoteLines(line, sh.ConditionNote)
	}
	line("")
	line(tr.T("email.shipment_collect"))
	if n.URL != "" {
		line("")
		line(tr.T("email.shipment_link", n.URL))
	}
	line("")
	signOff(tr, line, tr.T("email.shipment_why", f.Org.Name))
	n.Body = b.String()
	return n
}
