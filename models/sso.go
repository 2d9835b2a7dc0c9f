package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"
)

// SSORoles maps the groups the single sign-on issuer puts in its groups
// claim to staff roles (PORTAL_OIDC_ROLES). Customers never sign in
// through it.
type SSORoles map[string]Role

// ssoRank orders the staff roles: a member of several mapped groups gets
// the highest.
var ssoRank = map[Role]int{RoleReception: 1, RoleService: 2, RoleEngineer: 3, RoleAdmin: 4}

// ParseSSORoles reads "group=role,group=role". Group names are kept as
// they are (an Azure AD group is its object ID); roles are the staff
// roles: reception, engineer, service, admin.
func ParseSSORoles(s string) (SSORoles, error) {
	m := SSORoles{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		i := strings.LastIndex(part, "=")
		if i <= 0 {
			return nil, fmt.Errorf("%q: want group=role", part)
		}
		group, role := strings.TrimSpace(part[:i]), Role(strings.ToLower(strings.TrimSpace(part[i+1:])))
		if _, ok := ssoRank[role]; !ok {
			return nil, fmt.Errorf("%q: role %q is not reception, engineer, service or admin", part, role)
		}
		if group == "" {
			return nil, fmt.Errorf("%q: want group=role", part)
		}
		if had, ok := m[group]; ok && had != role {
			return nil, fmt.Errorf("group %q is mapped twice", group)
		}
		m[group] = role
	}
	return m, nil
}

// RoleOf is the role of a member of groups: the highest of the roles
// their mapped groups give (admin, engineer, service, reception), and
// false when none of the groups is mapped.
func (m SSORoles) RoleOf(groups []string) (Role, bool) {
	var best Role
	for _, g := range groups {
		if r, ok := m[g]; ok && ssoRank[r] > ssoRank[best] {
			best = r
		}
	}
	return best, best != ""
}

// SSOIdentity is what a verified ID token says about a staff member.
type SSOIdentity struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
	Groups        []string
}

// Reasons a single sign-on is refused (SSORefusedError.Reason, the
// detail of an AuditSSORefused record and the key sso.refused.<reason>
// of the page that says so). The handlers add their own for the protocol:
// a bad state, a code the issuer refuses, a bad or expired ID token, a
// wrong nonce.
const (
	SSONoSubject       = "no_subject"
	SSONoEmail         = "no_email"
	SSOUnverifiedEmail = "email_unverified"
	SSONoGroup         = "no_group"
	SSOCustomer        = "customer"
	SSODisabled        = "disabled"
	SSOSubjectMismatch = "subject_mismatch"
	// SSOBreakGlass: the address is a break-glass admin's, whose account
	// the issuer never links, makes or re-roles (they use their password).
	SSOBreakGlass = "break_glass"
)

// SSORefusedError says why a single sign-on was refused.
type SSORefusedError struct{ Reason string }

func (e *SSORefusedError) Error() string { return "single sign-on refused: " + e.Reason }

