package main

import (
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/notify"
)

// NotifyConfig is how emergency notices go out (PORTAL_SMTP_*,
// PORTAL_WEBHOOK_*) and how often customers re-confirm their contacts.
type NotifyConfig struct {
	SMTP    notify.SMTPConfig
	Webhook notify.WebhookConfig
	// ConfirmEvery is PORTAL_CONTACT_CONFIRM_DAYS.
	ConfirmEvery time.Duration
}

// minWebhookSecret is the shortest webhook secret accepted.
const minWebhookSecret = 16

// loadNotifyConfig reads the notification settings; get returns a
// trimmed variable or its default. Secrets never appear in the errors.
func loadNotifyConfig(get func(k, def string) string) (NotifyConfig, []error) {
	var errs []error
	var c NotifyConfig
	s := &c.SMTP
	s.Host = get("PORTAL_SMTP_HOST", "")
	s.Mode = strings.ToLower(get("PORTAL_SMTP_MODE", notify.ModeStartTLS))
	s.User = get("PORTAL_SMTP_USER", "")
	s.Password = get("PORTAL_SMTP_PASSWORD", "")
	s.From = get("PORTAL_SMTP_FROM", "")
	s.HeloName = get("PORTAL_SMTP_HELO", "")
	switch s.Mode {
	case notify.ModeStartTLS, notify.ModeNone:
		s.Port = 587
	case notify.ModeTLS:
		s.Port = 465
	default:
		errs = append(errs, fmt.Errorf("PORTAL_SMTP_MODE=%q: want starttls, tls or none", s.Mode))
	}
	if v := get("PORTAL_SMTP_PORT", ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 65535 {
			errs = append(errs, fmt.Errorf("PORTAL_SMTP_PORT=%q: want a port number from 1 to 65535", v))
		} else {
			s.Port = n
		}
	}
	if s.Host == "" {
		if s.User != "" || s.From != "" {
			errs = append(errs, fmt.Errorf("PORTAL_SMTP_USER or PORTAL_SMTP_FROM is set but PORTAL_SMTP_HOST is not: set the mail server, or unset them to send no email"))
		}
	} else {
		if !models.ValidHost(s.Host) {
			errs = append(errs, fmt.Errorf("PORTAL_SMTP_HOST=%q: want a host name or IP address, without port or scheme (the port is PORTAL_SMTP_PORT)", s.Host))
		}
		if s.From == "" {
			errs = append(errs, fmt.Errorf("PORTAL_SMTP_FROM: required with PORTAL_SMTP_HOST, like \"Colo NOC <noc@idc.example>\""))
		} else if _, err := mail.ParseAddress(s.From); err != nil {
			errs = append(errs, fmt.Errorf("PORTAL_SMTP_FROM=%q: want an address like noc@idc.example or \"Colo NOC <noc@idc.example>\"", s.From))
		}
		local := s.Host == "localhost" || s.Host == "127.0.0.1" || s.Host == "::1"
		if s.User != "" && s.Mode == notify.ModeNone && !local {
			errs = append(errs, fmt.Errorf("PORTAL_SMTP_USER with PORTAL_SMTP_MODE=none: the password would cross the network in clear; use starttls or tls (plain login is allowed only to localhost)"))
		}
	}
	if s.Password != "" && s.User == "" {
		errs = append(errs, fmt.Errorf("PORTAL_SMTP_PASSWORD is set but PORTAL_SMTP_USER is not"))
	}

	w := &c.Webhook
	w.URL = get("PORTAL_WEBHOOK_URL", "")
	w.Secret = get("PORTAL_WEBHOOK_SECRET", "")
	if w.URL != "" {
		u, err := url.Parse(w.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("PORTAL_WEBHOOK_URL: want http://host/path or https://host/path"))
		}
		if len(w.Secret) < minWebhookSecret {
			errs = append(errs, fmt.Errorf("PORTAL_WEBHOOK_SECRET: required with PORTAL_WEBHOOK_URL, at least %d characters (the gateway checks the signature with it)", minWebhookSecret))
		}
	} else if w.Secret != "" {
		errs = append(errs, fmt.Errorf("PORTAL_WEBHOOK_SECRET is set but PORTAL_WEBHOOK_URL is not"))
	}

	c.ConfirmEvery = models.DefaultConfirmEvery
	if v := get("PORTAL_CONTACT_CONFIRM_DAYS", ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 7 || n > 730 {
			errs = append(errs, fmt.Errorf("PORTAL_CONTACT_CONFIRM_DAYS=%q: want a number of days from 7 to 730", v))
		} else {
			c.ConfirmEvery = time.Duration(n) * 24 * time.Hour
		}
	}
	return c, errs
}
