package models

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// Role says what a user may do. A customer belongs to one organization;
// staff roles belong to none and see every organization.
type Role string

const (
	RoleCustomer  Role = "customer"
	RoleReception Role = "reception"
	RoleEngineer  Role = "engineer"
	RoleService   Role = "service"
	RoleAdmin     Role = "admin"
)

// Roles lists every role in display order.
var Roles = []Role{RoleCustomer, RoleReception, RoleEngineer, RoleService, RoleAdmin}

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	r := Role(strings.TrimSpace(s))
	if !slices.Contains(Roles, r) {
		return "", Invalid("role", "error.role_invalid")
	}
	return r, nil
}

// IsStaff reports a provider role; an unknown role is not one.
func (r Role) IsStaff() bool { return r != RoleCustomer && slices.Contains(Roles, r) }

// User is anyone who signs in.
type User struct {
	ID                int64
	Email             string
	Name              string
	Phone             string
	Role              Role
	OrgID             *int64
	PasswordHash      string `json:"-"`
	PasswordChangedAt time.Time
	Locale            string
	DisabledAt        *time.Time
	TOTPSecret        string `gorm:"column:totp_secret" json:"-"`
	TOTPPending       string `gorm:"column:totp_pending" json:"-"`
	TOTPEnabled       bool   `gorm:"column:totp_enabled"`
	TOTPRequired      bool   `gorm:"column:totp_required"`
	TOTPLastStep      int64  `gorm:"column:totp_last_step" json:"-"`
	// MustChangePassword: the password was given by someone else (an
	// admin creating the user or resetting it); the next sign-in changes
	// it before anything else.
	MustChangePassword bool
	LastSignInAt       *time.Time
	// OIDCSubject is the staff member's subject at the single sign-on
	// issuer, set at their first sign-in through it.
	OIDCSubject *string `gorm:"column:oidc_subject" json:"-"`
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (User) TableName() string { return "users" }

// Disabled reports whether the user may no longer sign in.
func (u *User) Disabled() bool { return u.DisabledAt != nil }

// UserInput is what a form or the CLI supplies for a user.
type UserInput struct {
	Email    string
	Name     string
	Phone    string
	Role     Role
	OrgID    *int64
	Password string // only on create
	Locale   string
}

// NormalizeEmail lowercases and checks an address.
func NormalizeEmail(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", Invalid("email", "error.email_invalid")
	}
	s = strings.ToLower(strings.TrimSpace(s))
	if err := CheckLine("email", s, 0); err != nil {
		return "", err
	}
	if s == "" {
		return "", Invalid("email", "error.required")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || !strings.Contains(s[strings.LastIndex(s, "@"):], ".") || len(s) > 254 {
		return "", Invalid("email", "error.email_invalid")
	}
	return s, nil
}

// validate checks every field and returns every mistake at once (joined
// validation errors), so a form shows them all in one answer.
func (in *UserInput) validate(ctx context.Context, tx *gorm.DB) error {
	var p problems
	email, err := NormalizeEmail(in.Email)
	if err == nil {
		in.Email = email
	}
	p.add(err)
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		p.add(Invalid("name", "error.required"))
	}
	p.add(CheckLine("name", in.Name, 200))
	p.add(CheckPrintable("name", in.Name)) // a requester is named on the form
	in.Phone = strings.TrimSpace(in.Phone)
	p.add(CheckLine("phone", in.Phone, 40))
	if _, err := ParseRole(string(in.Role)); err != nil {
		p.add(err)
	} else if in.Role == RoleCustomer {
		if in.OrgID == nil {
			p.add(Invalid("org", "error.customer_needs_org"))
		} else {
			var n int64
			if err := tx.WithContext(ctx).Model(&Organization{}).Where("id = ?", *in.OrgID).Count(&n).Error; err != nil {
				return err
			}
			if n == 0 {
				p.add(Invalid("org", "error.org_unknown"))
			}
		}
	} else if in.OrgID != nil {
		p.add(Invalid("org", "error.staff_no_org"))
	}
	if in.Locale != "" && in.Locale != "en" && in.Locale != "zh-CN" {
		in.Locale = ""
	}
	return p.err()
}

