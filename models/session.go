package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Session stages: a session is "mfa" between a right password and a right
// second-factor code, and "full" after.
const (
	StageFull = "full"
	StageMFA  = "mfa"
)

// Session is a signed-in browser. Only the SHA-256 of its ID is stored, so a
// copy of the table cannot be replayed as cookies.
type Session struct {
	IDHash     string `gorm:"column:id_hash;primaryKey"`
	UserID     int64
	Stage      string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	IP         string `gorm:"column:ip"`
	UserAgent  string
	// Locale is the language chosen on the sign-in page, which wins over
	// the user's saved one for this session; "" follows the user's.
	Locale string
	// OpenIncidentID is the open provider-wide incident (0 when none),
	// read with the session for the staff banner (LookupSession only):
	// it costs no statement of its own.
	OpenIncidentID int64 `gorm:"->"`
	// RecentIncidentID is the newest incident open or resolved less than
	// IncidentBannerAfter ago (0 when none): only then does a customer's
	// home look for an incident update to show.
	RecentIncidentID int64 `gorm:"->"`
}

func (Session) TableName() string { return "sessions" }

// SessionPolicy holds the timeouts.
type SessionPolicy struct {
	Idle     time.Duration // since the last request
	Absolute time.Duration // since sign-in
	MFA      time.Duration // to enter the second factor
}

// TouchEvery is how stale a session's last_seen may get before a request
// writes it again: a minute, or a sixtieth of the idle limit when that is
// shorter. A full session ends TouchEvery after the idle limit counted
// from last_seen, so it never ends before the idle limit counted from its
// real last request, and at most TouchEvery after it.
func (p SessionPolicy) TouchEvery() time.Duration { return min(time.Minute, p.Idle/60) }

// idleSince is the last_seen before which a full session is idle at now.
func (p SessionPolicy) idleSince(now time.Time) time.Time { return now.Add(-(p.Idle + p.TouchEvery())) }

// DefaultSessionPolicy is a working day with a two-hour idle limit.
var DefaultSessionPolicy = SessionPolicy{Idle: 2 * time.Hour, Absolute: 12 * time.Hour, MFA: 5 * time.Minute}

