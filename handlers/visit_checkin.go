package handlers

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
	"github.com/colo-portal/portal/views/pdf"
)

// downloadPass sends the visitor pass of an approved visit: one A6 page
// per visitor in the visitor's language, masked identity numbers, each
// with the QR code of the visitor's token. Another organization's visit
// is not found; a visit not approved has no pass (404 with a page saying
// so).
func (h *Handler) downloadPass(c *fiber.Ctx) error {
	v, err := h.visitParam(c)
	if err != nil {
		return err
	}
	if v.State != models.VisitApproved {
		return h.render(c, http.StatusNotFound, views.ErrorPage(http.StatusNotFound, "pass.not_approved"))
	}
	ctx := c.UserContext()
	d, err := h.store.VisitDetailOf(ctx, scope(c), v, false)
	if err != nil {
		return err
	}
	tokens, err := h.store.PassTokens(ctx, scope(c), v)
	if err != nil {
		return err
	}
	pages := make([]pdf.PassPage, 0, len(d.Visitors))
	for _, x := range d.Visitors {
		tr := locales.For(x.Locale)
		if !locales.Valid(x.Locale) {
			tr = locales.For(state(c).lang)
		}
		site := passSite(d.Site.Name, d.Site.Address)
		pages = append(pages, pdf.PassPage{T: tr.T, Lang: tr.Lang(), VisitNumber: v.Number(), VisitorName: x.Name,
			Company: x.Company, OrgName: d.OrgName, IDType: tr.T("visits.id_type." + x.IDType), MaskedID: x.IDMasked,
			Window: h.docTime(v.PlannedFrom) + " – " + h.docTime(v.PlannedTo), Escort: d.Escort, Areas: d.Areas(),
			Site: site, Token: tokens[x.Visitor.ID]})
	}
	b, err := pdf.VisitorPass(h.letterhead(), pages)
	if err != nil {
		return err
	}
	if err := h.store.Audit(ctx, actor(c), models.AuditPassDownloaded, "visit", &v.ID, &v.OrgID,
		map[string]any{"visit": v.Number(), "visitors": len(pages)}); err != nil {
		return err
	}
	attachment(c, "application/pdf", fmt.Sprintf("%s-pass.pdf", v.Number()))
	return c.Send(b)
}

// passSite is how a pass names the site: its name, and its address if
// it has one.
func passSite(name, address string) string {
	if a := strings.TrimSpace(address); a != "" {
		return name + " · " + a
	}
	return name
}

// showToday is reception's today page. After an action the page names
// the visitor it was about (?done=in|out|badge|handed&v=ID).
func (h *Handler) showToday(c *fiber.Ctx) error {
	vm := views.TodayPageVM{}
	if done := c.Query("done"); done == "in" || done == "out" || done == "badge" || done == "handed" {
		if id, err := strconv.ParseInt(c.Query("v"), 10, 64); err == nil {
			if b, err := h.store.BoardVisitorOf(c.UserContext(), scope(c), id); err == nil {
				vm.Done, vm.Visitor = done, b
			}
		}
	}
	return h.renderToday(c, http.StatusOK, vm)
}

// renderToday fills the board and the escorts into vm and renders it.
func (h *Handler) renderToday(c *fiber.Ctx, status int, vm views.TodayPageVM) error {
	ctx := c.UserContext()
	vm.Now = h.store.Now()
	b, err := h.store.TodayBoard(ctx, scope(c), vm.Now)
	if err != nil {
		return err
	}
	vm.Board = b
	if err := h.standingToday(c, &vm); err != nil {
		return err
	}
	for _, r := range []models.Role{models.RoleEngineer, models.RoleService, models.RoleReception, models.RoleAdmin} {
		us, err := h.store.ListStaff(ctx, r)
		if err != nil {
			return err
		}
		vm.Escorts = append(vm.Escorts, us...)
	}
	return h.render(c, status, views.TodayPage(vm))
}

// todayAfter sends reception back to the today page naming the visitor,
// or shows the page again with why the action was refused.
func (h *Handler) todayAfter(c *fiber.Ctx, err error, done string, visitorID int64) error {
	if errs := views.FromError(err); errs != nil {
		return h.renderToday(c, http.StatusUnprocessableEntity, views.TodayPageVM{Errors: errs, ErrorFor: visitorID})
	}
	if err != nil {
		return err
	}
	return redirect(c, "/reception/today?done="+done+"&v="+strconv.FormatInt(visitorID, 10))
}

// scanCheckIn checks in the visitor whose pass token a scanner typed (or
// reception pasted) into the today page's field, or the standing-list
// person whose personal pass it is (handlers/standing.go).
func (h *Handler) scanCheckIn(c *fiber.Ctx) error {
	token := c.FormValue("token")
	if strings.TrimSpace(token) == "" {
		return h.todayAfter(c, models.Invalid("token", "checkin.error.empty"), "in", 0)
	}
	if models.IsStandingToken(token) {
		return h.scanStanding(c, token)
	}
	res, err := h.store.CheckInByToken(c.UserContext(), actor(c), token, "", 0)
	var id int64
	if res != nil {
		id = res.VisitorID
	}
	return h.todayAfter(c, err, "in", id)
}

// visitorParam resolves the path's visitor within the user's scope.
func (h *Handler) visitorParam(c *fiber.Ctx) (*models.Visitor, error) {
	id, err := paramID(c, "id")
	if err != nil {
		return nil, err
	}
	return h.store.GetVisitor(c.UserContext(), scope(c), id)
}

// checkInVisitor checks in a visitor picked from the expected list, with
// the badge handed out and the escort present.
func (h *Handler) checkInVisitor(c *fiber.Ctx) error {
	x, err := h.visitorParam(c)
	if err != nil {
		return err
	}
	var escort int64
	if e := optionalID(c.FormValue("escort")); e != nil {
		escort = *e
	} else if strings.TrimSpace(c.FormValue("escort")) != "" {
		return h.todayAfter(c, models.Invalid("escort", "checkin.error.escort"), "in", x.ID)
	}
	_, err = h.store.CheckIn(c.UserContext(), actor(c), x.OrgID, x.ID, c.FormValue("badge"), escort)
	return h.todayAfter(c, err, "in", x.ID)
}

// checkOutVisitor records a visitor leaving, and whether the badge came
// back.
func (h *Handler) checkOutVisitor(c *fiber.Ctx) error {
	x, err := h.visitorParam(c)
	if err != nil {
		return err
	}
	err = h.store.CheckOut(c.UserContext(), actor(c), x.OrgID, x.ID, c.FormValue("badge_returned") == "yes")
	return h.todayAfter(c, err, "out", x.ID)
}

// returnBadge records a badge brought back after its visitor left.
func (h *Handler) returnBadge(c *fiber.Ctx) error {
	x, err := h.visitorParam(c)
	if err != nil {
		return err
	}
	return h.todayAfter(c, h.store.ReturnBadge(c.UserContext(), actor(c), x.OrgID, x.ID), "badge", x.ID)
}

// handOutBadge records the badge given to a visitor checked in without
// one (a scan takes no number).
func (h *Handler) handOutBadge(c *fiber.Ctx) error {
	x, err := h.visitorParam(c)
	if err != nil {
		return err
	}
	return h.todayAfter(c, h.store.HandOutBadge(c.UserContext(), actor(c), x.OrgID, x.ID, c.FormValue("badge")), "handed", x.ID)
}
