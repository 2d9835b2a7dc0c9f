// Package passtoken signs and verifies the token a visitor pass carries in
// its QR code: which visitor of which visit, and from when until when the
// pass is good. A token is "V1." and the base32 of the claims and their
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
func (k Key) sum(payload []byte) []byte {
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
	token = strings.TrimSpace(token)
	if len(token) > MaxLen || len(token) <= len(prefix) || !strings.EqualFold(token[:len(prefix)], prefix) {
		return Claims{}, ErrMalformed
	}
	body := strings.ToUpper(token[len(prefix):])
	raw, err := enc.DecodeString(body)
	// Only the canonical encoding is a token: base32's spare low bits
	// would otherwise let one token be written several ways.
	if err != nil || len(raw) <= sha256.Size || enc.EncodeToString(raw) != body {
		return Claims{}, ErrMalformed
	}
	payload, sig := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	if !hmac.Equal(sig, k.sum(payload)) {
		return Claims{}, ErrSignature
	}
	var v [4]int64
	for i := range v {
		n, read := binary.Uvarint(payload)
		if read <= 0 {
			return Claims{}, ErrMalformed
		}
		v[i], payload = int64(n), payload[read:]
	}
	if len(payload) != 0 {
		return Claims{}, ErrMalformed
	}
	c := Claims{VisitID: v[0], VisitorID: v[1], NotBefore: time.Unix(v[2], 0).UTC(), Expires: time.Unix(v[2]+v[3], 0).UTC()}
	switch {
	case now.Before(c.NotBefore):
		return c, ErrNotYet
	case !now.Before(c.Expires):
		return c, ErrExpired
	}
	return c, nil
}