// CreateUser validates in, hashes the password and stores the user, all
// audited as done by actor.
func (s *Store) CreateUser(ctx context.Context, actor Actor, in UserInput) (*User, error) {
	var p problems
	p.add(in.validate(ctx, s.db))
	if err := CheckLine("password", in.Password, 0); err != nil {
		p.add(err)
	} else {
		p.add(CheckPasswordPolicy(in.Password, in.Email))
	}
	if err := p.err(); err != nil {
		return nil, wrap(err, "create user")
	}
	hash, err := s.hashPassword(ctx, in.Password)
	if err != nil {
		return nil, wrap(err, "create user")
	}
	// A password an admin chose is known to two people: the user replaces
	// it at the first sign-in. One set from the shell (the first admin,
	// the demo) is the operator's own.
	u := &User{Email: in.Email, Name: in.Name, Phone: in.Phone, Role: in.Role, OrgID: in.OrgID,
		PasswordHash: hash, PasswordChangedAt: s.now(), Locale: in.Locale, MustChangePassword: actor.UserID != nil}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		u.ID = 0 // a run the database rolled back may have set it
		// A new user has no single sign-on subject yet (set by the first
		// sign-in through the issuer): leaving the column out lets the
		// migration tests create users on the schema of an older version.
		if err := tx.Omit("OIDCSubject").Create(u).Error; err != nil {
			return conflict(err)
		}
		return s.audit(tx, actor, AuditUserCreated, "user", &u.ID, u.OrgID, map[string]any{"email": u.Email, "role": u.Role})
	})
	if err != nil {
		if errors.Is(err, ErrConflict) {
			return nil, Invalid("email", "error.email_taken")
		}
		return nil, fmt.Errorf("models: create user: %w", err)
	}
	return u, nil
}

// UpdateUser changes a user's profile, role and organization.
func (s *Store) UpdateUser(ctx context.Context, actor Actor, id int64, in UserInput) (*User, error) {
	if err := in.validate(ctx, s.db); err != nil {
		return nil, wrap(err, "update user")
	}
	var u User
	err := s.tx(ctx, func(tx *gorm.DB) error {
		u = User{}
		if err := tx.First(&u, id).Error; err != nil {
			return notFound(err)
		}
		before := map[string]any{"email": u.Email, "name": u.Name, "role": u.Role, "org_id": u.OrgID, "phone": u.Phone}
		roleChanged := u.Role != in.Role || !sameOrg(u.OrgID, in.OrgID)
		u.Email, u.Name, u.Phone, u.Role, u.OrgID = in.Email, in.Name, in.Phone, in.Role, in.OrgID
		if err := tx.Select("email", "name", "phone", "role", "org_id", "updated_at").Save(&u).Error; err != nil {
			return conflict(err)
		}
		if roleChanged {
			// What a session may do follows from the role: start afresh.
			if err := tx.Where("user_id = ?", u.ID).Delete(&Session{}).Error; err != nil {
				return err
			}
		}
		after := map[string]any{"email": u.Email, "name": u.Name, "role": u.Role, "org_id": u.OrgID, "phone": u.Phone}
		return s.audit(tx, actor, AuditUserUpdated, "user", &u.ID, u.OrgID, map[string]any{"before": before, "after": after})
	})
	if errors.Is(err, ErrConflict) {
		return nil, Invalid("email", "error.email_taken")
	}
	if err != nil {
		return nil, fmt.Errorf("models: update user %d: %w", id, err)
	}
	return &u, nil
}

func sameOrg(a, b *int64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// GetUser returns any user; for staff use.
func (s *Store) GetUser(ctx context.Context, id int64) (*User, error) {
	var u User
	if err := s.db.WithContext(ctx).First(&u, id).Error; err != nil {
		return nil, wrap(notFound(err), "get user")
	}
	return &u, nil
}

// GetUserByEmail finds a user by address.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (*User, error) {
	var u User
	err := s.db.WithContext(ctx).Where("email = ?", strings.ToLower(strings.TrimSpace(email))).First(&u).Error
	if err != nil {
		return nil, wrap(notFound(err), "get user by email")
	}
	return &u, nil
}

