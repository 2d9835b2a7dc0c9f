package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// InvitationLifetime is how long an invitation's link may be used.
const InvitationLifetime = 72 * time.Hour

// EventUserInvited sends an invited colleague the link to set a password.
// RefID is the invitation.
const EventUserInvited = "auth.user_invited"

// Invitation is a one-time link, sent by email, with which a new customer
// user sets their password. Only the token's hash finds it; the token
// itself is kept sealed until the email is sent and the link used, so
// the dispatcher can write it into the email, and then forgotten.
type Invitation struct {
	ID          int64
	OrgID       int64
	UserID      int64
	TokenHash   string
	TokenSealed string
	ExpiresAt   time.Time
	UsedAt      *time.Time
	CreatedBy   *int64
	CreatedAt   time.Time
}

func (Invitation) TableName() string { return "invitations" }

func hashToken(raw string) string {
	sum := sha256.Sum256([]byte("invitation\x00" + raw))
	return hex.EncodeToString(sum[:])
}

// IsOrgAdmin reports whether u administers the users of its organization.
func (s *Store) IsOrgAdmin(ctx context.Context, u *User) (bool, error) {
	if u == nil || u.Role != RoleCustomer || u.OrgID == nil || u.Disabled() {
		return false, nil
	}
	var n int64
	err := s.db.WithContext(ctx).Model(&Organization{}).Where("id = ? AND admin_user_id = ?", *u.OrgID, u.ID).Count(&n).Error
	return n == 1, wrap(err, "is org admin")
}

// SetOrgAdmin makes user userID the administrator of its organization
// (replacing the one before), or, with on false, leaves the organization
// without one if userID was it. Only enabled customer users qualify.
func (s *Store) SetOrgAdmin(ctx context.Context, actor Actor, userID int64, on bool) error {
	return wrap(s.tx(ctx, func(tx *gorm.DB) error {
		var u User
		if err := tx.First(&u, userID).Error; err != nil {
			return notFound(err)
		}
		if u.Role != RoleCustomer || u.OrgID == nil {
			return Invalid("org_admin", "error.org_admin_customer_only")
		}
		if on && u.Disabled() {
			return Invalid("org_admin", "error.org_admin_disabled")
		}
		var o Organization
		if err := forUpdate(tx).First(&o, *u.OrgID).Error; err != nil {
			return notFound(err)
		}
		before := o.AdminUserID
		var after *int64
		switch {
		case on:
			after = &u.ID
		case before != nil && *before != u.ID:
			after = before // someone else is the administrator: unchanged
		}
		if err := tx.Model(&o).Update("admin_user_id", after).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditOrgAdminSet, "organization", &o.ID, &o.ID,
			map[string]any{"user_id": u.ID, "email": u.Email, "admin": on, "before": before})
	}), "set org admin")
}

// InviteInput is what an organization's administrator types to invite a
// colleague.
type InviteInput struct {
	Email  string
	Name   string
	Phone  string
	Locale string
}

// InviteUser creates a customer user of orgID without a usable password
// and an invitation whose link, emailed to them, lets them set one within
// InvitationLifetime. The user, the invitation, the email and the audit
// record are one transaction. Every mistake of the form comes back at once.
func (s *Store) InviteUser(ctx context.Context, actor Actor, sc Scope, orgID int64, in InviteInput) (*User, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "invite user")
	}
	ui := UserInput{Email: in.Email, Name: in.Name, Phone: in.Phone, Role: RoleCustomer, OrgID: &orgID, Locale: in.Locale}
	if err := ui.validate(ctx, s.db); err != nil {
		return nil, wrap(err, "invite user")
	}
	// A password nobody knows: the user sets theirs with the link.
	hash, err := s.hashPassword(ctx, RandomPassword()+RandomPassword())
	if err != nil {
		return nil, wrap(err, "invite user")
	}
	raw := NewSessionID()
	sealed, err := s.totpKey.Seal(raw)
	if err != nil {
		return nil, wrap(err, "invite user")
	}
	now := s.now()
	u := &User{Email: ui.Email, Name: ui.Name, Phone: ui.Phone, Role: RoleCustomer, OrgID: &orgID,
		PasswordHash: hash, PasswordChangedAt: now, Locale: ui.Locale}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		u.ID = 0 // a retried transaction inserts again
		if err := tx.Omit("OIDCSubject").Create(u).Error; err != nil {
			return conflict(err)
		}
		inv := Invitation{OrgID: orgID, UserID: u.ID, TokenHash: hashToken(raw), TokenSealed: sealed,
			ExpiresAt: now.Add(InvitationLifetime), CreatedBy: actor.UserID, CreatedAt: now}
		if err := tx.Create(&inv).Error; err != nil {
			return err
		}
		if err := s.outbox(tx, EventUserInvited, orgID, inv.ID, ""); err != nil {
			return err
		}
		return s.audit(tx, actor, AuditUserInvited, "user", &u.ID, &orgID, map[string]any{"email": u.Email, "expires_at": inv.ExpiresAt})
	})
	if errors.Is(err, ErrConflict) {
		return nil, Invalid("email", "error.email_taken")
	}
	if err != nil {
		return nil, fmt.Errorf("models: invite user: %w", err)
	}
	return u, nil
}

