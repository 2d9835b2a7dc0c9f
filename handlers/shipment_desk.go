package handlers

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// The desk's side of shipments: the overview with the tracking number
// field, logging an unannounced parcel, and on one shipment its arrival,
// its collection or delivery to the cabinet, and an outbound hand-over.
// Collectors' identity numbers are opened for reception only.

// showShipmentDesk is the desk's overview; ?tracking= is what the
// scanner typed, matched against every organization's announcements.
func (h *Handler) showShipmentDesk(c *fiber.Ctx) error {
	ctx, sc := c.UserContext(), scope(c)
	u := currentUser(c)
	vm := views.ShipmentDeskVM{Now: h.store.Now(), Hold: h.store.ShipmentHold(), Reveal: u.Role == models.RoleReception}
	var err error
	if vm.D, err = h.store.ShipmentDeskOf(ctx, sc, vm.Now); err != nil {
		return err
	}
	if t := models.NormalizeTracking(c.Query("tracking")); t != "" && len(t) <= 80 {
		vm.Tracking, vm.Searched = t, true
		if vm.Matches, err = h.store.MatchTracking(ctx, sc, t); err != nil {
			return err
		}
		// One match: straight to its arrival form.
		if len(vm.Matches) == 1 {
			return redirect(c, views.ReceptionShipmentURL(vm.Matches[0].Ref))
		}
		if len(vm.Matches) == 0 {
			if vm.Recorded, err = h.store.RecordedTracking(ctx, sc, t); err != nil {
				return err
			}
		}
	}
	return h.render(c, fiber.StatusOK, views.ShipmentDeskPage(vm))
}

// readArrival reads an arrival form and its optional photo.
func (h *Handler) readArrival(c *fiber.Ctx) (views.ArrivalForm, models.ArrivalInput, error) {
	f := views.ArrivalForm{Carrier: c.FormValue("carrier"), Tracking: c.FormValue("tracking"), Contents: c.FormValue("contents"),
		Parcels: c.FormValue("parcels"), StoragePlace: c.FormValue("storage_place"), Condition: c.FormValue("condition"),
		ConditionNote: c.FormValue("condition_note")}
	f.OrgID, _ = strconv.ParseInt(c.FormValue("org"), 10, 64)
	in := models.ArrivalInput{OrgID: f.OrgID, Carrier: f.Carrier, Tracking: f.Tracking, Contents: f.Contents, Parcels: f.Parcels,
		StoragePlace: f.StoragePlace, Condition: f.Condition, ConditionNote: f.ConditionNote}
	if fh, err := c.FormFile("file"); err == nil && (fh.Size > 0 || rawFileName(fh) != "") {
		up, data, err := h.checkFile(c, fh)
		if err != nil {
			return f, in, err
		}
		in.Photo, in.PhotoData = up, data
	}
	return f, in, nil
}

// newUnannounced shows the form logging a parcel nobody announced.
func (h *Handler) newUnannounced(c *fiber.Ctx) error {
	return h.renderUnannounced(c, fiber.StatusOK, views.UnannouncedVM{Form: views.ArrivalForm{
		Tracking: models.NormalizeTracking(c.Query("tracking")), Parcels: "1", Condition: "good"}})
}

func (h *Handler) renderUnannounced(c *fiber.Ctx, status int, vm views.UnannouncedVM) error {
	var err error
	if vm.Orgs, err = h.store.ListOrgs(c.UserContext(), scope(c)); err != nil {
		return err
	}
	return h.render(c, status, views.UnannouncedPage(vm))
}

