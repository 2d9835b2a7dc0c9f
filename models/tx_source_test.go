package models

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStoreWritesGoThroughTheRetryingTx keeps new multi-statement writes on
// s.tx (docs/architecture.md): a transaction opened with gorm's Transaction
// directly is not retried after a deadlock. Migrations run under their own
// lock and are left out, as is tx.go, which wraps Transaction itself.
func TestStoreWritesGoThroughTheRetryingTx(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || strings.HasPrefix(f, "migrate") || f == "tx.go" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for i, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, ".Transaction(") {
				t.Errorf("%s:%d opens a transaction without s.tx: %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
	if checked < 20 {
		t.Fatalf("checked %d files; the glob ran in the wrong folder", checked)
	}
}
