package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
	"gorm.io/gorm"
)

// Channel is a way to reach an authorized contact in an emergency
// (docs/agreement.md §4).
type Channel string

const (
	ChannelOffice Channel = "office_phone"
	ChannelMobile Channel = "mobile"
	ChannelPager  Channel = "pager"
	ChannelFax    Channel = "fax"
	ChannelEmail  Channel = "email"
)

// Channels lists every channel in display order.
var Channels = []Channel{ChannelOffice, ChannelMobile, ChannelPager, ChannelFax, ChannelEmail}

// DefaultPhoneRegion is the region of phone numbers written without a
// country code.
const DefaultPhoneRegion = "CN"

// Contact is an authorized contact (指定授权人) of a customer organization.
type Contact struct {
	ID             int64
	OrgID          int64
	Name           string
	Title          string
	OfficePhone    string
	Mobile         string
	Pager          string
	Fax            string
	Email          string
	Channels       string // comma-separated Channel values, in the order to try
	Priority       int    // contacts are tried in ascending priority
	MayAuthorize   bool
	Locale         string
	PassphraseHash string     `json:"-"`
	PassphraseAt   *time.Time // when the passphrase was last set
	// PhoneLockedUntil: wrong passphrases on the phone lock phone
	// authorization for the contact until then.
	PhoneLockedUntil *time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

func (Contact) TableName() string { return "contacts" }

// ChannelList returns the contact's emergency channels in order.
func (c *Contact) ChannelList() []Channel {
	var out []Channel
	for _, s := range strings.Split(c.Channels, ",") {
		if s != "" {
			out = append(out, Channel(s))
		}
	}
	return out
}

// Address returns the contact's detail for a channel.
func (c *Contact) Address(ch Channel) string {
	switch ch {
	case ChannelOffice:
		return c.OfficePhone
	case ChannelMobile:
		return c.Mobile
	case ChannelPager:
		return c.Pager
	case ChannelFax:
		return c.Fax
	case ChannelEmail:
		return c.Email
	}
	return ""
}

// HasPassphrase reports whether phone authorization is possible.
func (c *Contact) HasPassphrase() bool { return c.PassphraseHash != "" }

// ContactInput is what the contact form supplies. An empty Passphrase
// keeps the one on file.
type ContactInput struct {
	Name         string
	Title        string
	OfficePhone  string
	Mobile       string
	Pager        string
	Fax          string
	Email        string
	Channels     []Channel
	Priority     int
	MayAuthorize bool
	Locale       string
	Passphrase   string
}

// NormalizePhone returns a phone number in E.164 (+8613800138000), reading
// numbers without a country code as Chinese.
func NormalizePhone(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if err := CheckLine(field, s, 40); err != nil {
		return "", err
	}
	n, err := phonenumbers.Parse(s, DefaultPhoneRegion)
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", Invalid(field, "error.phone_invalid")
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

func (in *ContactInput) validate() error {
	var p problems
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		p.add(Invalid("name", "error.required"))
	}
	p.add(CheckLine("name", in.Name, 200))
	p.add(CheckPrintable("name", in.Name)) // signers are printed on the form
	in.Title = strings.TrimSpace(in.Title)
	p.add(CheckLine("title", in.Title, 100))
	p.add(CheckPrintable("title", in.Title))
	for _, f := range []struct {
		field string
		v     *string
	}{{"office_phone", &in.OfficePhone}, {"mobile", &in.Mobile}, {"pager", &in.Pager}, {"fax", &in.Fax}} {
		n, err := NormalizePhone(f.field, *f.v)
		if err != nil {
			p.add(err) // the number stays as typed, so the form shows it again
			continue
		}
		*f.v = n
	}
	if strings.TrimSpace(in.Email) != "" {
		e, err := NormalizeEmail(in.Email)
		if err == nil {
			in.Email = e
		}
		p.add(err)
	} else {
		in.Email = ""
	}
	seen := map[Channel]bool{}
	var chans []Channel
	for _, ch := range in.Channels {
		if !slices.Contains(Channels, ch) {
			p.add(Invalid("channels", "error.channel_invalid"))
			continue
		}
		if seen[ch] {
			continue
		}
		seen[ch] = true
		c := Contact{OfficePhone: in.OfficePhone, Mobile: in.Mobile, Pager: in.Pager, Fax: in.Fax, Email: in.Email}
		if c.Address(ch) == "" {
			p.add(Invalid("channels", "error.channel_without_detail", ch))
		}
		chans = append(chans, ch)
	}
	in.Channels = chans
	if in.Priority < 0 || in.Priority > 99 {
		p.add(Invalid("priority", "error.priority_range"))
	}
	if in.Locale != "en" && in.Locale != "zh-CN" {
		in.Locale = "zh-CN"
	}
	if in.Passphrase != "" {
		p.add(CheckLine("passphrase", in.Passphrase, MaxPasswordLen))
		if len([]rune(in.Passphrase)) < 8 {
			p.add(Invalid("passphrase", "error.passphrase_too_short", 8))
		}
	}
	return p.err()
}

func channelString(chs []Channel) string {
	s := make([]string, len(chs))
	for i, c := range chs {
		s[i] = string(c)
	}
	return strings.Join(s, ",")
}

func contactDetail(c *Contact) map[string]any {
	return map[string]any{"name": c.Name, "title": c.Title, "office_phone": c.OfficePhone, "mobile": c.Mobile,
		"pager": c.Pager, "fax": c.Fax, "email": c.Email, "channels": c.Channels, "priority": c.Priority,
		"may_authorize": c.MayAuthorize}
}

// CreateContact adds an authorized contact to organization orgID.
func (s *Store) CreateContact(ctx context.Context, actor Actor, orgID int64, in ContactInput) (*Contact, error) {
	var p problems
	p.add(in.validate())
	if in.MayAuthorize && in.Passphrase == "" {
		p.add(Invalid("passphrase", "error.passphrase_required"))
	}
	if err := p.err(); err != nil {
		return nil, wrap(err, "create contact")
	}
	c := &Contact{OrgID: orgID, Name: in.Name, Title: in.Title, OfficePhone: in.OfficePhone, Mobile: in.Mobile,
		Pager: in.Pager, Fax: in.Fax, Email: in.Email, Channels: channelString(in.Channels), Priority: in.Priority,
		MayAuthorize: in.MayAuthorize, Locale: in.Locale}
	var err error
	if c.PassphraseHash, c.PassphraseAt, err = s.hashPassphrase(ctx, in.Passphrase); err != nil {
		return nil, wrap(err, "create contact")
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		c.ID = 0 // a run the database rolled back may have set it
		var before int64
		if err := tx.Model(&Contact{}).Where("org_id = ?", orgID).Count(&before).Error; err != nil {
			return err
		}
		if err := tx.Create(c).Error; err != nil {
			return err
		}
		d := contactDetail(c)
		d["passphrase_set"] = c.HasPassphrase()
		if before == 0 {
			// A new list counts as confirmed when it is entered: whoever
			// wrote it has just checked it (the re-confirmation period,
			// and the contacts_not_reconfirmed waiver, run from here).
			// Adding to a list does not renew it.
			var by int64
			if actor.UserID != nil {
				by = *actor.UserID
			}
			if err := tx.Create(&ContactConfirmation{OrgID: orgID, UserID: by, ConfirmedAt: s.now()}).Error; err != nil {
				return err
			}
			d["list_confirmed"] = true
		}
		return s.audit(tx, actor, AuditContactCreated, "contact", &c.ID, &orgID, d)
	})
	if err != nil {
		return nil, fmt.Errorf("models: create contact: %w", err)
	}
	return c, nil
}

