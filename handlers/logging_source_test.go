package handlers_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Issue 9 point 12: a handler that logs through h.log directly writes a
// line without the request's ID. Only request_context.go, which makes the
// request's logger from it, may use it.
func TestHandlersLogThroughTheRequestLogger(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	direct := regexp.MustCompile(`\bh\.log\.`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "request_context.go" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if direct.MatchString(line) {
				t.Errorf("%s:%d logs through h.log; use h.logger(c): %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
}
