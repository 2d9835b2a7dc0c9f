package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/blobstore"
)

// The files of a backup folder besides the database snapshot.
const (
	manifestFile  = "manifest.json"
	documentsDir  = "documents"
	backupKeyFile = "secret.key"
	// backupFormat is the manifest's format; restore refuses others.
	backupFormat = 1
)

// manifest describes a backup folder: what is in it and each file's
// SHA-256, so a restore checks everything before it changes anything.
type manifest struct {
	Format        int              `json:"format"`
	CreatedAt     time.Time        `json:"created_at"`
	SchemaVersion int              `json:"schema_version"`
	Dialect       models.Dialect   `json:"dialect"`
	Database      string           `json:"database"` // the snapshot's file name
	Rows          map[string]int64 `json:"rows"`
	// DocumentStore is where the documents were read from; Documents
	// counts them (0 with --no-documents, which also sets NoDocuments).
	DocumentStore string `json:"document_store"`
	Documents     int    `json:"documents"`
	NoDocuments   bool   `json:"no_documents,omitempty"`
	// Key is "secret.key" when the key file is in the backup, else it
	// says where the secret comes from instead.
	Key   string       `json:"key"`
	Files []backupFile `json:"files"`
}

type backupFile struct {
	Path   string `json:"path"` // slash-separated, relative to the folder
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// backupCmd is `portal backup [--no-documents] DIR`: a consistent snapshot
// of the database, then the documents, then the key file, then the
// manifest last, so a folder without a manifest is an unfinished backup.
// The documents are read after the snapshot: every document a snapshot
// row names was stored before its row was committed, so it is there.
func backupCmd(ctx context.Context, cfg *Config, secretInEnv bool, store *models.Store, args []string, stdout io.Writer) error {
	fs := newFlagSet("backup")
	noDocs := fs.Bool("no-documents", false, "leave the documents out (they are backed up elsewhere)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		return errors.New("usage: portal backup [--no-documents] DIR")
	}
	dir := fs.Arg(0)
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("backup: %s is not empty: back up into a new folder", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	started := time.Now()
	snap, err := store.BackupDatabase(ctx, dir)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	m := manifest{Format: backupFormat, CreatedAt: time.Now().UTC().Truncate(time.Second), SchemaVersion: models.SchemaVersion(),
		Dialect: snap.Dialect, Database: snap.File, Rows: snap.Rows, NoDocuments: *noDocs}
	if !*noDocs {
		blobs, err := cfg.openDocuments(ctx)
		if err != nil {
			return fmt.Errorf("backup: documents: %w", err)
		}
		m.DocumentStore = blobs.Where()
		if m.Documents, err = copyDocumentsOut(ctx, blobs, filepath.Join(dir, documentsDir)); err != nil {
			return fmt.Errorf("backup: documents: %w", err)
		}
	}
	m.Key = "PORTAL_SECRET or PORTAL_SECRET_FILE (not in this backup: keep it with your secrets)"
	if !secretInEnv {
		if err := copyFile(filepath.Join(cfg.DataDir, "secret.key"), filepath.Join(dir, backupKeyFile)); err != nil {
			return fmt.Errorf("backup: key file: %w", err)
		}
		m.Key = backupKeyFile
	}
	if m.Files, err = checksumFolder(dir); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := writeManifest(dir, &m); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	var rows int64
	for _, n := range m.Rows {
		rows += n
	}
	fmt.Fprintf(stdout, "backup in %s: %s database, %d tables, %d rows; %d documents; key: %s; %d files with SHA-256 in %s (%s)\n",
		dir, m.Dialect, len(m.Rows), rows, m.Documents, m.Key, len(m.Files), manifestFile, time.Since(started).Round(time.Millisecond))
	return nil
}

// copyDocumentsOut writes every document of blobs under dir in the
// folder's layout (ab/abcd…) and returns how many.
func copyDocumentsOut(ctx context.Context, blobs blobstore.Store, dir string) (int, error) {
	keys, err := blobs.Keys(ctx)
	if err != nil {
		return 0, err
	}
	out, err := blobstore.New(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range keys {
		data, err := readBlob(ctx, blobs, k)
		if errors.Is(err, blobstore.ErrNotFound) {
			continue // removed since it was listed: a failed upload's file
		}
		if err != nil {
			return n, err
		}
		if err := out.PutKey(ctx, k, data); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func readBlob(ctx context.Context, blobs blobstore.Store, key string) ([]byte, error) {
	f, err := blobs.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// checksumFolder lists every file under dir with its size and SHA-256.
func checksumFolder(dir string) ([]backupFile, error) {
	var files []backupFile
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == manifestFile {
			return nil
		}
		sum, size, err := sha256File(p)
		if err != nil {
			return err
		}
		files = append(files, backupFile{Path: rel, Size: size, SHA256: sum})
		return nil
	})
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, err
}

func sha256File(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func writeManifest(dir string, m *manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+manifestFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	f, err := os.Open(tmp)
	if err == nil {
		err = f.Sync()
		f.Close()
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, manifestFile))
}

// readManifest reads dir's manifest and checks every file it lists
// against its size and SHA-256, and that no other file is there.
func readManifest(dir string) (*manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, manifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s has no %s: not a backup, or one that did not finish", dir, manifestFile)
	}
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", manifestFile, err)
	}
	if m.Format != backupFormat {
		return nil, fmt.Errorf("%s: format %d, this portal reads format %d", manifestFile, m.Format, backupFormat)
	}
	if m.SchemaVersion > models.SchemaVersion() {
		return nil, fmt.Errorf("the backup has schema version %d, newer than this portal's %d: restore it with a newer portal",
			m.SchemaVersion, models.SchemaVersion())
	}
	found, err := checksumFolder(dir)
	if err != nil {
		return nil, err
	}
	have := make(map[string]backupFile, len(found))
	for _, f := range found {
		have[f.Path] = f
	}
	var problems []string
	for _, want := range m.Files {
		got, ok := have[want.Path]
		switch {
		case !ok:
			problems = append(problems, want.Path+": missing")
		case got.Size != want.Size || got.SHA256 != want.SHA256:
			problems = append(problems, fmt.Sprintf("%s: %d bytes with SHA-256 %s, the manifest says %d bytes with %s",
				want.Path, got.Size, got.SHA256, want.Size, want.SHA256))
		}
		delete(have, want.Path)
	}
	for p := range have {
		if !strings.HasPrefix(p, ".") {
			problems = append(problems, p+": not in the manifest")
		}
	}
	if _, ok := indexFile(m.Files, m.Database); !ok {
		problems = append(problems, m.Database+": the database snapshot is not in the manifest")
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fmt.Errorf("the backup in %s does not match its manifest, nothing was restored:\n  %s", dir, strings.Join(problems, "\n  "))
	}
	return &m, nil
}

func indexFile(files []backupFile, path string) (int, bool) {
	for i, f := range files {
		if f.Path == path {
			return i, true
		}
	}
	return 0, false
}

// restoreCmd is `portal restore [--force] [--no-documents | --documents-only] DIR`.
// It checks the whole backup against its manifest before it changes
// anything, refuses a database that already has tables (and a different
// key file) unless --force, then restores the database, the documents into
// the configured document store, and the key file.
func restoreCmd(ctx context.Context, cfg *Config, secretInEnv bool, args []string, stdout io.Writer) error {
	fs := newFlagSet("restore")
	force := fs.Bool("force", false, "replace a database that has tables, and a different key file")
	noDocs := fs.Bool("no-documents", false, "restore the database and key only")
	docsOnly := fs.Bool("documents-only", false, "copy the backup's documents into the configured store only")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 || (*noDocs && *docsOnly) {
		return errors.New("usage: portal restore [--force] [--no-documents | --documents-only] DIR")
	}
	dir := fs.Arg(0)
	m, err := readManifest(dir)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	fmt.Fprintf(stdout, "backup of %s: %d files match %s\n", m.CreatedAt.Format(time.RFC3339), len(m.Files), manifestFile)

	// The key first, as a check: nothing is written before every refusal.
	keyPath := filepath.Join(cfg.DataDir, "secret.key")
	var key []byte
	if m.Key == backupKeyFile && !*docsOnly {
		if key, err = os.ReadFile(filepath.Join(dir, backupKeyFile)); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		if secretInEnv {
			if !bytes.Equal(bytes.TrimSpace(key), cfg.Secret) {
				fmt.Fprintln(stdout, "warning: PORTAL_SECRET is set and differs from the backup's key file: second factors set up before the backup will not open; set PORTAL_SECRET to the backup's key")
			}
			key = nil
		} else if old, err := os.ReadFile(keyPath); err == nil && !bytes.Equal(old, key) && !*force {
			return fmt.Errorf("restore: %s holds a different key: move it away or use --force", keyPath)
		}
	}
	if !*docsOnly {
		rows, err := models.RestoreDatabase(ctx, models.OpenOptions{URL: cfg.DatabaseURL, DataDir: cfg.DataDir},
			filepath.Join(dir, m.Database), m.Dialect, *force)
		if err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		var mismatch []string
		for _, t := range models.TableNames(m.Rows) {
			if rows[t] != m.Rows[t] {
				mismatch = append(mismatch, fmt.Sprintf("%s: %d rows, the backup had %d", t, rows[t], m.Rows[t]))
			}
		}
		if len(mismatch) > 0 {
			return fmt.Errorf("restore: the restored database differs from the backup:\n  %s", strings.Join(mismatch, "\n  "))
		}
		var n int64
		for _, c := range rows {
			n += c
		}
		fmt.Fprintf(stdout, "database restored: %d tables, %d rows, as in the backup\n", len(rows), n)
	}
	if !*noDocs {
		if m.NoDocuments {
			fmt.Fprintln(stdout, "the backup holds no documents (made with --no-documents): restore them from where they are kept")
		} else {
			blobs, err := cfg.openDocuments(ctx)
			if err != nil {
				return fmt.Errorf("restore: documents: %w", err)
			}
			n, err := copyDocumentsIn(ctx, m, dir, blobs)
			if err != nil {
				return fmt.Errorf("restore: documents: %w", err)
			}
			fmt.Fprintf(stdout, "documents restored: %d into %s\n", n, blobs.Where())
		}
	}
	if key != nil {
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		tmp := keyPath + ".restoring"
		if err := os.WriteFile(tmp, key, 0o600); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		if err := os.Rename(tmp, keyPath); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		fmt.Fprintf(stdout, "key file restored: %s\n", keyPath)
	}
	return nil
}

// copyDocumentsIn puts every document of the backup into blobs under its
// own key; the bytes were checked against the manifest already.
func copyDocumentsIn(ctx context.Context, m *manifest, dir string, blobs blobstore.Store) (int, error) {
	n := 0
	for _, f := range m.Files {
		rest, ok := strings.CutPrefix(f.Path, documentsDir+"/")
		if !ok {
			continue
		}
		shard, k, ok := strings.Cut(rest, "/")
		if !ok || !blobstore.ValidKey(k) || shard != k[:2] {
			return n, fmt.Errorf("%s is not a document's name", f.Path)
		}
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			return n, err
		}
		if err := blobs.PutKey(ctx, k, data); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// copyFile copies src to dst (mode 0600).
func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o600)
}
