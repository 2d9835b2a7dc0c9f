package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/blobstore"
	"github.com/colo-portal/portal/models/dbtest"
)

// walkedShipment is an announced shipment of organization A with one
// collector, for the page walk.
func walkedShipment(t *testing.T, store *models.Store, fx *dbtest.Fixture) *models.Shipment {
	t.Helper()
	sh, err := store.CreateShipment(context.Background(), models.UserActor(fx.CustA, "192.0.2.1"), fx.OrgA.ID, models.ShipmentInput{
		Carrier: "顺丰速运 SF Express", Tracking: "SF1234567890123", Parcels: "3",
		Date: store.Now().In(store.Zone()).Format(time.DateOnly), Contents: "2 台服务器 two 2U servers, 1 switch",
		Collectors: []models.VisitorInput{{Name: "张伟", Company: "阿尔法科技", IDType: models.IDResident, IDNumber: visitResident, Phone: "13812345678"}}})
	if err != nil {
		t.Fatal(err)
	}
	return sh
}

// shipmentForm is a valid announcement for tomorrow with one collector.
func shipmentForm(e *env) url.Values {
	return url.Values{"carrier": {"SF Express"}, "tracking": {"sf 100 200"}, "parcels": {"2"},
		"date": {e.clock.Now().AddDate(0, 0, 1).Format(time.DateOnly)}, "contents": {"two servers"}, "cabinet": {"A03"},
		"rows": {"1"}, "collector1_name": {"张伟"}, "collector1_company": {"阿尔法科技"}, "collector1_id_type": {models.IDResident},
		"collector1_id_number": {visitResident}, "collector1_phone": {"13812345678"}}
}

// withOnceOf adds the one-time token of the form on page.
func withOnceOf(c *client, page string, f url.Values) url.Values {
	c.t.Helper()
	m := regexp.MustCompile(`name="_once" value="([0-9a-f]+)"`).FindStringSubmatch(c.get(page).Body)
	if m == nil {
		c.t.Fatalf("no _once field on %s", page)
	}
	g := url.Values{}
	for k, vs := range f {
		g[k] = vs
	}
	g.Set("_once", m[1])
	return g
}