// hashPassphrase hashes a new phone passphrase inside a hashing slot (the
// gate's *HashBusyError when none frees up in time); an empty one gives "".
func (s *Store) hashPassphrase(ctx context.Context, passphrase string) (string, *time.Time, error) {
	if passphrase == "" {
		return "", nil, nil
	}
	h, err := s.hashPassword(ctx, passphrase)
	if err != nil {
		return "", nil, err
	}
	now := s.now()
	return h, &now, nil
}

// UpdateContact changes a contact of orgID. A new passphrase replaces the
// old; an empty one keeps it. Details that change lose their "wrong" mark.
func (s *Store) UpdateContact(ctx context.Context, actor Actor, orgID, id int64, in ContactInput) (*Contact, error) {
	if err := in.validate(); err != nil {
		// With every other mistake, the missing passphrase too (the
		// transaction below finds it only once the rest is valid).
		var p problems
		p.add(err)
		if in.MayAuthorize && in.Passphrase == "" {
			var c Contact
			if err := s.db.WithContext(ctx).Where("org_id = ? AND id = ?", orgID, id).First(&c).Error; err != nil {
				p.add(notFound(err))
			} else if !c.HasPassphrase() {
				p.add(Invalid("passphrase", "error.passphrase_required"))
			}
		}
		return nil, wrap(p.err(), "update contact")
	}
	// Hashed before the transaction: Argon2id is slow on purpose, and
	// writers would wait behind it.
	hash, hashedAt, err := s.hashPassphrase(ctx, in.Passphrase)
	if err != nil {
		return nil, wrap(err, "update contact")
	}
	var c Contact
	err = s.tx(ctx, func(tx *gorm.DB) error {
		c = Contact{}
		if err := tx.Where("org_id = ? AND id = ?", orgID, id).First(&c).Error; err != nil {
			return notFound(err)
		}
		if in.MayAuthorize && in.Passphrase == "" && !c.HasPassphrase() {
			return Invalid("passphrase", "error.passphrase_required")
		}
		before := contactDetail(&c)
		old := c
		c.Name, c.Title, c.OfficePhone, c.Mobile, c.Pager, c.Fax, c.Email = in.Name, in.Title, in.OfficePhone, in.Mobile, in.Pager, in.Fax, in.Email
		c.Channels, c.Priority, c.MayAuthorize, c.Locale = channelString(in.Channels), in.Priority, in.MayAuthorize, in.Locale
		passphraseChanged := hash != ""
		if passphraseChanged {
			c.PassphraseHash, c.PassphraseAt = hash, hashedAt
		}
		// Not the phone lock: wrong passphrases may have set it meanwhile.
		if err := tx.Omit("PhoneLockedUntil").Save(&c).Error; err != nil {
			return err
		}
		for _, ch := range Channels {
			if old.Address(ch) != c.Address(ch) {
				if err := tx.Model(&ContactFlag{}).Where("contact_id = ? AND channel = ? AND cleared_at IS NULL", c.ID, ch).
					Update("cleared_at", s.now()).Error; err != nil {
					return err
				}
			}
		}
		return s.audit(tx, actor, AuditContactUpdated, "contact", &c.ID, &orgID,
			map[string]any{"before": before, "after": contactDetail(&c), "passphrase_replaced": passphraseChanged})
	})
	if err != nil {
		if _, ok := AsValidation(err); ok {
			return nil, wrap(err, "update contact")
		}
		return nil, fmt.Errorf("models: update contact %d: %w", id, err)
	}
	return &c, nil
}

