package handlers

import (
	"bytes"
	"encoding/csv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// visitLogPreviewRows is how many rows the log page shows of a period.
const visitLogPreviewRows = 50

// visitLogDefaultDays is the period of a log asked for without dates: the
// last 30 days, today included.
const visitLogDefaultDays = 30

// visitLogPeriod reads a log's dates (portal zone, both included) as
// [from, to): none is the last visitLogDefaultDays days, one alone that
// day. The Store checks the order and the length.
func (h *Handler) visitLogPeriod(fromS, toS string) (time.Time, time.Time, error) {
	if fromS == "" && toS == "" {
		now := h.store.Now().In(h.loc)
		today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, h.loc)
		return today.AddDate(0, 0, 1-visitLogDefaultDays), today.AddDate(0, 0, 1), nil
	}
	if fromS == "" {
		fromS = toS
	}
	if toS == "" {
		toS = fromS
	}
	parse := func(field, s string) (time.Time, error) {
		t, err := time.ParseInLocation("2006-01-02", s, h.loc)
		if err != nil {
			return time.Time{}, models.Invalid(field, "error.date_invalid")
		}
		return t, models.CheckDate(field, t, h.loc)
	}
	from, err := parse("from", fromS)
	if err != nil {
		return from, from, err
	}
	to, err := parse("to", toS)
	if err != nil {
		return from, to, err
	}
	return from, to.AddDate(0, 0, 1), nil
}

// showVisitLog is reception's visitor log page: a period, a masked
// preview of its rows, and the download of the whole log.
func (h *Handler) showVisitLog(c *fiber.Ctx) error {
	fromS, toS := strings.TrimSpace(c.Query("from")), strings.TrimSpace(c.Query("to"))
	from, to, err := h.visitLogPeriod(fromS, toS)
	vm := views.VisitLogPageVM{From: fromS, To: toS, PurgeDays: h.purgeDays()}
	if err == nil {
		vm.Rows, vm.Total, err = h.store.VisitLogPreview(c.UserContext(), scope(c), from, to, visitLogPreviewRows)
	}
	if vm.Errors = views.FromError(err); vm.Errors != nil {
		return h.render(c, fiber.StatusUnprocessableEntity, views.VisitLogPage(vm))
	}
	if err != nil {
		return err
	}
	vm.From, vm.To = from.In(h.loc).Format("2006-01-02"), to.Add(-time.Hour).In(h.loc).Format("2006-01-02")
	return h.render(c, fiber.StatusOK, views.VisitLogPage(vm))
}

// downloadVisitLog sends reception the visitor log of a period as CSV,
// the data center's access log: every visitor of the approved visits
// with their full ID numbers and phones (removed ones say so). The rows
// are read a chunk of visits at a time and sent once the export is
// recorded in the audit log.
func (h *Handler) downloadVisitLog(c *fiber.Ctx) error {
	return h.sendVisitLog(c, true, "visitor-log")
}

// downloadVisitHistory sends a customer their organization's visits of a
// period as CSV, ID numbers and phones masked.
func (h *Handler) downloadVisitHistory(c *fiber.Ctx) error {
	return h.sendVisitLog(c, false, "visits")
}

func (h *Handler) sendVisitLog(c *fiber.Ctx, reveal bool, name string) error {
	fromS, toS := strings.TrimSpace(c.Query("from")), strings.TrimSpace(c.Query("to"))
	from, to, err := h.visitLogPeriod(fromS, toS)
	if err != nil {
		return h.visitLogError(c, reveal, fromS, toS, err)
	}
	t := locales.For(state(c).lang)
	purged := t.T("visitlog.purged", h.purgeDays())
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"visit", "organization", "site", "activity", "planned_entry", "planned_exit", "checked_in", "checked_out",
		"badge", "badge_returned", "escort", "escort_present", "visitor", "company", "id_type", "id_number", "phone"})
	_, err = h.store.ExportVisitLog(c.UserContext(), scope(c), actor(c), from, to, reveal, func(r *models.VisitLogRow) error {
		id, phone := r.ID, r.Phone
		if r.Purged() {
			id, phone = purged, purged
		}
		v, x := &r.Visit, &r.Visitor
		return w.Write(csvCells(v.Number(), r.OrgName, r.SiteName, v.Activity, h.csvTime(&v.PlannedFrom), h.csvTime(&v.PlannedTo),
			h.csvTime(x.CheckedInAt), h.csvTime(x.CheckedOutAt), x.BadgeNumber, h.csvTime(x.BadgeReturnedAt), r.Escort, r.EscortPresent,
			x.Name, x.Company, x.IDType, id, phone))
	})
	if err != nil {
		return h.visitLogError(c, reveal, fromS, toS, err)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	attachment(c, "text/csv; charset=utf-8", name+h.logPeriodFile(from, to))
	return c.Send(buf.Bytes())
}

// csvTime writes an instant in a log's CSV: RFC 3339 in the portal's
// zone, none as "".
func (h *Handler) csvTime(p *time.Time) string {
	if p == nil {
		return ""
	}
	return p.In(h.loc).Format(time.RFC3339)
}

// logPeriodFile ends the file name of a log of [from, to) (as
// visitLogPeriod reads it): "-YYYYMMDD-YYYYMMDD.csv", both days included.
func (h *Handler) logPeriodFile(from, to time.Time) string {
	return "-" + from.In(h.loc).Format("20060102") + "-" + to.Add(-time.Hour).In(h.loc).Format("20060102") + ".csv"
}

// visitLogError shows a period's mistakes on reception's log page; a
// customer's download has no page of its own here and answers 400.
func (h *Handler) visitLogError(c *fiber.Ctx, reception bool, fromS, toS string, err error) error {
	errs := views.FromError(err)
	switch {
	case errs == nil:
		return err
	case !reception:
		return fiber.ErrBadRequest
	}
	return h.render(c, fiber.StatusUnprocessableEntity, views.VisitLogPage(views.VisitLogPageVM{From: fromS, To: toS, Errors: errs, PurgeDays: h.purgeDays()}))
}

// purgeDays is PORTAL_VISIT_PURGE_DAYS, for "removed after N days".
func (h *Handler) purgeDays() int { return int(h.store.VisitRules().PurgeAfter / (24 * time.Hour)) }
