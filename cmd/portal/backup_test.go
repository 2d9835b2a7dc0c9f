package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/blobstore"
	"github.com/colo-portal/portal/models/dbtest"
)

// placeEnv is the environment of one portal installation for run().
func placeEnv(dbURL, dataDir string, extra map[string]string) func(string) string {
	m := map[string]string{"PORTAL_DATABASE_URL": dbURL, "PORTAL_DATA_DIR": dataDir, "PORTAL_LOG_LEVEL": "error"}
	for k, v := range extra {
		m[k] = v
	}
	return env(m)
}

// s3Env starts an in-process S3-compatible server (gofakes3 over a real
// socket) with an empty bucket and returns the settings that use it.
func s3Env(t *testing.T) map[string]string {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("portal-docs"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return map[string]string{"PORTAL_DOCUMENTS": "s3", "PORTAL_S3_ENDPOINT": srv.URL, "PORTAL_S3_BUCKET": "portal-docs",
		"PORTAL_S3_ACCESS_KEY": "portal", "PORTAL_S3_SECRET_KEY": "portal-secret-key"}
}

// openPlace opens (and migrates) the store of an installation, as serve would.
func openPlace(t *testing.T, getenv func(string) string) (*Config, *models.Store) {
	t.Helper()
	cfg, err := loadConfig(getenv)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.loadOrCreateSecret(); err != nil {
		t.Fatal(err)
	}
	store, err := openStore(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return cfg, store
}

// TestBackupRestoreDrill backs up a portal while it keeps writing, with
// its demo data and documents, restores the backup into a fresh database
// and data directory, and compares: tables the writes did not touch are
// equal row for row; the restored data is one consistent moment (every
// organization has its audit record, the audit chain verifies); every
// document row has its file with the recorded SHA-256; the key file came
// back. SQLite backs up from the folder and restores into S3; MySQL backs
// up from S3 and restores into the folder.
func TestBackupRestoreDrill(t *testing.T) {
	ctx := context.Background()
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			srcS3, dstS3 := map[string]string(nil), s3Env(t)
			if db.Name == "mysql" {
				srcS3, dstS3 = s3Env(t), nil
			}
			srcEnv := placeEnv(db.URL, filepath.Join(t.TempDir(), "src"), srcS3)
			srcCfg, src := openPlace(t, srcEnv)
			blobs, err := srcCfg.openDocuments(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := loadDemo(ctx, src, ":8080", blobs, io.Discard); err != nil {
				t.Fatal(err)
			}
			// The writer also files signed forms on the demo's awaiting
			// request, so documents arrive during the backup too.
			upload := demoUploader(t, src, blobs)
			before := tableDigests(t, db.URL)

			// Writes go on while the backup runs.
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				written int
			)
			stop := make(chan struct{})
			first := make(chan struct{})
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := src.CreateOrg(ctx, models.SystemActor("drill"), models.OrgInput{Slug: fmt.Sprintf("drill-%d", i), Name: fmt.Sprintf("Drill %d", i)}); err != nil {
						t.Errorf("write during the backup: %v", err)
						return
					}
					if i%2 == 0 {
						if err := upload(); err != nil {
							t.Errorf("upload during the backup: %v", err)
							return
						}
					}
					mu.Lock()
					written++
					mu.Unlock()
					if i == 0 {
						close(first)
					}
				}
			}()
			<-first
			mu.Lock()
			writtenBefore := written
			mu.Unlock()
			dir := filepath.Join(t.TempDir(), "backup")
			var out bytes.Buffer
			err = run(ctx, []string{"backup", dir}, nil, &out, srcEnv)
			close(stop)
			wg.Wait()
			if err != nil {
				t.Fatalf("backup: %v", err)
			}
			t.Log(strings.TrimSpace(out.String()))
			after := tableDigests(t, db.URL)

			// Restore into a fresh database and data directory.
			fresh := "sqlite:" + filepath.Join(t.TempDir(), "restored", "portal.db")
			if db.Name == "mysql" {
				fresh = dbtest.Databases(t)[1].URL
			}
			dstDir := filepath.Join(t.TempDir(), "dst")
			dstEnv := placeEnv(fresh, dstDir, dstS3)
			out.Reset()
			if err := run(ctx, []string{"restore", dir}, nil, &out, dstEnv); err != nil {
				t.Fatalf("restore: %v\n%s", err, out.String())
			}
			t.Log(strings.TrimSpace(out.String()))
			restored := tableDigests(t, fresh)

			// Tables the writer left alone are restored row for row.
			changed := 0
			for table, d := range before {
				if after[table].sum != d.sum {
					changed++
					continue
				}
				if restored[table].sum != d.sum {
					t.Errorf("table %s: restored %d rows differ from the %d backed up", table, restored[table].rows, d.rows)
				}
			}
			if len(restored) != len(after) {
				t.Errorf("restored %d tables, the source has %d", len(restored), len(after))
			}
			if changed == 0 || changed == len(before) {
				t.Fatalf("%d of %d tables changed during the backup: the drill is not testing writes during a backup", changed, len(before))
			}

			// The moment restored: between the writes before the backup
			// and all of them, each organization with its audit record.
			dstCfg, dst := openPlace(t, dstEnv)
			orgs, err := dst.ListOrgs(ctx, models.AllOrgs())
			if err != nil {
				t.Fatal(err)
			}
			drillOrgs := 0
			for _, o := range orgs {
				if strings.HasPrefix(o.Slug, "drill-") {
					drillOrgs++
				}
			}
			if drillOrgs < writtenBefore || drillOrgs > written {
				t.Errorf("restored %d organizations written during the backup; %d were written before it began, %d in all", drillOrgs, writtenBefore, written)
			}
			if n := countWhere(t, fresh, "audit_events", "action = 'admin.org_created' AND actor_email = 'drill'"); n != int64(drillOrgs) {
				t.Errorf("restored %d organizations of the drill but %d audit records of their creation: not one moment", drillOrgs, n)
			}
			out.Reset()
			if err := run(ctx, []string{"audit", "verify"}, nil, &out, dstEnv); err != nil {
				t.Errorf("audit chain of the restored database: %v", err)
			}

			// Every document is back, with its checksum, in the other kind of store.
			dstBlobs, err := dstCfg.openDocuments(ctx)
			if err != nil {
				t.Fatal(err)
			}
			docs := documentRows(t, fresh)
			if len(docs) < 2 {
				t.Fatalf("%d documents restored: the drill does not test documents written during the backup", len(docs))
			}
			for key, sum := range docs {
				data, err := readBlob(ctx, dstBlobs, key)
				if err != nil {
					t.Errorf("document %s after restore: %v", key, err)
					continue
				}
				if got := sha256.Sum256(data); hex.EncodeToString(got[:]) != sum {
					t.Errorf("document %s restored with SHA-256 %x, recorded %s", key, got, sum)
				}
			}
			srcKey, _ := os.ReadFile(filepath.Join(srcCfg.DataDir, "secret.key"))
			if !bytes.Equal(srcKey, []byte(string(dstCfg.Secret)+"\n")) {
				t.Error("the restored key file differs from the source's")
			}
		})
	}
}

