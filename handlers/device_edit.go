package handlers

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

func (h *Handler) orgParam(c *fiber.Ctx) (*models.Organization, error) {
	id, err := paramID(c, "id")
	if err != nil {
		return nil, err
	}
	return h.store.GetOrg(c.UserContext(), scope(c), id)
}

func deviceForm(c *fiber.Ctx) models.DeviceInput {
	tags := c.FormValue("tags")
	return models.DeviceInput{Name: c.FormValue("name"), Address: c.FormValue("address"),
		Cabinet: c.FormValue("cabinet"), Position: c.FormValue("position"), Notes: c.FormValue("notes"), Tags: &tags}
}

// deviceInput is the device form's fields filled from device d and its
// tags.
func (h *Handler) deviceInput(c *fiber.Ctx, d *models.Device) (models.DeviceInput, error) {
	tags, err := h.store.DeviceTags(c.UserContext(), scope(c), d.OrgID, d.ID)
	t := strings.Join(tags, " ")
	return models.DeviceInput{OrgID: d.OrgID, Name: d.Name, Address: d.Address, Cabinet: d.Cabinet,
		Position: d.Position, Notes: d.Notes, Tags: &t}, err
}

func (h *Handler) newDevice(c *fiber.Ctx) error {
	org, err := h.orgParam(c)
	if err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.DeviceFormPage(views.DeviceFormPageVM{Org: org}))
}

func (h *Handler) createDevice(c *fiber.Ctx) error {
	org, err := h.orgParam(c)
	if err != nil {
		return err
	}
	in := deviceForm(c)
	in.OrgID = org.ID
	d, err := h.store.CreateDevice(c.UserContext(), actor(c), in)
	if errs := views.FromError(err); errs != nil {
		return h.render(c, fiber.StatusUnprocessableEntity, views.DeviceFormPage(views.DeviceFormPageVM{Org: org, Input: in, Errors: errs}))
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.device_created")
	return redirect(c, "/devices/"+itoa(d.ID))
}

func (h *Handler) editDevice(c *fiber.Ctx) error {
	d, err := h.deviceParam(c)
	if err != nil {
		return err
	}
	in, err := h.deviceInput(c, d)
	if err != nil {
		return err
	}
	return h.renderDeviceForm(c, fiber.StatusOK, d, views.DeviceFormPageVM{Input: in})
}

func (h *Handler) updateDevice(c *fiber.Ctx) error {
	d, err := h.deviceParam(c)
	if err != nil {
		return err
	}
	in := deviceForm(c)
	_, err = h.store.UpdateDevice(c.UserContext(), actor(c), d.OrgID, d.ID, in)
	if errs := views.FromError(err); errs != nil {
		return h.renderDeviceForm(c, fiber.StatusUnprocessableEntity, d, views.DeviceFormPageVM{Input: in, Errors: errs})
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.saved")
	return redirect(c, "/devices/"+itoa(d.ID))
}

func checkForm(c *fiber.Ctx) views.CheckForm {
	v := func(k string) string { return strings.TrimSpace(c.FormValue(k)) }
	return views.CheckForm{Kind: v("kind"), Target: v("target"), ExpectMin: v("expect_min"), ExpectMax: v("expect_max"),
		Keyword: v("keyword"), StartTLS: c.FormValue("starttls") != "", Interval: v("interval"), Timeout: v("timeout"),
		FailThreshold: v("fail_threshold")}
}

// checkInput reads the numbers of the form; an empty one is the default.
func checkInput(f views.CheckForm) (models.CheckInput, error) {
	in := models.CheckInput{Kind: models.CheckKind(f.Kind), Target: f.Target, Keyword: f.Keyword, StartTLS: f.StartTLS, Enabled: true}
	num := func(field, s string, into *int) error {
		if s == "" {
			return nil
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return models.Invalid(field, "error.number_invalid")
		}
		*into = n
		return nil
	}
	var interval, timeout int
	var errs []error
	for _, f := range []struct {
		field, value string
		into         *int
	}{{"expect", f.ExpectMin, &in.ExpectMin}, {"expect", f.ExpectMax, &in.ExpectMax}, {"interval", f.Interval, &interval},
		{"timeout", f.Timeout, &timeout}, {"fail_threshold", f.FailThreshold, &in.FailThreshold}} {
		errs = append(errs, num(f.field, f.value, f.into))
	}
	in.Interval = time.Duration(interval) * time.Second
	in.Timeout = time.Duration(timeout) * time.Millisecond
	return in, errors.Join(errs...)
}

func (h *Handler) addCheck(c *fiber.Ctx) error {
	d, err := h.deviceParam(c)
	if err != nil {
		return err
	}
	f := checkForm(c)
	in, err := checkInput(f)
	if err == nil {
		_, err = h.store.AddCheck(c.UserContext(), actor(c), d.OrgID, d.ID, in)
	} else {
		err = errors.Join(err, models.ValidateCheck(&in, d.Address)) // every error in one answer
	}
	if errs := views.FromError(err); errs != nil {
		din, err := h.deviceInput(c, d)
		if err != nil {
			return err
		}
		return h.renderDeviceForm(c, fiber.StatusUnprocessableEntity, d, views.DeviceFormPageVM{Input: din,
			Check: f, CheckErrors: errs})
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.check_added")
	return redirect(c, "/devices/"+itoa(d.ID)+"/edit")
}

func (h *Handler) enableCheck(c *fiber.Ctx) error  { return h.setCheckEnabled(c, true) }
func (h *Handler) disableCheck(c *fiber.Ctx) error { return h.setCheckEnabled(c, false) }

func (h *Handler) setCheckEnabled(c *fiber.Ctx, enabled bool) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	chk, err := h.store.GetCheck(c.UserContext(), scope(c), id)
	if err != nil {
		return err
	}
	if err := h.store.SetCheckEnabled(c.UserContext(), actor(c), chk.OrgID, chk.ID, enabled); err != nil {
		return err
	}
	key := "flash.check_paused"
	if enabled {
		key = "flash.check_resumed"
	}
	h.flash(c, "ok", key)
	return redirect(c, "/devices/"+itoa(chk.DeviceID)+"/edit")
}

func (h *Handler) renderDeviceForm(c *fiber.Ctx, status int, d *models.Device, vm views.DeviceFormPageVM) error {
	ctx := c.UserContext()
	org, err := h.store.GetOrg(ctx, scope(c), d.OrgID)
	if err != nil {
		return err
	}
	checks, err := h.store.ListChecks(ctx, scope(c), d.OrgID, d.ID)
	if err != nil {
		return err
	}
	vm.Org, vm.Device, vm.Checks, vm.Now = org, d, checks, h.store.Now()
	if vm.Check.Kind == "" {
		vm.Check.Kind = string(models.KindHTTPS)
	}
	return h.render(c, status, views.DeviceFormPage(vm))
}
