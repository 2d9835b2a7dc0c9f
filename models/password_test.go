package models_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/colo-portal/portal/models"
)

func TestCheckPasswordPolicy(t *testing.T) {
	const email = "johnsmith@example.com"
	cases := []struct {
		name     string
		password string
		email    string
		key      string // "" means accepted
	}{
		{"an empty password is too short", "", email, "error.password_too_short"},
		{"nine characters are too short", "Xk9#mLq2v", email, "error.password_too_short"},
		{"eleven characters are too short (ASVS 4.0 2.1.1 asks for 12)", "Xk9#mLq2vZw", email, "error.password_too_short"},
		{"eleven Chinese characters are too short although they are 33 bytes", "长城黄河泰山华山嵩衡恒", email, "error.password_too_short"},
		{"twelve characters are long enough", "Xk9#mLq2vZw4", email, ""},
		{"more than 256 bytes is too long", "Xk9#mLq2vZ" + strings.Repeat("ab3", 83), email, "error.password_too_long"},
		{"exactly 256 bytes is accepted", "Xk9#mLq2vZ" + strings.Repeat("ab3", 82), email, ""},
		{"password1234 is common", "password1234", email, "error.password_common"},
		{"Password1234! is common with a suffix", "Password1234!", email, "error.password_common"},
		{"qwertyuiop123 is common", "qwertyuiop123", email, "error.password_common"},
		{"QWERTYUIOP123 is common in any case", "QWERTYUIOP123", email, "error.password_common"},
		{"a common word with digits tacked on is common", "sunshine2024", email, "error.password_common"},
		{"a common word with symbols tacked on is common", "iloveyou!!!!", email, "error.password_common"},
		{"one repeated letter is refused", "aaaaaaaaaaaa", email, "error.password_common"},
		{"one repeated Chinese character is refused", "好好好好好好好好好好好好", email, "error.password_common"},
		{"a short unit repeated is refused", "abcabcabcabc", email, "error.password_common"},
		{"two digits repeated are refused", "121212121212", email, "error.password_common"},
		{"an ascending run of digits is refused", "123456789012", email, "error.password_common"},
		{"an ascending run that wraps past nine is refused", "789012345678", email, "error.password_common"},
		{"a descending run of letters is refused", "ZYXWVUTSRQPO", email, "error.password_common"},
		{"an ascending run of letters is refused", "abcdefghijkl", email, "error.password_common"},
		{"the email's local part is refused", "johnsmith-rocks-42", email, "error.password_contains_email"},
		{"the email's local part in capitals is refused", "I am JohnSmith, hi", email, "error.password_contains_email"},
		{"a local part from a capitalised email is refused", "xx-johnsmith-xx", "JohnSmith@Example.com", "error.password_contains_email"},
		{"a local part shorter than four letters is not looked for", "bob-likes-green-tea", "bob@example.com", ""},
		{"a passphrase is accepted", "correct horse battery", email, ""},
		{"a mixed password is accepted", "Tr0ub4dor&3-zebra", email, ""},
		{"a Chinese passphrase is accepted", "我家门前有两棵枣树另一棵也是", email, ""},
		{"a password without an email to compare is accepted", "Tr0ub4dor&3-zebra", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := models.CheckPasswordPolicy(c.password, c.email)
			if c.key == "" {
				if err != nil {
					t.Fatalf("CheckPasswordPolicy(%q) = %v, want accepted", c.password, err)
				}
				return
			}
			v := wantInvalid(t, err, "password", c.key)
			switch c.key {
			case "error.password_too_short":
				if len(v.Args) != 1 || v.Args[0] != models.MinPasswordLen {
					t.Fatalf("args %v, want [%d]", v.Args, models.MinPasswordLen)
				}
			case "error.password_too_long":
				if len(v.Args) != 1 || v.Args[0] != models.MaxPasswordLen {
					t.Fatalf("args %v, want [%d]", v.Args, models.MaxPasswordLen)
				}
			}
		})
	}

	t.Run("a random reset password always passes the policy", func(t *testing.T) {
		for range 200 {
			pw := models.RandomPassword()
			if err := models.CheckPasswordPolicy(pw, "johnsmith@example.com"); err != nil {
				t.Fatalf("RandomPassword() = %q refused: %v", pw, err)
			}
		}
	})
}

func FuzzCheckPasswordPolicy(f *testing.F) {
	seeds := []struct{ pw, email string }{
		{"", ""},
		{"correct horse battery", "a@alpha.test"},
		{"password123", "x@y.z"},
		{"Password1234!", ""},
		{"aaaaaaaaaaaa", "aaaa@b.c"},
		{"1234567890", ""},
		{"789012345678", ""},
		{"好好好好好好好好好好好好", ""},
		{"johnsmith-rocks-42", "johnsmith@example.com"},
		{"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6", "\xff@\xfe"},
		{strings.Repeat("ab3", 90), "@@@"},
	}
	for _, s := range seeds {
		f.Add(s.pw, s.email)
	}
	f.Fuzz(func(t *testing.T, pw, email string) {
		err := models.CheckPasswordPolicy(pw, email)
		if err == nil {
			if n := utf8.RuneCountInString(pw); n < models.MinPasswordLen {
				t.Fatalf("accepted %q of %d runes", pw, n)
			}
			if len(pw) > models.MaxPasswordLen {
				t.Fatalf("accepted %q of %d bytes", pw, len(pw))
			}
			return
		}
		var v *models.ValidationError
		if !errors.As(err, &v) || v.Field != "password" || v.Key == "" {
			t.Fatalf("refusal %v is not a password ValidationError", err)
		}
	})
}
