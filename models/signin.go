package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
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

// Authenticate checks email and password, counting failures per account and
// per address. It returns ErrBadCredentials, *RateLimitedError or
// *HashBusyError, and upgrades the stored hash when the parameters have
// risen.
//
// The attempt is reserved before the password is hashed: under the
// account's and the address's lock rows the failures in the window are
// counted and, when under both limits, an attempt row is written as a
// failure in the same transaction; a right password turns it into a
// success afterwards. So parallel guesses are counted one by one and at
// most the limit are ever evaluated.
//
// A failed audit write does not change the answer (the attempt row is
// written either way); it is joined to the returned error for the caller
// to log.
func (s *Store) Authenticate(ctx context.Context, email, password, ip string, lim SignInLimits) (*User, error) {
	email = signInEmail(email)
	attemptID, err := s.reserveSignInAudited(ctx, Actor{Email: email, IP: ip}, email, ip, lim)
	if err != nil {
		return nil, err
	}
	db := s.db.WithContext(ctx)

	var u User
	found := db.Where("email = ?", email).First(&u).Error == nil
	hash := s.dummyHash
	if found {
		hash = u.PasswordHash
	}
	// An over-long password is refused before hashing: its length is no
	// secret, and hashing it would let one request cost a lot.
	ok, rehash := false, false
	if len(password) <= MaxPasswordLen {
		if ok, rehash, err = s.verifyPassword(ctx, hash, password); err != nil {
			return nil, s.releaseSignIn(ctx, attemptID, err)
		}
	}
	success := found && ok && !u.Disabled()
	if !success {
		var uid, org *int64
		if found {
			uid, org = &u.ID, u.OrgID
		}
		if aerr := s.Audit(ctx, Actor{Email: email, IP: ip}, AuditSignInFailed, "user", uid, org, nil); aerr != nil {
			return nil, errors.Join(ErrBadCredentials, fmt.Errorf("models: audit failed sign-in: %w", aerr))
		}
		return nil, ErrBadCredentials
	}
	if err := s.succeedSignIn(ctx, attemptID); err != nil {
		return nil, err
	}
	if rehash {
		// Best effort: the old hash still works, and the next sign-in
		// tries again.
		if h, err := s.hashPassword(ctx, password); err == nil {
			if db.Model(&u).Update("password_hash", h).Error == nil {
				u.PasswordHash = h
			}
		}
	}
	return &u, nil
}

// signInEmail is an address as the sign-in limits count it.
func signInEmail(email string) string {
	return truncate(strings.ToValidUTF8(strings.ToLower(strings.TrimSpace(email)), ""), 254)
}

// reserveSignInAudited is reserveSignIn that audits a refusal by the
// limits as AuditSignInLimited (a failed audit write joined to the error).
// Every check of a secret that guards an account (password, second factor,
// current password on a change) goes through it before comparing: the
// attempt is written as a failure first, turned into a success by
// succeedSignIn, or taken back by releaseSignIn when nothing was compared.
func (s *Store) reserveSignInAudited(ctx context.Context, actor Actor, email, ip string, lim SignInLimits) (int64, error) {
	id, err := s.reserveSignIn(ctx, email, ip, lim)
	var rl *RateLimitedError
	if errors.As(err, &rl) {
		if aerr := s.Audit(ctx, actor, AuditSignInLimited, "", nil, nil, nil); aerr != nil {
			return 0, errors.Join(err, fmt.Errorf("models: audit limited sign-in: %w", aerr))
		}
	}
	return id, err
}

// succeedSignIn turns a reserved attempt into a success: it no longer
// counts against the limits.
func (s *Store) succeedSignIn(ctx context.Context, attemptID int64) error {
	if err := s.db.WithContext(ctx).Model(&SignInAttempt{}).Where("id = ?", attemptID).Update("success", true).Error; err != nil {
		return fmt.Errorf("models: record sign-in attempt: %w", err)
	}
	return nil
}

// releaseSignIn forgets a reserved attempt whose secret was never compared
// (hashing was busy, say), so that it does not count as a failure; it
// returns cause, joined with a failure to forget.
func (s *Store) releaseSignIn(ctx context.Context, attemptID int64, cause error) error {
	if err := s.db.WithContext(context.WithoutCancel(ctx)).Delete(&SignInAttempt{}, attemptID).Error; err != nil {
		return errors.Join(cause, fmt.Errorf("models: release sign-in attempt: %w", err))
	}
	return cause
}

