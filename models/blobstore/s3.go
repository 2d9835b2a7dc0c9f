package blobstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config says where an S3-compatible bucket is and how to sign in to it.
type S3Config struct {
	// Endpoint is http://host:port or https://host[:port].
	Endpoint  string
	Bucket    string
	Prefix    string // put before every object name, e.g. "documents/"
	Region    string
	AccessKey string
	SecretKey string
}

// S3 keeps uploaded files as objects in an S3-compatible bucket, named
// Prefix + the key's first two characters + "/" + key, the layout of the
// folder. Every object carries the SHA-256 of its bytes as the metadata
// field sha256, and Open refuses an object whose bytes do not match it.
type S3 struct {
	client *minio.Client
	bucket string
	prefix string
	where  string
}

// metaSHA256 is the user metadata field holding an object's SHA-256.
const metaSHA256 = "Sha256"

// NewS3 connects to the bucket and checks that it exists.
func NewS3(ctx context.Context, c S3Config) (*S3, error) {
	u, err := url.Parse(c.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("blobstore: S3 endpoint must be http://host:port or https://host:port")
	}
	if c.Bucket == "" {
		return nil, errors.New("blobstore: no S3 bucket given")
	}
	client, err := minio.New(u.Host, &minio.Options{
		Creds:  credentials.NewStaticV4(c.AccessKey, c.SecretKey, ""),
		Secure: u.Scheme == "https",
		Region: c.Region,
		// Self-hosted servers (SeaweedFS, MinIO, Garage) name buckets in
		// the path, not in the host name.
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return nil, fmt.Errorf("blobstore: S3: %w", err)
	}
	ok, err := client.BucketExists(ctx, c.Bucket)
	if err != nil {
		return nil, fmt.Errorf("blobstore: S3 bucket %s at %s: %w", c.Bucket, u.Host, err)
	}
	if !ok {
		return nil, fmt.Errorf("blobstore: S3 bucket %s does not exist at %s", c.Bucket, u.Host)
	}
	return &S3{client: client, bucket: c.Bucket, prefix: c.Prefix,
		where: "s3 " + u.Scheme + "://" + u.Host + "/" + c.Bucket + "/" + c.Prefix}, nil
}

func (s *S3) name(key string) string { return s.prefix + key[:2] + "/" + key }

// Put stores data under a new random key.
func (s *S3) Put(ctx context.Context, data []byte) (string, error) {
	key, err := NewKey()
	if err != nil {
		return "", err
	}
	if err := s.PutKey(ctx, key, data); err != nil {
		return "", err
	}
	return key, nil
}

// PutKey stores data under key, with its SHA-256 as metadata and a
// Content-MD5 the server checks, so a torn upload is refused, not kept.
func (s *S3) PutKey(ctx context.Context, key string, data []byte) error {
	if !validBlobKey(key) {
		return ErrNotFound
	}
	sum := sha256.Sum256(data)
	_, err := s.client.PutObject(ctx, s.bucket, s.name(key), bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{
		ContentType:      "application/octet-stream",
		UserMetadata:     map[string]string{metaSHA256: hex.EncodeToString(sum[:])},
		SendContentMd5:   true,
		DisableMultipart: true,
	})
	if err != nil {
		return fmt.Errorf("blobstore: S3 put %s: %w", key, err)
	}
	return nil
}

// Open reads the object stored under key whole and checks it against the
// SHA-256 stored with it.
func (s *S3) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if !validBlobKey(key) {
		return nil, ErrNotFound
	}
	obj, err := s.client.GetObject(ctx, s.bucket, s.name(key), minio.GetObjectOptions{})
	if err != nil {
		return nil, s.err("get", key, err)
	}
	defer obj.Close()
	info, err := obj.Stat()
	if err != nil {
		return nil, s.err("get", key, err)
	}
	data, err := io.ReadAll(obj)
	if err != nil {
		return nil, s.err("read", key, err)
	}
	want := info.UserMetadata[metaSHA256]
	if want == "" {
		want = info.Metadata.Get("X-Amz-Meta-" + metaSHA256)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); want != "" && got != strings.ToLower(want) {
		return nil, fmt.Errorf("blobstore: S3 object %s: SHA-256 %s, stored with %s", key, got, want)
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

// Remove deletes the object stored under key; S3 answers a missing object
// as removed.
func (s *S3) Remove(ctx context.Context, key string) error {
	if !validBlobKey(key) {
		return ErrNotFound
	}
	if err := s.client.RemoveObject(ctx, s.bucket, s.name(key), minio.RemoveObjectOptions{}); err != nil {
		return s.err("remove", key, err)
	}
	return nil
}

// Keys lists every key under the prefix; other objects are left out.
func (s *S3) Keys(ctx context.Context) ([]string, error) {
	var keys []string
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix, Recursive: true}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("blobstore: S3 list: %w", obj.Err)
		}
		rest := strings.TrimPrefix(obj.Key, s.prefix)
		if len(rest) == 3+blobKeyLen && rest[2] == '/' && validBlobKey(rest[3:]) && rest[:2] == rest[3:5] {
			keys = append(keys, rest[3:])
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// Where names the bucket and prefix.
func (s *S3) Where() string { return s.where }

// err turns S3's "no such key" into ErrNotFound.
func (s *S3) err(op, key string, err error) error {
	if code := minio.ToErrorResponse(err).Code; code == "NoSuchKey" || code == "NotFound" {
		return ErrNotFound
	}
	return fmt.Errorf("blobstore: S3 %s %s: %w", op, key, err)
}
