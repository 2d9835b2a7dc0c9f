// Package passhash hashes passwords with Argon2id and verifies them, in the
// PHC string format ($argon2id$v=19$m=…,t=…,p=…$salt$key). What a password
// must look like is the caller's policy, not this package's.
package passhash

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Hasher holds Argon2id parameters. Memory is in KiB.
type Hasher struct {
	Memory  uint32
	Time    uint32
	Threads uint8
}

// Default follows the OWASP floor for Argon2id: 19 MiB, 2 passes.
var Default = Hasher{Memory: 19 * 1024, Time: 2, Threads: 1}

const (
	argonKeyLen  = 32
	argonSaltLen = 16
)

// Hash returns a PHC-format Argon2id hash of password.
func (h Hasher) Hash(password string) (string, error) {
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
func (h Hasher) Verify(encoded, password string) (ok, rehash bool) {
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

func parseArgon2id(encoded string) (Hasher, []byte, []byte, error) {
	var p Hasher
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
