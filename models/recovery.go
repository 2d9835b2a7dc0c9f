package models

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// RecoveryCodeCount is how many recovery codes a user gets at once.
const RecoveryCodeCount = 10

// EventRecoveryCodeUsed tells a user, by email, that one of their recovery
// codes was used to sign in. RefID is the user; the payload is
// RecoveryUseNotice.
const EventRecoveryCodeUsed = "auth.recovery_code_used"

// RecoveryCode is one one-time code that stands in for the authenticator
// at the second-factor step. Only a keyed hash is stored: the codes are
// shown once, when made.
type RecoveryCode struct {
	ID        int64
	UserID    int64
	CodeHash  string
	UsedAt    *time.Time
	CreatedAt time.Time
}

func (RecoveryCode) TableName() string { return "recovery_codes" }

// RecoveryUseNotice is what the email about a used recovery code says.
type RecoveryUseNotice struct {
	At   time.Time `json:"at"`
	IP   string    `json:"ip"`
	Left int       `json:"left"`
}

// recoveryAlphabet leaves out letters and digits that read alike (0/o,
// 1/l/i): 31 symbols, so a ten-symbol code carries about 49 bits.
const recoveryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// newRecoveryCode is ten random symbols, shown as two groups of five.
func newRecoveryCode() string {
	b := make([]byte, 10)
	out := make([]byte, 0, 11)
	for i := 0; i < len(b); {
		if _, err := rand.Read(b[i : i+1]); err != nil {
			panic(err)
		}
		// Reject the top of the byte range so every symbol is equally likely.
		if int(b[i]) >= 256-256%len(recoveryAlphabet) {
			continue
		}
		if i == 5 {
			out = append(out, '-')
		}
		out = append(out, recoveryAlphabet[int(b[i])%len(recoveryAlphabet)])
		i++
	}
	return string(out)
}

// normalizeRecoveryCode accepts a code as typed: any case, with or without
// the dash and spaces.
func normalizeRecoveryCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			return -1
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return r
	}, strings.TrimSpace(code))
}

// looksLikeRecoveryCode tells a recovery code from a six-digit TOTP code.
func looksLikeRecoveryCode(code string) bool {
	c := normalizeRecoveryCode(code)
	if len(c) != 10 {
		return false
	}
	for _, r := range c {
		if !strings.ContainsRune(recoveryAlphabet, r) {
			return false
		}
	}
	return true
}

// recoveryHash is the stored form of a code: HMAC-SHA256 under a key
// derived from the portal secret, bound to the user. The codes are random,
// so a slow password hash would add nothing but cost; the key keeps a copy
// of the table from being searched offline.
func (s *Store) recoveryHash(userID int64, code string) string {
	m := hmac.New(sha256.New, s.codeKey)
	m.Write([]byte(strconv.FormatInt(userID, 10) + "\x00" + normalizeRecoveryCode(code)))
	return hex.EncodeToString(m.Sum(nil))
}

// replaceRecoveryCodes deletes a user's codes and makes a new set, in tx.
func (s *Store) replaceRecoveryCodes(tx *gorm.DB, userID int64) ([]string, error) {
	if err := tx.Where("user_id = ?", userID).Delete(&RecoveryCode{}).Error; err != nil {
		return nil, err
	}
	codes := make([]string, RecoveryCodeCount)
	rows := make([]RecoveryCode, RecoveryCodeCount)
	for i := range codes {
		codes[i] = newRecoveryCode()
		rows[i] = RecoveryCode{UserID: userID, CodeHash: s.recoveryHash(userID, codes[i]), CreatedAt: s.now()}
	}
	if err := tx.Create(&rows).Error; err != nil {
		return nil, err
	}
	return codes, nil
}

// RegenerateRecoveryCodes replaces the recovery codes of a user whose
// second factor is on; the old ones stop working at once. The new codes
// are returned to be shown once.
func (s *Store) RegenerateRecoveryCodes(ctx context.Context, actor Actor, userID int64) ([]string, error) {
	var codes []string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var u User
		if err := tx.First(&u, userID).Error; err != nil {
			return notFound(err)
		}
		if !u.TOTPEnabled {
			return Invalid("recovery", "error.recovery_needs_totp")
		}
		var err error
		if codes, err = s.replaceRecoveryCodes(tx, u.ID); err != nil {
			return err
		}
		return s.audit(tx, actor, AuditRecoveryCodesMade, "user", &u.ID, u.OrgID, map[string]any{"count": len(codes)})
	})
	if err != nil {
		return nil, wrap(err, "regenerate recovery codes")
	}
	return codes, nil
}

// RecoveryCodesLeft counts a user's unused recovery codes.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&RecoveryCode{}).Where("user_id = ? AND used_at IS NULL", userID).Count(&n).Error
	return int(n), wrap(err, "count recovery codes")
}

// useRecoveryCode spends code for u if it is one of u's unused codes: the
// conditional update lets one request win when two send the same code.
// The use is audited and the user told by email, in the same transaction.
// It reports whether the code was spent, and how many are left.
func (s *Store) useRecoveryCode(ctx context.Context, u *User, code, ip string) (bool, int, error) {
	spent, left := false, 0
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := s.now()
		r := tx.Model(&RecoveryCode{}).Where("user_id = ? AND code_hash = ? AND used_at IS NULL", u.ID, s.recoveryHash(u.ID, code)).
			Update("used_at", now)
		if r.Error != nil || r.RowsAffected != 1 {
			return r.Error
		}
		spent = true
		var n int64
		if err := tx.Model(&RecoveryCode{}).Where("user_id = ? AND used_at IS NULL", u.ID).Count(&n).Error; err != nil {
			return err
		}
		left = int(n)
		payload, err := json.Marshal(RecoveryUseNotice{At: now, IP: ip, Left: left})
		if err != nil {
			return err
		}
		var org int64
		if u.OrgID != nil {
			org = *u.OrgID
		}
		if err := s.outbox(tx, EventRecoveryCodeUsed, org, u.ID, string(payload)); err != nil {
			return err
		}
		return s.audit(tx, UserActor(u, ip), AuditRecoveryCodeUsed, "user", &u.ID, u.OrgID, map[string]any{"left": left})
	})
	if err != nil {
		return false, 0, fmt.Errorf("models: use recovery code: %w", err)
	}
	return spent, left, nil
}

// SecondFactorResult says how a second-factor step succeeded.
type SecondFactorResult struct {
	RecoveryCode bool // a recovery code was spent
	CodesLeft    int  // unused recovery codes after it
}
