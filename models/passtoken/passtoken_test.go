package passtoken_test

import (
	b32 "encoding/base32"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models/passtoken"
)

var (
	secret = []byte("portal secret for the test")
	day    = time.Date(2026, 3, 9, 16, 0, 0, 0, time.UTC) // 00:00 in Beijing
	claims = passtoken.Claims{VisitID: 42, VisitorID: 1317, NotBefore: day, Expires: day.Add(48 * time.Hour)}
	during = day.Add(26 * time.Hour)
)

// base32 is the alphabet a token is written in after its prefix.
const base32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

func TestATokenVerifiesToItsClaims(t *testing.T) {
	k := passtoken.NewKey(secret)
	tok := k.Sign(claims)
	if !strings.HasPrefix(tok, "V1.") {
		t.Fatalf("token %q has no version prefix", tok)
	}
	if strings.Trim(tok[3:], base32) != "" {
		t.Fatalf("token %q has characters outside base32", tok)
	}
	for _, now := range []time.Time{claims.NotBefore, during, claims.Expires.Add(-time.Second)} {
		got, err := k.Verify(tok, now)
		if err != nil {
			t.Fatalf("Verify at %s: %v", now, err)
		}
		if got != claims {
			t.Fatalf("Verify at %s = %+v, want %+v", now, got, claims)
		}
	}
	if other := k.Sign(passtoken.Claims{VisitID: 42, VisitorID: 1318, NotBefore: day, Expires: claims.Expires}); other == tok {
		t.Fatal("two visitors of one visit have the same token")
	}
	if again := passtoken.NewKey(secret).Sign(claims); again != tok {
		t.Fatalf("the same claims under the same secret sign differently: %s, %s", tok, again)
	}
}

