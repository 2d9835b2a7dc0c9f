package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// README and the docs link only files of this repository, each of which
// exists, so a fresh clone has every document it points to; the two-command
// section says what pings need.
func TestDocumentLinksStayInTheRepository(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	files = append(files, filepath.Join(root, "README.md"))
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(b), -1) {
			target := m[1]
			if strings.HasPrefix(target, "#") || strings.HasPrefix(target, "https://") || strings.HasPrefix(target, "http://") ||
				strings.HasPrefix(target, "mailto:") {
				continue
			}
			target, _, _ = strings.Cut(target, "#")
			p := filepath.Clean(filepath.Join(filepath.Dir(f), target))
			if rel, err := filepath.Rel(root, p); err != nil || strings.HasPrefix(rel, "..") || filepath.IsAbs(target) {
				t.Errorf("%s links %s, outside the repository", filepath.Base(f), m[1])
				continue
			}
			if _, err := os.Stat(p); err != nil {
				t.Errorf("%s links %s, which does not exist", filepath.Base(f), m[1])
			}
		}
	}
	readme, _ := os.ReadFile(filepath.Join(root, "README.md"))
	two := string(readme)
	if i, j := strings.Index(two, "## The two commands"), strings.Index(two, "## Commands"); i >= 0 && j > i {
		two = two[i:j]
	}
	for _, want := range []string{"net.ipv4.ping_group_range", "CAP_NET_RAW", "](docs/agreement.md)", "](docs/operations.md)"} {
		if !strings.Contains(two, want) {
			t.Errorf("README's two-command section does not mention %s", want)
		}
	}
}
