package handlers

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// historyShown is how many events the contact history lists.
const historyShown = 200

// showContacts lists the authorized contacts of the customer's organization
// in the order they are tried, with the re-confirmation prompt.
func (h *Handler) showContacts(c *fiber.Ctx) error {
	ctx := c.UserContext()
	orgID := ownOrg(c)
	st, err := h.contactStatus(ctx, scope(c), orgID)
	if err != nil {
		return err
	}
	flags, err := h.store.OpenContactFlags(ctx, scope(c), orgID)
	if err != nil {
		return err
	}
	vm := views.ContactsPageVM{Contacts: st.contacts, Flags: map[int64][]models.ContactFlag{}, ConfirmEvery: h.store.ConfirmEvery(),
		Now: h.store.Now()}
	for _, f := range flags {
		vm.Flags[f.ContactID] = append(vm.Flags[f.ContactID], f)
	}
	vm.SetUp, vm.Confirmation, vm.ConfirmDue = st.setUp, st.last, st.due
	if vm.Outcomes, err = h.store.RecentNoticeOutcomes(ctx, scope(c), orgID); err != nil {
		return err
	}
	if st.last != nil {
		vm.ConfirmedBy = "#" + itoa(st.last.UserID)
		if u, err := h.store.GetOrgUser(ctx, scope(c), st.last.UserID); err == nil {
			vm.ConfirmedBy = u.Name
		} else if !errors.Is(err, models.ErrNotFound) {
			return err
		}
	}
	return h.render(c, fiber.StatusOK, views.ContactsPage(vm))
}

// contactState is where an organization stands with its contacts.
type contactState struct {
	contacts []models.Contact
	setUp    bool // a contact may authorize operations
	last     *models.ContactConfirmation
	due      bool // no confirmation, or one older than the period
}

func (h *Handler) contactStatus(ctx context.Context, sc models.Scope, orgID int64) (contactState, error) {
	var st contactState
	var err error
	if st.contacts, err = h.store.ListContacts(ctx, sc, orgID); err != nil {
		return st, err
	}
	st.setUp = slices.ContainsFunc(st.contacts, func(c models.Contact) bool { return c.MayAuthorize })
	if st.last, err = h.store.LastConfirmation(ctx, sc, orgID); err != nil {
		return st, err
	}
	st.due = st.last == nil || h.store.Now().Sub(st.last.ConfirmedAt) > h.store.ConfirmEvery()
	return st, nil
}

// contactForm reads the contact form: what to store, and what to show
// again if it is refused (never the passphrase). Channels are tried in the
// order numbers chosen next to them, ties in display order.
func contactForm(c *fiber.Ctx) (models.ContactInput, views.ContactForm, error) {
	in := models.ContactInput{Name: c.FormValue("name"), Title: c.FormValue("title"), OfficePhone: c.FormValue("office_phone"),
		Mobile: c.FormValue("mobile"), Pager: c.FormValue("pager"), Fax: c.FormValue("fax"), Email: c.FormValue("email"),
		MayAuthorize: c.FormValue("may_authorize") != "", Locale: c.FormValue("locale"), Passphrase: c.FormValue("passphrase")}
	f := views.ContactForm{Name: in.Name, Title: in.Title, OfficePhone: in.OfficePhone, Mobile: in.Mobile, Pager: in.Pager,
		Fax: in.Fax, Email: in.Email, MayAuthorize: in.MayAuthorize, Locale: in.Locale, Priority: strings.TrimSpace(c.FormValue("priority"))}
	type chosen struct {
		ch    models.Channel
		order int
	}
	var picks []chosen
	for _, v := range c.Request().PostArgs().PeekMulti("channels") {
		ch := models.Channel(v)
		order, err := strconv.Atoi(c.FormValue("order_" + string(ch)))
		if err != nil || order < 1 {
			order = len(models.Channels) + 1
		}
		picks = append(picks, chosen{ch, order})
	}
	slices.SortStableFunc(picks, func(a, b chosen) int { return a.order - b.order })
	for _, p := range picks {
		in.Channels = append(in.Channels, p.ch)
		if slices.Contains(models.Channels, p.ch) {
			f.Channels = append(f.Channels, p.ch)
		}
	}
	if f.Priority != "" {
		n, err := strconv.Atoi(f.Priority)
		if err != nil {
			return in, f, models.Invalid("priority", "error.number_invalid")
		}
		in.Priority = n
	}
	return in, f, nil
}

