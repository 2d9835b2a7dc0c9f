package handlers

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/blobstore"
	"github.com/colo-portal/portal/views"
)

// Shipments, the customer's side (docs/architecture.md, "Shipments"):
// the list, the announcement of an inbound shipment, the request for an
// outbound one, a shipment's page, changing and cancelling it, its photo
// and the CSV. The desk's pages are in shipment_desk.go.

// shipmentParam finds the shipment of the path within the request's
// scope: another organization's is not found.
func (h *Handler) shipmentParam(c *fiber.Ctx) (*models.Shipment, error) {
	return h.store.GetShipmentByRef(c.UserContext(), scope(c), c.Params("ref"))
}

// showShipments lists the customer's shipments, or every organization's
// for staff, newest first.
func (h *Handler) showShipments(c *fiber.Ctx) error {
	ctx, sc, u := c.UserContext(), scope(c), currentUser(c)
	vm := views.ShipmentsPageVM{Staff: u.Role.IsStaff(), CanCreate: u.Role == models.RoleCustomer, Desk: shipmentDesk.Allows(u.Role),
		Now: h.store.Now(), Hold: h.store.ShipmentHold()}
	f := models.ShipmentFilter{}
	if d := c.Query("direction"); d == models.ShipIn || d == models.ShipOut {
		vm.Direction, f.Direction = d, d
	}
	if s := c.Query("state"); slices.Contains(models.ShipmentStates, s) {
		vm.State, f.State = s, s
	}
	var err error
	if vm.Rows, err = h.store.ListShipments(ctx, sc, f); err != nil {
		return err
	}
	if org := ownOrg(c); org != 0 {
		if vm.Counts, err = h.store.CountShipments(ctx, sc, org, vm.Now); err != nil {
			return err
		}
	}
	return h.render(c, fiber.StatusOK, views.ShipmentsPage(vm))
}

// shipmentForm fills the form's choices: the organization's cabinets.
func (h *Handler) shipmentForm(c *fiber.Ctx, vm views.ShipmentFormVM) (views.ShipmentFormVM, error) {
	var err error
	if vm.Cabinets, err = h.store.OrgCabinets(c.UserContext(), scope(c), ownOrg(c)); err != nil {
		return vm, err
	}
	if vm.Outbound && vm.In.Method == "" {
		vm.In.Method = models.ShipByCarrier
	}
	return vm, nil
}

// newShipment shows the announcement form.
func (h *Handler) newShipment(c *fiber.Ctx) error {
	vm, err := h.shipmentForm(c, views.ShipmentFormVM{In: models.ShipmentInput{Parcels: "1", Collectors: []models.VisitorInput{views.BlankCollector()}}})
	if err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.ShipmentFormPage(vm))
}

// newOutbound shows the outbound request form.
func (h *Handler) newOutbound(c *fiber.Ctx) error {
	vm, err := h.shipmentForm(c, views.ShipmentFormVM{Outbound: true, In: models.ShipmentInput{Parcels: "1",
		Collectors: []models.VisitorInput{views.BlankCollector()}}})
	if err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.ShipmentFormPage(vm))
}

// readShipmentForm reads the posted form. Collector rows left wholly
// blank are dropped; "add collector" adds one blank row.
func readShipmentForm(c *fiber.Ctx, outbound bool) views.ShipmentFormVM {
	vm := views.ShipmentFormVM{Outbound: outbound, In: models.ShipmentInput{Carrier: c.FormValue("carrier"), Tracking: c.FormValue("tracking"),
		Parcels: c.FormValue("parcels"), Date: c.FormValue("date"), Contents: c.FormValue("contents"), Cabinet: c.FormValue("cabinet")}}
	if outbound {
		vm.In.Method = c.FormValue("method")
		vm.In.Tracking = ""
	}
	rows, _ := strconv.Atoi(c.FormValue("rows"))
	rows = min(max(rows, 0), models.MaxCollectors+1)
	for n := range rows {
		f := func(name string) string { return strings.TrimSpace(c.FormValue(models.CollectorField(n, name))) }
		v := models.VisitorInput{Name: f("name"), Company: f("company"), IDType: f("id_type"), IDNumber: f("id_number"), Phone: f("phone")}
		if v.Name == "" && v.Company == "" && v.IDNumber == "" && v.Phone == "" {
			continue
		}
		vm.In.Collectors = append(vm.In.Collectors, v)
	}
	return vm
}