// signInLock is one row per account and one per client address, locked by
// a sign-in while it counts failures and reserves its attempt. Names are
// hashed: the table holds no email addresses.
type signInLock struct {
	Name   string    `gorm:"primaryKey;size:64"`
	UsedAt time.Time `gorm:"not null;index"`
}

func (signInLock) TableName() string { return "sign_in_locks" }

// signInLockName is "a:" or "i:" and a hash, so that every account's lock
// sorts before every address's.
func signInLockName(kind, key string) string {
	sum := sha256.Sum256([]byte(key))
	return kind + ":" + hex.EncodeToString(sum[:31])
}

// reserveSignIn locks the account's and the address's lock rows (always in
// that order, so two sign-ins never wait on each other in a circle), counts
// their failures in the window, and writes the attempt as a failure when
// both are under their limits; it returns the attempt's ID or
// *RateLimitedError. The upsert takes the row lock on MySQL (an exclusive
// lock on the primary key) and is the transaction's first write on SQLite,
// whose transactions begin with the write lock (_txlock=immediate).
func (s *Store) reserveSignIn(ctx context.Context, email, ip string, lim SignInLimits) (int64, error) {
	var id int64
	err := s.tx(ctx, func(tx *gorm.DB) error {
		now := s.now()
		for _, name := range []string{signInLockName("a", email), signInLockName("i", ip)} {
			err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "name"}},
				DoUpdates: clause.AssignmentColumns([]string{"used_at"})}).
				Create(&signInLock{Name: name, UsedAt: now}).Error
			if err != nil {
				return fmt.Errorf("models: lock sign-in %s: %w", name[:1], err)
			}
		}
		if err := s.checkSignInLimits(tx, email, ip, lim); err != nil {
			return err
		}
		a := SignInAttempt{Email: email, IP: ip, At: now, Success: false}
		if err := tx.Create(&a).Error; err != nil {
			return fmt.Errorf("models: reserve sign-in attempt: %w", err)
		}
		id = a.ID
		return nil
	})
	return id, err
}

// CheckSignInLimits returns *RateLimitedError when the account or the
// address has used up its failures in the window, nil otherwise.
func (s *Store) CheckSignInLimits(ctx context.Context, email, ip string, lim SignInLimits) error {
	return s.checkSignInLimits(s.db.WithContext(ctx), signInEmail(email), ip, lim)
}

// checkSignInLimits is CheckSignInLimits on db (a transaction, say).
func (s *Store) checkSignInLimits(db *gorm.DB, email, ip string, lim SignInLimits) error {
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
		d, err := s.retryAfter(db, email, ip, blocked.byEmail, lim)
		if err != nil {
			return wrap(err, "check sign in limits")
		}
		retry = max(retry, d)
	}
	return wrap(&RateLimitedError{RetryAfter: retry}, "check sign in limits")
}

// retryAfter is when the oldest failure that counts leaves the window.
func (s *Store) retryAfter(db *gorm.DB, email, ip string, byEmail bool, lim SignInLimits) (time.Duration, error) {
	q := db.Model(&SignInAttempt{}).Where("at > ? AND success = ?", s.now().Add(-lim.Window), false)
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

// RecordSignIn audits a completed sign-in (after the second factor, if
// any) with the user's last sign-in time, in one transaction. The web
// side signs in through SignInSession, which does this with the session.
func (s *Store) RecordSignIn(ctx context.Context, u *User, ip string, mfa bool) error {
	return wrap(s.tx(ctx, func(tx *gorm.DB) error { return s.recordSignIn(tx, u, ip, mfa) }), "record sign in")
}

// recordSignIn stamps u's last sign-in and audits it, in tx.
func (s *Store) recordSignIn(tx *gorm.DB, u *User, ip string, mfa bool) error {
	if err := tx.Model(u).Update("last_sign_in_at", s.now()).Error; err != nil {
		return err
	}
	return s.audit(tx, UserActor(u, ip), AuditSignIn, "user", &u.ID, u.OrgID, map[string]any{"totp": mfa})
}
