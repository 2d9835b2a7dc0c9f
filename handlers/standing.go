package handlers

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
	"github.com/colo-portal/portal/views/pdf"
)

// Standing access lists (issue 19): every user of a customer organization
// reads its list and its access history; its administrator
// (Store.IsOrgAdmin) adds, changes, revokes and reissues passes. Reception
// and admins read every organization's list, and may revoke and reissue
// (a lost pass). Another organization's entry is not found, before any
// role check.

// standingHistoryDays is how far back an entry's page lists its entries.
const standingHistoryDays = 90

// standingPreviewRows is how many entries the history page shows.
const standingPreviewRows = 200

// isStaff reports whether the user is staff (reads every organization).
func isStaff(c *fiber.Ctx) bool { return currentUser(c).Role.IsStaff() }

// showStanding lists the standing access list: the customer's own
// organization's, or every organization's for staff (searchable by name).
func (h *Handler) showStanding(c *fiber.Ctx) error {
	ctx := c.UserContext()
	vm := views.StandingListPageVM{Staff: isStaff(c), Query: strings.TrimSpace(c.Query("q"))}
	var org int64
	if !vm.Staff {
		org = ownOrg(c)
		var err error
		if vm.Admin, err = h.isOrgAdmin(c); err != nil {
			return err
		}
	}
	rows, err := h.store.ListStanding(ctx, scope(c), org, vm.Query)
	if err != nil {
		return err
	}
	vm.Rows = rows
	return h.render(c, fiber.StatusOK, views.StandingListPage(vm))
}

// standingForm reads the list's form.
func standingForm(c *fiber.Ctx) models.StandingInput {
	in := models.StandingInput{Name: c.FormValue("name"), Company: c.FormValue("company"), IDType: c.FormValue("id_type"),
		IDNumber: c.FormValue("id_number"), Phone: c.FormValue("phone"), ClearPhone: c.FormValue("clear_phone") == "yes",
		ValidFrom: c.FormValue("valid_from"), ValidTo: c.FormValue("valid_to"), EscortRequired: c.FormValue("escort_required") == "yes",
		Note: c.FormValue("note"), Locale: c.FormValue("locale")}
	for _, v := range c.Request().PostArgs().PeekMulti("cabinets") {
		in.Cabinets = append(in.Cabinets, string(v))
	}
	return in
}

// renderStandingForm shows the form with the organization's cabinets.
func (h *Handler) renderStandingForm(c *fiber.Ctx, status int, vm views.StandingFormPageVM) error {
	cabs, err := h.store.OrgCabinets(c.UserContext(), scope(c), ownOrg(c))
	if err != nil {
		return err
	}
	vm.Cabinets = cabs
	return h.render(c, status, views.StandingFormPage(vm))
}

// newStanding shows the administrator the form of a new entry: from
// today for 90 days, in the administrator's language.
func (h *Handler) newStanding(c *fiber.Ctx) error {
	if err := h.requireOrgAdmin(c); err != nil {
		return err
	}
	today := h.store.Now().In(h.loc)
	return h.renderStandingForm(c, fiber.StatusOK, views.StandingFormPageVM{Form: models.StandingInput{IDType: models.IDResident,
		ValidFrom: today.Format("2006-01-02"), ValidTo: today.AddDate(0, 0, 89).Format("2006-01-02"), Locale: state(c).lang}})
}