func (h *Handler) newContact(c *fiber.Ctx) error {
	f := views.ContactForm{Locale: state(c).lang, Priority: "0", Channels: []models.Channel{models.ChannelMobile}}
	return h.render(c, fiber.StatusOK, views.ContactFormPage(views.ContactFormPageVM{Means: h.means, Form: f}))
}

func (h *Handler) createContact(c *fiber.Ctx) error {
	in, f, err := contactForm(c)
	var ct *models.Contact
	if err == nil {
		ct, err = h.store.CreateContact(c.UserContext(), actor(c), ownOrg(c), in)
	} else {
		err = errors.Join(err, models.CheckContact(in)) // every error in one answer
	}
	if errs := views.FromError(err); errs != nil {
		return h.render(c, fiber.StatusUnprocessableEntity, views.ContactFormPage(views.ContactFormPageVM{Means: h.means, Form: f, Errors: errs,
			PassphraseDropped: in.Passphrase != ""}))
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.contact_created")
	return redirect(c, "/contacts#contact-"+itoa(ct.ID))
}

// contactParam finds a contact of the customer's own organization; any
// other is not found.
func (h *Handler) contactParam(c *fiber.Ctx) (*models.Contact, error) {
	id, err := paramID(c, "id")
	if err != nil {
		return nil, err
	}
	return h.store.GetContact(c.UserContext(), scope(c), id)
}

func (h *Handler) editContact(c *fiber.Ctx) error {
	ct, err := h.contactParam(c)
	if err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.ContactFormPage(views.ContactFormPageVM{Means: h.means, Contact: ct, Form: views.ContactFormOf(ct)}))
}

// updateContact saves the contact form; an empty passphrase keeps the one
// on file.
func (h *Handler) updateContact(c *fiber.Ctx) error {
	ct, err := h.contactParam(c)
	if err != nil {
		return err
	}
	in, f, err := contactForm(c)
	if err == nil {
		_, err = h.store.UpdateContact(c.UserContext(), actor(c), ct.OrgID, ct.ID, in)
	} else {
		in.MayAuthorize = in.MayAuthorize && !ct.HasPassphrase() // an empty passphrase keeps the one on file
		err = errors.Join(err, models.CheckContact(in))
	}
	if errs := views.FromError(err); errs != nil {
		return h.render(c, fiber.StatusUnprocessableEntity, views.ContactFormPage(views.ContactFormPageVM{Means: h.means, Contact: ct, Form: f,
			Errors: errs, PassphraseDropped: in.Passphrase != ""}))
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.saved")
	return redirect(c, "/contacts#contact-"+itoa(ct.ID))
}

func (h *Handler) deleteContact(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	if err := h.store.DeleteContact(c.UserContext(), actor(c), ownOrg(c), id); err != nil {
		return err
	}
	h.flash(c, "ok", "flash.contact_deleted")
	return redirect(c, "/contacts")
}

// confirmContacts records that the signed-in customer confirms the list
// is correct, then returns to the page the form was on.
func (h *Handler) confirmContacts(c *fiber.Ctx) error {
	u := currentUser(c)
	if err := h.store.ConfirmContacts(c.UserContext(), actor(c), ownOrg(c), u.ID); err != nil {
		return err
	}
	h.flash(c, "ok", "flash.contacts_confirmed")
	next := "/contacts"
	if c.FormValue("next") != "" {
		next = localPath(c.FormValue("next"))
	}
	return redirect(c, next)
}

// showContactHistory lists every change to the contacts, confirmation of
// the list and change of the notification settings, with who and when.
func (h *Handler) showContactHistory(c *fiber.Ctx) error {
	ctx := c.UserContext()
	orgID := ownOrg(c)
	events, err := h.store.ContactChangeLog(ctx, scope(c), orgID, historyShown)
	if err != nil {
		return err
	}
	contacts, err := h.store.ListContacts(ctx, scope(c), orgID)
	if err != nil {
		return err
	}
	names := map[int64]string{}
	for _, ct := range contacts {
		names[ct.ID] = ct.Name
	}
	return h.render(c, fiber.StatusOK, views.ContactHistoryPage(views.ContactHistoryPageVM{
		Entries: views.ContactHistory(events, names), Limit: historyShown}))
}
