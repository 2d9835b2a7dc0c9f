package main

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
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
	// NoticeWindow (PORTAL_NOTICE_WINDOW) is how long a new outage notice
	// gathers the organization's other outages; NoticeMaxPerHour
	// (PORTAL_NOTICE_MAX_PER_HOUR) bounds a contact's outage notices per
	// hour (storm control). Both go to the Store (RecordResults,
	// ClaimDeliveries).
	NoticeWindow     time.Duration
	NoticeMaxPerHour int
	// Hooks sends customers' own webhooks (PORTAL_HOOKS_ALLOW_PRIVATE,
	// PORTAL_HOOK_ATTEMPTS, PORTAL_HOOK_DISABLE_AFTER); HookRules says
	// which endpoint URLs customers may register (PORTAL_HOOKS_ALLOW_HTTP,
	// PORTAL_HOOKS_ALLOW_PRIVATE), for the Store.
	Hooks     notify.HooksConfig
	HookRules models.HookRules
	// HookLog is how long finished webhook deliveries and their attempts
	// are kept (PORTAL_HOOK_LOG_DAYS); the janitor purges older ones.
	HookLog time.Duration
}

// minWebhookSecret is the shortest webhook secret accepted.
const minWebhookSecret = 16

// notifySettings are the notification settings. The SMTP port's default
// follows the mode, so it is filled in by crossCheck.
func notifySettings() []setting {
	str := func(set func(*NotifyConfig, string)) func(*Config, string) error {
		return func(c *Config, v string) error { set(&c.Notify, v); return nil }
	}
	return []setting{
		{name: "PORTAL_SMTP_HOST", help: "mail server for email notices; empty sends no email", set: func(c *Config, v string) error {
			// Kept when refused too, so the settings that go with it are
			// checked against it (and likewise the sender and the URL).
			c.Notify.SMTP.Host = v
			if v != "" && !models.ValidHost(v) {
				return errors.New("want a host name or IP address, without port or scheme (the port is PORTAL_SMTP_PORT)")
			}
			return nil
		}},
		{name: "PORTAL_SMTP_MODE", def: notify.ModeStartTLS, help: "starttls, tls or none",
			set: oneOf(func(c *Config, v string) { c.Notify.SMTP.Mode = v }, notify.ModeStartTLS, notify.ModeTLS, notify.ModeNone)},
		{name: "PORTAL_SMTP_PORT", help: "587, or 465 with tls", set: func(c *Config, v string) error {
			if v == "" {
				return nil
			}
			return intIn(1, 65535, "a port number", func(c *Config, n int) { c.Notify.SMTP.Port = n })(c, v)
		}},
		{name: "PORTAL_SMTP_USER", help: "login name; with it the password", set: str(func(n *NotifyConfig, v string) { n.SMTP.User = v })},
		{name: "PORTAL_SMTP_PASSWORD", secret: true, help: "login password", set: str(func(n *NotifyConfig, v string) { n.SMTP.Password = v })},
		{name: "PORTAL_SMTP_FROM", help: "sender, required with a host", set: func(c *Config, v string) error {
			c.Notify.SMTP.From = v
			if v != "" {
				if _, err := mail.ParseAddress(v); err != nil {
					return errors.New(`want an address like noc@idc.example or "Colo NOC <noc@idc.example>"`)
				}
			}
			return nil
		}},
		{name: "PORTAL_SMTP_HELO", help: "name given in EHLO", set: str(func(n *NotifyConfig, v string) { n.SMTP.HeloName = v })},
		// Not shown in errors: a token may sit in its query.
		{name: "PORTAL_WEBHOOK_URL", quiet: true, help: "the SMS, pager or fax gateway", set: func(c *Config, v string) error {
			c.Notify.Webhook.URL = v
			if v != "" {
				u, err := url.Parse(v)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					return errors.New("want http://host/path or https://host/path")
				}
			}
			return nil
		}},
		{name: "PORTAL_WEBHOOK_SECRET", secret: true, help: "signs every webhook request, at least " + strconv.Itoa(minWebhookSecret) + " characters",
			set: str(func(n *NotifyConfig, v string) { n.Webhook.Secret = v })},
		{name: "PORTAL_HOOKS_ALLOW_HTTP", def: "off", help: "on lets customers register http:// webhook endpoints; off: https only",
			set: oneOf(func(c *Config, v string) { c.Notify.HookRules.AllowHTTP = v == "on" }, "on", "off")},
		{name: "PORTAL_HOOKS_ALLOW_PRIVATE", def: "off", help: "on lets customer webhooks reach loopback, private and link-local addresses; off refuses them when connecting",
			set: oneOf(func(c *Config, v string) {
				c.Notify.HookRules.AllowPrivate = v == "on"
				c.Notify.Hooks.AllowPrivate = v == "on"
			}, "on", "off")},
		{name: "PORTAL_HOOK_ATTEMPTS", def: strconv.Itoa(notify.DefaultHookAttempts), help: "tries of one customer webhook delivery (backoff from 30s doubling up to 1h)",
			set: intIn(1, 30, "a number of attempts", func(c *Config, n int) { c.Notify.Hooks.Attempts = n })},
		{name: "PORTAL_HOOK_DISABLE_AFTER", def: strconv.Itoa(notify.DefaultHookDisableAfter), help: "failed attempts in a row after which a customer webhook endpoint is disabled and its administrator emailed",
			set: intIn(1, 1000, "a number of attempts", func(c *Config, n int) { c.Notify.Hooks.DisableAfter = n })},
		{name: "PORTAL_HOOK_LOG_DAYS", def: "30", help: "days finished customer webhook deliveries and their attempts are kept",
			set: intIn(1, 365, "a number of days", func(c *Config, n int) { c.Notify.HookLog = time.Duration(n) * 24 * time.Hour })},
		{name: "PORTAL_CONTACT_CONFIRM_DAYS", def: strconv.Itoa(int(models.DefaultConfirmEvery / (24 * time.Hour))), help: "days between contact list confirmations",
			set: intIn(7, 730, "a number of days", func(c *Config, n int) { c.Notify.ConfirmEvery = time.Duration(n) * 24 * time.Hour })},
		{name: "PORTAL_NOTICE_WINDOW", def: models.DefaultNoticeWindow.String(), help: "how long an outage notice gathers the organization's other outages before it goes out",
			set: durationIn(0, 10*time.Minute, "60s", func(c *Config, d time.Duration) { c.Notify.NoticeWindow = d })},
		{name: "PORTAL_NOTICE_MAX_PER_HOUR", def: strconv.Itoa(models.DefaultNoticeMaxPerHour), help: "outage notices a contact gets by one channel in any hour; the rest wait for one summary",
			set: intIn(1, 60, "a number of notices", func(c *Config, n int) { c.Notify.NoticeMaxPerHour = n })},
	}
}

