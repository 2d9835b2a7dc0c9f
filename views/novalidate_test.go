package views

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// Every form leaves checking to the server, which answers with every
// error at once next to its field: a browser's own bubbles would show
// one error at a time, in the browser's language.
func TestEveryFormIsNovalidate(t *testing.T) {
	files, err := filepath.Glob("*.templ")
	if err != nil || len(files) == 0 {
		t.Fatalf("no templ files: %v", err)
	}
	form := regexp.MustCompile(`<form\b[^>]*>`)
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, tag := range form.FindAllString(string(b), -1) {
			n++
			if !regexp.MustCompile(`\bnovalidate\b`).MatchString(tag) {
				t.Errorf("%s: %s lacks novalidate", f, tag)
			}
		}
	}
	if n < 20 {
		t.Errorf("found only %d forms", n)
	}
}
