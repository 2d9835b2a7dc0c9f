package passhash_test

import (
	"strings"
	"testing"

	"github.com/colo-portal/portal/models/passhash"
)

// fast keeps the tests quick; the default parameters are tested too.
var fast = passhash.Hasher{Memory: 1024, Time: 1, Threads: 1}

func TestPasswordHashing(t *testing.T) {
	hashers := []struct {
		name string
		h    passhash.Hasher
	}{
		{"the fast test hasher", fast},
		{"the default hasher", passhash.Default},
	}
	passwords := []string{
		"correct horse battery",
		"长城很长，密码也很长",
		"with\x00nul and trailing space ",
		strings.Repeat("x", 256),
	}
	for _, hc := range hashers {
		for _, pw := range passwords {
			t.Run(hc.name+" verifies what it hashed and nothing else", func(t *testing.T) {
				enc, err := hc.h.Hash(pw)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(enc, pw) {
					t.Fatalf("hash %q contains the password", enc)
				}
				ok, rehash := hc.h.Verify(enc, pw)
				if !ok {
					t.Fatalf("Verify(right password) = false for %q", enc)
				}
				if rehash {
					t.Fatal("rehash = true when verifying with the parameters that made the hash")
				}
				for _, wrong := range []string{"", pw + "x", strings.ToUpper(pw), pw[:len(pw)-1]} {
					if wrong == pw {
						continue
					}
					if ok, rehash := hc.h.Verify(enc, wrong); ok || rehash {
						t.Fatalf("Verify(%q) = %v, %v, want false, false", wrong, ok, rehash)
					}
				}
			})
		}
	}

	t.Run("the same password hashes differently each time because of the salt", func(t *testing.T) {
		a, _ := fast.Hash("correct horse battery")
		b, _ := fast.Hash("correct horse battery")
		if a == b {
			t.Fatalf("two hashes are equal: %s", a)
		}
	})

	t.Run("the default hasher writes a PHC string with the OWASP parameters", func(t *testing.T) {
		enc, err := passhash.Default.Hash("correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Fatalf("hash %q does not start with $argon2id$v=19$m=19456,t=2,p=1$", enc)
		}
		if !strings.Contains(enc, "m=19456,t=2") {
			t.Fatalf("hash %q lacks m=19456,t=2", enc)
		}
		if n := strings.Count(enc, "$"); n != 5 {
			t.Fatalf("hash %q has %d '$', want 5", enc, n)
		}
	})
}

func TestPasswordRehashFlag(t *testing.T) {
	base := passhash.Hasher{Memory: 1024, Time: 1, Threads: 1}
	cases := []struct {
		name     string
		made     passhash.Hasher
		verifier passhash.Hasher
		want     bool
	}{
		{"a hash with less memory than the verifier asks for a rehash", base, passhash.Hasher{Memory: 2048, Time: 1, Threads: 1}, true},
		{"a hash with fewer passes than the verifier asks for a rehash", base, passhash.Hasher{Memory: 1024, Time: 2, Threads: 1}, true},
		{"a hash with fewer threads than the verifier asks for a rehash", base, passhash.Hasher{Memory: 1024, Time: 1, Threads: 2}, true},
		{"a fast test hash verified by the default hasher asks for a rehash", fast, passhash.Default, true},
		{"a hash with the verifier's own parameters needs no rehash", base, base, false},
		{"a hash stronger than the verifier needs no rehash", passhash.Hasher{Memory: 2048, Time: 2, Threads: 2}, base, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			enc, err := c.made.Hash("correct horse battery")
			if err != nil {
				t.Fatal(err)
			}
			ok, rehash := c.verifier.Verify(enc, "correct horse battery")
			if !ok {
				t.Fatal("right password did not verify across parameter sets")
			}
			if rehash != c.want {
				t.Fatalf("rehash = %v, want %v", rehash, c.want)
			}
			if ok, rehash := c.verifier.Verify(enc, "wrong horse battery"); ok || rehash {
				t.Fatalf("wrong password: Verify = %v, %v, want false, false", ok, rehash)
			}
		})
	}
}

func TestPasswordVerifyRefusesMalformedHashes(t *testing.T) {
	good, err := fast.Hash("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$")
	join := func(p ...string) string { return strings.Join(p, "$") }
	cases := []struct{ name, enc string }{
		{"an empty string is refused", ""},
		{"a plain string is refused", "correct horse battery"},
		{"an argon2i hash is refused", join("", "argon2i", parts[2], parts[3], parts[4], parts[5])},
		{"another argon2 version is refused", join("", "argon2id", "v=16", parts[3], parts[4], parts[5])},
		{"garbled parameters are refused", join("", "argon2id", parts[2], "m=x,t=1,p=1", parts[4], parts[5])},
		{"a salt that is not base64 is refused", join("", "argon2id", parts[2], parts[3], "!!!", parts[5])},
		{"an empty key is refused", join("", "argon2id", parts[2], parts[3], parts[4], "")},
		{"an extra field is refused", good + "$extra"},
		{"a different key is refused", join("", "argon2id", parts[2], parts[3], parts[4], "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if ok, rehash := fast.Verify(c.enc, "correct horse battery"); ok || rehash {
				t.Fatalf("Verify(%q) = %v, %v, want false, false", c.enc, ok, rehash)
			}
		})
	}
}
