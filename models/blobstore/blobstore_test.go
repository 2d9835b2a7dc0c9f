package blobstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/colo-portal/portal/models/blobstore"
)

func newBlobs(t *testing.T) (*blobstore.Folder, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "blobs")
	b, err := blobstore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return b, dir
}

func TestStore(t *testing.T) {
	ctx := context.Background()
	keyRE := regexp.MustCompile(`^[0-9a-f]{32}$`)

	t.Run("a missing folder is created for its owner only", func(t *testing.T) {
		_, dir := newBlobs(t)
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !fi.IsDir() || fi.Mode().Perm() != 0o700 {
			t.Fatalf("%s is %v, want a 0700 folder", dir, fi.Mode())
		}
	})

	t.Run("what is put comes back under a random hex key", func(t *testing.T) {
		b, dir := newBlobs(t)
		data := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{0, 0xff, '\n'}, 1000)...)
		key, err := b.Put(ctx, data)
		if err != nil {
			t.Fatal(err)
		}
		if !keyRE.MatchString(key) {
			t.Fatalf("key %q is not 32 lowercase hex characters", key)
		}
		f, err := b.Open(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		got, err := io.ReadAll(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data) {
			t.Fatal("the bytes read back differ from those put")
		}
		if want := filepath.Join(dir, key[:2], key); f.(*os.File).Name() != want {
			t.Errorf("stored at %s, want %s", f.(*os.File).Name(), want)
		}
	})

	t.Run("a stored file and its folder are for the owner only, with no temporary file left", func(t *testing.T) {
		b, dir := newBlobs(t)
		key, err := b.Put(ctx, []byte("%PDF-1.4\n%%EOF\n"))
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(filepath.Join(dir, key[:2], key))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != 0o600 {
			t.Errorf("file mode %v, want 0600", fi.Mode())
		}
		shard, err := os.Stat(filepath.Join(dir, key[:2]))
		if err != nil {
			t.Fatal(err)
		}
		if shard.Mode().Perm() != 0o700 {
			t.Errorf("folder mode %v, want 0700", shard.Mode())
		}
		entries, err := os.ReadDir(filepath.Join(dir, key[:2]))
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Name() != key {
			t.Errorf("folder holds %v, want only %s", entries, key)
		}
	})

	t.Run("two puts of the same bytes give different keys", func(t *testing.T) {
		b, _ := newBlobs(t)
		k1, err1 := b.Put(ctx, []byte("same"))
		k2, err2 := b.Put(ctx, []byte("same"))
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if k1 == k2 {
			t.Fatalf("both puts got key %s", k1)
		}
	})

	t.Run("an empty file can be stored", func(t *testing.T) {
		b, _ := newBlobs(t)
		key, err := b.Put(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		f, err := b.Open(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	})

	t.Run("a removed file is not found, and removing it again is fine", func(t *testing.T) {
		b, _ := newBlobs(t)
		key, err := b.Put(ctx, []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Remove(ctx, key); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Open(ctx, key); !errors.Is(err, blobstore.ErrNotFound) {
			t.Fatalf("open after remove: %v, want ErrNotFound", err)
		}
		if err := b.Remove(ctx, key); err != nil {
			t.Fatalf("second remove: %v", err)
		}
	})

	t.Run("a well-formed key that was never put is not found", func(t *testing.T) {
		b, _ := newBlobs(t)
		if _, err := b.Open(ctx, strings.Repeat("ab", 16)); !errors.Is(err, blobstore.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	})

	// A file outside the store that a smuggled path would reach.
	outside := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(outside, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{
		"", "../x", "/etc/passwd", outside, "../../../../../../etc/passwd",
		strings.Repeat("A", 32), "0123456789ABCDEF0123456789abcdef", strings.Repeat("a", 31), strings.Repeat("a", 33),
		strings.Repeat("a", 30) + "/x", strings.Repeat("a", 30) + "..", strings.Repeat("g", 32), strings.Repeat("a", 31) + "\x00",
	} {
		t.Run("the key "+shortQuote(key)+" is refused by Open and Remove", func(t *testing.T) {
			b, _ := newBlobs(t)
			if f, err := b.Open(ctx, key); !errors.Is(err, blobstore.ErrNotFound) {
				if f != nil {
					f.Close()
				}
				t.Errorf("open: %v, want ErrNotFound", err)
			}
			if err := b.Remove(ctx, key); !errors.Is(err, blobstore.ErrNotFound) {
				t.Errorf("remove: %v, want ErrNotFound", err)
			}
		})
	}
	if _, err := os.Stat(outside); err != nil {
		t.Fatalf("the file outside the store is gone: %v", err)
	}
}

// shortQuote quotes s for a test name, cut to stay readable.
func shortQuote(s string) string {
	if len(s) > 40 {
		s = s[:37] + "…"
	}
	return strconv.Quote(s)
}