// GetInvitation returns the open invitation of a raw token and its user:
// ErrNotFound when unknown, used, expired, or its user is disabled.
func (s *Store) GetInvitation(ctx context.Context, raw string) (*Invitation, *User, error) {
	if len(raw) != 32 {
		return nil, nil, wrap(ErrNotFound, "get invitation")
	}
	db := s.db.WithContext(ctx)
	var inv Invitation
	if err := db.Where("token_hash = ? AND used_at IS NULL AND expires_at > ?", hashToken(raw), s.now()).First(&inv).Error; err != nil {
		return nil, nil, wrap(notFound(err), "get invitation")
	}
	var u User
	if err := db.Where("id = ? AND org_id = ?", inv.UserID, inv.OrgID).First(&u).Error; err != nil {
		return nil, nil, wrap(notFound(err), "get invitation")
	}
	if u.Disabled() {
		return nil, nil, wrap(ErrNotFound, "get invitation")
	}
	return &inv, &u, nil
}

// AcceptInvitation sets the invited user's password from the link and
// uses the invitation up (a second use, or one racing it, is
// ErrNotFound). Every mistake of the form comes back at once.
func (s *Store) AcceptInvitation(ctx context.Context, raw, password, confirm, ip string) (*User, error) {
	inv, u, err := s.GetInvitation(ctx, raw)
	if err != nil {
		return nil, wrap(err, "accept invitation")
	}
	var errs []error
	if err := CheckLine("password", password, 0); err != nil {
		errs = append(errs, err)
	} else if err := CheckPasswordPolicy(password, u.Email); err != nil {
		errs = append(errs, err)
	}
	if password != confirm {
		errs = append(errs, Invalid("confirm", "error.password_mismatch"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return nil, wrap(err, "accept invitation")
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		now := s.now()
		r := tx.Model(&Invitation{}).Where("id = ? AND used_at IS NULL AND expires_at > ?", inv.ID, now).
			Updates(map[string]any{"used_at": now, "token_sealed": ""})
		if r.Error != nil {
			return r.Error
		}
		if r.RowsAffected != 1 {
			return ErrNotFound
		}
		if err := tx.Model(u).Updates(map[string]any{"password_hash": hash, "password_changed_at": now,
			"must_change_password": false}).Error; err != nil {
			return err
		}
		return s.audit(tx, UserActor(u, ip), AuditInvitationAccepted, "user", &u.ID, u.OrgID, nil)
	})
	if err != nil {
		return nil, wrap(err, "accept invitation")
	}
	return u, nil
}

// TeamMember is a colleague as the organization's administrator sees them.
type TeamMember struct {
	User
	Invited *time.Time // an invitation not used yet was sent then
	Expired bool       // and its link has expired
}

// ListTeam lists the users of one organization, with open invitations.
func (s *Store) ListTeam(ctx context.Context, sc Scope, orgID int64) ([]TeamMember, error) {
	us, err := s.ListOrgUsers(ctx, sc, orgID)
	if err != nil {
		return nil, wrap(err, "list team")
	}
	var invs []Invitation
	if err := s.db.WithContext(ctx).Where("org_id = ? AND used_at IS NULL", orgID).Order("id").Find(&invs).Error; err != nil {
		return nil, wrap(err, "list team")
	}
	open := map[int64]Invitation{}
	for _, inv := range invs {
		open[inv.UserID] = inv // the newest wins
	}
	out := make([]TeamMember, len(us))
	now := s.now()
	for i, u := range us {
		out[i].User = u
		if inv, ok := open[u.ID]; ok {
			at := inv.CreatedAt
			out[i].Invited, out[i].Expired = &at, !now.Before(inv.ExpiresAt)
		}
	}
	return out, nil
}

// SetTeamMemberDisabled is an organization's administrator disabling or
// enabling a colleague: only users of orgID, never themselves (another
// organization's user is ErrNotFound).
func (s *Store) SetTeamMemberDisabled(ctx context.Context, actor Actor, sc Scope, orgID, userID int64, disabled bool) error {
	if !sc.Allows(orgID) {
		return wrap(ErrNotFound, "set team member disabled")
	}
	if _, err := s.GetOrgUser(ctx, OrgScope(orgID), userID); err != nil {
		return wrap(err, "set team member disabled")
	}
	return s.SetUserDisabled(ctx, actor, userID, disabled)
}

// InvitationNotice is what the invitation email says.
type InvitationNotice struct {
	Token     string // the raw token for the link
	ExpiresAt time.Time
	UserName  string
	Email     string
	Locale    string
	OrgName   string
	Inviter   string
}

// InvitationFacts returns what the email of invitation id needs, the
// token opened from its seal; ErrNotFound once it was used or withdrawn.
func (s *Store) InvitationFacts(ctx context.Context, sc Scope, orgID, id int64) (*InvitationNotice, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "invitation facts")
	}
	db := s.db.WithContext(ctx)
	var inv Invitation
	if err := db.Where("org_id = ? AND id = ? AND used_at IS NULL AND token_sealed <> ''", orgID, id).First(&inv).Error; err != nil {
		return nil, wrap(notFound(err), "invitation facts")
	}
	raw, err := s.totpKey.Open(inv.TokenSealed)
	if err != nil {
		return nil, wrap(err, "invitation facts")
	}
	var u User
	if err := db.Where("id = ? AND org_id = ?", inv.UserID, orgID).First(&u).Error; err != nil {
		return nil, wrap(notFound(err), "invitation facts")
	}
	var o Organization
	if err := db.First(&o, orgID).Error; err != nil {
		return nil, wrap(notFound(err), "invitation facts")
	}
	n := &InvitationNotice{Token: raw, ExpiresAt: inv.ExpiresAt, UserName: u.Name, Email: u.Email, Locale: u.Locale, OrgName: o.Name}
	if inv.CreatedBy != nil {
		var by User
		if db.Select("id", "name").First(&by, *inv.CreatedBy).Error == nil {
			n.Inviter = by.Name
		}
	}
	return n, nil
}

