package models_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The small packages under models hold one concern each and import nothing
// of the portal's, so each can be read, tested and reused on its own.
func TestModelsSubpackagesImportNothingOfOurs(t *testing.T) {
	for _, dir := range []string{"passhash", "seal", "imagecheck", "blobstore", "passtoken", "metricstest"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no Go files in models/%s: %v", dir, err)
		}
		for _, f := range files {
			ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			self := "github.com/colo-portal/portal/models/" + dir
			for _, imp := range ast.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if strings.HasPrefix(p, "github.com/colo-portal/portal") && p != self {
					t.Errorf("%s imports %s", f, p)
				}
			}
		}
	}
}
