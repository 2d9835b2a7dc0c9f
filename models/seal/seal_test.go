package seal_test

import (
	"strings"
	"testing"

	"github.com/colo-portal/portal/models/seal"
)

const purpose = "portal totp secret sealing"

func TestSeal(t *testing.T) {
	k := seal.NewKey([]byte("portal secret for the test"), purpose)

	t.Run("what is sealed opens to the same value and does not show it", func(t *testing.T) {
		for _, plain := range []string{"", "JBSWY3DPEHPK3PXP", "otpauth://totp/Portal:a@example.com?secret=JBSWY3DPEHPK3PXP", "密钥"} {
			s, err := k.Seal(plain)
			if err != nil {
				t.Fatal(err)
			}
			if plain != "" && strings.Contains(s, plain) {
				t.Fatalf("sealed %q shows the plain value", s)
			}
			got, err := k.Open(s)
			if err != nil || got != plain {
				t.Fatalf("Open(Seal(%q)) = %q, %v", plain, got, err)
			}
		}
	})

	t.Run("the same value seals differently each time because of the nonce", func(t *testing.T) {
		a, _ := k.Seal("JBSWY3DPEHPK3PXP")
		b, _ := k.Seal("JBSWY3DPEHPK3PXP")
		if a == b {
			t.Fatalf("two seals are equal: %s", a)
		}
	})

	// Sealed by the Store's own code before sealing moved here: values
	// already in databases must still open.
	t.Run("a value sealed before the move still opens", func(t *testing.T) {
		got, err := k.Open("yPWPB/lj46IYp0en0r1gh3CGgn36uy8zhJ7DiBq42Qr8XMgsqs938cWCMeA")
		if err != nil || got != "JBSWY3DPEHPK3PXP" {
			t.Fatalf("Open = %q, %v, want JBSWY3DPEHPK3PXP", got, err)
		}
	})

	good, _ := k.Seal("JBSWY3DPEHPK3PXP")
	flipped := []byte(good)
	flipped[len(flipped)/2] ^= 'A' ^ 'B'
	for _, c := range []struct {
		name string
		key  seal.Key
		v    string
	}{
		{"another secret's key cannot open it", seal.NewKey([]byte("another secret"), purpose), good},
		{"the same secret's key for another purpose cannot open it", seal.NewKey([]byte("portal secret for the test"), "other purpose"), good},
		{"an altered value does not open", k, string(flipped)},
		{"a value cut short does not open", k, good[:len(good)-4]},
		{"a value shorter than a nonce does not open", k, "AAAA"},
		{"a value that is not base64 does not open", k, "!!!"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got, err := c.key.Open(c.v); err == nil {
				t.Fatalf("Open = %q, nil; want an error", got)
			}
		})
	}
}
