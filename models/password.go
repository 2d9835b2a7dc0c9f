package models

import (
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"strings"
	"unicode/utf8"

	"github.com/colo-portal/portal/models/passhash"
)

// PasswordHasher is the password hasher a Store uses (WithHasher).
type PasswordHasher = passhash.Hasher

// DefaultHasher follows the OWASP floor for Argon2id: 19 MiB, 2 passes.
var DefaultHasher = passhash.Default

const (
	// MinPasswordLen is the shortest password accepted, in characters
	// (OWASP ASVS 4.0 §2.1.1).
	MinPasswordLen = 12
	// MaxPasswordLen bounds the work one sign-in can cause.
	MaxPasswordLen = 256
)

//go:embed common_passwords.txt
var commonPasswordList string

var commonPasswords = func() map[string]bool {
	m := map[string]bool{}
	for _, line := range strings.Split(commonPasswordList, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			m[strings.ToLower(line)] = true
		}
	}
	return m
}()

// CheckPasswordPolicy refuses passwords that are short, common, one repeated
// character, a plain run like 1234567890, or built from the user's email.
func CheckPasswordPolicy(password, email string) error {
	n := utf8.RuneCountInString(password)
	if n < MinPasswordLen {
		return Invalid("password", "error.password_too_short", MinPasswordLen)
	}
	if len(password) > MaxPasswordLen {
		return Invalid("password", "error.password_too_long", MaxPasswordLen)
	}
	lower := strings.ToLower(password)
	if commonPasswords[lower] || isRepeatOrRun(lower) {
		return Invalid("password", "error.password_common")
	}
	if local, _, ok := strings.Cut(strings.ToLower(email), "@"); ok && len(local) >= 4 && strings.Contains(lower, local) {
		return Invalid("password", "error.password_contains_email")
	}
	// A common password with digits or a symbol tacked on is still common.
	stripped := strings.TrimRight(lower, "0123456789!@#$%^&*.?_-")
	if stripped != lower && len(stripped) >= 4 && commonPasswords[stripped] {
		return Invalid("password", "error.password_common")
	}
	return nil
}

// isRepeatOrRun reports a password made of one repeated character or of
// repeats of a short run of consecutive characters.
func isRepeatOrRun(s string) bool {
	r := []rune(s)
	same, up, down := true, true, true
	for i := 1; i < len(r); i++ {
		same = same && r[i] == r[0]
		up = up && (r[i] == r[i-1]+1 || (r[i-1] == '9' && r[i] == '0'))
		down = down && r[i] == r[i-1]-1
	}
	if same || up || down {
		return true
	}
	for period := 2; period <= len(r)/2; period++ {
		if len(r)%period != 0 {
			continue
		}
		unit := string(r[:period])
		if strings.Repeat(unit, len(r)/period) == s {
			return true
		}
	}
	return false
}

// RandomPassword returns a password that passes the policy, for resets.
func RandomPassword() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
