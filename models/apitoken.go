package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"
)

// API token scopes. A write token reads too.
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
)

// TokenPrefix begins every personal access token, so that a secret
// scanner (and a person) can tell one at a glance.
const TokenPrefix = "cpt_"

// Token lifetimes a user may choose; MaxTokenLife bounds them.
const (
	DefaultTokenLife = 90 * 24 * time.Hour
	MaxTokenLife     = 366 * 24 * time.Hour
	// tokenTouchEvery: a token's last use is written at most this often.
	tokenTouchEvery = time.Minute
	// MaxTokensPerUser bounds the live tokens of one user.
	MaxTokensPerUser = 20
)

// APIToken is a personal access token of the JSON API (/api/v1). Only its
// SHA-256 is kept: the token is shown once, when made. It acts as its
// user, with that user's role and organization, never beyond its scopes.
type APIToken struct {
	ID         int64
	UserID     int64
	Name       string
	Prefix     string
	Hash       string `json:"-"`
	Scopes     string
	ExpiresAt  time.Time
	LastUsedAt *time.Time
	LastUsedIP string
	RevokedAt  *time.Time
	RevokedBy  *int64
	CreatedAt  time.Time
}

func (APIToken) TableName() string { return "api_tokens" }

// CanWrite reports whether the token has the write scope.
func (t *APIToken) CanWrite() bool {
	for _, s := range strings.Split(t.Scopes, ",") {
		if s == ScopeWrite {
			return true
		}
	}
	return false
}

// Live reports whether the token may be used at now.
func (t *APIToken) Live(now time.Time) bool { return t.RevokedAt == nil && now.Before(t.ExpiresAt) }

// APITokenInput is what the token form supplies.
type APITokenInput struct {
	Name  string
	Write bool // read and write; else read only
	// Days until it expires: 1 to 366.
	Days int
}

func hashAPIToken(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

// newTokenSecret is TokenPrefix and 256 random bits, base64url.
func newTokenSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// CreateAPIToken makes a token for the acting user and returns it with
// the secret, which is never shown again. Audited.
func (s *Store) CreateAPIToken(ctx context.Context, a Actor, in APITokenInput) (*APIToken, string, error) {
	if a.UserID == nil {
		return nil, "", wrap(ErrNotFound, "create api token")
	}
	var p problems
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		p.add(Invalid("name", "error.required"))
	} else {
		p.add(CheckLine("name", in.Name, 100))
	}
	if in.Days < 1 || in.Days > int(MaxTokenLife/(24*time.Hour)) {
		p.add(Invalid("days", "tokens.error.days", Number(int(MaxTokenLife/(24*time.Hour)))))
	}
	if err := p.err(); err != nil {
		return nil, "", err
	}
	secret := newTokenSecret()
	now := s.now()
	scopes := ScopeRead
	if in.Write {
		scopes = ScopeRead + "," + ScopeWrite
	}
	var t APIToken
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&APIToken{}).Where("user_id = ? AND revoked_at IS NULL AND expires_at > ?", *a.UserID, now).
			Count(&n).Error; err != nil {
			return err
		}
		if n >= MaxTokensPerUser {
			return Invalid("name", "tokens.error.too_many", Number(MaxTokensPerUser))
		}
		t = APIToken{UserID: *a.UserID, Name: in.Name, Prefix: secret[:len(TokenPrefix)+6], Hash: hashAPIToken(secret),
			Scopes: scopes, ExpiresAt: now.Add(time.Duration(in.Days) * 24 * time.Hour), CreatedAt: now}
		if err := tx.Create(&t).Error; err != nil {
			return err
		}
		u, err := userOrg(tx, *a.UserID)
		if err != nil {
			return err
		}
		return s.audit(tx, a, AuditTokenCreated, "api_token", &t.ID, u,
			map[string]any{"name": t.Name, "scopes": t.Scopes, "expires_at": t.ExpiresAt.UTC().Format(time.RFC3339)})
	})
	if err != nil {
		return nil, "", wrap(err, "create api token")
	}
	return &t, secret, nil
}

// userOrg is the organization of a user (nil for staff).
func userOrg(tx *gorm.DB, userID int64) (*int64, error) {
	var u User
	if err := tx.Select("id", "org_id").First(&u, userID).Error; err != nil {
		return nil, notFound(err)
	}
	return u.OrgID, nil
}