// SSOSignIn signs a staff member in with a verified identity from the
// single sign-on issuer, in one transaction: the user found by their
// subject, else a staff user with the identity's email (then linked to
// the subject), else a new staff user; the role the groups map to is
// set (a change ends the user's other sessions, as an admin's change
// does), a full session is started (replacing the raw session ID replace,
// if any) and audited as AuditSignIn with method "sso". The issuer did
// the second factor.
//
// Refused (*SSORefusedError, audited as AuditSSORefused in a transaction
// of its own): no subject, no valid email, an email the issuer has not
// verified, no mapped group, a customer's email or subject, a disabled
// user, a staff user found by email who is linked to another subject,
// and a break-glass account (breakGlass, by address: the identity's or
// the found user's): the issuer never links, makes or re-roles one, so a
// break-glass admin whose address is also at the issuer stays an admin
// whose password works.
//
// A user found by their subject (linked before) who is now refused for
// no mapped group or as disabled is offboarded in the transaction of the
// refusal's record: their sessions end and their live API tokens are
// revoked (each audited), since the issuer no longer vouches for them.
func (s *Store) SSOSignIn(ctx context.Context, id SSOIdentity, roles SSORoles, breakGlass []string, p SessionPolicy, ip, ua, replace string) (*User, string, error) {
	email, emailErr := NormalizeEmail(id.Email)
	if emailErr != nil {
		email = truncate(strings.ToValidUTF8(id.Email, ""), 254)
	}
	var (
		u       User
		raw     string
		refusal string
		// linked: u was found by the subject, so the issuer vouched for
		// them before.
		linked bool
	)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		u, raw, refusal, linked = User{}, "", "", false
		refuse := func(reason string) error { refusal = reason; return &SSORefusedError{Reason: reason} }
		switch {
		case id.Subject == "" || len(id.Subject) > 255:
			return refuse(SSONoSubject)
		case emailErr != nil:
			return refuse(SSONoEmail)
		case !id.EmailVerified:
			return refuse(SSOUnverifiedEmail)
		}
		found, link := true, false
		if err := forUpdate(tx).Where("oidc_subject = ?", id.Subject).First(&u).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			u = User{}
			err = forUpdate(tx).Where("email = ?", email).First(&u).Error
			switch {
			case errors.Is(err, gorm.ErrRecordNotFound):
				u, found = User{}, false
			case err != nil:
				return err
			default:
				link = true
			}
		} else if err != nil {
			return err
		} else {
			linked = true
		}
		switch {
		case found && !u.Role.IsStaff():
			return refuse(SSOCustomer)
		case isBreakGlass(email, breakGlass) || (found && isBreakGlass(u.Email, breakGlass)):
			return refuse(SSOBreakGlass)
		case found && u.Disabled():
			return refuse(SSODisabled)
		case link && u.OIDCSubject != nil && *u.OIDCSubject != id.Subject:
			return refuse(SSOSubjectMismatch)
		}
		role, ok := roles.RoleOf(id.Groups)
		if !ok {
			return refuse(SSONoGroup)
		}
		now := s.now()
		if !found {
			name := strings.TrimSpace(strings.ToValidUTF8(id.Name, ""))
			if name == "" || CheckLine("name", name, 200) != nil {
				name = email[:strings.Index(email, "@")]
			}
			sub := id.Subject
			// No password: the hash matches none, so only the issuer
			// signs this user in.
			u = User{Email: email, Name: name, Role: role, PasswordChangedAt: now, OIDCSubject: &sub}
			if err := tx.Create(&u).Error; err != nil {
				return conflict(err)
			}
			if err := s.audit(tx, UserActor(&u, ip), AuditUserCreated, "user", &u.ID, nil,
				map[string]any{"email": u.Email, "role": u.Role, "method": "sso"}); err != nil {
				return err
			}
		} else if link || u.Role != role {
			before, after := map[string]any{}, map[string]any{}
			set := map[string]any{"updated_at": now}
			if link {
				sub := id.Subject
				u.OIDCSubject = &sub
				set["oidc_subject"] = sub
				before["oidc_linked"], after["oidc_linked"] = false, true
			}
			if u.Role != role {
				before["role"], after["role"] = u.Role, role
				u.Role = role
				set["role"] = role
				// What a session may do follows from the role.
				if err := tx.Where("user_id = ?", u.ID).Delete(&Session{}).Error; err != nil {
					return err
				}
			}
			if err := tx.Model(&User{}).Where("id = ?", u.ID).Updates(set).Error; err != nil {
				return conflict(err)
			}
			if err := s.audit(tx, UserActor(&u, ip), AuditUserUpdated, "user", &u.ID, nil,
				map[string]any{"before": before, "after": after, "method": "sso"}); err != nil {
				return err
			}
		}
		var sess Session
		raw, sess = s.newSessionRow(u.ID, StageFull, p, ip, ua)
		if replace != "" {
			if err := tx.Where("id_hash = ?", hashSessionID(replace)).Delete(&Session{}).Error; err != nil {
				return err
			}
		}
		if err := tx.Create(&sess).Error; err != nil {
			return err
		}
		if err := tx.Model(&u).Update("last_sign_in_at", now).Error; err != nil {
			return err
		}
		return s.audit(tx, UserActor(&u, ip), AuditSignIn, "user", &u.ID, nil, map[string]any{"method": "sso"})
	})
	if refusal != "" {
		target, uid, org := "", (*int64)(nil), (*int64)(nil)
		if u.ID != 0 {
			target, uid, org = "user", &u.ID, u.OrgID
		}
		detail := map[string]any{"email": email, "refusal": refusal, "subject": truncate(id.Subject, 255)}
		if refusal == SSONoGroup {
			detail["groups"] = firstGroups(id.Groups)
		}
		actor := Actor{Email: email, IP: ip}
		var aerr error
		if linked && u.Role.IsStaff() && (refusal == SSONoGroup || refusal == SSODisabled) {
			// Offboarded at the issuer (or disabled here): what the
			// issuer's sign-ins gave them ends with the refusal's record.
			aerr = s.tx(ctx, func(tx *gorm.DB) error {
				ended, revoked, err := s.offboardSSO(tx, actor, &u)
				if err != nil {
					return err
				}
				detail["sessions_ended"], detail["tokens_revoked"] = ended, revoked
				return s.audit(tx, actor, AuditSSORefused, target, uid, org, detail)
			})
		} else {
			aerr = s.Audit(ctx, actor, AuditSSORefused, target, uid, org, detail)
		}
		if aerr != nil {
			return nil, "", errors.Join(err, fmt.Errorf("models: audit refused single sign-on: %w", aerr))
		}
		return nil, "", err
	}
	if err != nil {
		return nil, "", fmt.Errorf("models: single sign-on of %s: %w", email, err)
	}
	return &u, raw, nil
}

