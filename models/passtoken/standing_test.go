package passtoken_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models/passtoken"
)

var standing = passtoken.StandingClaims{EntryID: 77, Version: 3, NotBefore: day, Expires: day.Add(30 * 24 * time.Hour)}

// A standing-access pass verifies to its claims, reads the same in lower
// case with a scanner's CR, and is refused where a visitor token is
// expected, and the other way round: the prefixes are signed.
func TestStandingTokensAreTheirOwnKind(t *testing.T) {
	k := passtoken.NewKey(secret)
	tok := k.SignStanding(standing)
	if !strings.HasPrefix(tok, "S1.") || strings.Trim(tok[3:], base32) != "" || !passtoken.IsStanding(tok) {
		t.Fatalf("standing token %q: wrong shape", tok)
	}
	got, err := k.VerifyStanding(strings.ToLower(tok)+"\r\n", during)
	if err != nil || got != standing {
		t.Fatalf("VerifyStanding = %+v, %v; want %+v", got, err, standing)
	}
	if _, err := k.Verify(tok, during); !errors.Is(err, passtoken.ErrMalformed) {
		t.Fatalf("a standing token read as a visitor token: %v, want ErrMalformed", err)
	}
	vt := k.Sign(claims)
	if passtoken.IsStanding(vt) {
		t.Fatalf("visitor token %q taken for a standing one", vt)
	}
	if _, err := k.VerifyStanding(vt, during); !errors.Is(err, passtoken.ErrMalformed) {
		t.Fatalf("a visitor token read as a standing token: %v, want ErrMalformed", err)
	}
	// The same payload under the other prefix is not signed for it.
	if _, err := k.VerifyStanding("S1."+vt[3:], during); !errors.Is(err, passtoken.ErrSignature) {
		t.Fatalf("a visitor token's body with the standing prefix: %v, want ErrSignature", err)
	}
	if _, err := passtoken.NewKey([]byte("another secret")).VerifyStanding(tok, during); !errors.Is(err, passtoken.ErrSignature) {
		t.Fatalf("another key's standing token: %v, want ErrSignature", err)
	}
	if c, err := k.VerifyStanding(tok, standing.Expires); !errors.Is(err, passtoken.ErrExpired) || c.EntryID != 77 {
		t.Fatalf("at its expiry: %+v, %v; want ErrExpired with the claims", c, err)
	}
	if _, err := k.VerifyStanding(tok, day.Add(-1)); !errors.Is(err, passtoken.ErrNotYet) {
		t.Fatalf("before it starts: %v, want ErrNotYet", err)
	}
	if len(tok) > passtoken.MaxLen {
		t.Fatalf("token of %d characters, MaxLen %d", len(tok), passtoken.MaxLen)
	}
}
