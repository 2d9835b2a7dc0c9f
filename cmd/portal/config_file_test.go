package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// secretFile writes content to a file of its own and returns its path.
func secretFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadConfigSecretFiles(t *testing.T) {
	secret := strings.Repeat("k", 40)
	dbURL := "mysql://portal:s3cret@db.internal:3306/portal"
	t.Run("each secret is read from its _FILE without the trailing line break", func(t *testing.T) {
		c, err := loadConfig(env(map[string]string{
			"PORTAL_SECRET_FILE":         secretFile(t, secret+"\n"),
			"PORTAL_DATABASE_URL_FILE":   secretFile(t, dbURL+"\r\n"),
			"PORTAL_SMTP_HOST":           "mx.test",
			"PORTAL_SMTP_FROM":           "noc@idc.example",
			"PORTAL_SMTP_USER":           "noc",
			"PORTAL_SMTP_PASSWORD_FILE":  secretFile(t, " pass word \n"),
			"PORTAL_WEBHOOK_URL":         "https://gw.test/hook",
			"PORTAL_WEBHOOK_SECRET_FILE": secretFile(t, "0123456789abcdef"),
		}))
		if err != nil {
			t.Fatal(err)
		}
		if string(c.Secret) != secret {
			t.Errorf("Secret = %q, want %q", c.Secret, secret)
		}
		if c.DatabaseURL != dbURL {
			t.Errorf("DatabaseURL = %q, want %q", c.DatabaseURL, dbURL)
		}
		// Only the line break goes: spaces may be part of a password.
		if c.Notify.SMTP.Password != " pass word " {
			t.Errorf("SMTP password = %q, want %q", c.Notify.SMTP.Password, " pass word ")
		}
		if c.Notify.Webhook.Secret != "0123456789abcdef" {
			t.Errorf("webhook secret = %q", c.Notify.Webhook.Secret)
		}
	})
	for _, name := range []string{"PORTAL_SECRET", "PORTAL_DATABASE_URL", "PORTAL_SMTP_PASSWORD", "PORTAL_WEBHOOK_SECRET"} {
		t.Run(name+" and its _FILE both set is refused", func(t *testing.T) {
			_, err := loadConfig(env(map[string]string{name: "value-in-the-env", name + "_FILE": secretFile(t, "value-in-the-file")}))
			if err == nil || !strings.Contains(err.Error(), name+" and "+name+"_FILE are both set") {
				t.Fatalf("error %v, want one saying both are set", err)
			}
			for _, v := range []string{"value-in-the-env", "value-in-the-file"} {
				if strings.Contains(err.Error(), v) {
					t.Errorf("the error shows the secret: %v", err)
				}
			}
		})
		t.Run(name+"_FILE that cannot be read is reported", func(t *testing.T) {
			missing := filepath.Join(t.TempDir(), "no-such-file")
			_, err := loadConfig(env(map[string]string{name + "_FILE": missing}))
			if err == nil || !strings.Contains(err.Error(), name+"_FILE") || !strings.Contains(err.Error(), "no-such-file") {
				t.Fatalf("error %v, want one naming %s_FILE and the file", err, name)
			}
		})
		t.Run(name+"_FILE that is empty is reported", func(t *testing.T) {
			_, err := loadConfig(env(map[string]string{name + "_FILE": secretFile(t, "\n")}))
			if err == nil || !strings.Contains(err.Error(), name+"_FILE") || !strings.Contains(err.Error(), "is empty") {
				t.Fatalf("error %v, want one saying %s_FILE is empty", err, name)
			}
		})
	}
	t.Run("a secret read from a file is validated like one from the environment, without showing it", func(t *testing.T) {
		_, err := loadConfig(env(map[string]string{"PORTAL_SECRET_FILE": secretFile(t, "too-short-key\n")}))
		if err == nil || !strings.Contains(err.Error(), "PORTAL_SECRET: want at least 32 characters") {
			t.Fatalf("error %v, want PORTAL_SECRET too short", err)
		}
		if strings.Contains(err.Error(), "too-short-key") {
			t.Errorf("the error shows the secret: %v", err)
		}
	})
	t.Run("a database URL the parser quotes in its error is not shown", func(t *testing.T) {
		for _, e := range []map[string]string{
			{"PORTAL_DATABASE_URL": "mysql://portal:pa ss-word@db.internal:3306/portal"},
			{"PORTAL_DATABASE_URL_FILE": secretFile(t, "mysql://portal:pa ss-word@db.internal:3306/portal\n")},
		} {
			_, err := loadConfig(env(e))
			if err == nil || !strings.Contains(err.Error(), "PORTAL_DATABASE_URL") {
				t.Fatalf("%v: error %v, want one naming PORTAL_DATABASE_URL", e, err)
			}
			if strings.Contains(err.Error(), "ss-word") {
				t.Errorf("the error shows the password: %v", err)
			}
		}
	})
	t.Run("problems with files are reported with all the others at once", func(t *testing.T) {
		dir := t.TempDir()
		_, err := loadConfig(env(map[string]string{
			"PORTAL_SECRET_FILE":       filepath.Join(dir, "a"),
			"PORTAL_DATABASE_URL_FILE": filepath.Join(dir, "b"),
			"PORTAL_SMTP_PASSWORD":     "x", "PORTAL_SMTP_PASSWORD_FILE": filepath.Join(dir, "c"),
			"PORTAL_WEBHOOK_SECRET_FILE": filepath.Join(dir, "d"),
			"PORTAL_LOG_FORMAT":          "xml",
			"PORTAL_RETENTION_DAYS":      "1",
		}))
		if err == nil {
			t.Fatal("accepted")
		}
		for _, k := range []string{"PORTAL_SECRET_FILE", "PORTAL_DATABASE_URL_FILE", "PORTAL_SMTP_PASSWORD and PORTAL_SMTP_PASSWORD_FILE",
			"PORTAL_WEBHOOK_SECRET_FILE", "PORTAL_LOG_FORMAT", "PORTAL_RETENTION_DAYS"} {
			if !strings.Contains(err.Error(), k) {
				t.Errorf("error does not name %s:\n%v", k, err)
			}
		}
		if n := len(strings.Split(err.Error(), "\n")); n != 6 {
			t.Errorf("error has %d lines, want one per problem (6):\n%v", n, err)
		}
	})
}