func TestShipmentAnnouncedArrivesAndIsCollectedThroughThePages(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		newVisitEnv(t, e) // a device in cabinet A03
		cust, other, desk := e.as(t, e.fx.CustA), e.as(t, e.fx.CustB), e.as(t, e.fx.Reception)
		admin := e.as(t, e.fx.Admin)

		// Bad input: every problem at once, translated, nothing lost.
		bad := shipmentForm(e)
		bad.Set("parcels", "0")
		bad.Set("date", "2026-02-30")
		bad.Set("collector1_id_number", "110101199003071234")
		r := cust.submit("/shipments/new", "/shipments/new", withOnceOf(cust, "/shipments/new", bad))
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("shipments.error.parcels", "999"), zh("error.date_invalid"), zh("visits.error.resident_check"),
			"two servers</textarea>", `value="张伟"`)
		// Without the CSRF token nothing is stored.
		wantStatus(t, cust.post("/shipments/new", withOnceOf(cust, "/shipments/new", shipmentForm(e))), http.StatusForbidden)

		r = cust.submit("/shipments/new", "/shipments/new", withOnceOf(cust, "/shipments/new", shipmentForm(e)))
		wantStatus(t, r, http.StatusSeeOther)
		page := r.Header.Get("Location")
		if !regexp.MustCompile(`^/shipments/[0-9a-f]{16}$`).MatchString(page) {
			t.Fatalf("after announcing: %q", page)
		}
		ref := strings.TrimPrefix(page, "/shipments/")
		r = cust.get(page)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, "SH-2026-0001", "SF100200", visitResidentMasked)
		wantNoBody(t, r, visitResident)

		// Another organization: 404 on every route of it.
		for _, p := range []string{page, page + "/edit"} {
			wantStatus(t, other.get(p), http.StatusNotFound)
		}
		wantStatus(t, other.submit("/shipments", page+"/cancel", nil), http.StatusNotFound)
		wantNoBody(t, other.get("/shipments"), "SH-2026-0001")
		// Roles: a customer has no desk; an engineer has.
		wantStatus(t, cust.get("/reception/shipments"), http.StatusForbidden)
		wantStatus(t, cust.get("/reception/shipments/"+ref), http.StatusForbidden)
		wantStatus(t, desk.get("/shipments/new"), http.StatusForbidden)
		wantStatus(t, e.as(t, e.fx.Engineer).get("/reception/shipments"), http.StatusOK)

		// The scanner's number, spaces and case aside, leads to the one
		// matching announcement, whose page opens the collector's ID for
		// reception (an admin sees it masked).
		r = desk.get("/reception/shipments?tracking=" + url.QueryEscape(" sf100 200"))
		wantStatus(t, r, http.StatusSeeOther)
		if loc := r.Header.Get("Location"); loc != "/reception/shipments/"+ref {
			t.Fatalf("scan leads to %q", loc)
		}
		r = desk.get("/reception/shipments/" + ref)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, visitResident, `name="storage_place"`)
		r = admin.get("/reception/shipments/" + ref)
		wantStatus(t, r, http.StatusOK)
		wantNoBody(t, r, visitResident)

		deskPage := "/reception/shipments/" + ref
		r = desk.submit(deskPage, deskPage+"/arrive", url.Values{"parcels": {"x"}, "storage_place": {""}, "condition": {"damaged"}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("shipments.error.parcels", "999"), zh("error.required"), zh("shipments.error.condition_note"))
		r = desk.submit(deskPage, deskPage+"/arrive", url.Values{"parcels": {"2"}, "storage_place": {"货架 R2"}, "condition": {"good"}})
		wantStatus(t, r, http.StatusSeeOther)
		r = cust.get(page)
		wantBody(t, r, "货架 R2", zh("shipments.state.arrived"))
		home := cust.get("/")
		wantBody(t, home, `id="home-shipments"`, zh("shipments.home_held", "1"))
		wantNoBody(t, home, zh("shipments.held_long_alert", "1", "14"))
		wantNoBody(t, other.get("/"), `id="home-shipments"`)
		wantBody(t, desk.get("/"), zh("shipments.count_in_store", "1"), zh("shipments.count_expected", "0"))
		// Past the hold limit the customer's list and page flag it.
		e.clock.Advance(15 * 24 * time.Hour)
		cust, desk = e.as(t, e.fx.CustA), e.as(t, e.fx.Reception) // the sessions timed out meanwhile
		wantBody(t, cust.get("/shipments"), `id="held-long"`)
		wantBody(t, cust.get(page), `id="held-flag"`)
		wantBody(t, cust.get("/"), zh("shipments.held_long_alert", "1", "14"))
		wantBody(t, desk.get("/"), zh("shipments.count_held_long", "1", "14"))

		d := e.detail(t, ref)
		r = desk.submit(deskPage, deskPage+"/collect", url.Values{"collector": {ids(d.People[0].ShipmentPerson.ID)}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("shipments.error.id_checked"))
		r = desk.submit(deskPage, deskPage+"/collect", url.Values{"collector": {ids(d.People[0].ShipmentPerson.ID)}, "id_checked": {"1"}})
		wantStatus(t, r, http.StatusSeeOther)
		wantBody(t, cust.get(page), zh("shipments.state.collected"), `id="handed-to"`)
		// Scanned once collected, the number is already recorded: the desk
		// shows that shipment instead of 'no announced shipment' and an
		// invitation to log the parcel again.
		r = desk.get("/reception/shipments?tracking=sf100200")
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, `id="already-recorded"`, "SH-2026-0001", "/reception/shipments/"+ref)
		wantNoBody(t, r, `id="no-match"`)
		wantStatus(t, cust.submit(page, page+"/cancel", nil), http.StatusUnprocessableEntity)

		// The customer's CSV: its shipment, the ID masked, formula-safe.
		r = cust.get("/shipments.csv")
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, "SH-2026-0001", "SF100200", visitResidentMasked)
		wantNoBody(t, r, visitResident)
		wantNoBody(t, other.get("/shipments.csv"), "SH-2026-0001")
		wantStatus(t, cust.get("/shipments.csv?from=yesterday"), http.StatusBadRequest)
	})
}

