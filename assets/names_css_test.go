package assets

import (
	"os"
	"regexp"
	"testing"
)

// Device and organization names sit in the kicker above page titles:
// they are shown as typed ("web-01", not "WEB-01").
func TestNamesAreNeverUpperCased(t *testing.T) {
	css, err := os.ReadFile("static/portal.css")
	if err != nil {
		t.Fatal(err)
	}
	rule := regexp.MustCompile(`(?m)^\.kicker\s*\{[^}]*\}`).Find(css)
	if rule == nil {
		t.Fatal("no .kicker rule")
	}
	if regexp.MustCompile(`text-transform:\s*uppercase`).Match(rule) {
		t.Errorf("the kicker, which holds device and organization names, is upper-cased: %s", rule)
	}
}