// demoUploader returns a function that files the demo's signed scan as a
// written authorization of the demo's awaiting request.
func demoUploader(t *testing.T, store *models.Store, blobs blobstore.Store) func() error {
	t.Helper()
	ctx := context.Background()
	rs, err := store.ListRequests(ctx, models.AllOrgs(), models.RequestFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var req *models.OperationRequest
	for i := range rs {
		if rs[i].State == models.OpAwaiting {
			req = &rs[i]
		}
	}
	if req == nil {
		t.Fatal("the demo has no awaiting request")
	}
	eng, err := store.GetUserByEmail(ctx, "engineer@idc.example")
	if err != nil {
		t.Fatal(err)
	}
	contacts, err := store.ListContacts(ctx, models.AllOrgs(), req.OrgID)
	if err != nil {
		t.Fatal(err)
	}
	var signer int64
	for _, c := range contacts {
		if c.MayAuthorize {
			signer = c.ID
		}
	}
	scan := demoScan()
	up, err := models.CheckUpload("signed.png", scan, models.DefaultUploadLimits)
	if err != nil {
		t.Fatal(err)
	}
	return func() error {
		_, err := store.AddWrittenAuthorization(ctx, models.UserActor(eng, "127.0.0.1"), blobs, req.OrgID, req.ID, signer, up, scan)
		return err
	}
}

// TestBackupKeepsWhatIsStillInTheWriteAheadLog: copying the live SQLite
// file leaves out what the write-ahead log has not yet moved into it (the
// loss seen in issue 10: 1,735 of 2,443 rows); the backup has every row.
func TestBackupKeepsWhatIsStillInTheWriteAheadLog(t *testing.T) {
	ctx := context.Background()
	dataDir := filepath.Join(t.TempDir(), "data")
	getenv := placeEnv("", dataDir, nil)
	_, store := openPlace(t, getenv)
	const orgs, checkpointed = 40, 15
	live := filepath.Join(dataDir, "portal.db")
	for i := range orgs {
		if _, err := store.CreateOrg(ctx, models.SystemActor("test"), models.OrgInput{Slug: fmt.Sprintf("wal-%d", i), Name: "WAL"}); err != nil {
			t.Fatal(err)
		}
		if i+1 == checkpointed {
			// SQLite moves the log into the file now and then; the rows
			// after the last time are in the log only.
			gdb, _, err := models.Open(ctx, models.OpenOptions{URL: "sqlite:" + live})
			if err != nil {
				t.Fatal(err)
			}
			if err := gdb.Exec("PRAGMA wal_checkpoint(TRUNCATE)").Error; err != nil {
				t.Fatal(err)
			}
			sqlDB, _ := gdb.DB()
			sqlDB.Close()
		}
	}
	if fi, err := os.Stat(live + "-wal"); err != nil || fi.Size() == 0 {
		t.Fatalf("the write-ahead log is empty (%v): the test needs rows still in it", err)
	}

	// What an operator's cp of the file alone keeps, while the portal runs.
	copied := filepath.Join(t.TempDir(), "copy.db")
	if err := copyFile(live, copied); err != nil {
		t.Fatal(err)
	}
	inCopy := copiedOrgs(t, copied)
	t.Logf("a copy of the live file holds %d of %d organizations", inCopy, orgs)
	if inCopy != checkpointed {
		t.Fatalf("the copy of the live file holds %d organizations, want the %d moved out of the log: the test shows nothing", inCopy, checkpointed)
	}

	dir := filepath.Join(t.TempDir(), "backup")
	var out bytes.Buffer
	if err := run(ctx, []string{"backup", dir}, nil, &out, getenv); err != nil {
		t.Fatal(err)
	}
	restored := "sqlite:" + filepath.Join(t.TempDir(), "restored.db")
	if err := run(ctx, []string{"restore", dir}, nil, &out, placeEnv(restored, filepath.Join(t.TempDir(), "dst"), nil)); err != nil {
		t.Fatal(err)
	}
	if n := countWhere(t, restored, "organizations", "slug LIKE 'wal-%'"); n != orgs {
		t.Fatalf("backup then restore kept %d of %d organizations", n, orgs)
	}
}

// TestRestoreChecksBeforeItChangesAnything: a backup whose files do not
// match the manifest, an unfinished one, and a database that already has
// tables are all refused with nothing changed; --force replaces the
// database.
func TestRestoreChecksBeforeItChangesAnything(t *testing.T) {
	ctx := context.Background()
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			srcEnv := placeEnv(db.URL, filepath.Join(t.TempDir(), "src"), nil)
			_, src := openPlace(t, srcEnv)
			if _, err := src.CreateOrg(ctx, models.SystemActor("test"), models.OrgInput{Slug: "kept", Name: "Kept"}); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "backup")
			if err := run(ctx, []string{"backup", dir}, nil, io.Discard, srcEnv); err != nil {
				t.Fatal(err)
			}
			if err := run(ctx, []string{"backup", dir}, nil, io.Discard, srcEnv); err == nil || !strings.Contains(err.Error(), "not empty") {
				t.Errorf("a second backup into the same folder: %v", err)
			}
			// The source itself is not empty: refused, and still whole.
			var out bytes.Buffer
			err := run(ctx, []string{"restore", dir}, nil, &out, srcEnv)
			if err == nil || !strings.Contains(err.Error(), "not empty") || !strings.Contains(err.Error(), "--force") && !strings.Contains(err.Error(), "tables") {
				t.Fatalf("restore over a database with tables: %v", err)
			}
			if n := countWhere(t, db.URL, "organizations", "slug = 'kept'"); n != 1 {
				t.Fatalf("after a refused restore the source has %d of its organization", n)
			}

			// A changed file: refused before anything is written.
			fresh := "sqlite:" + filepath.Join(t.TempDir(), "fresh.db")
			if db.Name == "mysql" {
				fresh = dbtest.Databases(t)[1].URL
			}
			freshEnv := placeEnv(fresh, filepath.Join(t.TempDir(), "dst"), nil)
			snap := filepath.Join(dir, models.SQLiteSnapshotFile)
			if db.Name == "mysql" {
				snap = filepath.Join(dir, models.MySQLSnapshotFile)
			}
			orig, err := os.ReadFile(snap)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(snap, append(orig[:len(orig)-1:len(orig)-1], orig[len(orig)-1]^1), 0o600); err != nil {
				t.Fatal(err)
			}
			err = run(ctx, []string{"restore", dir}, nil, &out, freshEnv)
			if err == nil || !strings.Contains(err.Error(), "does not match its manifest") || !strings.Contains(err.Error(), filepath.Base(snap)) {
				t.Fatalf("restore of a changed snapshot: %v", err)
			}
			if tables := tableDigests(t, fresh); len(tables) != 0 {
				t.Fatalf("a refused restore created %d tables", len(tables))
			}
			if err := os.WriteFile(snap, orig, 0o600); err != nil {
				t.Fatal(err)
			}
			// Without its manifest a folder is no backup.
			if err := os.Rename(filepath.Join(dir, manifestFile), filepath.Join(dir, "m.json")); err != nil {
				t.Fatal(err)
			}
			if err := run(ctx, []string{"restore", dir}, nil, &out, freshEnv); err == nil || !strings.Contains(err.Error(), "did not finish") {
				t.Fatalf("restore without a manifest: %v", err)
			}
			if err := os.Rename(filepath.Join(dir, "m.json"), filepath.Join(dir, manifestFile)); err != nil {
				t.Fatal(err)
			}

			// --force replaces a database that has tables.
			if _, err := src.CreateOrg(ctx, models.SystemActor("test"), models.OrgInput{Slug: "later", Name: "Later"}); err != nil {
				t.Fatal(err)
			}
			src.Close()
			if err := run(ctx, []string{"restore", "--force", dir}, nil, &out, srcEnv); err != nil {
				t.Fatalf("restore --force: %v", err)
			}
			if n := countWhere(t, db.URL, "organizations", "slug IN ('kept', 'later')"); n != 1 {
				t.Fatalf("after restore --force: %d of kept and later, want only kept", n)
			}
		})
	}
}