// GetOrgUser returns user id of an organization sc sees; staff users (of
// no organization) and users of other organizations are ErrNotFound.
func (s *Store) GetOrgUser(ctx context.Context, sc Scope, id int64) (*User, error) {
	var u User
	q := sc.apply(s.db.WithContext(ctx), "org_id").Where("id = ? AND org_id IS NOT NULL", id)
	if err := q.First(&u).Error; err != nil {
		return nil, fmt.Errorf("models: get organization user %d: %w", id, notFound(err))
	}
	return &u, nil
}

// ListOrgUsers lists the users of one organization.
func (s *Store) ListOrgUsers(ctx context.Context, sc Scope, orgID int64) ([]User, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "list org users")
	}
	var us []User
	err := s.db.WithContext(ctx).Where("org_id = ?", orgID).Order("name, id").Find(&us).Error
	return us, wrap(err, "list org users")
}

// UserFilter narrows the admin user list.
type UserFilter struct {
	Role  Role
	OrgID int64
	Query string
	// EnabledOnly leaves disabled users out (choices such as a request's
	// requester).
	EnabledOnly bool
}

// ListUsers lists the users sc sees (staff users, who belong to no
// organization, only for AllOrgs) for the admin pages.
func (s *Store) ListUsers(ctx context.Context, sc Scope, f UserFilter) ([]User, error) {
	q := sc.apply(s.db.WithContext(ctx).Model(&User{}), "org_id")
	if f.Role != "" {
		q = q.Where("role = ?", f.Role)
	}
	if f.OrgID != 0 {
		q = q.Where("org_id = ?", f.OrgID)
	}
	if f.EnabledOnly {
		q = q.Where("disabled_at IS NULL")
	}
	if t := strings.TrimSpace(f.Query); t != "" {
		like := "%" + escapeLike(strings.ToLower(t)) + "%"
		q = q.Where("LOWER(email) LIKE ? ESCAPE '!' OR LOWER(name) LIKE ? ESCAPE '!'", like, like)
	}
	var us []User
	err := q.Order("role, name, id").Limit(1000).Find(&us).Error
	return us, wrap(err, "list users")
}

// ListStaff lists enabled users of the given staff role, for assignment.
func (s *Store) ListStaff(ctx context.Context, role Role) ([]User, error) {
	var us []User
	err := s.db.WithContext(ctx).Where("role = ? AND disabled_at IS NULL", role).Order("name, id").Find(&us).Error
	return us, wrap(err, "list staff")
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func escapeLike(s string) string {
	return strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(s)
}

// SetUserDisabled disables or re-enables a user; disabling ends every
// session of the user at once.
func (s *Store) SetUserDisabled(ctx context.Context, actor Actor, id int64, disabled bool) error {
	return wrap(s.tx(ctx, func(tx *gorm.DB) error {
		var u User
		if err := tx.First(&u, id).Error; err != nil {
			return notFound(err)
		}
		if actor.UserID != nil && *actor.UserID == id && disabled {
			return Invalid("user", "error.cannot_disable_self")
		}
		var at *time.Time
		action := AuditUserEnabled
		if disabled {
			now := s.now()
			at = &now
			action = AuditUserDisabled
			if err := tx.Where("user_id = ?", id).Delete(&Session{}).Error; err != nil {
				return err
			}
		}
		if err := tx.Model(&u).Update("disabled_at", at).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, action, "user", &u.ID, u.OrgID, map[string]any{"email": u.Email})
	}), "set user disabled")
}

// SetPassword sets a user's password (checked against the policy) and
// ends the user's sessions except keepSession, if given, all in one
// transaction. A change by anyone else is audited as a reset.
func (s *Store) SetPassword(ctx context.Context, actor Actor, id int64, password, keepSession string) error {
	u, err := s.GetUser(ctx, id)
	if err != nil {
		return wrap(err, "set password")
	}
	_, err = s.setPassword(ctx, actor, u, password, keepSession, false)
	return err
}

