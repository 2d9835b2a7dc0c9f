package models_test

import (
	"testing"

	"github.com/colo-portal/portal/models"
)

// A tracking number is matched however a scanner or a person typed it:
// spaces, letter case, and full-width characters from a Chinese input
// method in full-width mode (those were refused before).
func TestNormalizeTracking(t *testing.T) {
	for in, want := range map[string]string{
		" sf 1402 8899 0 ": "SF140288990",
		"SF1402-88.99_0":   "SF1402-88.99_0",
		"ｓｆ１４０２　８８９９０":     "SF140288990",
		"ＪＤ－０００１":          "JD-0001",
		"":                 "",
	} {
		if got := models.NormalizeTracking(in); got != want {
			t.Errorf("NormalizeTracking(%q) = %q, want %q", in, got, want)
		}
	}
}
