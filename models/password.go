package models

import (
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// PasswordHasher holds Argon2id parameters. Memory is in KiB.
type PasswordHasher struct {
	Memory  uint32
	Time    uint32
	Threads uint8
}

// DefaultHasher follows the OWASP floor for Argon2id: 19 MiB, 2 passes.
var DefaultHasher = PasswordHasher{Memory: 19 * 1024, Time: 2, Threads: 1}

const (
	argonKeyLen  = 32
	argonSaltLen = 16
	// MinPasswordLen is the shortest password accepted, in characters
	// (OWASP ASVS 4.0 §2.1.1).
	MinPasswordLen = 12
	// MaxPasswordLen bounds the work one sign-in can cause.
	MaxPasswordLen = 256
)

// Hash returns a PHC-format Argon2id hash of password.
func (h PasswordHasher) Hash(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, h.Time, h.Memory, h.Threads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.Memory, h.Time, h.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether password matches encoded, and whether the hash was
// made with weaker parameters than h and should be replaced.
func (h PasswordHasher) Verify(encoded, password string) (ok, rehash bool) {
	p, salt, key, err := parseArgon2id(encoded)
	if err != nil {
		return false, false
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return false, false
	}
	return true, p.Memory < h.Memory || p.Time < h.Time || p.Threads < h.Threads
}

func parseArgon2id(encoded string) (PasswordHasher, []byte, []byte, error) {
	var p PasswordHasher
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("not an argon2id hash")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, fmt.Errorf("unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, fmt.Errorf("bad argon2 parameters")
	}
	// A corrupt or hostile stored hash must not panic the library or make
	// one sign-in allocate gigabytes.
	if p.Time < 1 || p.Time > 20 || p.Threads < 1 || p.Memory < 8*uint32(p.Threads) || p.Memory > 1<<20 {
		return p, nil, nil, fmt.Errorf("argon2 parameters out of range")
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return p, nil, nil, err
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, fmt.Errorf("bad argon2 key")
	}
	return p, salt, key, nil
}

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
