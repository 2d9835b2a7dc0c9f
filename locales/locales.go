// Package locales holds the zh-CN and en catalogs and the translator.
package locales

import (
	"embed"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

//go:embed *.json
var files embed.FS

// Default is the language used when nothing else decides.
const Default = "zh-CN"

// Supported lists the languages in the order the switcher shows them.
var Supported = []string{"zh-CN", "en"}

var catalogs = load()

func load() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, lang := range Supported {
		b, err := files.ReadFile(lang + ".json")
		if err != nil {
			panic(fmt.Sprintf("locales: %s: %v", lang, err))
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			panic(fmt.Sprintf("locales: %s: %v", lang, err))
		}
		out[lang] = m
	}
	return out
}

// Catalog returns a copy of one language's catalog, for tests and tools.
func Catalog(lang string) map[string]string {
	m := map[string]string{}
	for k, v := range catalogs[lang] {
		m[k] = v
	}
	return m
}

// Keys returns every key of a language, sorted.
func Keys(lang string) []string {
	var ks []string
	for k := range catalogs[lang] {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Valid reports whether lang is a supported language tag.
func Valid(lang string) bool {
	_, ok := catalogs[lang]
	return ok
}

// Translator renders keys in one language.
type Translator struct {
	lang string
	cat  map[string]string
}

// For returns the translator of lang, or of Default when lang is unknown.
func For(lang string) *Translator {
	if !Valid(lang) {
		lang = Default
	}
	return &Translator{lang: lang, cat: catalogs[lang]}
}

// Lang is the translator's language tag.
func (t *Translator) Lang() string { return t.lang }

// T renders key with fmt-style arguments. A missing key renders as the key
// itself, so it shows up in review instead of vanishing; a test keeps the
// catalogs complete.
func (t *Translator) T(key string, args ...any) string {
	s, ok := t.cat[key]
	if !ok {
		return key
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// Has reports whether key exists.
func (t *Translator) Has(key string) bool {
	_, ok := t.cat[key]
	return ok
}

// Match picks the best supported language from an Accept-Language header.
func Match(header string) string {
	best, bestQ := "", -1.0
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		lang := matchTag(strings.ToLower(strings.TrimSpace(tag)))
		// q=0 means "not acceptable".
		if lang != "" && q > 0 && q > bestQ {
			best, bestQ = lang, q
		}
	}
	if best == "" {
		return Default
	}
	return best
}

func matchTag(tag string) string {
	switch {
	case tag == "en" || strings.HasPrefix(tag, "en-"):
		return "en"
	case tag == "zh" || strings.HasPrefix(tag, "zh-"):
		// Any Chinese variant gets the simplified catalog, the only one.
		return "zh-CN"
	}
	return ""
}
