package handlers

import (
	"errors"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// showCalendar is the user's calendar feed: whether they have one, when
// it was made and last read, and the buttons to make a new one or revoke
// it. The feed's address is shown once, when it is made.
func (h *Handler) showCalendar(c *fiber.Ctx) error {
	return h.renderCalendar(c, "")
}

func (h *Handler) renderCalendar(c *fiber.Ctx, newURL string) error {
	tok, err := h.store.CalendarTokenOf(c.UserContext(), currentUser(c).ID)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	return h.render(c, fiber.StatusOK, views.CalendarPage(views.CalendarPageVM{Token: tok, NewURL: newURL}))
}

// createCalendarToken makes a new feed token, revoking the old one, and
// shows its address this once.
func (h *Handler) createCalendarToken(c *fiber.Ctx) error {
	raw, err := h.store.NewCalendarToken(c.UserContext(), actor(c), currentUser(c).ID)
	if err != nil {
		return err
	}
	return h.renderCalendar(c, h.publicURL(c, "/calendar/"+raw+".ics"))
}

// revokeCalendarToken ends the user's feed: its address answers 404.
func (h *Handler) revokeCalendarToken(c *fiber.Ctx) error {
	if err := h.store.RevokeCalendarToken(c.UserContext(), actor(c), currentUser(c).ID); err != nil {
		return err
	}
	h.flash(c, "ok", "flash.calendar_revoked")
	return redirect(c, "/account/calendar")
}

// serveCalendar answers a calendar client with the feed of the token in
// the path (no session: the token is the credential, and the request log
// never shows it). An unknown or revoked token, a disabled user and a
// role without feeds are all 404.
func (h *Handler) serveCalendar(c *fiber.Ctx) error {
	raw, ok := strings.CutSuffix(c.Params("token"), ".ics")
	if !ok {
		return models.ErrNotFound
	}
	feed, err := h.store.CalendarFeedOf(c.UserContext(), raw)
	if err != nil {
		return err
	}
	t := locales.For(feed.User.Locale)
	name := t.T("calendar.feed_all")
	if feed.OrgName != "" {
		name = t.T("calendar.feed_org", feed.OrgName)
	}
	host := h.publicURL(c, "")
	if u, err := url.Parse(host); err == nil && u.Host != "" {
		host = u.Hostname()
	}
	page := "/visits/"
	if feed.User.Role == models.RoleReception {
		page = "/reception/visits/"
	}
	visits := make([]views.CalendarVisit, len(feed.Entries))
	for i, e := range feed.Entries {
		v := &e.Visit
		visits[i] = views.CalendarVisit{UID: v.Ref + "@" + host, Number: v.Number(), Org: e.OrgName, Site: e.SiteName,
			Activity: t.T("visits.activity." + v.Activity), Start: v.PlannedFrom, End: v.PlannedTo, Escort: e.Escort,
			Visitors: e.Visitors, Status: v.State, URL: h.publicURL(c, page+v.Ref), Updated: v.UpdatedAt}
	}
	body, err := views.CalendarFeed(t, name, visits)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/calendar; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `inline; filename="visits.ics"`)
	return c.Send(body)
}