// createUnannounced logs an unannounced parcel for the organization
// reception picked, as arrived.
func (h *Handler) createUnannounced(c *fiber.Ctx) error {
	f, in, err := h.readArrival(c)
	var sh *models.Shipment
	if err == nil {
		if in.OrgID > 0 && !scope(c).Allows(in.OrgID) {
			in.OrgID = 0
		}
		sh, err = h.store.RecordArrival(c.UserContext(), actor(c), h.blobs, 0, 0, in)
	}
	if errs := views.FromError(err); errs != nil {
		return h.renderUnannounced(c, fiber.StatusUnprocessableEntity, views.UnannouncedVM{Form: f, Errors: errs})
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.shipment_arrived")
	return redirect(c, views.ReceptionShipmentURL(sh.Ref))
}

// showDeskShipment is the desk's page of one shipment.
func (h *Handler) showDeskShipment(c *fiber.Ctx) error {
	sh, err := h.shipmentParam(c)
	if err != nil {
		return err
	}
	return h.renderDeskShipment(c, fiber.StatusOK, sh, views.DeskShipmentVM{Arrival: views.ArrivalForm{
		Parcels: strconv.Itoa(max(sh.Parcels, 1)), Condition: "good"}})
}

func (h *Handler) renderDeskShipment(c *fiber.Ctx, status int, sh *models.Shipment, vm views.DeskShipmentVM) error {
	ctx := c.UserContext()
	var err error
	if vm.D, err = h.store.ShipmentDetailOf(ctx, scope(c), sh, currentUser(c).Role == models.RoleReception); err != nil {
		return err
	}
	vm.Now, vm.Hold = h.store.Now(), h.store.ShipmentHold()
	if sh.State == models.ShipmentArrived {
		if vm.Staff, err = h.store.ListEscorts(ctx); err != nil {
			return err
		}
	}
	if vm.HandOver.IDType == "" {
		vm.HandOver.IDType = models.IDResident
	}
	if sh.Cabinet != "" {
		if vm.CabinetURLs, err = h.cabinetLinks(c, sh.OrgID); err != nil {
			return err
		}
	}
	return h.render(c, status, views.DeskShipmentPage(vm))
}

// deskDone answers a desk action: the page again with the form's errors,
// or back to the shipment with a flash.
func (h *Handler) deskDone(c *fiber.Ctx, sh *models.Shipment, err error, vm views.DeskShipmentVM, flash string) error {
	if errs := views.FromError(err); errs != nil {
		vm.Errors = errs
		return h.renderDeskShipment(c, fiber.StatusUnprocessableEntity, sh, vm)
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", flash)
	return redirect(c, views.ReceptionShipmentURL(sh.Ref))
}

// arriveShipment records an announced shipment's arrival.
func (h *Handler) arriveShipment(c *fiber.Ctx) error {
	sh, err := h.shipmentParam(c)
	if err != nil {
		return err
	}
	f, in, err := h.readArrival(c)
	if err == nil {
		in.OrgID, in.Carrier, in.Tracking, in.Contents = 0, "", "", ""
		_, err = h.store.RecordArrival(c.UserContext(), actor(c), h.blobs, sh.OrgID, sh.ID, in)
	}
	return h.deskDone(c, sh, err, views.DeskShipmentVM{Form: "arrive", Arrival: f}, "flash.shipment_arrived")
}

// collectShipment records who took an arrived parcel, or that staff
// delivered it to the cabinet.
func (h *Handler) collectShipment(c *fiber.Ctx) error {
	sh, err := h.shipmentParam(c)
	if err != nil {
		return err
	}
	in := models.CollectInput{IDChecked: c.FormValue("id_checked") == "1"}
	in.CollectorID, _ = strconv.ParseInt(c.FormValue("collector"), 10, 64)
	in.StaffID, _ = strconv.ParseInt(c.FormValue("staff"), 10, 64)
	_, err = h.store.CollectShipment(c.UserContext(), actor(c), sh.OrgID, sh.ID, in)
	return h.deskDone(c, sh, err, views.DeskShipmentVM{Form: "collect", CollectorID: in.CollectorID, StaffID: in.StaffID},
		"flash.shipment_collected")
}

// handOverShipment records an outbound shipment handed over.
func (h *Handler) handOverShipment(c *fiber.Ctx) error {
	sh, err := h.shipmentParam(c)
	if err != nil {
		return err
	}
	in := models.HandOverInput{Name: c.FormValue("name"), Company: c.FormValue("company"), IDType: c.FormValue("id_type"),
		IDNumber: strings.TrimSpace(c.FormValue("id_number")), IDChecked: c.FormValue("id_checked") == "1", Tracking: c.FormValue("tracking")}
	_, err = h.store.HandOverShipment(c.UserContext(), actor(c), sh.OrgID, sh.ID, in)
	return h.deskDone(c, sh, err, views.DeskShipmentVM{Form: "handover", HandOver: in}, "flash.shipment_handed_over")
}