func TestUnannouncedParcelAndOutboundThroughThePages(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		newVisitEnv(t, e)
		cust, desk := e.as(t, e.fx.CustA), e.as(t, e.fx.Reception)
		r := desk.get("/reception/shipments?tracking=JD999")
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, `id="no-match"`, "/reception/shipments/arrival?tracking=JD999")
		page := "/reception/shipments/arrival?tracking=JD999"
		r = desk.get(page)
		wantBody(t, r, `value="JD999"`)
		r = desk.submit(page, "/reception/shipments/arrival", withOnceOf(desk, page, url.Values{"tracking": {"JD999"}, "carrier": {"JD"},
			"parcels": {"1"}, "storage_place": {"R1"}, "condition": {"good"}}))
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("shipments.error.org"))
		r = desk.submit(page, "/reception/shipments/arrival", withOnceOf(desk, page, url.Values{"org": {ids(e.fx.OrgA.ID)}, "tracking": {"JD999"},
			"carrier": {"JD"}, "parcels": {"1"}, "storage_place": {"R1"}, "condition": {"good"}}))
		wantStatus(t, r, http.StatusSeeOther)
		rows, err := e.store.ListShipments(context.Background(), models.AllOrgs(), models.ShipmentFilter{})
		if err != nil || len(rows) != 1 || !rows[0].Unannounced || rows[0].OrgID != e.fx.OrgA.ID || rows[0].State != models.ShipmentArrived {
			t.Fatalf("unannounced %+v (%v)", rows, err)
		}
		wantBody(t, cust.get("/shipments"), rows[0].Number(), zh("shipments.unannounced"))

		// Outbound: collected by a named person.
		f := url.Values{"method": {models.ShipCollect}, "parcels": {"1"}, "date": {e.clock.Now().AddDate(0, 0, 2).Format(time.DateOnly)},
			"contents": {"old disk array"}, "cabinet": {"A03"}, "rows": {"0"}}
		r = cust.submit("/shipments/outbound/new", "/shipments/outbound/new", withOnceOf(cust, "/shipments/outbound/new", f))
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("shipments.error.no_collectors"))
		f.Set("rows", "1")
		for k, v := range map[string]string{"collector1_name": "Li Na", "collector1_id_type": "passport", "collector1_id_number": "E1234567",
			"collector1_phone": "13900001111"} {
			f.Set(k, v)
		}
		r = cust.submit("/shipments/outbound/new", "/shipments/outbound/new", withOnceOf(cust, "/shipments/outbound/new", f))
		wantStatus(t, r, http.StatusSeeOther)
		ref := strings.TrimPrefix(r.Header.Get("Location"), "/shipments/")
		deskPage := "/reception/shipments/" + ref
		wantBody(t, desk.get(deskPage), "SO-2026-0001", `name="id_number"`)
		r = desk.submit(deskPage, deskPage+"/handover", url.Values{"name": {"Li Na"}, "id_type": {"passport"}, "id_number": {"E1234567"}, "id_checked": {"1"}})
		wantStatus(t, r, http.StatusSeeOther)
		r = cust.get("/shipments/" + ref)
		wantBody(t, r, zh("shipments.state.handed_over"), "Li Na", "******67")
		wantNoBody(t, r, "E1234567")
	})
}

// detail is a shipment's detail as reception sees it.
func (e *env) detail(t *testing.T, ref string) *models.ShipmentDetail {
	t.Helper()
	sh, err := e.store.GetShipmentByRef(context.Background(), models.AllOrgs(), ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.store.ShipmentDetailOf(context.Background(), models.AllOrgs(), sh, true)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A photo taken at the arrival: only an image is taken, whatever the
// client says; the customer downloads the same bytes; another
// organization gets 404.
func TestShipmentArrivalPhoto(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		blobs, err := blobstore.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		e.app = newApp(e.store, func(d *handlers.Deps) { d.Blobs = blobs })
		sh := walkedShipment(t, e.store, e.fx)
		desk, cust, other := e.as(t, e.fx.Reception), e.as(t, e.fx.CustA), e.as(t, e.fx.CustB)
		page := "/reception/shipments/" + sh.Ref
		fields := url.Values{"parcels": {"3"}, "storage_place": {"R2"}, "condition": {"opened"}, "condition_note": {"tape cut"}}
		r := desk.upload(page, page+"/arrive", fields, "scan.pdf", []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"))
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("shipments.error.photo"), "tape cut</textarea>")
		photo := pngOf(t, 40, 30)
		r = desk.upload(page, page+"/arrive", fields, "箱子.png", photo)
		wantStatus(t, r, http.StatusSeeOther)
		d := e.detail(t, sh.Ref)
		link := "/shipments/" + sh.Ref + "/photo/" + url.PathEscape(d.Shipment.PhotoName)
		wantBody(t, cust.get("/shipments/"+sh.Ref), `id="photo-link"`)
		r = cust.get(link)
		wantStatus(t, r, http.StatusOK)
		if r.Body != string(photo) || r.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("photo download: %q, %d bytes", r.Header.Get("Content-Type"), len(r.Body))
		}
		wantStatus(t, other.get(link), http.StatusNotFound)
	})
}
