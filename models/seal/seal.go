// Package seal encrypts short secrets for storage (AES-256-GCM, a fresh
// random nonce each time, base64 without padding) under a key derived from
// the portal secret and a purpose, so one secret yields unrelated keys for
// unrelated uses.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// Key seals and opens values for one purpose.
type Key struct {
	aead cipher.AEAD
}

// NewKey derives the key for purpose from secret: HMAC-SHA256(secret,
// purpose), which is 32 bytes, so AES-256.
func NewKey(secret []byte, purpose string) Key {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		panic(err) // cannot happen: the key is always 32 bytes
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err) // cannot happen: AES has a 16-byte block
	}
	return Key{aead: aead}
}

// Seal encrypts plain and returns the nonce and ciphertext in base64.
func (k Key) Seal(plain string) (string, error) {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.RawStdEncoding.EncodeToString(k.aead.Seal(nonce, nonce, []byte(plain), nil)), nil
}

// Open decrypts what Seal returned. A value sealed under another key or
// altered in any way is an error.
func (k Key) Open(sealed string) (string, error) {
	raw, err := base64.RawStdEncoding.DecodeString(sealed)
	if err != nil {
		return "", err
	}
	n := k.aead.NonceSize()
	if len(raw) < n {
		return "", errors.New("seal: sealed value too short")
	}
	plain, err := k.aead.Open(nil, raw[:n], raw[n:], nil)
	return string(plain), err
}