// offboardSSO ends the sessions of u, a linked staff user whose single
// sign-on was just refused for no mapped group or as disabled, and
// revokes their live API tokens (each audited, with the reason
// sso_refused), in tx. It returns how many of each.
func (s *Store) offboardSSO(tx *gorm.DB, a Actor, u *User) (int64, int, error) {
	res := tx.Where("user_id = ?", u.ID).Delete(&Session{})
	if res.Error != nil {
		return 0, 0, res.Error
	}
	now := s.now()
	var live []APIToken
	if err := forUpdate(tx).Where("user_id = ? AND revoked_at IS NULL AND expires_at > ?", u.ID, now).
		Order("id").Find(&live).Error; err != nil {
		return 0, 0, err
	}
	for _, t := range live {
		if err := tx.Model(&APIToken{}).Where("id = ?", t.ID).Update("revoked_at", now).Error; err != nil {
			return 0, 0, err
		}
		if err := s.audit(tx, a, AuditTokenRevoked, "api_token", &t.ID, u.OrgID,
			map[string]any{"name": t.Name, "owner_id": t.UserID, "reason": "sso_refused"}); err != nil {
			return 0, 0, err
		}
	}
	return res.RowsAffected, len(live), nil
}

// firstGroups is what an audit record keeps of a groups claim: at most
// 20 names of at most 100 bytes each.
func firstGroups(groups []string) []string {
	out := make([]string, 0, min(len(groups), 20))
	for _, g := range groups[:min(len(groups), 20)] {
		out = append(out, truncate(strings.ToValidUTF8(g, ""), 100))
	}
	return out
}

// AuditSSORefusal records a single sign-on refused before the identity
// reached SSOSignIn (a bad state, a code the issuer refused, an ID token
// that does not verify, a wrong nonce), with email when the token named
// one.
func (s *Store) AuditSSORefusal(ctx context.Context, ip, email, reason string) error {
	email = truncate(strings.ToValidUTF8(strings.ToLower(strings.TrimSpace(email)), ""), 254)
	return s.Audit(ctx, Actor{Email: email, IP: ip}, AuditSSORefused, "", nil, nil, map[string]any{"email": email, "refusal": reason})
}

// PasswordAllowedWithSSO says whether u may still sign in with a password
// while single sign-on is on: customers always; staff only when they are
// one of the break-glass admins (addresses, any case).
func PasswordAllowedWithSSO(u *User, breakGlass []string) bool {
	if !u.Role.IsStaff() {
		return true
	}
	return u.Role == RoleAdmin && isBreakGlass(u.Email, breakGlass)
}

// isBreakGlass reports whether email is one of the break-glass addresses
// (any case).
func isBreakGlass(email string, breakGlass []string) bool {
	return slices.ContainsFunc(breakGlass, func(e string) bool {
		return strings.EqualFold(strings.TrimSpace(e), email)
	})
}
