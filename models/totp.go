package models

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/colo-portal/portal/models/passtoken"
	"github.com/colo-portal/portal/models/seal"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"gorm.io/gorm"
)

// ErrBadCode is a wrong, expired or already used second-factor code.
var ErrBadCode = errors.New("bad code")

const totpPeriod = 30

// WithSecretKey sets the portal secret, from which the key that seals TOTP
// secrets at rest is derived.
func WithSecretKey(key []byte) StoreOption {
	return func(s *Store) {
		s.totpKey = seal.NewKey(key, "portal totp secret sealing")
		s.piiKey = seal.NewKey(key, "portal visitor personal data")
		s.snmpKey = seal.NewKey(key, "portal snmp secrets")
		s.hookKey = seal.NewKey(key, "portal webhook secrets")
		s.passKey = passtoken.NewKey(key) // purpose "portal visitor pass"
		m := hmac.New(sha256.New, key)
		m.Write([]byte("portal recovery code hashing"))
		s.codeKey = m.Sum(nil)
	}
}

// TOTPEnrollment is what the user needs to add the portal to an
// authenticator app.
type TOTPEnrollment struct {
	Secret string
	URI    string
}

// BeginTOTP makes a new secret for a user, kept pending until confirmed.
func (s *Store) BeginTOTP(ctx context.Context, userID int64, issuer string) (*TOTPEnrollment, error) {
	u, err := s.GetUser(ctx, userID)
	if err != nil {
		return nil, wrap(err, "begin totp")
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: u.Email, Period: totpPeriod})
	if err != nil {
		return nil, wrap(err, "begin totp")
	}
	// The pending value keeps the whole URI so the page can show it again.
	sealed, err := s.totpKey.Seal(key.URL())
	if err != nil {
		return nil, wrap(err, "begin totp")
	}
	if err := s.db.WithContext(ctx).Model(u).Update("totp_pending", sealed).Error; err != nil {
		return nil, wrap(err, "begin totp")
	}
	return &TOTPEnrollment{Secret: key.Secret(), URI: key.URL()}, nil
}

// PendingTOTP returns the enrollment in progress, if any.
func (s *Store) PendingTOTP(ctx context.Context, userID int64) (*TOTPEnrollment, error) {
	u, err := s.GetUser(ctx, userID)
	if err != nil {
		return nil, wrap(err, "pending totp")
	}
	en, err := s.pendingKey(u)
	return en, wrap(err, "pending totp")
}

func (s *Store) pendingKey(u *User) (*TOTPEnrollment, error) {
	if u.TOTPPending == "" {
		return nil, ErrNotFound
	}
	uri, err := s.totpKey.Open(u.TOTPPending)
	if err != nil {
		return nil, err
	}
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		return nil, err
	}
	return &TOTPEnrollment{Secret: key.Secret(), URI: uri}, nil
}

// matchStep returns the time step at which code is valid for secret within
// one step of now, or 0.
func matchStep(secret, code string, now time.Time) int64 {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != 6 {
		return 0
	}
	for _, d := range []int64{0, -1, 1} {
		t := now.Add(time.Duration(d*totpPeriod) * time.Second)
		want, err := totp.GenerateCodeCustom(secret, t, totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return t.Unix() / totpPeriod
		}
	}
	return 0
}

// ConfirmTOTP turns the pending secret on when code matches it, and
// returns a fresh set of recovery codes, made in the same transaction, to
// be shown once.
func (s *Store) ConfirmTOTP(ctx context.Context, actor Actor, userID int64, code string) ([]string, error) {
	u, err := s.GetUser(ctx, userID)
	if err != nil {
		return nil, wrap(err, "confirm totp")
	}
	pending, err := s.pendingKey(u)
	if err != nil {
		return nil, wrap(ErrBadCode, "confirm totp")
	}
	step := matchStep(pending.Secret, code, s.now())
	if step == 0 {
		return nil, wrap(ErrBadCode, "confirm totp")
	}
	sealed, err := s.totpKey.Seal(pending.Secret)
	if err != nil {
		return nil, wrap(err, "confirm totp")
	}
	var codes []string
	err = s.tx(ctx, func(tx *gorm.DB) error {
		codes = nil
		if err := tx.Model(u).Updates(map[string]any{"totp_secret": sealed, "totp_pending": "",
			"totp_enabled": true, "totp_last_step": step}).Error; err != nil {
			return err
		}
		if codes, err = s.replaceRecoveryCodes(tx, u.ID); err != nil {
			return err
		}
		return s.audit(tx, actor, AuditTOTPEnabled, "user", &u.ID, u.OrgID, nil)
	})
	if err != nil {
		return nil, wrap(err, "confirm totp")
	}
	return codes, nil
}