// TestDocumentsMoveFromTheFolderToS3 is the migration of docs/operations.md:
// back up, then restore --documents-only with PORTAL_DOCUMENTS=s3.
func TestDocumentsMoveFromTheFolderToS3(t *testing.T) {
	ctx := context.Background()
	dataDir := filepath.Join(t.TempDir(), "data")
	folderEnv := placeEnv("", dataDir, nil)
	cfg, store := openPlace(t, folderEnv)
	blobs, err := cfg.openDocuments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := loadDemo(ctx, store, ":8080", blobs, io.Discard); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "backup")
	if err := run(ctx, []string{"backup", dir}, nil, io.Discard, folderEnv); err != nil {
		t.Fatal(err)
	}
	s3 := s3Env(t)
	s3Env := placeEnv("", dataDir, s3)
	var out bytes.Buffer
	if err := run(ctx, []string{"restore", "--documents-only", dir}, nil, &out, s3Env); err != nil {
		t.Fatal(err)
	}
	s3Cfg, err := loadConfig(s3Env)
	if err != nil {
		t.Fatal(err)
	}
	bucket, err := s3Cfg.openDocuments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	docs := documentRows(t, "sqlite:"+filepath.Join(dataDir, "portal.db"))
	keys, err := bucket.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) == 0 || len(keys) != len(docs) {
		t.Fatalf("%d documents in the database, %d in the bucket", len(docs), len(keys))
	}
	for key, sum := range docs {
		data, err := readBlob(ctx, bucket, key)
		if err != nil {
			t.Fatal(err)
		}
		if got := sha256.Sum256(data); hex.EncodeToString(got[:]) != sum {
			t.Errorf("document %s in the bucket has SHA-256 %x, recorded %s", key, got, sum)
		}
	}
}

