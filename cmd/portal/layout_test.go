package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/colo-portal/portal/models"
)

// The benchmark lives in its own package (bench/): the production Store
// exports nothing only a benchmark needs, and the server's command holds
// no more of it than the flags.
func TestTheBenchmarkStaysOutOfTheServer(t *testing.T) {
	st := reflect.TypeOf(&models.Store{})
	for i := range st.NumMethod() {
		if name := st.Method(i).Name; strings.HasPrefix(name, "Bulk") {
			t.Errorf("models.Store exports %s, a bench-only writer: it belongs in bench/", name)
		}
	}
	var benchLines, allLines int
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n := strings.Count(string(b), "\n")
		allLines += n
		if strings.HasPrefix(f, "bench") {
			benchLines += n
		}
	}
	// The thin command is flags and a call; before the move it was over
	// half of the package.
	if benchLines*5 > allLines {
		t.Errorf("cmd/portal has %d lines of bench code out of %d: the benchmark belongs in bench/", benchLines, allLines)
	}
}
