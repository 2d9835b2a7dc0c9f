package views

import (
	"strings"

	"github.com/colo-portal/portal/models"
)

// SessionRow is one signed-in browser on the account page.
type SessionRow struct {
	Session models.Session
	Current bool // the browser looking at the page
}

// GroupSecret shows a TOTP secret in groups of four, to type by hand.
func GroupSecret(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Device names the browser and system of a User-Agent header in a few
// words ("Firefox on Windows"); keys for the parts the portal recognises,
// the raw browser name otherwise. It returns locale keys or names: the
// browser, the system ("" when unknown).
func Device(ua string) (browser, system string) {
	has := func(s string) bool { return strings.Contains(ua, s) }
	switch {
	case has("Edg/") || has("Edge/"):
		browser = "Edge"
	case has("OPR/") || has("Opera"):
		browser = "Opera"
	case has("Firefox/") || has("FxiOS/"):
		browser = "Firefox"
	case has("HeadlessChrome/"):
		browser = "Chrome (headless)"
	case has("Chrome/") || has("CriOS/") || has("Chromium/"):
		browser = "Chrome"
	case has("Safari/"):
		browser = "Safari"
	case has("curl/"):
		browser = "curl"
	}
	switch {
	case has("Android"):
		system = "Android"
	case has("iPhone") || has("iPad") || has("iPod"):
		system = "iOS"
	case has("Windows"):
		system = "Windows"
	case has("Mac OS X") || has("Macintosh"):
		system = "macOS"
	case has("CrOS"):
		system = "ChromeOS"
	case has("Linux"):
		system = "Linux"
	}
	return browser, system
}
