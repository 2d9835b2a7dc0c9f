package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/blobstore"
	"github.com/colo-portal/portal/models/dbtest"
)

func TestLoadDemoTwice(t *testing.T) {
	ctx := context.Background()
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			store := dbtest.Open(t, db)
			var first, second bytes.Buffer
			if err := loadDemo(ctx, store, ":8080", demoBlobs(t), &first); err != nil {
				t.Fatalf("first loadDemo: %v", err)
			}
			users, err := store.CountUsers(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if want := int64(len(demoStaff) + len(demoCustomers)); users != want {
				t.Errorf("after the first run: %d users, want %d", users, want)
			}
			orgs, err := store.ListOrgs(ctx, models.AllOrgs())
			if err != nil {
				t.Fatal(err)
			}

			if err := loadDemo(ctx, store, ":8080", demoBlobs(t), &second); err != nil {
				t.Fatalf("second loadDemo: %v", err)
			}
			if n, err := store.CountUsers(ctx); err != nil || n != users {
				t.Errorf("after the second run: %d users (%v), want unchanged %d", n, err, users)
			}
			if rs, err := store.ListRequests(ctx, models.AllOrgs(), models.RequestFilter{}); err != nil || len(rs) != 2 || rs[1].State != models.OpCompleted || rs[0].State != models.OpAwaiting {
				t.Errorf("demo operation requests after two runs: %+v (%v), want one completed and one awaiting", rs, err)
			}
			if o, err := store.ListOrgs(ctx, models.AllOrgs()); err != nil || len(o) != len(orgs) {
				t.Errorf("after the second run: %d organizations (%v), want unchanged %d", len(o), err, len(orgs))
			}

			for _, out := range []string{first.String(), second.String()} {
				rows := map[string][]string{}
				for _, l := range strings.Split(out, "\n") {
					f := strings.Fields(l)
					if len(f) >= 3 {
						rows[f[1]] = f
					}
				}
				if r := rows["admin@idc.example"]; len(r) != 3 || r[0] != "admin" || r[2] != "demo-Chen-2026" {
					t.Errorf("admin row = %q in\n%s", r, out)
				}
				if r := rows["ops@aurora.example"]; len(r) != 4 || r[0] != "customer" || r[2] != "demo-Aurora-2026" || r[3] != "aurora" {
					t.Errorf("customer row = %q in\n%s", r, out)
				}
				if !strings.Contains(out, "ROLE") || !strings.Contains(out, "PASSWORD") {
					t.Errorf("no table header in\n%s", out)
				}
			}

			// The printed password works.
			signInAndSeeHome(t, store, []byte(strings.Repeat("x", 32)), "ops@aurora.example", "demo-Aurora-2026", "Aurora Cloud 极光云计算")
		})
	}
}

// demoBlobs is a documents folder for a test's demo data.
func demoBlobs(t *testing.T) blobstore.Store {
	t.Helper()
	b, err := blobstore.New(filepath.Join(t.TempDir(), "documents"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
