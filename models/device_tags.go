package models

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gorm.io/gorm"
)

// Device tags: short labels a customer or staff gives devices ("web",
// "db", "rack-A") to find them on the uptime page and the fleet. Tags
// are compared without case and stored in lower case.
const (
	MaxDeviceTags = 10
	MaxTagLen     = 32
)

// DeviceTag is one tag of one device; OrgID repeats the device's, so
// that an organization's tags are read by index.
type DeviceTag struct {
	DeviceID int64  `gorm:"primaryKey;autoIncrement:false"`
	Tag      string `gorm:"primaryKey"`
	OrgID    int64
}

func (DeviceTag) TableName() string { return "device_tags" }

var tagRE = regexp.MustCompile(`^[a-z0-9._-]{1,32}$`)

// ParseTags reads the tags of a form field, an import column or a CLI
// flag: separated by commas or white space, lower-cased, each 1–32 Latin
// letters, digits, '-', '_' or '.', at most MaxDeviceTags of them once
// duplicates are dropped. The result is sorted.
func ParseTags(s string) ([]string, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == '，' || r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\u3000'
	})
	var tags []string
	for _, f := range fields {
		t := strings.ToLower(f)
		if !tagRE.MatchString(t) {
			shown := []rune(f)
			if len(shown) > MaxTagLen+1 {
				shown = append(shown[:MaxTagLen], '…')
			}
			return nil, Invalid("tags", "error.tag_invalid", string(shown))
		}
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	if len(tags) > MaxDeviceTags {
		return nil, Invalid("tags", "error.tags_too_many", MaxDeviceTags)
	}
	slices.Sort(tags)
	return tags, nil
}

// splitTagList reads the tags that a page's query concatenated (comma
// separated, in any order).
func splitTagList(s string) []string {
	if s == "" {
		return nil
	}
	tags := strings.Split(s, ",")
	slices.Sort(tags)
	return tags
}

// tagListSQL selects, with a device d, its tags joined by commas.
const tagListSQL = "COALESCE((SELECT GROUP_CONCAT(t.tag) FROM device_tags t WHERE t.device_id = d.id), '') AS tag_list"

// setDeviceTags replaces the tags of device d with tags.
func setDeviceTags(tx *gorm.DB, d *Device, tags []string) error {
	if err := tx.Where("device_id = ?", d.ID).Delete(&DeviceTag{}).Error; err != nil {
		return err
	}
	return addDeviceTags(tx, d, tags)
}

// addDeviceTags gives device d, which has none, tags.
func addDeviceTags(tx *gorm.DB, d *Device, tags []string) error {
	if len(tags) == 0 {
		return nil
	}
	rows := make([]DeviceTag, len(tags))
	for i, t := range tags {
		rows[i] = DeviceTag{DeviceID: d.ID, Tag: t, OrgID: d.OrgID}
	}
	return tx.Create(&rows).Error
}

// DeviceTags lists the tags of a device of organization orgID, sorted.
func (s *Store) DeviceTags(ctx context.Context, sc Scope, orgID, deviceID int64) ([]string, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "device tags")
	}
	var tags []string
	err := s.db.WithContext(ctx).Model(&DeviceTag{}).Where("org_id = ? AND device_id = ?", orgID, deviceID).
		Order("tag").Limit(MaxDeviceTags).Pluck("tag", &tags).Error
	return tags, wrap(err, "device tags")
}

// MaxFilterChoices bounds the cabinets and the tags an uptime page
// offers as filters.
const MaxFilterChoices = 500

// FilterChoices are the values of an organization's cabinet and tag
// filters.
type FilterChoices struct {
	Cabinets, Tags []string
}

// OrgFilterChoices lists the cabinets of organization orgID's devices
// and their tags (at most MaxFilterChoices of each, sorted), in one
// query from the indexes by organization: nothing of another
// organization.
func (s *Store) OrgFilterChoices(ctx context.Context, sc Scope, orgID int64) (*FilterChoices, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "filter choices")
	}
	var rows []struct {
		Kind  int
		Value string
	}
	err := s.db.WithContext(ctx).Raw("SELECT * FROM (SELECT DISTINCT 0 AS kind, cabinet AS value FROM devices "+
		"WHERE org_id = ? AND cabinet <> '' ORDER BY cabinet LIMIT ?) c "+
		"UNION ALL SELECT * FROM (SELECT DISTINCT 1 AS kind, tag AS value FROM device_tags "+
		"WHERE org_id = ? ORDER BY tag LIMIT ?) t", orgID, MaxFilterChoices, orgID, MaxFilterChoices).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("models: filter choices of org %d: %w", orgID, err)
	}
	fc := &FilterChoices{}
	for _, r := range rows {
		if r.Kind == 0 {
			fc.Cabinets = append(fc.Cabinets, r.Value)
		} else {
			fc.Tags = append(fc.Tags, r.Value)
		}
	}
	slices.Sort(fc.Cabinets)
	slices.Sort(fc.Tags)
	return fc, nil
}