// ErrTokenInvalid is a token that is unknown, expired, revoked, or whose
// user is disabled: the API answers 401 for each alike.
var ErrTokenInvalid = errors.New("token invalid")

// AuthenticateToken finds the live token raw (from an Authorization:
// Bearer header) and its user, and notes its use (at most once a minute).
// Anything else is ErrTokenInvalid.
func (s *Store) AuthenticateToken(ctx context.Context, raw, ip string) (*APIToken, *User, error) {
	if !strings.HasPrefix(raw, TokenPrefix) || len(raw) != len(TokenPrefix)+43 {
		return nil, nil, wrap(ErrTokenInvalid, "authenticate token")
	}
	db := s.db.WithContext(ctx)
	var t APIToken
	if err := db.Where("hash = ?", hashAPIToken(raw)).Take(&t).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			err = ErrTokenInvalid
		}
		return nil, nil, wrap(err, "authenticate token")
	}
	now := s.now()
	if !t.Live(now) {
		return nil, nil, wrap(ErrTokenInvalid, "authenticate token")
	}
	var u User
	if err := db.First(&u, t.UserID).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			err = ErrTokenInvalid
		}
		return nil, nil, wrap(err, "authenticate token")
	}
	if u.Disabled() {
		return nil, nil, wrap(ErrTokenInvalid, "authenticate token")
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= tokenTouchEvery || t.LastUsedIP != ip {
		if len(ip) > 64 {
			ip = ip[:64]
		}
		if err := db.Model(&APIToken{}).Where("id = ?", t.ID).
			Updates(map[string]any{"last_used_at": now, "last_used_ip": ip}).Error; err != nil {
			return nil, nil, wrap(err, "note token use")
		}
		t.LastUsedAt, t.LastUsedIP = &now, ip
	}
	return &t, &u, nil
}

// ListAPITokens lists a user's tokens, live ones first, newest first.
// Revoked and expired ones stay listed for 30 days.
func (s *Store) ListAPITokens(ctx context.Context, userID int64) ([]APIToken, error) {
	var ts []APIToken
	since := s.now().Add(-30 * 24 * time.Hour)
	err := s.db.WithContext(ctx).Where("user_id = ? AND (revoked_at IS NULL OR revoked_at > ?) AND expires_at > ?", userID, since, since).
		Order("id DESC").Find(&ts).Error
	return ts, wrap(err, "list api tokens")
}

// TokenOwner is a live token with its user, for the admins' list.
type TokenOwner struct {
	APIToken
	Email string
	Role  Role
	OrgID *int64
}

// ListLiveAPITokens lists every live token of every user, for admins
// (staff lists take no scope): newest first, at most limit.
func (s *Store) ListLiveAPITokens(ctx context.Context, limit int) ([]TokenOwner, error) {
	if limit <= 0 || limit > 1000 {
		limit = 500
	}
	var out []TokenOwner
	err := s.db.WithContext(ctx).Table("api_tokens").
		Select("api_tokens.*, users.email AS email, users.role AS role, users.org_id AS org_id").
		Joins("JOIN users ON users.id = api_tokens.user_id").
		Where("api_tokens.revoked_at IS NULL AND api_tokens.expires_at > ?", s.now()).
		Order("api_tokens.id DESC").Limit(limit).Scan(&out).Error
	return out, wrap(err, "list live api tokens")
}

// RevokeAPIToken revokes token id: its own user may, and so may an admin
// (any user's). Anyone else's token is not found. Revoking twice is a
// no-op. Audited.
func (s *Store) RevokeAPIToken(ctx context.Context, a Actor, by *User, id int64) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var t APIToken
		q := forUpdate(tx).Where("id = ?", id)
		if by.Role != RoleAdmin {
			q = q.Where("user_id = ?", by.ID)
		}
		if err := q.First(&t).Error; err != nil {
			return notFound(err)
		}
		if t.RevokedAt != nil {
			return nil
		}
		now := s.now()
		if err := tx.Model(&APIToken{}).Where("id = ?", t.ID).
			Updates(map[string]any{"revoked_at": now, "revoked_by": by.ID}).Error; err != nil {
			return err
		}
		org, err := userOrg(tx, t.UserID)
		if err != nil {
			return err
		}
		return s.audit(tx, a, AuditTokenRevoked, "api_token", &t.ID, org,
			map[string]any{"name": t.Name, "owner_id": t.UserID})
	})
	return wrap(err, "revoke api token")
}