// VerifyTOTP checks a sign-in code. A code works once: the step it belongs
// to is recorded with a conditional update, so two instances cannot both
// accept it.
//
// A code is a guess at the account like a password: the attempt is
// reserved under the sign-in limits before the code is compared (see
// Authenticate), so parallel codes, on one pending session or many, are
// counted one by one and at most the limit are ever compared. A wrong code
// stays a failed attempt and is audited; past the limit the answer is
// *RateLimitedError whatever the code. A failed audit write of a wrong code
// is the answer (an error, not ErrBadCode); one of a refusal by the limits
// is joined to it.
func (s *Store) VerifyTOTP(ctx context.Context, userID int64, code, ip string, lim SignInLimits) error {
	_, err := s.VerifySecondFactor(ctx, userID, code, ip, lim)
	return err
}

// VerifySecondFactor is VerifyTOTP that also takes one of the user's
// recovery codes in place of the authenticator's code: each works once,
// its use is audited and the user emailed (useRecoveryCode). It is
// reserved and counted under the sign-in limits like a TOTP code.
func (s *Store) VerifySecondFactor(ctx context.Context, userID int64, code, ip string, lim SignInLimits) (SecondFactorResult, error) {
	var res SecondFactorResult
	u, err := s.GetUser(ctx, userID)
	if err != nil {
		return res, wrap(err, "verify totp")
	}
	if !u.TOTPEnabled {
		return res, wrap(ErrBadCode, "verify totp")
	}
	secret, err := s.totpKey.Open(u.TOTPSecret)
	if err != nil {
		return res, wrap(err, "verify totp")
	}
	attemptID, err := s.reserveSignInAudited(ctx, UserActor(u, ip), signInEmail(u.Email), ip, lim)
	if err != nil {
		return res, wrap(err, "verify totp")
	}
	if looksLikeRecoveryCode(code) {
		spent, left, err := s.useRecoveryCode(ctx, u, code, ip)
		if err != nil {
			return res, s.releaseSignIn(ctx, attemptID, err)
		}
		if spent {
			return SecondFactorResult{RecoveryCode: true, CodesLeft: left}, wrap(s.succeedSignIn(ctx, attemptID), "verify totp")
		}
	} else if step := matchStep(secret, code, s.now()); step > u.TOTPLastStep {
		r := s.db.WithContext(ctx).Model(&User{}).Where("id = ? AND totp_last_step < ?", u.ID, step).Update("totp_last_step", step)
		if r.Error != nil {
			return res, wrap(r.Error, "verify totp")
		}
		if r.RowsAffected == 1 {
			return res, wrap(s.succeedSignIn(ctx, attemptID), "verify totp")
		}
	}
	// The failure is counted already (the reserved attempt); an audit
	// write that fails is the answer, as before the reservation.
	if aerr := s.Audit(ctx, UserActor(u, ip), AuditTOTPFailed, "user", &u.ID, u.OrgID, nil); aerr != nil {
		return res, wrap(fmt.Errorf("record the failure: %w", aerr), "verify totp")
	}
	return res, wrap(ErrBadCode, "verify totp")
}

// DisableTOTP turns the second factor off for a user.
func (s *Store) DisableTOTP(ctx context.Context, actor Actor, userID int64) error {
	return wrap(s.tx(ctx, func(tx *gorm.DB) error {
		var u User
		if err := tx.First(&u, userID).Error; err != nil {
			return notFound(err)
		}
		if err := tx.Model(&u).Updates(map[string]any{"totp_secret": "", "totp_pending": "", "totp_enabled": false, "totp_last_step": 0}).Error; err != nil {
			return err
		}
		if err := tx.Where("user_id = ?", u.ID).Delete(&RecoveryCode{}).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditTOTPDisabled, "user", &u.ID, u.OrgID, nil)
	}), "disable totp")
}

// SetTOTPRequired makes the second factor mandatory (or optional) for a user.
func (s *Store) SetTOTPRequired(ctx context.Context, actor Actor, userID int64, required bool) error {
	return wrap(s.tx(ctx, func(tx *gorm.DB) error {
		var u User
		if err := tx.First(&u, userID).Error; err != nil {
			return notFound(err)
		}
		if err := tx.Model(&u).Update("totp_required", required).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditTOTPRequired, "user", &u.ID, u.OrgID, map[string]any{"required": required})
	}), "set totp required")
}
