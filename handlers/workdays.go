package handlers

import (
	"bytes"
	"encoding/csv"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// workDaysMaxBytes bounds an imported calendar file: a year of days is a
// few kilobytes.
const workDaysMaxBytes = 64 << 10

// workDaysYear is the year a request names (?year= or the form's year),
// else the current year in the portal's zone; ok is false for a year
// outside 2000–2099 or one that is not a number.
func (h *Handler) workDaysYear(s string) (year int, ok bool) {
	if s == "" {
		return h.store.Now().In(h.loc).Year(), true
	}
	y, err := strconv.Atoi(s)
	if err != nil || y < 2000 || y > 2099 {
		return 0, false
	}
	return y, true
}

// showWorkDays is the working-day calendar of a year (agreement §3).
func (h *Handler) showWorkDays(c *fiber.Ctx) error {
	year, ok := h.workDaysYear(c.Query("year"))
	if !ok {
		return fiber.ErrNotFound
	}
	return h.renderWorkDays(c, fiber.StatusOK, views.WorkDaysPageVM{Year: year})
}

func (h *Handler) renderWorkDays(c *fiber.Ctx, status int, vm views.WorkDaysPageVM) error {
	var err error
	if vm.Days, err = h.store.WorkDays(c.UserContext(), vm.Year); err != nil {
		return err
	}
	vm.MaxBytes = workDaysMaxBytes
	return h.render(c, status, views.WorkDaysPage(vm))
}

// saveWorkDay adds or changes one day of the calendar.
func (h *Handler) saveWorkDay(c *fiber.Ctx) error {
	d := models.WorkDay{Day: c.FormValue("day"), Kind: c.FormValue("kind"), Name: c.FormValue("name")}
	err := h.store.SetWorkDay(c.UserContext(), actor(c), d)
	if errs := views.FromError(err); errs != nil {
		year, ok := h.workDaysYear(c.FormValue("year"))
		if !ok {
			year, _ = h.workDaysYear("")
		}
		return h.renderWorkDays(c, fiber.StatusUnprocessableEntity, views.WorkDaysPageVM{Year: year, Day: d.Day, Kind: d.Kind,
			Name: d.Name, Errors: errs})
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.workday_saved")
	return redirect(c, views.WorkDaysURL(yearOfDay(d.Day))+"#day-"+d.Day)
}

// yearOfDay is the year of a valid day (2006-01-02).
func yearOfDay(day string) int {
	t, _ := time.Parse(time.DateOnly, day)
	return t.Year()
}

// deleteWorkDay removes a configured day: it follows the week again.
func (h *Handler) deleteWorkDay(c *fiber.Ctx) error {
	day := c.Params("day")
	if t, err := time.Parse(time.DateOnly, day); err != nil || t.Format(time.DateOnly) != day {
		return fiber.ErrNotFound
	}
	if err := h.store.DeleteWorkDay(c.UserContext(), actor(c), day); err != nil {
		return err
	}
	h.flash(c, "ok", "flash.workday_deleted")
	return redirect(c, views.WorkDaysURL(yearOfDay(day)))
}

// importWorkDays replaces a year's configured days with an uploaded CSV
// file (the format of the shipped calendar).
func (h *Handler) importWorkDays(c *fiber.Ctx) error {
	year, ok := h.workDaysYear(c.FormValue("year"))
	if !ok || c.FormValue("year") == "" {
		return fiber.ErrBadRequest
	}
	days, err := h.readWorkDays(c)
	if err == nil {
		err = h.store.ImportWorkDays(c.UserContext(), actor(c), year, days)
	}
	if errs := views.FromError(err); errs != nil {
		return h.renderWorkDays(c, fiber.StatusUnprocessableEntity, views.WorkDaysPageVM{Year: year, Errors: errs})
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.workdays_imported")
	return redirect(c, views.WorkDaysURL(year))
}

// readWorkDays reads the uploaded calendar: its name as the browser sent
// it, its size before reading, UTF-8 text, then the rows.
func (h *Handler) readWorkDays(c *fiber.Ctx) ([]models.WorkDay, error) {
	fh, err := c.FormFile("file")
	if err != nil {
		return nil, models.Invalid("file", "workdays.error.no_file")
	}
	if _, err := models.CheckUploadName(rawFileName(fh)); err != nil {
		return nil, err
	}
	tooLarge := models.Invalid("file", "workdays.error.too_large", workDaysMaxBytes>>10)
	if fh.Size > workDaysMaxBytes {
		return nil, tooLarge
	}
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, workDaysMaxBytes+1))
	if err != nil {
		return nil, err
	}
	switch {
	case len(data) > workDaysMaxBytes:
		return nil, tooLarge
	case len(bytes.TrimSpace(data)) == 0:
		return nil, models.Invalid("file", "workdays.error.empty")
	case !utf8.Valid(data):
		return nil, models.Invalid("file", "workdays.error.encoding")
	}
	return models.ParseWorkDaysCSV(bytes.NewReader(data))
}

// downloadWorkDays is a year's configured days in the import format.
func (h *Handler) downloadWorkDays(c *fiber.Ctx) error {
	year, ok := h.workDaysYear(c.Query("year"))
	if !ok {
		return fiber.ErrNotFound
	}
	days, err := h.store.WorkDays(c.UserContext(), year)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"date", "kind", "name"})
	for _, d := range days {
		_ = w.Write(csvCells(d.Day, d.Kind, d.Name))
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	attachment(c, "text/csv; charset=utf-8", "workdays-"+strconv.Itoa(year)+".csv")
	return c.Send(buf.Bytes())
}
