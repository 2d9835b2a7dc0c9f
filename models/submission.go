package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// SubmissionTTL is how long a form's one-time token is remembered: a form
// posted again within it leads to what the first post made instead of
// making it again.
const SubmissionTTL = 24 * time.Hour

// Submission is the use of a create form's one-time token by a user. The
// token is the key, so of parallel posts of one form exactly one claims it;
// Location is where the first post led (the record it made), empty while
// that post is still being handled.
type Submission struct {
	Token     string `gorm:"size:64;primaryKey"`
	UserID    int64  `gorm:"not null"`
	Location  string `gorm:"size:500;not null;default:''"`
	CreatedAt time.Time
}

func (Submission) TableName() string { return "form_submissions" }

// ClaimSubmission records the use of token by userID. It returns true when
// this call claimed it; otherwise the submission that did (its Location
// empty while that post is still being handled). A token of another user
// is ErrConflict.
func (s *Store) ClaimSubmission(ctx context.Context, token string, userID int64) (*Submission, bool, error) {
	db := s.db.WithContext(ctx)
	sub := &Submission{Token: token, UserID: userID, CreatedAt: s.now()}
	res := db.Clauses(clause.OnConflict{DoNothing: true}).Create(sub)
	if res.Error != nil {
		return nil, false, fmt.Errorf("models: claim submission: %w", res.Error)
	}
	if res.RowsAffected == 1 {
		return sub, true, nil
	}
	// ErrNotFound: released meanwhile by a post that failed, and the
	// caller may try again.
	got, err := s.GetSubmission(ctx, token, userID)
	return got, false, err
}

// GetSubmission reads the use of token by userID, without claiming it: a
// repeat of a form whose first post is still being handled polls with it.
// A token no longer recorded (given back by a post that made nothing, or
// purged) is ErrNotFound; a token of another user is ErrConflict.
func (s *Store) GetSubmission(ctx context.Context, token string, userID int64) (*Submission, error) {
	var got Submission
	if err := s.db.WithContext(ctx).Where("token = ?", token).Take(&got).Error; err != nil {
		return nil, fmt.Errorf("models: get submission: %w", notFound(err))
	}
	if got.UserID != userID {
		return nil, fmt.Errorf("models: get submission: %w", ErrConflict)
	}
	return &got, nil
}

// CompleteSubmission records where the post that claimed token led.
func (s *Store) CompleteSubmission(ctx context.Context, token string, userID int64, location string) error {
	err := s.db.WithContext(ctx).Model(&Submission{}).Where("token = ? AND user_id = ?", token, userID).
		Update("location", location).Error
	if err != nil {
		return fmt.Errorf("models: complete submission: %w", err)
	}
	return nil
}

// ReleaseSubmission forgets a claim whose post made nothing (the form was
// refused), so that the corrected form can be sent again.
func (s *Store) ReleaseSubmission(ctx context.Context, token string, userID int64) error {
	err := s.db.WithContext(ctx).Where("token = ? AND user_id = ? AND location = ''", token, userID).
		Delete(&Submission{}).Error
	if err != nil {
		return fmt.Errorf("models: release submission: %w", err)
	}
	return nil
}

// PurgeSubmissions forgets tokens used more than SubmissionTTL ago.
func (s *Store) PurgeSubmissions(ctx context.Context) (int64, error) {
	res := s.db.WithContext(ctx).Where("created_at < ?", s.now().Add(-SubmissionTTL)).Delete(&Submission{})
	if res.Error != nil {
		return 0, fmt.Errorf("models: purge submissions: %w", res.Error)
	}
	return res.RowsAffected, nil
}