// copiedOrgs counts the organizations in a copied SQLite file: none when
// even the table is not in it yet.
func copiedOrgs(t *testing.T, path string) int64 {
	t.Helper()
	gdb, _, err := models.Open(context.Background(), models.OpenOptions{URL: "sqlite:" + path})
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := gdb.DB()
	defer sqlDB.Close()
	var tables int64
	if err := gdb.Raw("SELECT COUNT(*) FROM sqlite_master WHERE name = 'organizations'").Scan(&tables).Error; err != nil {
		t.Fatal(err)
	}
	if tables == 0 {
		return 0
	}
	var n int64
	if err := gdb.Raw("SELECT COUNT(*) FROM organizations WHERE slug LIKE 'wal-%'").Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

type tableDigest struct {
	rows int
	sum  string
}

// tableDigests reads every table of the database at url and returns its
// row count and a digest of its sorted rows.
func tableDigests(t *testing.T, url string) map[string]tableDigest {
	t.Helper()
	gdb, _, err := models.Open(context.Background(), models.OpenOptions{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	var tables []string
	q := "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"
	if strings.HasPrefix(url, "mysql:") {
		q = "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"
	}
	if err := gdb.Raw(q).Scan(&tables).Error; err != nil {
		t.Fatal(err)
	}
	out := map[string]tableDigest{}
	for _, table := range tables {
		rs, err := sqlDB.Query("SELECT * FROM " + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rs.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		var lines []string
		for rs.Next() {
			if err := rs.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for _, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, "%v\x1f", v)
			}
			lines = append(lines, b.String())
		}
		rs.Close()
		sort.Strings(lines)
		sum := sha256.Sum256([]byte(strings.Join(lines, "\x1e")))
		out[table] = tableDigest{rows: len(lines), sum: hex.EncodeToString(sum[:])}
	}
	return out
}

func countWhere(t *testing.T, url, table, where string) int64 {
	t.Helper()
	gdb, _, err := models.Open(context.Background(), models.OpenOptions{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := gdb.DB()
	defer sqlDB.Close()
	var n int64
	if err := gdb.Raw("SELECT COUNT(*) FROM " + table + " WHERE " + where).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// documentRows maps each document's storage key to its recorded SHA-256.
func documentRows(t *testing.T, url string) map[string]string {
	t.Helper()
	gdb, _, err := models.Open(context.Background(), models.OpenOptions{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := gdb.DB()
	defer sqlDB.Close()
	var docs []models.Document
	if err := gdb.Find(&docs).Error; err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range docs {
		if !blobstore.ValidKey(d.StorageKey) {
			t.Fatalf("document %d has key %q", d.ID, d.StorageKey)
		}
		out[d.StorageKey] = d.SHA256
	}
	return out
}

// TestARestoreWithoutDocumentsSaysADocumentIsMissing: after the database
// is restored without its documents (restore --no-documents, on MySQL as
// on SQLite), opening a document answers a translated page saying the
// file is missing and logs an error, instead of a 404 like a wrong link.
func TestARestoreWithoutDocumentsSaysADocumentIsMissing(t *testing.T) {
	ctx := context.Background()
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			srcEnv := placeEnv(db.URL, filepath.Join(t.TempDir(), "src"), nil)
			srcCfg, src := openPlace(t, srcEnv)
			blobs, err := srcCfg.openDocuments(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := loadDemo(ctx, src, ":8080", blobs, io.Discard); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "backup")
			if err := run(ctx, []string{"backup", dir}, nil, io.Discard, srcEnv); err != nil {
				t.Fatal(err)
			}
			fresh := "sqlite:" + filepath.Join(t.TempDir(), "restored.db")
			if db.Name == "mysql" {
				fresh = dbtest.Databases(t)[1].URL
			}
			dstEnv := placeEnv(fresh, filepath.Join(t.TempDir(), "dst"), nil)
			if err := run(ctx, []string{"restore", "--no-documents", dir}, nil, io.Discard, dstEnv); err != nil {
				t.Fatal(err)
			}
			dstCfg, dst := openPlace(t, dstEnv)
			dstBlobs, err := dstCfg.openDocuments(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			app := handlers.New(handlers.Deps{Store: dst, Secret: dstCfg.Secret, Sessions: models.DefaultSessionPolicy,
				SignIn: models.DefaultSignInLimits, Blobs: dstBlobs, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
			get := signIn(t, app, "ops@aurora.example", "demo-Aurora-2026")

			_, list := get("/operations")
			var link string
			for _, m := range regexp.MustCompile(`href="(/operations/[0-9a-f]{16})"`).FindAllStringSubmatch(list, -1) {
				if _, page := get(m[1]); link == "" {
					if d := regexp.MustCompile(`href="(/operations/[0-9a-f]{16}/documents/[0-9a-f]{16})"`).FindStringSubmatch(page); d != nil {
						link = d[1]
					}
				}
			}
			if link == "" {
				t.Fatal("no document link on the demo customer's requests")
			}
			status, body := get(link)
			if status != http.StatusInternalServerError {
				t.Fatalf("GET %s: status %d, want 500\n%s", link, status, body)
			}
			if !strings.Contains(body, locales.For("zh-CN").T("error.document_missing")) && !strings.Contains(body, locales.For("en").T("error.document_missing")) {
				t.Errorf("GET %s does not say the file is missing:\n%s", link, body)
			}
			if !strings.Contains(logs.String(), `"level":"ERROR","msg":"document file missing from the document store"`) {
				t.Errorf("no error logged for the missing file:\n%s", logs.String())
			}
		})
	}
}

// signIn signs in through the app's form and returns a GET that carries
// the session: it answers the status and the body.
func signIn(t *testing.T, app *fiber.App, email, password string) func(path string) (int, string) {
	t.Helper()
	do := func(req *http.Request) (*http.Response, string) {
		t.Helper()
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatalf("%s %s: %v", req.Method, req.URL, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	resp, body := do(httptest.NewRequest(http.MethodGet, "/login", nil))
	m := csrfInput.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("GET /login: no _csrf input in\n%s", body)
	}
	form := url.Values{"email": {email}, "password": {password}, "_csrf": {m[1]}}
	req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, ck := range resp.Cookies() {
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	resp, body = do(req)
	var sess *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "portal_session" && ck.Value != "" {
			sess = ck
		}
	}
	if sess == nil {
		t.Fatalf("POST /login as %s: status %d, no session\n%s", email, resp.StatusCode, body)
	}
	return func(path string) (int, string) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.AddCookie(&http.Cookie{Name: sess.Name, Value: sess.Value})
		resp, body := do(req)
		return resp.StatusCode, body
	}
}
