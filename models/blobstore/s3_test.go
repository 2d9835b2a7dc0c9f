package blobstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/colo-portal/portal/models/blobstore"
)

// fakeS3 starts an in-process S3-compatible server (gofakes3, which speaks
// S3's HTTP protocol over a real socket) with one empty bucket, and returns
// the configuration to reach it.
func fakeS3(t *testing.T, bucket string) blobstore.S3Config {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return blobstore.S3Config{Endpoint: srv.URL, Bucket: bucket, Prefix: "documents/", Region: "us-east-1",
		AccessKey: "portal", SecretKey: "portal-secret"}
}

// stores gives each kind of store, empty, for the contract test.
func stores(t *testing.T) map[string]blobstore.Store {
	t.Helper()
	folder, err := blobstore.New(filepath.Join(t.TempDir(), "documents"))
	if err != nil {
		t.Fatal(err)
	}
	s3, err := blobstore.NewS3(context.Background(), fakeS3(t, "portal-docs"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]blobstore.Store{"folder": folder, "s3": s3}
	// PORTAL_TEST_S3_URL=http://KEY:SECRET@host:port/bucket runs the same
	// steps against a real server too (SeaweedFS, MinIO, Garage), under a
	// prefix of its own.
	if raw := os.Getenv("PORTAL_TEST_S3_URL"); raw != "" {
		u, err := url.Parse(raw)
		if err != nil || u.User == nil {
			t.Fatalf("PORTAL_TEST_S3_URL: want http://KEY:SECRET@host:port/bucket")
		}
		secret, _ := u.User.Password()
		run, err := blobstore.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		real, err := blobstore.NewS3(context.Background(), blobstore.S3Config{Endpoint: u.Scheme + "://" + u.Host,
			Bucket: strings.Trim(u.Path, "/"), Prefix: "portal-test-" + run[:8] + "/", Region: "us-east-1",
			AccessKey: u.User.Username(), SecretKey: secret})
		if err != nil {
			t.Fatal(err)
		}
		out["s3-server"] = real
	}
	return out
}

// TestStoresKeepTheSameContract runs the same steps on the folder and on
// an S3 bucket: what is put comes back byte for byte, keys are listed,
// a key chosen before is kept, removal is final, and malformed keys are
// refused without a request.
func TestStoresKeepTheSameContract(t *testing.T) {
	ctx := context.Background()
	for name, b := range stores(t) {
		t.Run(name, func(t *testing.T) {
			data := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{0, 0xff, '\n'}, 5000)...)
			key, err := b.Put(ctx, data)
			if err != nil {
				t.Fatal(err)
			}
			if !blobstore.ValidKey(key) {
				t.Fatalf("key %q is not well formed", key)
			}
			if got := readAll(t, b, key); !bytes.Equal(got, data) {
				t.Fatal("the bytes read back differ from those put")
			}
			chosen := strings.Repeat("0a", 16)
			if err := b.PutKey(ctx, chosen, []byte("restored")); err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, b, chosen); string(got) != "restored" {
				t.Fatalf("PutKey then Open gave %q", got)
			}
			small, err := b.Put(ctx, []byte{0})
			if err != nil {
				t.Fatal(err)
			}
			keys, err := b.Keys(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{key, chosen, small}
			if !sameSet(keys, want) {
				t.Fatalf("Keys = %v, want %v", keys, want)
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
			for _, bad := range []string{"", "../x", strings.Repeat("A", 32), strings.Repeat("a", 31) + "/"} {
				if _, err := b.Open(ctx, bad); !errors.Is(err, blobstore.ErrNotFound) {
					t.Errorf("Open(%q): %v, want ErrNotFound", bad, err)
				}
				if err := b.PutKey(ctx, bad, nil); !errors.Is(err, blobstore.ErrNotFound) {
					t.Errorf("PutKey(%q): %v, want ErrNotFound", bad, err)
				}
			}
		})
	}
}

// TestS3RefusesAnObjectThatDoesNotMatchItsChecksum: an object changed in
// the bucket behind the portal's back is an error, never served.
func TestS3RefusesAnObjectThatDoesNotMatchItsChecksum(t *testing.T) {
	ctx := context.Background()
	cfg := fakeS3(t, "portal-docs")
	b, err := blobstore.NewS3(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	key, err := b.Put(ctx, []byte("the signed form"))
	if err != nil {
		t.Fatal(err)
	}
	// Overwrite the object's bytes, keeping the metadata the portal wrote.
	raw, err := minio.New(strings.TrimPrefix(cfg.Endpoint, "http://"), &minio.Options{
		Creds: credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""), BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	name := cfg.Prefix + key[:2] + "/" + key
	info, err := raw.StatObject(ctx, cfg.Bucket, name, minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info.UserMetadata["Sha256"] == "" {
		t.Fatalf("object %s carries no sha256 metadata: %v", name, info.UserMetadata)
	}
	forged := []byte("the forged form")
	if _, err := raw.PutObject(ctx, cfg.Bucket, name, bytes.NewReader(forged), int64(len(forged)),
		minio.PutObjectOptions{UserMetadata: map[string]string{"Sha256": info.UserMetadata["Sha256"]}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Open(ctx, key); err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Fatalf("open of a changed object: %v, want a SHA-256 mismatch", err)
	}
}

func TestS3NeedsAnExistingBucket(t *testing.T) {
	cfg := fakeS3(t, "portal-docs")
	cfg.Bucket = "no-such-bucket"
	if _, err := blobstore.NewS3(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("NewS3 with a missing bucket: %v", err)
	}
	cfg.Endpoint = "ftp://example"
	if _, err := blobstore.NewS3(context.Background(), cfg); err == nil {
		t.Fatal("NewS3 took an ftp:// endpoint")
	}
}

func readAll(t *testing.T, b blobstore.Store, key string) []byte {
	t.Helper()
	f, err := b.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		seen[s]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}
