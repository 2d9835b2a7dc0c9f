package notify_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"testing"
)

// notify says things the pages say too (durations, for one) through
// locales, never through views: a notification must not need a page's code.
func TestNotifyDoesNotImportViews(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range ast.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == "github.com/colo-portal/portal/views" {
				t.Errorf("%s imports %s", f, p)
			}
		}
	}
}
