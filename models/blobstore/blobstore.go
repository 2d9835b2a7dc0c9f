// Package blobstore keeps uploaded files on disk under random keys: only the
// key goes into the database, and nothing but a well-formed key ever becomes
// part of a path.
package blobstore

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrNotFound is a key that names no file, or is no key at all.
var ErrNotFound = errors.New("blobstore: not found")

// Store keeps uploaded files on disk outside any served folder, under random
// names. A file's key is all that is stored in the database; the original
// name and type live in the row, never in the path.
type Store struct {
	dir string
}

// blobKeyLen is the length of a key: 16 random bytes in lowercase hex.
const blobKeyLen = 32

// New opens the store at dir, creating it (mode 0700) if missing.
func New(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("blobstore: no directory given")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("blobstore: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("blobstore: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Put stores data under a new random key and returns the key. The file is
// written to a temporary file in the same folder, synced and renamed, so a
// crash leaves either the whole file or none under the key.
func (b *Store) Put(data []byte) (key string, err error) {
	var raw [blobKeyLen / 2]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("blobstore: random key: %w", err)
	}
	key = hex.EncodeToString(raw[:])
	shard := filepath.Join(b.dir, key[:2])
	if err := os.MkdirAll(shard, 0o700); err != nil {
		return "", fmt.Errorf("blobstore: %w", err)
	}
	// CreateTemp makes the file 0600; a leading dot keeps it from ever
	// looking like a key.
	tmp, err := os.CreateTemp(shard, ".put-*")
	if err != nil {
		return "", fmt.Errorf("blobstore: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return "", fmt.Errorf("blobstore: write: %w", err)
	}
	if err = tmp.Chmod(0o600); err != nil {
		return "", fmt.Errorf("blobstore: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return "", fmt.Errorf("blobstore: sync: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return "", fmt.Errorf("blobstore: close: %w", err)
	}
	if err = os.Rename(tmp.Name(), filepath.Join(shard, key)); err != nil {
		return "", fmt.Errorf("blobstore: %w", err)
	}
	// The rename is durable only once the folder holding it is synced.
	if d, derr := os.Open(shard); derr == nil {
		derr = d.Sync()
		d.Close()
		if derr != nil {
			return "", fmt.Errorf("blobstore: sync folder: %w", derr)
		}
	}
	return key, nil
}

// Open opens the file stored under key. A key that is not exactly 32
// lowercase hex characters, or that names no file, is ErrNotFound: nothing
// but a key ever becomes part of the path.
func (b *Store) Open(key string) (*os.File, error) {
	path, ok := b.path(key)
	if !ok {
		return nil, ErrNotFound
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("blobstore: %w", err)
	}
	return f, nil
}

// Remove deletes the file stored under key. A file already gone is not an
// error; a malformed key is ErrNotFound.
func (b *Store) Remove(key string) error {
	path, ok := b.path(key)
	if !ok {
		return ErrNotFound
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blobstore: %w", err)
	}
	return nil
}

// path returns where key lives, and false unless key is well formed.
func (b *Store) path(key string) (string, bool) {
	if !validBlobKey(key) {
		return "", false
	}
	return filepath.Join(b.dir, key[:2], key), true
}

func validBlobKey(key string) bool {
	if len(key) != blobKeyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