// crossCheck fills in the SMTP port from the mode and reports settings that
// do not go together. Secrets never appear in the errors.
func (c *NotifyConfig) crossCheck() []error {
	var errs []error
	s := &c.SMTP
	if s.Port == 0 {
		s.Port = 587
		if s.Mode == notify.ModeTLS {
			s.Port = 465
		}
	}
	if s.Host == "" {
		if s.User != "" || s.From != "" {
			errs = append(errs, fmt.Errorf("PORTAL_SMTP_USER or PORTAL_SMTP_FROM is set but PORTAL_SMTP_HOST is not: set the mail server, or unset them to send no email"))
		}
	} else {
		if s.From == "" {
			errs = append(errs, fmt.Errorf("PORTAL_SMTP_FROM: required with PORTAL_SMTP_HOST, like \"Colo NOC <noc@idc.example>\""))
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
	if w.URL != "" {
		if len(w.Secret) < minWebhookSecret {
			errs = append(errs, fmt.Errorf("PORTAL_WEBHOOK_SECRET: required with PORTAL_WEBHOOK_URL, at least %d characters (the gateway checks the signature with it)", minWebhookSecret))
		}
	} else if w.Secret != "" {
		errs = append(errs, fmt.Errorf("PORTAL_WEBHOOK_SECRET is set but PORTAL_WEBHOOK_URL is not"))
	}
	return errs
}