func hashSessionID(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

// NewSessionID returns 128 random bits, hex encoded.
func NewSessionID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// CreateSession starts a session for userID and returns its raw ID, which
// only the cookie holds. replace, if set, is the raw ID of a session it
// supersedes (the password stage, say), deleted in the same transaction.
func (s *Store) CreateSession(ctx context.Context, userID int64, stage string, p SessionPolicy, ip, ua, replace string) (string, error) {
	raw, err := s.startSession(ctx, userID, stage, p, ip, ua, replace, nil)
	if err != nil {
		return "", fmt.Errorf("models: create session: %w", err)
	}
	return raw, nil
}

// SignInSession starts the session of a sign-in as CreateSession does
// and, for a full session (the password alone, or the second factor
// done), stamps the user's last sign-in and audits it (AuditSignIn, with
// mfa) in the same transaction: the session and its audit record commit
// together or not at all, so a sign-in that could not be audited leaves
// nobody signed in. A session pending its second factor is audited when
// it completes.
func (s *Store) SignInSession(ctx context.Context, u *User, stage string, p SessionPolicy, ip, ua, replace string, mfa bool) (string, error) {
	var record func(tx *gorm.DB) error
	if stage == StageFull {
		record = func(tx *gorm.DB) error { return s.recordSignIn(tx, u, ip, mfa) }
	}
	raw, err := s.startSession(ctx, u.ID, stage, p, ip, ua, replace, record)
	if err != nil {
		return "", fmt.Errorf("models: sign in user %d: %w", u.ID, err)
	}
	return raw, nil
}

// startSession writes a new session, deleting the one it replaces, and
// runs then (if any) in the same transaction.
func (s *Store) startSession(ctx context.Context, userID int64, stage string, p SessionPolicy, ip, ua, replace string,
	then func(tx *gorm.DB) error) (string, error) {
	raw, sess := s.newSessionRow(userID, stage, p, ip, ua)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if replace != "" {
			if err := tx.Where("id_hash = ?", hashSessionID(replace)).Delete(&Session{}).Error; err != nil {
				return err
			}
		}
		if err := tx.Create(&sess).Error; err != nil {
			return err
		}
		if then != nil {
			return then(tx)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return raw, nil
}

// newSessionRow is a new session of userID at stage and its raw ID.
func (s *Store) newSessionRow(userID int64, stage string, p SessionPolicy, ip, ua string) (string, Session) {
	raw := NewSessionID()
	now := s.now()
	life := p.Absolute
	if stage == StageMFA {
		life = p.MFA
	}
	ua = truncate(strings.ToValidUTF8(ua, ""), 300)
	return raw, Session{IDHash: hashSessionID(raw), UserID: userID, Stage: stage, CreatedAt: now,
		LastSeenAt: now, ExpiresAt: now.Add(life), IP: ip, UserAgent: ua}
}

// sessionUser is a session and its user, read in one statement.
type sessionUser struct {
	Session `gorm:"embedded;embeddedPrefix:s_"`
	User    `gorm:"embedded"`
}

// sessionUserColumns selects a sessionUser: the session's columns under
// the prefix s_, then the user's.
const sessionUserColumns = "sessions.id_hash AS s_id_hash, sessions.user_id AS s_user_id, sessions.stage AS s_stage, " +
	"sessions.created_at AS s_created_at, sessions.last_seen_at AS s_last_seen_at, sessions.expires_at AS s_expires_at, " +
	"sessions.ip AS s_ip, sessions.user_agent AS s_user_agent, sessions.locale AS s_locale, " +
	"(SELECT COALESCE(MAX(id), 0) FROM incidents WHERE open_key = 'open') AS s_open_incident_id, " +
	"(SELECT COALESCE(MAX(id), 0) FROM incidents WHERE open_key = 'open' OR resolved_at > ?) AS s_recent_incident_id, users.*"

// LookupSession returns the live session with raw ID and its user, or
// ErrNotFound when it is unknown, expired, idle too long, or its user is
// disabled. Every request of a signed-in browser calls it, so it reads
// the session and its user in one statement (a revocation, an expiry or
// a disabled user still takes effect on the next request), and records
// activity only when last_seen is TouchEvery old, to spare writes; it
// ends a full session TouchEvery after the idle limit counted from
// last_seen, so that it never ends early.
func (s *Store) LookupSession(ctx context.Context, raw string, p SessionPolicy) (*Session, *User, error) {
	if len(raw) != 32 {
		return nil, nil, wrap(ErrNotFound, "lookup session")
	}
	var row sessionUser
	db := s.db.WithContext(ctx)
	now := s.now()
	if err := db.Table("sessions").Select(sessionUserColumns, now.Add(-IncidentBannerAfter).UTC()).Joins("JOIN users ON users.id = sessions.user_id").
		Where("sessions.id_hash = ?", hashSessionID(raw)).Take(&row).Error; err != nil {
		return nil, nil, wrap(notFound(err), "lookup session")
	}
	sess, u := row.Session, row.User
	if !now.Before(sess.ExpiresAt) || (sess.Stage == StageFull && !sess.LastSeenAt.After(p.idleSince(now))) {
		db.Delete(&sess)
		return nil, nil, wrap(ErrNotFound, "lookup session")
	}
	if u.Disabled() {
		return nil, nil, wrap(ErrNotFound, "lookup session")
	}
	if now.Sub(sess.LastSeenAt) >= p.TouchEvery() {
		sess.LastSeenAt = now
		if err := db.Model(&sess).Update("last_seen_at", now).Error; err != nil {
			return nil, nil, fmt.Errorf("models: touch session: %w", err)
		}
	}
	return &sess, &u, nil
}

// DeleteSession signs one session out.
func (s *Store) DeleteSession(ctx context.Context, raw string) error {
	return wrap(s.db.WithContext(ctx).Where("id_hash = ?", hashSessionID(raw)).Delete(&Session{}).Error, "delete session")
}

// CountSessions counts the live sessions of a user: not expired and not
// idle for longer than the policy allows.
func (s *Store) CountSessions(ctx context.Context, userID int64, p SessionPolicy) (int64, error) {
	var n int64
	now := s.now()
	err := s.db.WithContext(ctx).Model(&Session{}).
		Where("user_id = ? AND stage = ? AND expires_at > ? AND last_seen_at > ?", userID, StageFull, now, p.idleSince(now)).
		Count(&n).Error
	return n, wrap(err, "count sessions")
}

// PurgeExpired deletes expired sessions, and sign-in attempts and sign-in
// lock rows older than keepAttempts.
func (s *Store) PurgeExpired(ctx context.Context, idle, keepAttempts time.Duration) (int64, error) {
	now := s.now()
	db := s.db.WithContext(ctx)
	r := db.Where("expires_at <= ? OR (stage = ? AND last_seen_at <= ?)", now, StageFull, SessionPolicy{Idle: idle}.idleSince(now)).Delete(&Session{})
	if r.Error != nil {
		return 0, wrap(r.Error, "purge expired")
	}
	r2 := db.Where("at < ?", now.Add(-keepAttempts)).Delete(&SignInAttempt{})
	if r2.Error != nil {
		return 0, wrap(r2.Error, "purge expired")
	}
	// A lock row unused as long is re-created by the next sign-in's upsert.
	r3 := db.Where("used_at < ?", now.Add(-keepAttempts)).Delete(&signInLock{})
	return r.RowsAffected + r2.RowsAffected + r3.RowsAffected, wrap(r3.Error, "purge expired")
}

// ListSessions lists the live sessions of a user (as CountSessions counts
// them), most recently seen first.
func (s *Store) ListSessions(ctx context.Context, userID int64, p SessionPolicy) ([]Session, error) {
	var out []Session
	now := s.now()
	err := s.db.WithContext(ctx).
		Where("user_id = ? AND stage = ? AND expires_at > ? AND last_seen_at > ?", userID, StageFull, now, p.idleSince(now)).
		Order("last_seen_at DESC, created_at DESC").Limit(100).Find(&out).Error
	return out, wrap(err, "list sessions")
}

// IsSession reports whether sess is the session of the raw ID keep.
func (sess *Session) IsSession(raw string) bool { return sess.IDHash == hashSessionID(raw) }

// EndOtherSessions signs a user out everywhere but the session keep, and
// audits how many sessions ended.
func (s *Store) EndOtherSessions(ctx context.Context, actor Actor, userID int64, keep string) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var u User
		if err := tx.First(&u, userID).Error; err != nil {
			return notFound(err)
		}
		r := tx.Where("user_id = ? AND id_hash <> ?", userID, hashSessionID(keep)).Delete(&Session{})
		if r.Error != nil {
			return r.Error
		}
		n = r.RowsAffected
		return s.audit(tx, actor, AuditSessionsEnded, "user", &u.ID, u.OrgID, map[string]any{"ended": n})
	})
	return n, wrap(err, "end other sessions")
}

// SetSessionLocale sets the language of one session ("" follows the
// user's saved language).
func (s *Store) SetSessionLocale(ctx context.Context, raw, locale string) error {
	return wrap(s.db.WithContext(ctx).Model(&Session{}).Where("id_hash = ?", hashSessionID(raw)).
		Update("locale", locale).Error, "set session locale")
}