// addCollectorRow answers "add collector": the form again with one more
// blank row, nothing stored.
func (h *Handler) addCollectorRow(c *fiber.Ctx, vm views.ShipmentFormVM) (bool, error) {
	if c.FormValue("add_collector") != "1" {
		return false, nil
	}
	if vm.CanAdd() {
		vm.In.Collectors = append(vm.In.Collectors, views.BlankCollector())
	}
	vm, err := h.shipmentForm(c, vm)
	if err != nil {
		return true, err
	}
	vm.Focus = len(vm.In.Collectors)
	return true, h.render(c, fiber.StatusOK, views.ShipmentFormPage(vm))
}

// shipmentFormAgain shows the form again, input kept, when the Store
// found problems; shown says it did.
func (h *Handler) shipmentFormAgain(c *fiber.Ctx, vm views.ShipmentFormVM, err error) (bool, error) {
	errs := views.FromError(err)
	if errs == nil {
		return false, err
	}
	vm.Errors = errs
	if vm, err = h.shipmentForm(c, vm); err != nil {
		return false, err
	}
	return true, h.render(c, fiber.StatusUnprocessableEntity, views.ShipmentFormPage(vm))
}

func (h *Handler) createShipmentAs(c *fiber.Ctx, outbound bool) error {
	vm := readShipmentForm(c, outbound)
	if done, err := h.addCollectorRow(c, vm); done {
		return err
	}
	in := vm.In
	in.Collectors = slices.Clone(vm.In.Collectors)
	if outbound && in.Method == "" {
		in.Method = "?" // refused as an unknown method
	}
	sh, err := h.store.CreateShipment(c.UserContext(), actor(c), ownOrg(c), in)
	if shown, err := h.shipmentFormAgain(c, vm, err); shown || err != nil {
		return err
	}
	if outbound {
		h.flash(c, "ok", "flash.shipment_outbound_requested")
	} else {
		h.flash(c, "ok", "flash.shipment_announced")
	}
	return redirect(c, views.ShipmentURL(sh.Ref))
}

// createShipment records the customer's announcement.
func (h *Handler) createShipment(c *fiber.Ctx) error { return h.createShipmentAs(c, false) }

// createOutbound records the customer's outbound request.
func (h *Handler) createOutbound(c *fiber.Ctx) error { return h.createShipmentAs(c, true) }

// showShipment is a shipment's page, masked for everyone.
func (h *Handler) showShipment(c *fiber.Ctx) error {
	sh, err := h.shipmentParam(c)
	if err != nil {
		return err
	}
	return h.renderShipment(c, fiber.StatusOK, sh, nil)
}

func (h *Handler) renderShipment(c *fiber.Ctx, status int, sh *models.Shipment, errs views.FormErrors) error {
	u := currentUser(c)
	d, err := h.store.ShipmentDetailOf(c.UserContext(), scope(c), sh, false)
	if err != nil {
		return err
	}
	vm := views.ShipmentPageVM{D: d, Staff: u.Role.IsStaff(), Desk: shipmentDesk.Allows(u.Role),
		CanChange: u.Role == models.RoleCustomer && sh.Changeable(), Now: h.store.Now(), Hold: h.store.ShipmentHold(), Errors: errs}
	if sh.Cabinet != "" {
		if vm.CabinetURLs, err = h.cabinetLinks(c, sh.OrgID); err != nil {
			return err
		}
	}
	return h.render(c, status, views.ShipmentPage(vm))
}

// editShipment shows the form filled with the shipment as it stands.
func (h *Handler) editShipment(c *fiber.Ctx) error {
	sh, err := h.shipmentParam(c)
	if err != nil {
		return err
	}
	if !sh.Changeable() {
		h.flash(c, "warn", "flash.shipment_not_changeable")
		return redirect(c, views.ShipmentURL(sh.Ref))
	}
	d, err := h.store.ShipmentDetailOf(c.UserContext(), scope(c), sh, false)
	if err != nil {
		return err
	}
	vm, err := h.shipmentForm(c, views.EditShipmentForm(d, h.loc))
	if err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.ShipmentFormPage(vm))
}

// updateShipment stores the customer's change; identity numbers left
// masked keep the stored ones.
func (h *Handler) updateShipment(c *fiber.Ctx) error {
	sh, err := h.shipmentParam(c)
	if err != nil {
		return err
	}
	vm := readShipmentForm(c, !sh.Inbound())
	vm.Ref, vm.Number = sh.Ref, sh.Number()
	if done, err := h.addCollectorRow(c, vm); done {
		return err
	}
	in := vm.In
	in.Collectors = slices.Clone(vm.In.Collectors)
	_, err = h.store.UpdateShipment(c.UserContext(), actor(c), sh.OrgID, sh.ID, in)
	if shown, err := h.shipmentFormAgain(c, vm, err); shown || err != nil {
		return err
	}
	h.flash(c, "ok", "flash.shipment_updated")
	return redirect(c, views.ShipmentURL(sh.Ref))
}

