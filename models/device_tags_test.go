package models_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

func TestParseTags(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		key  string
	}{
		{"", nil, ""},
		{"web", []string{"web"}, ""},
		{" Web, db  rack-A\tweb ", []string{"db", "rack-a", "web"}, ""},
		{"a，b", []string{"a", "b"}, ""}, // a full-width comma
		{"v1.2_x-y", []string{"v1.2_x-y"}, ""},
		{strings.Repeat("x", 32), []string{strings.Repeat("x", 32)}, ""},
		{strings.Repeat("x", 33), nil, "error.tag_invalid"},
		{"db/2", nil, "error.tag_invalid"},
		{"网站", nil, "error.tag_invalid"},
		{"a b c d e f g h i j", []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}, ""},
		{"a b c d e f g h i j k", nil, "error.tags_too_many"},
		{"a A b B c C d D e E f F g G h H i I j J", []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}, ""},
	} {
		got, err := models.ParseTags(tc.in)
		v, _ := models.AsValidation(err)
		switch {
		case tc.key == "" && err != nil:
			t.Errorf("ParseTags(%q): %v", tc.in, err)
		case tc.key != "" && (v == nil || v.Key != tc.key || v.Field != "tags"):
			t.Errorf("ParseTags(%q): %v, want %s on tags", tc.in, err, tc.key)
		case !slices.Equal(got, tc.want):
			t.Errorf("ParseTags(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// An import's tags column gives devices their tags; a bad tag, or a
// later row of a device with other tags, imports nothing. Each
// organization's filter choices hold only its own cabinets and tags.
func TestImportDevicesWithTags(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, _ *dbtest.Clock) {
		fx, ctx, sys := dbtest.Seed(t, s), context.Background(), models.SystemActor("test")
		row := func(line int, org, name, addr, cabinet, tags string) models.DeviceImportRow {
			return models.DeviceImportRow{Line: line, Org: org, Name: name, Address: addr, Cabinet: cabinet, Tags: tags}
		}
		for _, tc := range []struct {
			name  string
			rows  []models.DeviceImportRow
			field string
			line  int
		}{
			{"a bad tag", []models.DeviceImportRow{row(2, "alpha", "web-1", "10.0.0.1", "", "web db/2")}, "tags", 2},
			{"too many", []models.DeviceImportRow{row(2, "alpha", "web-1", "10.0.0.1", "", "a b c d e f g h i j k")}, "tags", 2},
			{"a later row with other tags", []models.DeviceImportRow{row(2, "alpha", "web-1", "10.0.0.1", "", "web"),
				row(3, "alpha", "web-1", "", "", "db")}, "tags", 3},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.ImportDevices(ctx, sys, tc.rows)
				var ie *models.ImportError
				if !errors.As(err, &ie) || len(ie.Problems) != 1 || ie.Problems[0].Field != tc.field || ie.Problems[0].Line != tc.line {
					t.Fatalf("import: %v, want one problem on line %d, %s", err, tc.line, tc.field)
				}
				if ds, _ := s.ListDevices(ctx, models.AllOrgs(), fx.OrgA.ID); len(ds) != 0 {
					t.Errorf("imported %d devices", len(ds))
				}
			})
		}
		sum, err := s.ImportDevices(ctx, sys, []models.DeviceImportRow{
			row(2, "alpha", "web-1", "10.0.0.1", "A01", "Web, prod"),
			row(3, "alpha", "web-1", "", "", "prod web"), // the same tags again
			row(4, "alpha", "db-1", "10.0.0.2", "A02", ""),
			row(5, "bravo", "game-1", "10.0.1.1", "B07", "secret"),
		})
		if err != nil || sum.Devices != 3 {
			t.Fatalf("import: %+v, %v", sum, err)
		}
		ds, err := s.ListDevices(ctx, models.AllOrgs(), fx.OrgA.ID)
		if err != nil || len(ds) != 2 {
			t.Fatal(ds, err)
		}
		for _, d := range ds {
			tags, err := s.DeviceTags(ctx, models.OrgScope(fx.OrgA.ID), fx.OrgA.ID, d.ID)
			want := map[string][]string{"web-1": {"prod", "web"}, "db-1": nil}[d.Name]
			if err != nil || !slices.Equal(tags, want) {
				t.Errorf("%s: tags %v, %v; want %v", d.Name, tags, err, want)
			}
		}
		fc, err := s.OrgFilterChoices(ctx, models.OrgScope(fx.OrgA.ID), fx.OrgA.ID)
		if err != nil || !slices.Equal(fc.Cabinets, []string{"A01", "A02"}) || !slices.Equal(fc.Tags, []string{"prod", "web"}) {
			t.Errorf("choices of A: %+v, %v", fc, err)
		}
		if _, err := s.OrgFilterChoices(ctx, models.OrgScope(fx.OrgA.ID), fx.OrgB.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("A's scope asking B's choices: %v, want not found", err)
		}
		if _, err := s.DeviceTags(ctx, models.OrgScope(fx.OrgA.ID), fx.OrgB.ID, ds[0].ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("A's scope asking B's device tags: %v, want not found", err)
		}
		evs, err := s.ListAudit(ctx, models.AllOrgs(), models.AuditFilter{Action: models.AuditDeviceCreated})
		found := false
		for _, ev := range evs {
			found = found || strings.Contains(ev.Detail, `"tags":"prod,web"`)
		}
		if err != nil || !found {
			t.Errorf("no device creation audited with its tags: %v", err)
		}
	})
}
