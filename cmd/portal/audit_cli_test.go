package main

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/colo-portal/portal/models"
)

func TestCLIAuditVerify(t *testing.T) {
	url := "sqlite:" + filepath.Join(t.TempDir(), "portal.db")
	c := newCLI(t, url)

	out, err := c.run("", "audit", "verify")
	if err != nil || out != "audit chain intact: 0 entries\n" {
		t.Fatalf("on an empty log: %q, %v", out, err)
	}
	for _, slug := range []string{"acme", "zeta", "omega"} {
		if out, err := c.run("", "org", "add", "--slug", slug, "--name", strings.ToUpper(slug)); err != nil {
			t.Fatalf("org add: %v (%s)", err, out)
		}
	}
	out, err = c.run("", "audit", "verify")
	if err != nil {
		t.Fatalf("audit verify on an intact chain: %v", err)
	}
	if !regexp.MustCompile(`^audit chain intact: 3 entries\nlast entry: seq 3, hash [0-9a-f]{64}\n$`).MatchString(out) {
		t.Errorf("audit verify printed %q", out)
	}

	db, _, err := models.Open(context.Background(), models.OpenOptions{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s, err := db.DB(); err == nil {
			s.Close()
		}
	})
	var id int64
	if err := db.Raw("SELECT id FROM audit_events WHERE seq = 2").Scan(&id).Error; err != nil || id == 0 {
		t.Fatalf("find entry 2: %v", err)
	}
	if err := db.Exec("UPDATE audit_events SET detail = ? WHERE seq = 2", `{"slug":"evil"}`).Error; err != nil {
		t.Fatal(err)
	}
	out, err = c.run("", "audit", "verify")
	want := fmt.Sprintf("audit chain broken at entry seq 2 (id %d): content edited (hash mismatch)", id)
	if err == nil || err.Error() != want {
		t.Fatalf("after an edit: error %v, want %q", err, want)
	}
	if out != "" {
		t.Errorf("printed %q on a broken chain", out)
	}

	for _, args := range [][]string{{"audit"}, {"audit", "check"}, {"audit", "verify", "now"}} {
		if _, err := c.run("", args...); err == nil || !strings.Contains(err.Error(), "usage: portal audit verify") {
			t.Errorf("%v: error %v, want the usage", args, err)
		}
	}
}