// createStanding adds a person to the organization's list.
func (h *Handler) createStanding(c *fiber.Ctx) error {
	if err := h.requireOrgAdmin(c); err != nil {
		return err
	}
	in := standingForm(c)
	a, err := h.store.CreateStanding(c.UserContext(), actor(c), scope(c), ownOrg(c), in)
	if errs := views.FromError(err); errs != nil {
		return h.renderStandingForm(c, fiber.StatusUnprocessableEntity, views.StandingFormPageVM{Form: in, Errors: errs})
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.standing_added")
	return redirect(c, views.StandingURL(a.Ref))
}

// standingParam finds the path's entry within the user's scope.
func (h *Handler) standingParam(c *fiber.Ctx) (*models.StandingAccess, error) {
	return h.store.GetStanding(c.UserContext(), scope(c), c.Params("ref"))
}

// manageStanding finds the entry (404 for another organization's), then
// refuses a customer who is not the organization's administrator, and
// staff who do not run the desk (403).
func (h *Handler) manageStanding(c *fiber.Ctx) (*models.StandingAccess, error) {
	a, err := h.standingParam(c)
	if err != nil {
		return nil, err
	}
	switch r := currentUser(c).Role; {
	case r == models.RoleCustomer:
		return a, h.requireOrgAdmin(c)
	case r == models.RoleReception || r == models.RoleAdmin:
		return a, nil
	}
	return nil, fiber.ErrForbidden
}

// showStandingEntry is one person of the list with their recent entries;
// reception sees the identity number and phone, everyone else the masks.
func (h *Handler) showStandingEntry(c *fiber.Ctx) error {
	a, err := h.standingParam(c)
	if err != nil {
		return err
	}
	return h.renderStandingEntry(c, fiber.StatusOK, a, nil)
}

func (h *Handler) renderStandingEntry(c *fiber.Ctx, status int, a *models.StandingAccess, errs views.FormErrors) error {
	ctx := c.UserContext()
	u := currentUser(c)
	v, err := h.store.StandingViewOf(ctx, scope(c), a, u.Role == models.RoleReception)
	if err != nil {
		return err
	}
	vm := views.StandingPageVM{V: v, Errors: errs, Desk: u.Role == models.RoleReception || u.Role == models.RoleAdmin}
	if u.Role == models.RoleCustomer {
		if vm.Admin, err = h.isOrgAdmin(c); err != nil {
			return err
		}
	}
	now := h.store.Now()
	if vm.History, _, err = h.store.StandingHistory(ctx, scope(c), a.ID, now.AddDate(0, 0, -standingHistoryDays), now.Add(time.Minute), 50); err != nil {
		return err
	}
	if len(v.Cabinets) > 0 {
		if vm.CabinetURLs, err = h.cabinetLinks(c, a.OrgID); err != nil {
			return err
		}
	}
	if vm.Desk && v.Revealed {
		c.Set(fiber.HeaderCacheControl, "no-store")
	}
	return h.render(c, status, views.StandingPage(vm))
}

// editStanding shows the administrator the entry's form; an identity
// number and phone left empty keep the ones on file.
func (h *Handler) editStanding(c *fiber.Ctx) error {
	a, err := h.manageStanding(c)
	if err != nil {
		return err
	}
	v, err := h.store.StandingViewOf(c.UserContext(), scope(c), a, false)
	if err != nil {
		return err
	}
	if a.RevokedAt != nil || a.PurgedAt != nil {
		h.flash(c, "warn", "flash.standing_closed")
		return redirect(c, views.StandingURL(a.Ref))
	}
	return h.renderStandingForm(c, fiber.StatusOK, views.StandingFormPageVM{Ref: a.Ref, Masked: a.IDMasked, Phone: a.PhoneMasked,
		Form: models.StandingInput{Name: a.Name, Company: a.Company, IDType: a.IDType, Cabinets: v.Cabinets, ValidFrom: a.ValidFrom,
			ValidTo: a.ValidTo, EscortRequired: a.EscortRequired, Note: a.Note, Locale: a.Locale}})
}

// updateStanding saves the administrator's change.
func (h *Handler) updateStanding(c *fiber.Ctx) error {
	a, err := h.manageStanding(c)
	if err != nil {
		return err
	}
	in := standingForm(c)
	err = h.store.UpdateStanding(c.UserContext(), actor(c), scope(c), a.Ref, in)
	if errs := views.FromError(err); errs != nil {
		return h.renderStandingForm(c, fiber.StatusUnprocessableEntity, views.StandingFormPageVM{Ref: a.Ref, Masked: a.IDMasked,
			Phone: a.PhoneMasked, Form: in, Errors: errs})
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.standing_updated")
	return redirect(c, views.StandingURL(a.Ref))
}

// revokeStanding ends an entry at once (the administrator, or the desk
// for a lost pass).
func (h *Handler) revokeStanding(c *fiber.Ctx) error {
	a, err := h.manageStanding(c)
	if err != nil {
		return err
	}
	err = h.store.RevokeStanding(c.UserContext(), actor(c), scope(c), a.Ref, c.FormValue("reason"))
	if errs := views.FromError(err); errs != nil {
		return h.renderStandingEntry(c, fiber.StatusUnprocessableEntity, a, errs)
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.standing_revoked")
	return redirect(c, views.StandingURL(a.Ref))
}

// reissueStanding makes a new pass; the printed one stops working.
func (h *Handler) reissueStanding(c *fiber.Ctx) error {
	a, err := h.manageStanding(c)
	if err != nil {
		return err
	}
	err = h.store.ReissueStanding(c.UserContext(), actor(c), scope(c), a.Ref)
	if errs := views.FromError(err); errs != nil {
		return h.renderStandingEntry(c, fiber.StatusUnprocessableEntity, a, errs)
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.standing_reissued")
	return redirect(c, views.StandingURL(a.Ref))
}

// downloadStandingPass sends the person's pass: one A6 page in the
// entry's language with the QR code of its token. An entry that ended or
// was revoked has no pass (404 with a page saying so).
func (h *Handler) downloadStandingPass(c *fiber.Ctx) error {
	a, err := h.manageStanding(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	token, err := h.store.StandingPassToken(ctx, scope(c), a)
	if err != nil {
		return h.render(c, http.StatusNotFound, views.ErrorPage(http.StatusNotFound, "standing.no_pass"))
	}
	v, err := h.store.StandingViewOf(ctx, scope(c), a, false)
	if err != nil {
		return err
	}
	tr := locales.For(a.Locale)
	if !locales.Valid(a.Locale) {
		tr = locales.For(state(c).lang)
	}
	escort := tr.T("standing.escort_not_required")
	if a.EscortRequired {
		escort = tr.T("standing.escort_required")
	}
	number := strings.ToUpper(a.Ref[:8]) + "-" + itoa(a.PassVersion)
	sites, err := h.store.ListSites(ctx)
	if err != nil {
		return err
	}
	site := ""
	if len(sites) == 1 {
		site = passSite(sites[0].Name, sites[0].Address)
	}
	b, err := pdf.StandingPass(h.letterhead(), pdf.PassPage{T: tr.T, Lang: tr.Lang(), VisitNumber: number, VisitorName: a.Name,
		Company: a.Company, OrgName: v.OrgName, IDType: tr.T("visits.id_type." + a.IDType), MaskedID: a.IDMasked,
		Window: a.ValidFrom + " – " + a.ValidTo, Escort: escort, Areas: v.Cabinets, Site: site, Token: token})
	if err != nil {
		return err
	}
	if err := h.store.Audit(ctx, actor(c), models.AuditStandingPass, "standing", &a.ID, &a.OrgID,
		map[string]any{"person": a.Name, "version": a.PassVersion}); err != nil {
		return err
	}
	attachment(c, "application/pdf", "access-pass-"+number+".pdf")
	return c.Send(b)
}

// showStandingHistory is the access history of a period (the last 30
// days without dates): the customer's own organization's people, every
// organization's for staff.
func (h *Handler) showStandingHistory(c *fiber.Ctx) error {
	fromS, toS := strings.TrimSpace(c.Query("from")), strings.TrimSpace(c.Query("to"))
	vm := views.StandingHistoryPageVM{From: fromS, To: toS, Staff: isStaff(c)}
	from, to, err := h.visitLogPeriod(fromS, toS)
	if err == nil {
		vm.Rows, vm.Total, err = h.store.StandingHistory(c.UserContext(), scope(c), 0, from, to, standingPreviewRows)
	}
	if vm.Errors = views.FromError(err); vm.Errors != nil {
		return h.render(c, fiber.StatusUnprocessableEntity, views.StandingHistoryPage(vm))
	}
	if err != nil {
		return err
	}
	vm.From, vm.To = from.In(h.loc).Format("2006-01-02"), to.Add(-time.Hour).In(h.loc).Format("2006-01-02")
	return h.render(c, fiber.StatusOK, views.StandingHistoryPage(vm))
}

// downloadStandingHistory sends the access history of a period as CSV,
// identity numbers masked; the export is recorded before it is sent.
func (h *Handler) downloadStandingHistory(c *fiber.Ctx) error {
	fromS, toS := strings.TrimSpace(c.Query("from")), strings.TrimSpace(c.Query("to"))
	from, to, err := h.visitLogPeriod(fromS, toS)
	if err != nil {
		return h.standingHistoryError(c, fromS, toS, err)
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"person", "company", "organization", "id_number", "checked_in", "checked_out", "method", "badge", "escort_present"})
	_, err = h.store.ExportStandingHistory(c.UserContext(), scope(c), actor(c), from, to, func(r *models.StandingHistoryRow) error {
		return w.Write(csvCells(r.Name, r.Company, r.OrgName, r.IDMasked, h.csvTime(&r.InAt), h.csvTime(r.OutAt), r.Method, r.BadgeNumber, r.EscortName))
	})
	if err != nil {
		return h.standingHistoryError(c, fromS, toS, err)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	attachment(c, "text/csv; charset=utf-8", "access-history"+h.logPeriodFile(from, to))
	return c.Send(buf.Bytes())
}

// standingHistoryError shows a period's mistakes on the history page.
func (h *Handler) standingHistoryError(c *fiber.Ctx, fromS, toS string, err error) error {
	errs := views.FromError(err)
	if errs == nil {
		return err
	}
	return h.render(c, fiber.StatusUnprocessableEntity, views.StandingHistoryPage(views.StandingHistoryPageVM{From: fromS, To: toS, Staff: isStaff(c), Errors: errs}))
}

// At the desk.

// standingAfter sends reception back to the today page naming the person,
// or shows the page again with why the action was refused (an escort to
// pick shows that person's check-in form).
func (h *Handler) standingAfter(c *fiber.Ctx, err error, done, ref string) error {
	if errs := views.FromError(err); errs != nil {
		vm := views.TodayPageVM{Errors: errs, StandingFor: ref}
		if ref != "" && (errs.Has("escort") || errs.Has("badge")) {
			if row, err := h.standingRow(c, ref); err == nil {
				vm.StandingFound = []models.StandingRow{*row}
			}
		}
		return h.renderToday(c, http.StatusUnprocessableEntity, vm)
	}
	if err != nil {
		return err
	}
	return redirect(c, "/reception/today?done="+done+"&s="+ref)
}

// standingRow is entry ref as the desk's search lists it.
func (h *Handler) standingRow(c *fiber.Ctx, ref string) (*models.StandingRow, error) {
	ctx := c.UserContext()
	a, err := h.store.GetStanding(ctx, scope(c), ref)
	if err != nil {
		return nil, err
	}
	v, err := h.store.StandingViewOf(ctx, scope(c), a, false)
	if err != nil {
		return nil, err
	}
	return &models.StandingRow{StandingAccess: *a, OrgName: v.OrgName, Cabinets: strings.Join(v.Cabinets, ", "),
		Status: v.Status, Inside: v.Inside != nil}, nil
}

// scanStanding checks in the standing-list person whose pass was scanned.
func (h *Handler) scanStanding(c *fiber.Ctx, token string) error {
	res, err := h.store.StandingCheckInByToken(c.UserContext(), actor(c), token, "", 0)
	ref := ""
	if res != nil {
		ref = res.Ref
	} else if v, ok := models.AsValidation(err); ok && v.Field == "escort" {
		// Genuine and current, but an escort must be picked: find whose.
		ref = h.store.StandingRefOfToken(c.UserContext(), token)
	}
	return h.standingAfter(c, err, "sin", ref)
}

// checkInStanding checks in a person picked by hand (the pass forgotten,
// the ID document checked) or after a scan that needs an escort.
func (h *Handler) checkInStanding(c *fiber.Ctx) error {
	a, err := h.standingParam(c)
	if err != nil {
		return err
	}
	var escort int64
	if e := optionalID(c.FormValue("escort")); e != nil {
		escort = *e
	} else if strings.TrimSpace(c.FormValue("escort")) != "" {
		return h.standingAfter(c, models.Invalid("escort", "checkin.error.escort"), "sin", a.Ref)
	}
	_, err = h.store.StandingCheckIn(c.UserContext(), actor(c), scope(c), a.Ref, c.FormValue("badge"), escort)
	return h.standingAfter(c, err, "sin", a.Ref)
}

// checkOutStanding records a standing-list person leaving.
func (h *Handler) checkOutStanding(c *fiber.Ctx) error {
	a, err := h.standingParam(c)
	if err != nil {
		return err
	}
	_, err = h.store.StandingCheckOut(c.UserContext(), actor(c), scope(c), a.Ref, c.FormValue("badge_returned") == "yes")
	return h.standingAfter(c, err, "sout", a.Ref)
}

// returnStandingBadge records a badge brought back after its holder
// left.
func (h *Handler) returnStandingBadge(c *fiber.Ctx) error {
	a, err := h.standingParam(c)
	if err != nil {
		return err
	}
	return h.standingAfter(c, h.store.ReturnStandingBadge(c.UserContext(), actor(c), scope(c), a.Ref), "sbadge", a.Ref)
}

// standingToday fills the today page's standing parts: who is inside,
// what reception searched for, and the message of the last action
// (?done=sin|sout&s=REF).
func (h *Handler) standingToday(c *fiber.Ctx, vm *views.TodayPageVM) error {
	ctx := c.UserContext()
	var err error
	if vm.Standing, err = h.store.StandingInside(ctx, scope(c)); err != nil {
		return err
	}
	if vm.StandingBadges, err = h.store.StandingBadges(ctx, scope(c)); err != nil {
		return err
	}
	if q := strings.TrimSpace(c.Query("sq")); q != "" && c.Method() == fiber.MethodGet {
		vm.StandingQuery = q
		rows, err := h.store.ListStanding(ctx, scope(c), 0, q)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if r.Status == models.StandingActive && len(vm.StandingFound) < 20 {
				vm.StandingFound = append(vm.StandingFound, r)
			}
		}
	}
	done := c.Query("done")
	if c.Method() != fiber.MethodGet || (done != "sin" && done != "sout" && done != "sbadge") {
		return nil
	}
	a, err := h.store.GetStanding(ctx, scope(c), c.Query("s"))
	if err != nil {
		return nil
	}
	v, err := h.store.StandingViewOf(ctx, scope(c), a, false)
	if err != nil {
		return err
	}
	d := &views.StandingDone{Action: "in", Ref: a.Ref, Name: a.Name, OrgName: v.OrgName}
	if done == "sbadge" {
		d.Action = "badge"
	} else if done == "sout" {
		d.Action = "out"
		last, _, err := h.store.StandingHistory(ctx, scope(c), a.ID, h.store.Now().AddDate(0, 0, -2), h.store.Now().Add(time.Minute), 1)
		if err != nil {
			return err
		}
		if len(last) == 1 && last[0].BadgeNumber != "" && !last[0].BadgeReturned {
			d.BadgeMissing = last[0].BadgeNumber
		}
	} else {
		for _, r := range vm.Standing {
			if r.Ref == a.Ref {
				d.Badge, d.Escort = r.BadgeNumber, r.EscortName
			}
		}
	}
	vm.StandingDone = d
	return nil
}