// setPassword is SetPassword on a loaded user. With rotate, the kept
// session goes on under a new ID (same stage, sign-in time and expiry),
// which it returns: an ID that may have leaked before the change is worth
// nothing after it.
func (s *Store) setPassword(ctx context.Context, actor Actor, u *User, password, keepSession string, rotate bool) (string, error) {
	if err := CheckLine("password", password, 0); err != nil {
		return "", err
	}
	if err := CheckPasswordPolicy(password, u.Email); err != nil {
		return "", err
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return "", wrap(err, "set password")
	}
	action := AuditPasswordChanged
	if actor.UserID == nil || *actor.UserID != u.ID {
		action = AuditPasswordReset
	}
	var newRaw string
	err = s.tx(ctx, func(tx *gorm.DB) error {
		newRaw = ""
		// A reset by an admin is a password someone else knows: changed
		// again at the next sign-in.
		mustChange := action == AuditPasswordReset && actor.UserID != nil
		if err := tx.Model(u).Updates(map[string]any{"password_hash": hash, "password_changed_at": s.now(),
			"must_change_password": mustChange}).Error; err != nil {
			return fmt.Errorf("models: set password of user %d: %w", u.ID, err)
		}
		var kept *Session
		if keepSession != "" && rotate {
			var sess Session
			err := tx.Where("id_hash = ? AND user_id = ?", hashSessionID(keepSession), u.ID).First(&sess).Error
			switch {
			case err == nil:
				kept = &sess
			case !errors.Is(err, gorm.ErrRecordNotFound):
				return fmt.Errorf("models: find session to keep: %w", err)
			}
		}
		q := tx.Where("user_id = ?", u.ID)
		if keepSession != "" && !rotate {
			q = q.Where("id_hash <> ?", hashSessionID(keepSession))
		}
		if err := q.Delete(&Session{}).Error; err != nil {
			return fmt.Errorf("models: end sessions of user %d: %w", u.ID, err)
		}
		if kept != nil {
			newRaw = NewSessionID()
			kept.IDHash, kept.LastSeenAt = hashSessionID(newRaw), s.now()
			if err := tx.Create(kept).Error; err != nil {
				return fmt.Errorf("models: renew session of user %d: %w", u.ID, err)
			}
		}
		return s.audit(tx, actor, action, "user", &u.ID, u.OrgID, map[string]any{"email": u.Email})
	})
	if err != nil {
		return "", wrap(err, "set password")
	}
	return newRaw, nil
}

// ChangePassword is a user changing their own password: the current one
// must be right. Every other session of the user ends; the session
// current, if given, goes on under a new ID, returned for the cookie.
//
// The current password is a guess at the account like a sign-in: the
// attempt is reserved under the sign-in limits lim before it is hashed
// (see Authenticate), so it counts with the account's failed sign-ins and
// past the limit the answer is *RateLimitedError, whatever the password. A
// wrong one is audited; a failed audit write is joined to the answer.
func (s *Store) ChangePassword(ctx context.Context, userID int64, current, password, ip, session string, lim SignInLimits) (string, error) {
	u, err := s.GetUser(ctx, userID)
	if err != nil {
		return "", wrap(err, "change password")
	}
	actor := UserActor(u, ip)
	attemptID, err := s.reserveSignInAudited(ctx, actor, signInEmail(u.Email), ip, lim)
	if err != nil {
		return "", wrap(err, "change password")
	}
	ok := false
	if len(current) <= MaxPasswordLen {
		if ok, _, err = s.verifyPassword(ctx, u.PasswordHash, current); err != nil {
			return "", s.releaseSignIn(ctx, attemptID, wrap(err, "change password"))
		}
	}
	if !ok {
		wrong := Invalid("current", "error.current_password_wrong")
		if aerr := s.Audit(ctx, actor, AuditPasswordChangeFailed, "user", &u.ID, u.OrgID, nil); aerr != nil {
			return "", errors.Join(wrong, fmt.Errorf("models: audit failed password change: %w", aerr))
		}
		return "", wrong
	}
	if err := s.succeedSignIn(ctx, attemptID); err != nil {
		return "", wrap(err, "change password")
	}
	return s.setPassword(ctx, actor, u, password, session, true)
}

// SetLocale remembers a user's language.
func (s *Store) SetLocale(ctx context.Context, id int64, locale string) error {
	return wrap(s.db.WithContext(ctx).Model(&User{}).Where("id = ?", id).Update("locale", locale).Error, "set locale")
}

// CountUsers counts all users (the demo and the first-run hint use it).
func (s *Store) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&User{}).Count(&n).Error
	return n, wrap(err, "count users")
}
