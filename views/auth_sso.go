package views

import "net/url"

// ssoURL starts a single sign-on that comes back to next (a local path).
func ssoURL(next string) string {
	if next == "" {
		return "/login/sso"
	}
	return "/login/sso?next=" + url.QueryEscape(next)
}