// DeleteContact removes a contact of orgID.
func (s *Store) DeleteContact(ctx context.Context, actor Actor, orgID, id int64) error {
	return wrap(s.tx(ctx, func(tx *gorm.DB) error {
		var c Contact
		if err := tx.Where("org_id = ? AND id = ?", orgID, id).First(&c).Error; err != nil {
			return notFound(err)
		}
		if err := tx.Delete(&c).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditContactDeleted, "contact", &c.ID, &orgID, contactDetail(&c))
	}), "delete contact")
}

// GetContact returns contact id if sc sees its organization; else ErrNotFound.
func (s *Store) GetContact(ctx context.Context, sc Scope, id int64) (*Contact, error) {
	var c Contact
	if err := sc.apply(s.db.WithContext(ctx), "org_id").Where("id = ?", id).First(&c).Error; err != nil {
		return nil, fmt.Errorf("models: get contact %d: %w", id, notFound(err))
	}
	return &c, nil
}

// ListContacts lists the contacts of orgID in the order to try them.
func (s *Store) ListContacts(ctx context.Context, sc Scope, orgID int64) ([]Contact, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "list contacts")
	}
	var cs []Contact
	err := s.db.WithContext(ctx).Where("org_id = ?", orgID).Order("priority, name, id").Find(&cs).Error
	return cs, wrap(err, "list contacts")
}

// VerifyPassphrase checks a passphrase given on the phone against the hash
// on file, in constant time and inside a hashing slot: when none frees up
// in time the error is the gate's *HashBusyError and nothing was compared.
func (s *Store) VerifyPassphrase(ctx context.Context, c *Contact, passphrase string) (bool, error) {
	if !c.HasPassphrase() || len(passphrase) > MaxPasswordLen {
		return false, nil
	}
	ok, _, err := s.verifyPassword(ctx, c.PassphraseHash, passphrase)
	if err != nil {
		return false, wrap(err, "verify passphrase")
	}
	return ok, nil
}

// OrgSetUp reports whether an organization has at least one contact who
// may authorize operations, as the agreement requires.
func (s *Store) OrgSetUp(ctx context.Context, sc Scope, orgID int64) (bool, error) {
	if !sc.Allows(orgID) {
		return false, wrap(ErrNotFound, "org set up")
	}
	n, err := authorizedContacts(s.db.WithContext(ctx), orgID)
	return n > 0, wrap(err, "org set up")
}

