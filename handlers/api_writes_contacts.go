package handlers

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
)

// The authorized contacts of a customer's own organization through the
// API: the contacts page's Store methods and rules (priorities, channels
// that need their detail, the passphrase of phone authorization; the
// first contact of an empty list confirms the list).

// APIContact is an authorized contact as the API shows it. The passphrase
// itself is never shown.
type APIContact struct {
	ID             int64    `json:"id"`
	OrganizationID int64    `json:"organization_id"`
	Name           string   `json:"name"`
	Title          string   `json:"title"`
	OfficePhone    string   `json:"office_phone" doc:"E.164, or empty."`
	Mobile         string   `json:"mobile" doc:"E.164, or empty."`
	Pager          string   `json:"pager" doc:"E.164, or empty."`
	Fax            string   `json:"fax" doc:"E.164, or empty."`
	Email          string   `json:"email"`
	Channels       []string `json:"channels" doc:"How to reach the contact in an emergency, in the order to try: office_phone, mobile, pager, fax, email."`
	Priority       int      `json:"priority" doc:"Contacts are tried in ascending priority (0–99)."`
	MayAuthorize   bool     `json:"may_authorize" doc:"May authorize operations on the phone with their passphrase."`
	Locale         string   `json:"locale" enum:"en,zh-CN" doc:"The language the contact is written to in."`
	PassphraseSet  bool     `json:"passphrase_set"`
	PassphraseAt   *string  `json:"passphrase_set_at" format:"date-time" doc:"When the passphrase was last set; null without one."`
	CreatedAt      string   `json:"created_at" format:"date-time"`
	UpdatedAt      string   `json:"updated_at" format:"date-time"`
}

func apiContact(ct *models.Contact) APIContact {
	chans := []string{}
	for _, ch := range ct.ChannelList() {
		chans = append(chans, string(ch))
	}
	return APIContact{ID: ct.ID, OrganizationID: ct.OrgID, Name: ct.Name, Title: ct.Title, OfficePhone: ct.OfficePhone,
		Mobile: ct.Mobile, Pager: ct.Pager, Fax: ct.Fax, Email: ct.Email, Channels: chans, Priority: ct.Priority,
		MayAuthorize: ct.MayAuthorize, Locale: ct.Locale, PassphraseSet: ct.HasPassphrase(), PassphraseAt: apiTimePtr(ct.PassphraseAt),
		CreatedAt: apiTime(ct.CreatedAt), UpdatedAt: apiTime(ct.UpdatedAt)}
}

// APIContactInput is a new contact.
type APIContactInput struct {
	Name        string   `json:"name"`
	Title       string   `json:"title,omitempty"`
	OfficePhone string   `json:"office_phone,omitempty" doc:"A phone number; without a country code, a Chinese one."`
	Mobile      string   `json:"mobile,omitempty"`
	Pager       string   `json:"pager,omitempty"`
	Fax         string   `json:"fax,omitempty"`
	Email       string   `json:"email,omitempty"`
	Channels    []string `json:"channels,omitempty" doc:"In the order to try: office_phone, mobile, pager, fax, email; each needs its detail."`
	Priority    int      `json:"priority,omitempty" doc:"0–99, tried in ascending order; default 0."`
	// MayAuthorize needs a passphrase.
	MayAuthorize bool   `json:"may_authorize,omitempty" doc:"May authorize operations on the phone; needs a passphrase."`
	Locale       string `json:"locale,omitempty" enum:"en,zh-CN" doc:"Default: the request's Accept-Language."`
	Passphrase   string `json:"passphrase,omitempty" doc:"The phone passphrase (at least 8 characters); never shown again."`
}

// APIContactPatch changes a contact: an absent (or null) field keeps its
// value; an empty passphrase keeps the one on file.
type APIContactPatch struct {
	Name         *string   `json:"name,omitempty"`
	Title        *string   `json:"title,omitempty"`
	OfficePhone  *string   `json:"office_phone,omitempty"`
	Mobile       *string   `json:"mobile,omitempty"`
	Pager        *string   `json:"pager,omitempty"`
	Fax          *string   `json:"fax,omitempty"`
	Email        *string   `json:"email,omitempty"`
	Channels     *[]string `json:"channels,omitempty"`
	Priority     *int      `json:"priority,omitempty"`
	MayAuthorize *bool     `json:"may_authorize,omitempty"`
	Locale       *string   `json:"locale,omitempty" enum:"en,zh-CN"`
	Passphrase   *string   `json:"passphrase,omitempty" doc:"A new passphrase; absent or empty keeps the one on file."`
}

func channelsOf(ss []string) []models.Channel {
	out := make([]models.Channel, len(ss))
	for i, s := range ss {
		out[i] = models.Channel(s)
	}
	return out
}