// cancelShipment calls a shipment off.
func (h *Handler) cancelShipment(c *fiber.Ctx) error {
	sh, err := h.shipmentParam(c)
	if err != nil {
		return err
	}
	err = h.store.CancelShipment(c.UserContext(), actor(c), sh.OrgID, sh.ID)
	if errs := views.FromError(err); errs != nil {
		return h.renderShipment(c, fiber.StatusUnprocessableEntity, sh, errs)
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.shipment_cancelled")
	return redirect(c, views.ShipmentURL(sh.Ref))
}

// downloadShipmentPhoto sends the photo taken at the arrival.
func (h *Handler) downloadShipmentPhoto(c *fiber.Ctx) error {
	sh, err := h.shipmentParam(c)
	if err != nil {
		return err
	}
	if sh.PhotoKey == "" {
		return fiber.ErrNotFound
	}
	ctx := c.UserContext()
	data, err := h.readStored(ctx, sh.PhotoKey, sh.PhotoSHA256)
	if errors.Is(err, blobstore.ErrNotFound) {
		return h.render(c, http.StatusInternalServerError, views.ErrorPage(http.StatusInternalServerError, "error.document_missing"))
	}
	if err != nil {
		return fmt.Errorf("shipment photo %d: %w", sh.ID, err)
	}
	attachment(c, sh.PhotoType, sh.PhotoName)
	return c.Send(data)
}

// downloadShipments sends the customer's shipments (or, at the desk,
// every organization's) of a period as CSV, identity numbers masked.
// The period is from..to (YYYY-MM-DD, both inclusive), by default the
// last year.
func (h *Handler) downloadShipments(c *fiber.Ctx) error {
	now := h.store.Now().In(h.loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, h.loc)
	from, to := today.AddDate(-1, 0, 1), today.AddDate(0, 0, 1)
	if s := strings.TrimSpace(c.Query("from")); s != "" {
		t, err := time.ParseInLocation(time.DateOnly, s, h.loc)
		if err != nil {
			return fiber.ErrBadRequest
		}
		from = t
	}
	if s := strings.TrimSpace(c.Query("to")); s != "" {
		t, err := time.ParseInLocation(time.DateOnly, s, h.loc)
		if err != nil {
			return fiber.ErrBadRequest
		}
		to = t.AddDate(0, 0, 1)
	}
	at := func(p *time.Time) string {
		if p == nil {
			return ""
		}
		return p.In(h.loc).Format(time.RFC3339)
	}
	day := func(p *time.Time) string {
		if p == nil {
			return ""
		}
		return p.In(h.loc).Format(time.DateOnly)
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"shipment", "organization", "direction", "state", "unannounced", "carrier", "tracking", "parcels", "date",
		"contents", "cabinet", "method", "created", "arrived", "parcels_received", "storage_place", "condition", "condition_note",
		"collected_or_handed_over", "handed_to", "handed_to_id", "out_tracking", "collectors"})
	_, err := h.store.ExportShipments(c.UserContext(), scope(c), actor(c), from, to, func(r *models.ShipmentExportRow) error {
		sh := &r.Shipment
		return w.Write(csvCells(sh.Number(), r.OrgName, sh.Direction, sh.State, strconv.FormatBool(sh.Unannounced), sh.Carrier, sh.Tracking,
			strconv.Itoa(sh.Parcels), day(sh.ExpectedOn), sh.Contents, sh.Cabinet, sh.Method, at(&sh.CreatedAt), at(sh.ArrivedAt),
			strconv.Itoa(sh.ParcelsReceived), sh.StoragePlace, sh.Condition, sh.ConditionNote, at(sh.CollectedAt), sh.HandedToName,
			sh.HandedToIDMasked, sh.OutTracking, r.People))
	})
	if views.FromError(err) != nil {
		return fiber.ErrBadRequest
	}
	if err != nil {
		return err
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	attachment(c, "text/csv; charset=utf-8", "shipments-"+from.Format("20060102")+"-"+to.AddDate(0, 0, -1).Format("20060102")+".csv")
	return c.Send(buf.Bytes())
}