// Every integer setting refuses what is not a whole number in its range,
// with the same wording, and takes its bounds.
func TestLoadConfigIntegerSettings(t *testing.T) {
	tests := []struct {
		name   string
		lo, hi string
		want   string
	}{
		{"PORTAL_PROBER_WORKERS", "1", "4096", "want a number from 1 to 4096"},
		{"PORTAL_RETENTION_DAYS", "7", "3650", "want a number of days from 7 to 3650"},
		{"PORTAL_UPLOAD_MAX_MB", "1", "50", "want a number of megabytes from 1 to 50"},
		{"PORTAL_SMTP_PORT", "1", "65535", "want a port number from 1 to 65535"},
		{"PORTAL_CONTACT_CONFIRM_DAYS", "7", "730", "want a number of days from 7 to 730"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, ok := range []string{tt.lo, tt.hi} {
				if _, err := loadConfig(env(map[string]string{tt.name: ok})); err != nil {
					t.Errorf("%s=%s: %v", tt.name, ok, err)
				}
			}
			for _, bad := range []string{"0", "99999", "ten", "1.5"} {
				if bad == tt.lo || bad == tt.hi {
					continue
				}
				_, err := loadConfig(env(map[string]string{tt.name: bad}))
				if want := tt.name + "=\"" + bad + "\": " + tt.want; err == nil || err.Error() != want {
					t.Errorf("%s=%s: error %v, want %q", tt.name, bad, err, want)
				}
			}
		})
	}
}

// README's configuration table and portal help list every setting, and
// the _FILE variant of every secret.
func TestReadmeListsEverySetting(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	var help strings.Builder
	if err := run(t.Context(), []string{"help"}, strings.NewReader(""), &help, env(nil)); err != nil {
		t.Fatal(err)
	}
	for _, s := range settings() {
		names := []string{s.name}
		if s.secret {
			names = append(names, s.name+"_FILE")
		}
		for _, n := range names {
			if !strings.Contains(readme, "`"+n+"`") {
				t.Errorf("README.md does not list `%s`", n)
			}
			if !strings.Contains(help.String(), n) {
				t.Errorf("portal help does not list %s", n)
			}
		}
	}
}
