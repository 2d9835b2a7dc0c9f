// Package passtoken signs and verifies the token a visitor pass carries in
// its QR code: which visitor of which visit, and from when until when the
// pass is good; and the token of a standing-access pass (StandingClaims,
// "S1."): which entry of an organization's standing access list, at which
// pass version. A token is "V1." (or "S1.") and the base32 of the claims and their
// HMAC-SHA256, so it is plain ASCII a handheld scanner types as keystrokes
// (uppercase letters, digits 2-7 and one dot, which also keeps the QR code
// in its compact alphanumeric mode), and it reads the same with caps lock on.
package passtoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"strings"
	"time"
)

// purpose separates the key of passes from every other key derived from
// the portal secret.
const purpose = "portal visitor pass"

// prefix names the token format; it is covered by the signature.
const prefix = "V1."

// standingPrefix names the format of standing-access passes; it is
// covered by the signature too, so no visitor token reads as one.
const standingPrefix = "S1."

// MaxLen is the longest token Sign can make (the largest IDs and times);
// Verify refuses anything longer without decoding it.
const MaxLen = 120

// The ways a token is refused. Verify returns exactly one of them.
var (
	// ErrMalformed: not a token of this format at all.
	ErrMalformed = errors.New("passtoken: malformed token")
	// ErrSignature: well formed, but not signed by this key, or altered.
	ErrSignature = errors.New("passtoken: bad signature")
	// ErrExpired: genuine, but its Expires has passed.
	ErrExpired = errors.New("passtoken: expired")
	// ErrNotYet: genuine, but its NotBefore has not come.
	ErrNotYet = errors.New("passtoken: not valid yet")
)

// Claims is what a token says: one visitor of one visit, good from
// NotBefore (inclusive) until Expires (exclusive). Times are kept to the
// second, in UTC.
type Claims struct {
	VisitID, VisitorID int64
	NotBefore, Expires time.Time
}

// Key signs and verifies tokens.
type Key struct {
	mac []byte
}

// enc is unpadded base32 in the standard (uppercase) alphabet.
var enc = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewKey derives the pass key from the portal secret:
// HMAC-SHA256(secret, "portal visitor pass").
func NewKey(secret []byte) Key {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return Key{mac: m.Sum(nil)}
}

// sum is the HMAC of the prefix and the encoded claims.
func (k Key) sum(payload []byte) []byte { return k.sumOf(prefix, payload) }

func (k Key) sumOf(prefix string, payload []byte) []byte {
	m := hmac.New(sha256.New, k.mac)
	m.Write([]byte(prefix))
	m.Write(payload)
	return m.Sum(nil)
}

// Sign returns the token of c.
func (k Key) Sign(c Claims) string {
	nb := c.NotBefore.Unix()
	var payload []byte
	// Unsigned varints of the bits: IDs and times are positive, so they
	// take few bytes; anything else still round-trips.
	for _, v := range []int64{c.VisitID, c.VisitorID, nb, c.Expires.Unix() - nb} {
		payload = binary.AppendUvarint(payload, uint64(v))
	}
	return prefix + enc.EncodeToString(append(payload, k.sum(payload)...))
}

// Verify checks token at now and returns its claims. Whitespace around the
// token (the CR or LF a scanner sends) is ignored, and so is letter case.
// The signature is checked before the times, so ErrExpired and ErrNotYet
// only ever describe a genuine token, and they come with its claims, so the
// caller can still say whose pass it is.
func (k Key) Verify(token string, now time.Time) (Claims, error) {
	v, err := k.verify(prefix, token)
	if err != nil {
		return Claims{}, err
	}
	c := Claims{VisitID: v[0], VisitorID: v[1], NotBefore: time.Unix(v[2], 0).UTC(), Expires: time.Unix(v[2]+v[3], 0).UTC()}
	return c, window(c.NotBefore, c.Expires, now)
}

// window is ErrNotYet before from, ErrExpired from to on.
func window(from, to, now time.Time) error {
	switch {
	case now.Before(from):
		return ErrNotYet
	case !now.Before(to):
		return ErrExpired
	}
	return nil
}

// verify decodes a token of format prefix and checks its signature,
// returning its four numbers.
func (k Key) verify(prefix, token string) ([4]int64, error) {
	var v [4]int64
	token = strings.TrimSpace(token)
	if len(token) > MaxLen || len(token) <= len(prefix) || !strings.EqualFold(token[:len(prefix)], prefix) {
		return v, ErrMalformed
	}
	body := strings.ToUpper(token[len(prefix):])
	raw, err := enc.DecodeString(body)
	// Only the canonical encoding is a token: base32's spare low bits
	// would otherwise let one token be written several ways.
	if err != nil || len(raw) <= sha256.Size || enc.EncodeToString(raw) != body {
		return v, ErrMalformed
	}
	payload, sig := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	if !hmac.Equal(sig, k.sumOf(prefix, payload)) {
		return v, ErrSignature
	}
	for i := range v {
		n, read := binary.Uvarint(payload)
		if read <= 0 {
			return v, ErrMalformed
		}
		v[i], payload = int64(n), payload[read:]
	}
	if len(payload) != 0 {
		return v, ErrMalformed
	}
	return v, nil
}

// StandingClaims is what a standing-access pass says: entry EntryID of a
// standing access list at pass version Version, good from NotBefore
// (inclusive) until Expires (exclusive). Reissuing a pass bumps the
// version, so that the old one no longer matches the entry.
type StandingClaims struct {
	EntryID, Version   int64
	NotBefore, Expires time.Time
}

// IsStanding reports whether token is of the standing-access format (a
// guess from its prefix; only VerifyStanding says it is genuine).
func IsStanding(token string) bool {
	token = strings.TrimSpace(token)
	return len(token) > len(standingPrefix) && strings.EqualFold(token[:len(standingPrefix)], standingPrefix)
}

// SignStanding returns the token of a standing-access pass.
func (k Key) SignStanding(c StandingClaims) string {
	nb := c.NotBefore.Unix()
	var payload []byte
	for _, v := range []int64{c.EntryID, c.Version, nb, c.Expires.Unix() - nb} {
		payload = binary.AppendUvarint(payload, uint64(v))
	}
	return standingPrefix + enc.EncodeToString(append(payload, k.sumOf(standingPrefix, payload)...))
}

// VerifyStanding is Verify for standing-access passes: the same refusals,
// in the same order, the claims given with ErrExpired and ErrNotYet.
func (k Key) VerifyStanding(token string, now time.Time) (StandingClaims, error) {
	v, err := k.verify(standingPrefix, token)
	if err != nil {
		return StandingClaims{}, err
	}
	c := StandingClaims{EntryID: v[0], Version: v[1], NotBefore: time.Unix(v[2], 0).UTC(), Expires: time.Unix(v[2]+v[3], 0).UTC()}
	return c, window(c.NotBefore, c.Expires, now)
}
