package main

import (
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/notify"
)

func TestLoadConfigNotify(t *testing.T) {
	t.Run("without settings no email or webhook goes out and contacts are re-confirmed every 90 days", func(t *testing.T) {
		c, err := loadConfig(env(nil))
		if err != nil {
			t.Fatal(err)
		}
		if c.Notify.SMTP.Host != "" || c.Notify.Webhook.URL != "" || c.Notify.ConfirmEvery != models.DefaultConfirmEvery {
			t.Fatalf("notify = %+v", c.Notify)
		}
	})
	t.Run("a full mail and gateway setup is read", func(t *testing.T) {
		c, err := loadConfig(env(map[string]string{
			"PORTAL_SMTP_HOST": "smtp.idc.example", "PORTAL_SMTP_USER": "noc", "PORTAL_SMTP_PASSWORD": "pw",
			"PORTAL_SMTP_FROM": "Colo NOC <noc@idc.example>", "PORTAL_WEBHOOK_URL": "https://sms.idc.example/hook",
			"PORTAL_WEBHOOK_SECRET": "0123456789abcdef", "PORTAL_CONTACT_CONFIRM_DAYS": "30"}))
		if err != nil {
			t.Fatal(err)
		}
		s := c.Notify.SMTP
		if s.Host != "smtp.idc.example" || s.Port != 587 || s.Mode != notify.ModeStartTLS || s.User != "noc" || s.Password != "pw" ||
			s.From != "Colo NOC <noc@idc.example>" {
			t.Errorf("SMTP = %+v", s)
		}
		if c.Notify.Webhook.URL != "https://sms.idc.example/hook" || c.Notify.Webhook.Secret != "0123456789abcdef" {
			t.Errorf("webhook = %+v", c.Notify.Webhook)
		}
		if c.Notify.ConfirmEvery != 30*24*time.Hour {
			t.Errorf("ConfirmEvery = %v", c.Notify.ConfirmEvery)
		}
	})
	t.Run("implicit TLS defaults to port 465 and an explicit port wins", func(t *testing.T) {
		c, err := loadConfig(env(map[string]string{"PORTAL_SMTP_HOST": "smtp.idc.example", "PORTAL_SMTP_FROM": "noc@idc.example", "PORTAL_SMTP_MODE": "TLS"}))
		if err != nil || c.Notify.SMTP.Port != 465 || c.Notify.SMTP.Mode != notify.ModeTLS {
			t.Fatalf("tls: %+v, %v", c.Notify.SMTP, err)
		}
		c, err = loadConfig(env(map[string]string{"PORTAL_SMTP_HOST": "127.0.0.1", "PORTAL_SMTP_FROM": "noc@idc.example",
			"PORTAL_SMTP_MODE": "none", "PORTAL_SMTP_PORT": "25", "PORTAL_SMTP_USER": "relay"}))
		if err != nil || c.Notify.SMTP.Port != 25 {
			t.Fatalf("a plain relay on localhost with a login: %+v, %v", c.Notify.SMTP, err)
		}
	})
	bad := []struct {
		name   string
		env    map[string]string
		names  string
		secret string // must not appear in the error
	}{
		{"an unknown mode", map[string]string{"PORTAL_SMTP_HOST": "mx.test", "PORTAL_SMTP_FROM": "a@b.test", "PORTAL_SMTP_MODE": "ssl"}, "PORTAL_SMTP_MODE", ""},
		{"a port out of range", map[string]string{"PORTAL_SMTP_HOST": "mx.test", "PORTAL_SMTP_FROM": "a@b.test", "PORTAL_SMTP_PORT": "70000"}, "PORTAL_SMTP_PORT", ""},
		{"a host with a port", map[string]string{"PORTAL_SMTP_HOST": "mx.test:25", "PORTAL_SMTP_FROM": "a@b.test"}, "PORTAL_SMTP_HOST", ""},
		{"a host without a sender", map[string]string{"PORTAL_SMTP_HOST": "mx.test"}, "PORTAL_SMTP_FROM", ""},
		{"a malformed sender", map[string]string{"PORTAL_SMTP_HOST": "mx.test", "PORTAL_SMTP_FROM": "noc at idc"}, "PORTAL_SMTP_FROM", ""},
		{"a login without a host", map[string]string{"PORTAL_SMTP_USER": "noc"}, "PORTAL_SMTP_HOST", ""},
		{"a password without a user", map[string]string{"PORTAL_SMTP_HOST": "mx.test", "PORTAL_SMTP_FROM": "a@b.test", "PORTAL_SMTP_PASSWORD": "hunter2-secret"}, "PORTAL_SMTP_USER", "hunter2-secret"},
		{"a login in clear over the network", map[string]string{"PORTAL_SMTP_HOST": "mx.test", "PORTAL_SMTP_FROM": "a@b.test", "PORTAL_SMTP_MODE": "none",
			"PORTAL_SMTP_USER": "noc", "PORTAL_SMTP_PASSWORD": "hunter2-secret"}, "PORTAL_SMTP_MODE", "hunter2-secret"},
		{"a webhook without a secret", map[string]string{"PORTAL_WEBHOOK_URL": "https://gw.test/x"}, "PORTAL_WEBHOOK_SECRET", ""},
		{"a short webhook secret", map[string]string{"PORTAL_WEBHOOK_URL": "https://gw.test/x", "PORTAL_WEBHOOK_SECRET": "short-secret"}, "PORTAL_WEBHOOK_SECRET", "short-secret"},
		{"a webhook URL that is not http", map[string]string{"PORTAL_WEBHOOK_URL": "ftp://gw.test/?token=tok-123", "PORTAL_WEBHOOK_SECRET": "0123456789abcdef"}, "PORTAL_WEBHOOK_URL", "tok-123"},
		{"a secret without a URL", map[string]string{"PORTAL_WEBHOOK_SECRET": "0123456789abcdef"}, "PORTAL_WEBHOOK_URL", "0123456789abcdef"},
		{"a confirmation period too short", map[string]string{"PORTAL_CONTACT_CONFIRM_DAYS": "1"}, "PORTAL_CONTACT_CONFIRM_DAYS", ""},
		{"a confirmation period that is not a number", map[string]string{"PORTAL_CONTACT_CONFIRM_DAYS": "quarterly"}, "PORTAL_CONTACT_CONFIRM_DAYS", ""},
	}
	for _, b := range bad {
		t.Run(b.name+" is refused with a clear message", func(t *testing.T) {
			_, err := loadConfig(env(b.env))
			if err == nil || !strings.Contains(err.Error(), b.names) {
				t.Fatalf("error %v, want one naming %s", err, b.names)
			}
			if b.secret != "" && strings.Contains(err.Error(), b.secret) {
				t.Errorf("the error shows a secret: %v", err)
			}
		})
	}
}
