// Package blobstore keeps uploaded files under random keys, in a folder on
// disk (Folder) or in an S3-compatible bucket (S3): only the key goes into
// the database, and nothing but a well-formed key ever becomes part of a
// path or an object name.
package blobstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// ErrNotFound is a key that names no file, or is no key at all.
var ErrNotFound = errors.New("blobstore: not found")

// Store is where uploaded documents live. Both kinds keep the same keys,
// so documents move between them by copying (portal backup, then portal
// restore with the other kind configured).
type Store interface {
	// Put stores data under a new random key and returns the key.
	Put(ctx context.Context, data []byte) (key string, err error)
	// PutKey stores data under a key chosen before (restoring a backup);
	// the key must be well formed.
	PutKey(ctx context.Context, key string, data []byte) error
	// Open reads what is stored under key; ErrNotFound if nothing is.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// Remove deletes what is stored under key; a key already gone is fine.
	Remove(ctx context.Context, key string) error
	// Keys lists every stored key, in ascending order.
	Keys(ctx context.Context) ([]string, error)
	// Where names the store for logs and backup manifests (a folder or a
	// bucket), without credentials.
	Where() string
}

// Folder keeps uploaded files on disk outside any served folder, under random
// names. A file's key is all that is stored in the database; the original
// name and type live in the row, never in the path.
type Folder struct {
	dir string
}

// NewKey returns a fresh random key.
func NewKey() (string, error) {
	var raw [blobKeyLen / 2]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("blobstore: random key: %w", err)
	}
	return hex.EncodeToString(raw[:]), nil
}

// ValidKey says whether key is well formed: 32 lowercase hex characters.
func ValidKey(key string) bool { return validBlobKey(key) }

// blobKeyLen is the length of a key: 16 random bytes in lowercase hex.
const blobKeyLen = 32

// New opens the store at dir, creating it (mode 0700) if missing.
func New(dir string) (*Folder, error) {
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
	return &Folder{dir: dir}, nil
}

// Put stores data under a new random key and returns the key. The file is
// written to a temporary file in the same folder, synced and renamed, so a
// crash leaves either the whole file or none under the key.
func (b *Folder) Put(ctx context.Context, data []byte) (string, error) {
	key, err := NewKey()
	if err != nil {
		return "", err
	}
	if err := b.PutKey(ctx, key, data); err != nil {
		return "", err
	}
	return key, nil
}

// PutKey stores data under key, replacing what was there, by the same
// temporary file, sync and rename as Put.
func (b *Folder) PutKey(_ context.Context, key string, data []byte) (err error) {
	if !validBlobKey(key) {
		return ErrNotFound
	}
	shard := filepath.Join(b.dir, key[:2])
	if err := os.MkdirAll(shard, 0o700); err != nil {
		return fmt.Errorf("blobstore: %w", err)
	}
	// CreateTemp makes the file 0600; a leading dot keeps it from ever
	// looking like a key.
	tmp, err := os.CreateTemp(shard, ".put-*")
	if err != nil {
		return fmt.Errorf("blobstore: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("blobstore: write: %w", err)
	}
	if err = tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("blobstore: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("blobstore: sync: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("blobstore: close: %w", err)
	}
	if err = os.Rename(tmp.Name(), filepath.Join(shard, key)); err != nil {
		return fmt.Errorf("blobstore: %w", err)
	}
	// The rename is durable only once the folder holding it is synced.
	if d, derr := os.Open(shard); derr == nil {
		derr = d.Sync()
		d.Close()
		if derr != nil {
			return fmt.Errorf("blobstore: sync folder: %w", derr)
		}
	}
	return nil
}

// Open opens the file stored under key. A key that is not exactly 32
// lowercase hex characters, or that names no file, is ErrNotFound: nothing
// but a key ever becomes part of the path.
func (b *Folder) Open(_ context.Context, key string) (io.ReadCloser, error) {
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
func (b *Folder) Remove(_ context.Context, key string) error {
	path, ok := b.path(key)
	if !ok {
		return ErrNotFound
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blobstore: %w", err)
	}
	return nil
}

// Keys lists the keys of every file in the folder; anything else there
// (temporary files, stray names) is left out.
func (b *Folder) Keys(_ context.Context) ([]string, error) {
	shards, err := os.ReadDir(b.dir)
	if err != nil {
		return nil, fmt.Errorf("blobstore: %w", err)
	}
	var keys []string
	for _, sh := range shards {
		if !sh.IsDir() || len(sh.Name()) != 2 {
			continue
		}
		files, err := os.ReadDir(filepath.Join(b.dir, sh.Name()))
		if err != nil {
			return nil, fmt.Errorf("blobstore: %w", err)
		}
		for _, f := range files {
			if k := f.Name(); f.Type().IsRegular() && validBlobKey(k) && k[:2] == sh.Name() {
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// Where is the folder's path.
func (b *Folder) Where() string { return b.dir }

// path returns where key lives, and false unless key is well formed.
func (b *Folder) path(key string) (string, bool) {
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