// RecoveryNotice is what the email about a used recovery code says.
type RecoveryNotice struct {
	RecoveryUseNotice
	UserName string
	Email    string
	Locale   string
}

// RecoveryFacts returns what the email of a recovery-code event needs.
// Staff users belong to no organization: their events carry org 0.
func (s *Store) RecoveryFacts(ctx context.Context, sc Scope, orgID, eventID int64) (*RecoveryNotice, error) {
	if orgID != 0 && !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "recovery facts")
	}
	db := s.db.WithContext(ctx)
	var ev OutboxEvent
	if err := db.Where("org_id = ? AND id = ? AND kind = ?", orgID, eventID, EventRecoveryCodeUsed).First(&ev).Error; err != nil {
		return nil, wrap(notFound(err), "recovery facts")
	}
	var n RecoveryNotice
	if err := json.Unmarshal([]byte(ev.Payload), &n.RecoveryUseNotice); err != nil {
		return nil, wrap(err, "recovery facts")
	}
	var u User
	if err := db.First(&u, ev.RefID).Error; err != nil {
		return nil, wrap(notFound(err), "recovery facts")
	}
	n.UserName, n.Email, n.Locale = u.Name, u.Email, u.Locale
	return &n, nil
}

// accountEmailDeliveries expands an account event (a used recovery code,
// an invitation) into one email to the user it concerns.
func (s *Store) accountEmailDeliveries(tx *gorm.DB, ev OutboxEvent, now time.Time, channelFor func(Channel) string) ([]Delivery, error) {
	t := channelFor(ChannelEmail)
	if t == "" {
		return nil, nil
	}
	userID := ev.RefID
	if ev.Kind == EventUserInvited {
		var inv Invitation
		if err := tx.Where("org_id = ? AND id = ?", ev.OrgID, ev.RefID).First(&inv).Error; err != nil {
			return nil, optionalRow(err)
		}
		userID = inv.UserID
	}
	var u User
	if err := tx.First(&u, userID).Error; err != nil {
		return nil, optionalRow(err)
	}
	if u.Disabled() || strings.TrimSpace(u.Email) == "" {
		return nil, nil
	}
	locale := u.Locale
	if locale == "" {
		locale = defaultLocale
	}
	return []Delivery{{OrgID: ev.OrgID, EventID: ev.ID, Event: ev.Kind, ContactID: 0, Channel: ChannelEmail, Transport: t,
		Address: u.Email, Locale: locale, Status: DeliveryPending, NextAttemptAt: now, LeaseUntil: neverLeased, CreatedAt: now}}, nil
}

// NewestInvitationID is the newest invitation of orgID, used or not (for
// tests and the command line, which stand in for the email).
func (s *Store) NewestInvitationID(ctx context.Context, orgID int64) (int64, error) {
	var inv Invitation
	err := s.db.WithContext(ctx).Select("id").Where("org_id = ?", orgID).Order("id DESC").First(&inv).Error
	return inv.ID, wrap(notFound(err), "newest invitation")
}