// authorizedContacts counts the contacts of organization orgID who may
// authorize operations.
func authorizedContacts(db *gorm.DB, orgID int64) (int64, error) {
	var n int64
	err := db.Model(&Contact{}).Where("org_id = ? AND may_authorize = ?", orgID, true).Count(&n).Error
	return n, err
}

// ContactFlag marks one detail of a contact as wrong, set by staff after a
// failed delivery; it is cleared when the customer changes that detail.
type ContactFlag struct {
	ID        int64
	ContactID int64
	OrgID     int64
	Channel   Channel
	Reason    string
	MarkedBy  *int64
	MarkedAt  time.Time
	ClearedAt *time.Time
}

func (ContactFlag) TableName() string { return "contact_flags" }

// MarkContactDetailWrong records that a contact's detail for a channel is
// wrong (staff, after a failed delivery).
func (s *Store) MarkContactDetailWrong(ctx context.Context, actor Actor, contactID int64, ch Channel, reason string) error {
	if !slices.Contains(Channels, ch) {
		return Invalid("channel", "error.channel_invalid")
	}
	reason = strings.TrimSpace(reason)
	if err := CheckLine("reason", reason, 500); err != nil {
		return wrap(err, "mark contact detail wrong")
	}
	return wrap(s.rederiveTx(ctx, func(tx *gorm.DB) error {
		var c Contact
		if err := tx.First(&c, contactID).Error; err != nil {
			return notFound(err)
		}
		f := ContactFlag{ContactID: c.ID, OrgID: c.OrgID, Channel: ch, Reason: reason, MarkedBy: actor.UserID, MarkedAt: s.now()}
		if err := tx.Create(&f).Error; err != nil {
			return err
		}
		// A mark counts for misses whose deadline is at most 24 hours old.
		var b auditBatch
		if err := s.reevaluateNoticesSince(tx, actor, c.OrgID, f.MarkedAt.Add(-24*time.Hour), f.MarkedAt.Add(time.Minute), TriggerMark, &b); err != nil {
			return err
		}
		if err := s.writeAudits(tx, &b); err != nil {
			return err
		}
		return s.audit(tx, actor, AuditContactMarkedWrong, "contact", &c.ID, &c.OrgID,
			map[string]any{"channel": ch, "address": c.Address(ch), "reason": reason})
	}), "mark contact detail wrong")
}

// WrongChannels returns, per contact of orgID, the channels whose detail is
// marked wrong and not yet corrected.
func (s *Store) WrongChannels(ctx context.Context, sc Scope, orgID int64) (map[int64]map[Channel]bool, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "wrong channels")
	}
	var fs []ContactFlag
	if err := s.db.WithContext(ctx).Where("org_id = ? AND cleared_at IS NULL", orgID).Find(&fs).Error; err != nil {
		return nil, wrap(err, "wrong channels")
	}
	return wrongByContact(fs), nil
}

// wrongByContact groups flags into the channels marked wrong per contact.
func wrongByContact(fs []ContactFlag) map[int64]map[Channel]bool {
	out := map[int64]map[Channel]bool{}
	for _, f := range fs {
		if out[f.ContactID] == nil {
			out[f.ContactID] = map[Channel]bool{}
		}
		out[f.ContactID][f.Channel] = true
	}
	return out
}

// ContactConfirmation records a customer user confirming that the contact
// list is correct, or a new list being entered (CreateContact of an
// organization's first contact; UserID 0 when no user entered it).
type ContactConfirmation struct {
	ID          int64
	OrgID       int64
	UserID      int64
	ConfirmedAt time.Time
}

func (ContactConfirmation) TableName() string { return "contact_confirmations" }

// DefaultConfirmEvery is how often customers re-confirm their contacts.
const DefaultConfirmEvery = 90 * 24 * time.Hour

// ConfirmContacts records that user confirms orgID's contact list.
func (s *Store) ConfirmContacts(ctx context.Context, actor Actor, orgID, userID int64) error {
	return wrap(s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&ContactConfirmation{OrgID: orgID, UserID: userID, ConfirmedAt: s.now()}).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditContactsConfirmed, "organization", &orgID, &orgID, nil)
	}), "confirm contacts")
}

// LastConfirmation returns when orgID last confirmed its contacts, or nil.
func (s *Store) LastConfirmation(ctx context.Context, sc Scope, orgID int64) (*ContactConfirmation, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "last confirmation")
	}
	var c ContactConfirmation
	err := s.db.WithContext(ctx).Where("org_id = ?", orgID).Order("confirmed_at DESC").First(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("models: last contact confirmation of org %d: %w", orgID, err)
	}
	return &c, nil
}