func TestClaimsAreKeptToTheSecondInUTC(t *testing.T) {
	k := passtoken.NewKey(secret)
	bj := time.FixedZone("CST", 8*3600)
	c := passtoken.Claims{VisitID: 1, VisitorID: 2,
		NotBefore: time.Date(2026, 3, 10, 0, 0, 0, 900_000_000, bj), Expires: time.Date(2026, 3, 11, 0, 0, 0, 0, bj)}
	got, err := k.Verify(k.Sign(c), c.NotBefore.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := passtoken.Claims{VisitID: 1, VisitorID: 2, NotBefore: day, Expires: day.Add(24 * time.Hour)}
	if got != want || got.NotBefore.Location() != time.UTC {
		t.Fatalf("Verify = %+v, want %+v in UTC", got, want)
	}
}

func TestForgedAndAlteredTokensAreRefused(t *testing.T) {
	k := passtoken.NewKey(secret)
	tok := k.Sign(claims)

	t.Run("signed under another secret", func(t *testing.T) {
		forged := passtoken.NewKey([]byte("another portal's secret")).Sign(claims)
		if _, err := k.Verify(forged, during); !errors.Is(err, passtoken.ErrSignature) {
			t.Fatalf("Verify(forged) = %v, want ErrSignature", err)
		}
	})

	t.Run("any one character changed", func(t *testing.T) {
		for i := 3; i < len(tok); i++ {
			for _, r := range base32 {
				if byte(r) == tok[i] {
					continue
				}
				bad := tok[:i] + string(r) + tok[i+1:]
				if _, err := k.Verify(bad, during); err == nil {
					t.Fatalf("token altered at %d (%q) verifies", i, bad)
				} else if !errors.Is(err, passtoken.ErrSignature) && !errors.Is(err, passtoken.ErrMalformed) {
					t.Fatalf("token altered at %d: %v", i, err)
				}
			}
		}
	})

	t.Run("any one bit of the decoded token flipped", func(t *testing.T) {
		// Flip bits of the base32 value rather than characters: a flip in
		// the claims, in the signature, and in the spare bits of the last
		// character (tokens of 46 and 47 bytes have some) are all refused.
		for _, id := range []int64{42, 300, 70_000} {
			c := claims
			c.VisitID = id
			tok := k.Sign(c)
			for i := 3; i < len(tok); i++ {
				v := strings.IndexByte(base32, tok[i])
				for bit := 0; bit < 5; bit++ {
					bad := tok[:i] + string(base32[v^(1<<bit)]) + tok[i+1:]
					if _, err := k.Verify(bad, during); err == nil {
						t.Fatalf("token %s with bit %d of character %d flipped verifies", tok, bit, i)
					}
				}
			}
		}
	})

	t.Run("claims changed, the genuine signature kept", func(t *testing.T) {
		enc := b32.StdEncoding.WithPadding(b32.NoPadding)
		raw, err := enc.DecodeString(tok[3:])
		if err != nil {
			t.Fatal(err)
		}
		sig := raw[len(raw)-32:]
		other := passtoken.NewKey([]byte("x"))
		for _, c := range []passtoken.Claims{
			{VisitID: 43, VisitorID: claims.VisitorID, NotBefore: claims.NotBefore, Expires: claims.Expires},
			{VisitID: 42, VisitorID: 1316, NotBefore: claims.NotBefore, Expires: claims.Expires},
			{VisitID: 42, VisitorID: 1317, NotBefore: claims.NotBefore.Add(-time.Hour), Expires: claims.Expires},
			{VisitID: 42, VisitorID: 1317, NotBefore: claims.NotBefore, Expires: claims.Expires.Add(24 * time.Hour)},
		} {
			// Another key encodes the changed claims the same way; keep
			// them and put the genuine token's signature after them.
			r, err := enc.DecodeString(other.Sign(c)[3:])
			if err != nil {
				t.Fatal(err)
			}
			bad := "V1." + enc.EncodeToString(append(r[:len(r)-32:len(r)-32], sig...))
			if _, err := k.Verify(bad, during); !errors.Is(err, passtoken.ErrSignature) {
				t.Fatalf("claims %+v with the genuine signature: %v, want ErrSignature", c, err)
			}
		}
	})

	t.Run("cut short or lengthened", func(t *testing.T) {
		for _, bad := range []string{tok[:len(tok)-1], tok[:len(tok)-8], tok + "A", tok + "AAAAAAAA", tok[:10]} {
			if _, err := k.Verify(bad, during); err == nil {
				t.Fatalf("%q verifies", bad)
			}
		}
	})
}

func TestExpiredAndEarlyTokensAreRefused(t *testing.T) {
	k := passtoken.NewKey(secret)
	tok := k.Sign(claims)
	for _, c := range []struct {
		now  time.Time
		want error
	}{
		{claims.NotBefore.Add(-time.Second), passtoken.ErrNotYet},
		{claims.NotBefore.Add(-30 * 24 * time.Hour), passtoken.ErrNotYet},
		{claims.Expires, passtoken.ErrExpired},
		{claims.Expires.Add(365 * 24 * time.Hour), passtoken.ErrExpired},
	} {
		got, err := k.Verify(tok, c.now)
		if !errors.Is(err, c.want) {
			t.Fatalf("Verify at %s = %v, want %v", c.now, err, c.want)
		}
		if got != claims {
			t.Fatalf("a genuine but untimely token gave claims %+v, want %+v", got, claims)
		}
	}
	// A forged token is a forgery whatever the time: its times are not
	// even looked at.
	forged := passtoken.NewKey([]byte("other")).Sign(claims)
	if _, err := k.Verify(forged, claims.Expires.Add(time.Hour)); !errors.Is(err, passtoken.ErrSignature) {
		t.Fatalf("an expired forgery: %v, want ErrSignature", err)
	}
}

func TestMalformedTokensAreRefused(t *testing.T) {
	k := passtoken.NewKey(secret)
	tok := k.Sign(claims)
	for _, bad := range []string{
		"",
		"   ",
		"V1.",
		"V1",
		"V2." + tok[3:],
		"X1." + tok[3:],
		tok[3:],
		"V1." + strings.Repeat("A", 20),
		"V1." + tok[3:10] + "!" + tok[11:],
		"V1." + tok[3:10] + " " + tok[11:],
		"V1." + tok[3:] + "=",
		"V1." + tok[3:] + "====",
		"V1." + tok[3:10] + "0" + tok[11:], // 0, 1, 8 and 9 are not base32
		"V1." + tok[3:10] + "8" + tok[11:],
		"https://portal.example/visits/" + tok,
		"V1." + strings.Repeat("A", passtoken.MaxLen),
		strings.Repeat(tok, 10),
		"V1.访客",
	} {
		if _, err := k.Verify(bad, during); !errors.Is(err, passtoken.ErrMalformed) {
			t.Errorf("Verify(%q) = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestScannerInputIsTolerated(t *testing.T) {
	k := passtoken.NewKey(secret)
	tok := k.Sign(claims)
	for _, in := range []string{
		tok + "\r\n",
		tok + "\n",
		tok + "\r",
		"\t " + tok + " \r\n",
		strings.ToLower(tok), // a scanner typing with caps lock on
		strings.ToLower(tok) + "\r\n",
	} {
		got, err := k.Verify(in, during)
		if err != nil || got != claims {
			t.Fatalf("Verify(%q) = %+v, %v", in, got, err)
		}
	}
	// Whitespace inside is not a token's.
	if _, err := k.Verify(tok[:20]+"\r\n"+tok[20:], during); err == nil {
		t.Fatal("a token broken by a line break inside verifies")
	}
}

func TestTokensAreShortEnoughForASmallQRCode(t *testing.T) {
	k := passtoken.NewKey(secret)
	typical := passtoken.Claims{VisitID: 250_000, VisitorID: 2_000_000,
		NotBefore: day.AddDate(10, 0, 0), Expires: day.AddDate(10, 0, 61)}
	if n := len(k.Sign(typical)); n >= 80 {
		t.Fatalf("a token of a visit after years of use is %d characters, want < 80", n)
	}
	worst := passtoken.Claims{VisitID: math.MaxInt64, VisitorID: math.MinInt64,
		NotBefore: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), Expires: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)}
	tok := k.Sign(worst)
	if len(tok) > passtoken.MaxLen {
		t.Fatalf("the longest token is %d characters, over MaxLen %d", len(tok), passtoken.MaxLen)
	}
	got, err := k.Verify(tok, time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC))
	if !errors.Is(err, passtoken.ErrExpired) || got != worst {
		t.Fatalf("the longest token: %+v, %v; want its claims and ErrExpired", got, err)
	}
}
