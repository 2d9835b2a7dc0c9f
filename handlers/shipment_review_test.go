package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/blobstore"
)

// A tracking number scanned at the desk that belongs to a parcel already
// in store is shown as that parcel, not as "no match" with an offer to
// log it again; logging an unannounced parcel under the tracking number of
// an announced shipment is refused (the announcement would wait forever
// beside a duplicate), nothing is stored.
func TestShipmentScanOfArrivedAndUnannouncedDuplicate(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		newVisitEnv(t, e)
		desk := e.as(t, e.fx.Reception)
		sh := walkedShipment(t, e.store, e.fx) // tracking SF1234567890123
		page := "/reception/shipments/arrival?tracking=SF1234567890123"
		r := desk.submit(page, "/reception/shipments/arrival", withOnceOf(desk, page, url.Values{"org": {ids(e.fx.OrgB.ID)},
			"tracking": {"sf 1234567890123"}, "carrier": {"SF"}, "parcels": {"1"}, "storage_place": {"R1"}, "condition": {"good"}}))
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("shipments.error.tracking_announced", sh.Number()))
		rows, err := e.store.ListShipments(context.Background(), models.AllOrgs(), models.ShipmentFilter{})
		if err != nil || len(rows) != 1 {
			t.Fatalf("shipments after the refused duplicate: %+v (%v)", rows, err)
		}
		deskPage := "/reception/shipments/" + sh.Ref
		r = desk.submit(deskPage, deskPage+"/arrive", url.Values{"parcels": {"3"}, "storage_place": {"R2"}, "condition": {"good"}})
		wantStatus(t, r, http.StatusSeeOther)
		r = desk.get("/reception/shipments?tracking=SF1234567890123")
		wantNoBody(t, r, `id="no-match"`)
		wantRedirect(t, r, deskPage)
	})
}

// A photo chosen on an arrival form refused for another reason is not
// kept (a browser cannot refill a file field): the form says so, instead
// of the arrival being recorded later without it unnoticed.
func TestShipmentArrivalPhotoOnARefusedForm(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		blobs, err := blobstore.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		e.app = newApp(e.store, func(d *handlers.Deps) { d.Blobs = blobs })
		sh := walkedShipment(t, e.store, e.fx)
		desk := e.as(t, e.fx.Reception)
		page := "/reception/shipments/" + sh.Ref
		r := desk.upload(page, page+"/arrive", url.Values{"parcels": {"3"}, "condition": {"good"}}, "box.png", pngOf(t, 40, 30))
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("error.required"), zh("shipments.error.photo_again"))
	})
}
