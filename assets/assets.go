// Package assets embeds the CSS, JavaScript and icons and serves them under
// content-hashed names, so browsers may cache them for a year.
package assets

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"path"
	"strings"
)

//go:embed static
var static embed.FS

// Prefix is the URL path under which assets are served.
const Prefix = "/assets/"

// File is one embedded asset.
type File struct {
	Name        string // hashed name, e.g. portal.3fa9c1d2.css
	ContentType string
	Body        []byte
}

var (
	byHashed = map[string]*File{}
	urls     = map[string]string{}
)

func init() {
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		sum := sha256.Sum256(body)
		ext := path.Ext(name)
		hashed := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:5]) + ext
		ct := mime.TypeByExtension(ext)
		if ct == "" {
			ct = "application/octet-stream"
		}
		byHashed[hashed] = &File{Name: hashed, ContentType: ct, Body: body}
		urls[name] = Prefix + hashed
		return nil
	})
	if err != nil {
		panic(err)
	}
}

// URL returns the hashed URL of an asset by its plain name ("portal.css").
// An unknown name panics: it is a programming error caught by any test that
// renders the page.
func URL(name string) string {
	u, ok := urls[name]
	if !ok {
		panic("assets: unknown asset " + name)
	}
	return u
}

// Lookup finds an asset by its hashed name.
func Lookup(hashed string) (*File, bool) {
	f, ok := byHashed[hashed]
	return f, ok
}
