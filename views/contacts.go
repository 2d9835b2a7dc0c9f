package views

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/colo-portal/portal/models"
)

// ChannelName translates an emergency channel.
func ChannelName(ctx context.Context, ch models.Channel) string {
	return T(ctx, "channel."+string(ch))
}

// ChannelList translates comma-separated channels, in order.
func ChannelList(ctx context.Context, s string) string {
	var names []string
	for _, ch := range strings.Split(s, ",") {
		if ch != "" {
			names = append(names, ChannelName(ctx, models.Channel(ch)))
		}
	}
	if len(names) == 0 {
		return "—"
	}
	return strings.Join(names, T(ctx, "common.list_sep"))
}

// ContactsPageVM is the customer's list of authorized contacts.
type ContactsPageVM struct {
	Contacts []models.Contact
	// Flags are the details staff marked wrong, by contact.
	Flags map[int64][]models.ContactFlag
	// SetUp: at least one contact may authorize operations.
	SetUp bool
	// The last confirmation that the list is correct, and who gave it.
	Confirmation *models.ContactConfirmation
	ConfirmedBy  string
	ConfirmDue   bool
	ConfirmEvery time.Duration
	// Outcomes are the missed emergency notices of this month and the last,
	// with what each costs now: the waivers turn on these contacts.
	Outcomes []models.NoticeOutcome
	Now      time.Time
}

func (vm ContactsPageVM) flag(c models.Contact, ch models.Channel) *models.ContactFlag {
	for i, f := range vm.Flags[c.ID] {
		if f.Channel == ch {
			return &vm.Flags[c.ID][i]
		}
	}
	return nil
}

// Days is a duration in whole days.
func Days(d time.Duration) int { return int(d / (24 * time.Hour)) }

// ContactForm is the contact form as entered, kept when it is refused.
// The passphrase is never part of it: it is not shown again.
type ContactForm struct {
	Name, Title                            string
	OfficePhone, Mobile, Pager, Fax, Email string
	// Channels are the chosen ones, in the order to try them.
	Channels     []models.Channel
	Priority     string
	MayAuthorize bool
	Locale       string
}

// ContactFormOf fills the form from a stored contact.
func ContactFormOf(c *models.Contact) ContactForm {
	return ContactForm{Name: c.Name, Title: c.Title, OfficePhone: c.OfficePhone, Mobile: c.Mobile, Pager: c.Pager,
		Fax: c.Fax, Email: c.Email, Channels: c.ChannelList(), Priority: fmt.Sprint(c.Priority),
		MayAuthorize: c.MayAuthorize, Locale: c.Locale}
}

// channelRow is one line of the channel chooser.
type channelRow struct {
	Channel models.Channel
	Chosen  bool
	Order   int
}

// channelRows lists every channel for the chooser: the chosen ones first
// in the order to try, then the others in display order, numbered on.
func (f ContactForm) channelRows() []channelRow {
	var rows []channelRow
	for _, ch := range f.Channels {
		rows = append(rows, channelRow{Channel: ch, Chosen: true})
	}
	for _, ch := range models.Channels {
		if !slices.Contains(f.Channels, ch) {
			rows = append(rows, channelRow{Channel: ch})
		}
	}
	for i := range rows {
		rows[i].Order = i + 1
	}
	return rows
}

// ContactFormPageVM adds a contact or edits one.
type ContactFormPageVM struct {
	Contact *models.Contact // nil when adding
	Form    ContactForm
	Errors  FormErrors
	// PassphraseDropped says a passphrase was typed into a refused form:
	// it is not sent back, so it must be typed again.
	PassphraseDropped bool
	// Means is how this data center delivers notices.
	Means DeliveryMeans
}

// DeliveryMeans is what this data center can send notices with: a mail
// server (PORTAL_SMTP_HOST) and an SMS, pager and fax gateway
// (PORTAL_WEBHOOK_URL). Without them those channels are logged as not
// sent and staff call the contact instead.
type DeliveryMeans struct{ Email, Gateway bool }

// ChannelHow says how a notice on channel ch reaches the contact here.
func (m DeliveryMeans) ChannelHow(ctx context.Context, ch models.Channel) string {
	key := "contacts.how.office_call"
	switch ch {
	case models.ChannelEmail:
		key = "contacts.how.email_none"
		if m.Email {
			key = "contacts.how.email"
		}
	case models.ChannelMobile:
		key = "contacts.how.mobile_call"
		if m.Gateway {
			key = "contacts.how.mobile_gateway"
		}
	case models.ChannelPager, models.ChannelFax:
		key = "contacts.how.none_call"
		if m.Gateway {
			key = "contacts.how.gateway"
		}
	}
	return T(ctx, key)
}

// Delivers reports whether channel ch is sent as itself here.
func (m DeliveryMeans) Delivers(ch models.Channel) bool {
	switch ch {
	case models.ChannelEmail:
		return m.Email
	case models.ChannelPager, models.ChannelFax:
		return m.Gateway
	}
	return true
}

func (vm ContactFormPageVM) title(ctx context.Context) string {
	if vm.Contact == nil {
		return T(ctx, "contacts.new")
	}
	return T(ctx, "contacts.edit_title", vm.Contact.Name)
}

func (vm ContactFormPageVM) action() string {
	if vm.Contact == nil {
		return "/contacts"
	}
	return Path("/contacts/", vm.Contact.ID)
}

// detail is what the form holds for a channel's number or address.
func (f ContactForm) detail(ch models.Channel) string {
	c := models.Contact{OfficePhone: f.OfficePhone, Mobile: f.Mobile, Pager: f.Pager, Fax: f.Fax, Email: f.Email}
	return ShowAddress(ch, c.Address(ch))
}

// NotifySettingsPageVM is the grid of contacts and the events they get.
type NotifySettingsPageVM struct {
	Contacts []models.Contact
	// Off holds the events each contact chose not to get.
	Off map[int64]map[string]bool
}

func notifyValue(contactID int64, event string) string { return Path(contactID, ":", event) }

// EventName translates an outbox event kind.
func EventName(ctx context.Context, event string) string {
	return T(ctx, "event."+event)
}

// outcomesShown bounds the missed notices the contacts page lists (the
// newest first): a storm can miss thousands in a day, of which at most one
// a day is charged.
const outcomesShown = 50
