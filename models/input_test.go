package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

func TestCheckLineAndCheckText(t *testing.T) {
	for _, tc := range []struct {
		s         string
		line, txt string // the key each refuses with, "" when accepted
	}{
		{"plain 中文 text", "", ""},
		{"a\x00b", "error.control_chars", "error.control_chars_text"},
		{"a\nb", "error.control_chars", ""},
		{"a\r\nb", "error.control_chars", ""},
		{"a\tb", "error.control_chars", ""},
		{"a\x1bb", "error.control_chars", "error.control_chars_text"},
		{"a\x07b", "error.control_chars", "error.control_chars_text"},
		{"a\x7fb", "error.control_chars", "error.control_chars_text"},
		{"a\xffb", "error.invalid_text", "error.invalid_text"},
	} {
		for _, c := range []struct {
			name  string
			check func(string, string, int) error
			want  string
		}{{"CheckLine", models.CheckLine, tc.line}, {"CheckText", models.CheckText, tc.txt}} {
			err := c.check("f", tc.s, 100)
			v, _ := models.AsValidation(err)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("%s(%q) = %v, want accepted", c.name, tc.s, err)
			case c.want != "" && (v == nil || v.Key != c.want || v.Field != "f"):
				t.Errorf("%s(%q) = %v, want %s on f", c.name, tc.s, err, c.want)
			}
		}
	}
}

func TestCheckDateRange(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		t  time.Time
		ok bool
	}{
		{time.Date(1, 1, 1, 0, 0, 0, 0, sh), false},
		{time.Date(1999, 12, 31, 23, 59, 0, 0, sh), false},
		{time.Date(2000, 1, 1, 0, 0, 0, 0, sh), true}, // 1999-12-31 16:00 UTC: the range is the portal's days
		{time.Date(2099, 12, 31, 23, 59, 0, 0, sh), true},
		{time.Date(2100, 1, 1, 0, 0, 0, 0, sh), false},
	} {
		if err := models.CheckDate("d", tc.t, sh); (err == nil) != tc.ok {
			t.Errorf("CheckDate(%s) = %v, want ok=%v", tc.t, err, tc.ok)
		}
	}
}

// The command-line device import goes through the same field checks.
func TestImportRefusesControlCharacters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		dbtest.Seed(t, s)
		_, err := s.ImportDevices(context.Background(), models.SystemActor("test"), []models.DeviceImportRow{
			{Line: 2, Org: "alpha", Name: "web\x1b[2J-1", Address: "10.0.0.1"},
			{Line: 3, Org: "alpha", Name: "web-2", Address: "10.0.0.2", Cabinet: "A\r\n01"},
		})
		var ie *models.ImportError
		if !errors.As(err, &ie) || len(ie.Problems) != 2 {
			t.Fatalf("err = %v, want an ImportError naming lines 2 and 3", err)
		}
		for _, p := range ie.Problems {
			if p.Key != "error.control_chars" {
				t.Errorf("line %d: %v, want error.control_chars", p.Line, p.ValidationError)
			}
		}
	})
}
