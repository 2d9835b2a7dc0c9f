package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrBadCredentials is the one answer for an unknown email, a wrong
// password and a disabled user alike.
var ErrBadCredentials = errors.New("bad credentials")

// RateLimitedError says sign-in is paused for this account or address.
type RateLimitedError struct{ RetryAfter time.Duration }

func (e *RateLimitedError) Error() string { return fmt.Sprintf("rate limited for %s", e.RetryAfter) }

// SignInLimits bounds failed attempts in a sliding window, counted in the
// database so that every instance sees the same count.
type SignInLimits struct {
	Window     time.Duration
	PerAccount int
	PerAddress int
}

// DefaultSignInLimits: 5 failures per account, 20 per client address, per 15 minutes.
var DefaultSignInLimits = SignInLimits{Window: 15 * time.Minute, PerAccount: 5, PerAddress: 20}

// SignInAttempt is one try at the password form.
type SignInAttempt struct {
	ID      int64
	Email   string
	IP      string `gorm:"column:ip"`
	At      time.Time
	Success bool
}

func (SignInAttempt) TableName() string { return "sign_in_attempts" }

// dummyHash is verified against for unknown emails, so that an unknown
// address costs as much time as a wrong password.
var dummyHash, _ = DefaultHasher.Hash("no user has this password 7f3c")

// Authenticate checks email and password, counting failures per account and
// per address. It returns ErrBadCredentials or *RateLimitedError, and
// upgrades the stored hash when the parameters have risen.
func (s *Store) Authenticate(ctx context.Context, email, password, ip string, lim SignInLimits) (*User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	email = truncate(strings.ToValidUTF8(email, ""), 254)
	if err := s.CheckSignInLimits(ctx, email, ip, lim); err != nil {
		if aerr := s.Audit(ctx, Actor{Email: email, IP: ip}, AuditSignInLimited, "", nil, nil, nil); aerr != nil {
			return nil, wrap(aerr, "authenticate: audit the refusal")
		}
		return nil, wrap(err, "authenticate")
	}
	db := s.db.WithContext(ctx)
	now := s.now()

	var u User
	found := db.Where("email = ?", email).First(&u).Error == nil
	hash := dummyHash
	if found {
		hash = u.PasswordHash
	}
	// An over-long password is refused before hashing: its length is no
	// secret, and hashing it would let one request cost a lot.
	ok, rehash := false, false
	if len(password) <= MaxPasswordLen {
		ok, rehash = s.hasher.Verify(hash, password)
	}
	success := found && ok && !u.Disabled()
	if err := db.Create(&SignInAttempt{Email: email, IP: ip, At: now, Success: success}).Error; err != nil {
		return nil, wrap(err, "authenticate")
	}
	if !success {
		var uid, org *int64
		if found {
			uid, org = &u.ID, u.OrgID
		}
		if err := s.Audit(ctx, Actor{Email: email, IP: ip}, AuditSignInFailed, "user", uid, org, nil); err != nil {
			return nil, wrap(err, "authenticate: audit the failure")
		}
		return nil, wrap(ErrBadCredentials, "authenticate")
	}
	if rehash {
		if h, err := s.hasher.Hash(password); err == nil {
			db.Model(&u).Update("password_hash", h)
			u.PasswordHash = h
		}
	}
	return &u, nil
}

// CheckSignInLimits returns *RateLimitedError when the account or the
// address has used up its failures in the window, nil otherwise.
func (s *Store) CheckSignInLimits(ctx context.Context, email, ip string, lim SignInLimits) error {
	email = truncate(strings.ToValidUTF8(strings.ToLower(strings.TrimSpace(email)), ""), 254)
	db := s.db.WithContext(ctx)
	since := s.now().Add(-lim.Window)
	var byEmail, byIP int64
	if err := db.Model(&SignInAttempt{}).Where("email = ? AND at > ? AND success = ?", email, since, false).Count(&byEmail).Error; err != nil {
		return wrap(err, "check sign in limits")
	}
	if err := db.Model(&SignInAttempt{}).Where("ip = ? AND at > ? AND success = ?", ip, since, false).Count(&byIP).Error; err != nil {
		return wrap(err, "check sign in limits")
	}
	if byEmail < int64(lim.PerAccount) && byIP < int64(lim.PerAddress) {
		return nil
	}
	// When both the account and the address are blocked, the wait is the
	// longer of the two.
	var retry time.Duration
	for _, blocked := range []struct {
		on      bool
		byEmail bool
	}{{byEmail >= int64(lim.PerAccount), true}, {byIP >= int64(lim.PerAddress), false}} {
		if !blocked.on {
			continue
		}
		d, err := s.retryAfter(ctx, email, ip, blocked.byEmail, lim)
		if err != nil {
			return wrap(err, "check sign in limits")
		}
		retry = max(retry, d)
	}
	return wrap(&RateLimitedError{RetryAfter: retry}, "check sign in limits")
}

// retryAfter is when the oldest failure that counts leaves the window.
func (s *Store) retryAfter(ctx context.Context, email, ip string, byEmail bool, lim SignInLimits) (time.Duration, error) {
	q := s.db.WithContext(ctx).Model(&SignInAttempt{}).Where("at > ? AND success = ?", s.now().Add(-lim.Window), false)
	n := lim.PerAddress
	if byEmail {
		q = q.Where("email = ?", email)
		n = lim.PerAccount
	} else {
		q = q.Where("ip = ?", ip)
	}
	var ats []time.Time
	if err := q.Order("at DESC").Limit(n).Pluck("at", &ats).Error; err != nil {
		return 0, err
	}
	if len(ats) == 0 {
		return lim.Window, nil
	}
	d := ats[len(ats)-1].Add(lim.Window).Sub(s.now())
	if d < time.Second {
		d = time.Second
	}
	return d, nil
}

// RecordSignIn audits a completed sign-in (after the second factor, if any).
func (s *Store) RecordSignIn(ctx context.Context, u *User, ip string, mfa bool) error {
	now := s.now()
	if err := s.db.WithContext(ctx).Model(u).Update("last_sign_in_at", now).Error; err != nil {
		return wrap(err, "record sign in")
	}
	return wrap(s.Audit(ctx, UserActor(u, ip), AuditSignIn, "user", &u.ID, u.OrgID, map[string]any{"totp": mfa}), "record sign in")
}