// apiListContacts: GET /api/v1/contacts, the organization's contacts in
// the order they are tried (priority, name, ID).
func (h *Handler) apiListContacts(c *fiber.Ctx) error {
	type key struct {
		Priority int    `json:"p"`
		Name     string `json:"n"`
		ID       int64  `json:"i"`
	}
	var after *key
	limit, err := apiPage(c, &after)
	if err != nil {
		return err
	}
	cs, err := h.store.ListContacts(c.UserContext(), scope(c), ownOrg(c))
	if err != nil {
		return err
	}
	// Ordered here, not by the database's collation, so that the cursor
	// compares the same way on every database.
	order := func(a, b key) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	}
	keyOf := func(ct models.Contact) key { return key{ct.Priority, ct.Name, ct.ID} }
	slices.SortFunc(cs, func(a, b models.Contact) int { return order(keyOf(a), keyOf(b)) })
	var out []APIContact
	more := false
	var last key
	for i := range cs {
		k := keyOf(cs[i])
		if after != nil && order(k, *after) <= 0 {
			continue
		}
		if len(out) == limit {
			more = true
			break
		}
		out = append(out, apiContact(&cs[i]))
		last = k
	}
	return apiList(c, out, more, last)
}

func contactLocation(id int64) string { return APIPrefix + "/contacts/" + strconv.FormatInt(id, 10) }

// apiCreateContact: POST /api/v1/contacts.
func (h *Handler) apiCreateContact(c *fiber.Ctx) error {
	var b APIContactInput
	if err := apiBody(c, &b); err != nil {
		return err
	}
	if b.Locale == "" {
		b.Locale = locales.Match(c.Get(fiber.HeaderAcceptLanguage))
	}
	in := models.ContactInput{Name: b.Name, Title: b.Title, OfficePhone: b.OfficePhone, Mobile: b.Mobile, Pager: b.Pager, Fax: b.Fax,
		Email: b.Email, Channels: channelsOf(b.Channels), Priority: b.Priority, MayAuthorize: b.MayAuthorize, Locale: b.Locale,
		Passphrase: b.Passphrase}
	ct, err := h.store.CreateContact(c.UserContext(), apiActor(c), ownOrg(c), in)
	if err != nil {
		return err
	}
	return apiCreated(c, contactLocation(ct.ID), apiContact(ct))
}

// replayContact answers a repeated create of a contact.
func (h *Handler) replayContact(c *fiber.Ctx, location string) error {
	id, err := strconv.ParseInt(strings.TrimPrefix(location, APIPrefix+"/contacts/"), 10, 64)
	if err != nil {
		return err
	}
	ct, err := h.store.GetContact(c.UserContext(), scope(c), id)
	if err != nil {
		return err
	}
	return apiCreated(c, location, apiContact(ct))
}

// apiUpdateContact: PATCH /api/v1/contacts/:id, a partial update.
func (h *Handler) apiUpdateContact(c *fiber.Ctx) error {
	ct, err := h.contactParam(c)
	if err != nil {
		return err
	}
	var p APIContactPatch
	if err := apiBody(c, &p); err != nil {
		return err
	}
	in := models.ContactInput{Name: ct.Name, Title: ct.Title, OfficePhone: ct.OfficePhone, Mobile: ct.Mobile, Pager: ct.Pager,
		Fax: ct.Fax, Email: ct.Email, Channels: ct.ChannelList(), Priority: ct.Priority, MayAuthorize: ct.MayAuthorize, Locale: ct.Locale}
	for _, f := range []struct {
		from *string
		to   *string
	}{{p.Name, &in.Name}, {p.Title, &in.Title}, {p.OfficePhone, &in.OfficePhone}, {p.Mobile, &in.Mobile}, {p.Pager, &in.Pager},
		{p.Fax, &in.Fax}, {p.Email, &in.Email}, {p.Locale, &in.Locale}, {p.Passphrase, &in.Passphrase}} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	if p.Channels != nil {
		in.Channels = channelsOf(*p.Channels)
	}
	if p.Priority != nil {
		in.Priority = *p.Priority
	}
	if p.MayAuthorize != nil {
		in.MayAuthorize = *p.MayAuthorize
	}
	updated, err := h.store.UpdateContact(c.UserContext(), apiActor(c), ct.OrgID, ct.ID, in)
	if err != nil {
		return err
	}
	return apiJSON(c, fiber.StatusOK, apiContact(updated))
}

// apiDeleteContact: DELETE /api/v1/contacts/:id.
func (h *Handler) apiDeleteContact(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	if err := h.store.DeleteContact(c.UserContext(), apiActor(c), ownOrg(c), id); err != nil {
		return err
	}
	return apiNoContent(c)
}
