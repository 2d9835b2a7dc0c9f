package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Calendar feeds: a customer or reception user may subscribe a calendar
// to the visits they follow, at a URL holding a random token. Only the
// token's SHA-256 is stored; one token per user, a new one replaces the
// old, and revoking deletes it.

// CalendarToken is a user's calendar feed token, by its hash.
type CalendarToken struct {
	UserID     int64 `gorm:"primaryKey;autoIncrement:false"`
	TokenHash  string
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

func (CalendarToken) TableName() string { return "calendar_tokens" }

// CalendarPast is how far back a feed shows visits.
const CalendarPast = 30 * 24 * time.Hour

// calendarMax bounds the visits of one feed.
const calendarMax = 2000

// calendarTouchEvery is how often a feed's use is written down at most.
const calendarTouchEvery = time.Minute

// MayHaveCalendar reports whether users of role may have a feed: customers
// (their organization's visits) and reception (every organization's).
func MayHaveCalendar(role Role) bool { return role == RoleCustomer || role == RoleReception }

func hashCalendarToken(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

// ValidCalendarToken reports whether s looks like a feed token (43
// characters of unpadded base64url), so that anything else is refused
// before a lookup.
func ValidCalendarToken(s string) bool {
	if len(s) != 43 {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) < 0
}

// CalendarTokenOf returns user userID's feed token, or ErrNotFound.
func (s *Store) CalendarTokenOf(ctx context.Context, userID int64) (*CalendarToken, error) {
	var t CalendarToken
	if err := s.db.WithContext(ctx).Where("user_id = ?", userID).First(&t).Error; err != nil {
		return nil, wrap(notFound(err), "calendar token")
	}
	return &t, nil
}

// NewCalendarToken gives user userID a new feed token, replacing (and so
// revoking) any older one, and returns it: this is the only time it is
// known. Users whose role has no feed get ErrNotFound.
func (s *Store) NewCalendarToken(ctx context.Context, actor Actor, userID int64) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", wrap(err, "new calendar token")
	}
	raw := base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var u User
		if err := forUpdate(tx).Select("id", "role", "org_id", "disabled_at").First(&u, userID).Error; err != nil {
			return notFound(err)
		}
		if !MayHaveCalendar(u.Role) || u.Disabled() {
			return ErrNotFound
		}
		res := tx.Where("user_id = ?", userID).Delete(&CalendarToken{})
		if res.Error != nil {
			return res.Error
		}
		if err := tx.Create(&CalendarToken{UserID: userID, TokenHash: hashCalendarToken(raw), CreatedAt: now}).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditCalendarTokenMade, "user", &u.ID, u.OrgID, map[string]any{"replaced": res.RowsAffected > 0})
	})
	if err != nil {
		return "", wrap(err, "new calendar token")
	}
	return raw, nil
}

// RevokeCalendarToken deletes user userID's feed token; the feed's URL
// answers 404 from then on. Without a token it does nothing.
func (s *Store) RevokeCalendarToken(ctx context.Context, actor Actor, userID int64) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var u User
		if err := tx.Select("id", "org_id").First(&u, userID).Error; err != nil {
			return notFound(err)
		}
		res := tx.Where("user_id = ?", userID).Delete(&CalendarToken{})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		return s.audit(tx, actor, AuditCalendarTokenRevoked, "user", &u.ID, u.OrgID, nil)
	})
	return wrap(err, "revoke calendar token")
}

// CalendarEntry is one visit of a feed with the names it shows: visitors'
// names only, never their identity numbers or phones.
type CalendarEntry struct {
	Visit    Visit
	OrgName  string
	SiteName string
	Escort   string
	Visitors []string
}

// CalendarFeed is the owner of a feed token and the visits the feed
// shows.
type CalendarFeed struct {
	User    User
	OrgName string // a customer's organization; "" for reception
	Entries []CalendarEntry
}

// CalendarFeedOf returns the feed of token raw: for a customer, their
// organization's approved visits; for reception, every organization's;
// both with the visits cancelled after approval (so subscribed calendars
// drop them), planned to end at most CalendarPast ago, by entry. An
// unknown or revoked token, a disabled user, or a role without feeds is
// ErrNotFound. The token's last use is written at most once a minute.
func (s *Store) CalendarFeedOf(ctx context.Context, raw string) (*CalendarFeed, error) {
	if !ValidCalendarToken(raw) {
		return nil, wrap(ErrNotFound, "calendar feed")
	}
	db := s.db.WithContext(ctx)
	var t CalendarToken
	if err := db.Where("token_hash = ?", hashCalendarToken(raw)).First(&t).Error; err != nil {
		return nil, wrap(notFound(err), "calendar feed")
	}
	f := &CalendarFeed{}
	if err := db.First(&f.User, t.UserID).Error; err != nil {
		return nil, wrap(notFound(err), "calendar feed")
	}
	sc := ScopeOf(&f.User)
	orgID, own := sc.Org()
	if f.User.Disabled() || !MayHaveCalendar(f.User.Role) || !(sc.All() || own) {
		return nil, wrap(ErrNotFound, "calendar feed")
	}
	orgs, sites := map[int64]string{}, map[int64]string{}
	if own {
		if err := s.lookupName(db, &Organization{}, orgID, orgs); err != nil {
			return nil, wrap(err, "calendar feed")
		}
		f.OrgName = orgs[orgID]
	}
	now := s.now()
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= calendarTouchEvery {
		err := db.Model(&CalendarToken{}).Where("user_id = ? AND (last_used_at IS NULL OR last_used_at < ?)", t.UserID, now.Add(-calendarTouchEvery)).
			Update("last_used_at", now).Error
		if err != nil {
			return nil, wrap(err, "calendar feed")
		}
	}
	var visits []Visit
	err := sc.apply(db.Model(&Visit{}), "org_id").
		Where("(state = ? OR (state = ? AND decided_at IS NOT NULL)) AND planned_to >= ?", VisitApproved, VisitCancelled, now.Add(-CalendarPast)).
		Order("planned_from, id").Limit(calendarMax).Find(&visits).Error
	if err != nil {
		return nil, wrap(err, "calendar feed")
	}
	if len(visits) == 0 {
		return f, nil
	}
	ids := make([]int64, len(visits))
	var escorts []*int64
	for i, v := range visits {
		ids[i] = v.ID
		escorts = append(escorts, v.EscortID)
		if err := s.lookupName(db, &Organization{}, v.OrgID, orgs); err != nil {
			return nil, wrap(err, "calendar feed")
		}
		if err := s.lookupName(db, &Site{}, v.SiteID, sites); err != nil {
			return nil, wrap(err, "calendar feed")
		}
	}
	names, err := s.userNames(db, escorts...)
	if err != nil {
		return nil, wrap(err, "calendar feed")
	}
	var visitors []Visitor
	if err := findIn(db, ids, &visitors, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return q.Select("visit_id", "seq", "name").Where("visit_id IN ?", chunk)
	}); err != nil {
		return nil, wrap(err, "calendar feed")
	}
	slices.SortFunc(visitors, func(a, b Visitor) int { return a.Seq - b.Seq })
	byVisit := map[int64][]string{}
	for _, x := range visitors {
		byVisit[x.VisitID] = append(byVisit[x.VisitID], x.Name)
	}
	for _, v := range visits {
		e := CalendarEntry{Visit: v, OrgName: orgs[v.OrgID], SiteName: sites[v.SiteID], Visitors: byVisit[v.ID]}
		if v.EscortID != nil {
			e.Escort = names[*v.EscortID]
		}
		f.Entries = append(f.Entries, e)
	}
	return f, nil
}
