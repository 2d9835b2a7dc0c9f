package locales_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
)

func TestCatalogsHaveTheSameKeys(t *testing.T) {
	for _, pair := range [][2]string{{"en", "zh-CN"}, {"zh-CN", "en"}} {
		from, to := pair[0], pair[1]
		t.Run("every "+from+" key exists and is not empty in "+to, func(t *testing.T) {
			other := locales.Catalog(to)
			keys := locales.Keys(from)
			if len(keys) == 0 {
				t.Fatalf("the %s catalog is empty", from)
			}
			for _, k := range keys {
				v, ok := other[k]
				switch {
				case !ok:
					t.Errorf("%s lacks %q", to, k)
				case strings.TrimSpace(v) == "":
					t.Errorf("%s has %q empty", to, k)
				}
			}
		})
	}
	for _, lang := range locales.Supported {
		t.Run("no "+lang+" value is empty", func(t *testing.T) {
			for k, v := range locales.Catalog(lang) {
				if strings.TrimSpace(v) == "" {
					t.Errorf("%s: %q is empty", lang, k)
				}
			}
		})
	}
}

// verbRE finds printf verbs, with flags, width, precision and an explicit
// argument index; %% is a literal percent sign. The space flag is left out:
// in prose "99.9% each" is a percent sign before a word, and such texts
// are never formatted (T formats only when given arguments).
var verbRE = regexp.MustCompile(`%(?:\[\d+\])?[-+#0]*(?:\d+|\*)?(?:\.(?:\d+|\*))?([a-zA-Z%])`)

// verbs lists the verbs of a format, sorted, without %%.
func verbs(s string) []string {
	var out []string
	for _, m := range verbRE.FindAllStringSubmatch(s, -1) {
		if m[1] != "%" {
			out = append(out, m[1])
		}
	}
	sort.Strings(out)
	return out
}

func TestCatalogsHaveTheSameFormatVerbs(t *testing.T) {
	en, zh := locales.Catalog("en"), locales.Catalog("zh-CN")
	checked := 0
	for k, ev := range en {
		zv, ok := zh[k]
		if !ok {
			continue // reported by TestCatalogsHaveTheSameKeys
		}
		a, b := verbs(ev), verbs(zv)
		if strings.Join(a, ",") != strings.Join(b, ",") {
			t.Errorf("%q: en has verbs %v (%q), zh-CN has %v (%q)", k, a, ev, b, zv)
		}
		if len(a) > 0 {
			checked++
		}
	}
	if checked == 0 {
		t.Error("no key with a format verb found; the verb pattern is broken")
	}
	t.Run("the verb pattern sees what fmt sees", func(t *testing.T) {
		for s, want := range map[string]string{"%d users": "d", "100%% sure": "", "%s and %[1]s": "s,s",
			"%5.2f%%": "f", "%-3d·%q": "d,q", "99.9% each": ""} {
			if got := strings.Join(verbs(s), ","); got != want {
				t.Errorf("verbs(%q) = %q, want %q", s, got, want)
			}
		}
	})
}

// keyRefs are the locale keys the code names literally, with where.
type keyRefs map[string][]string

func (r keyRefs) add(key, where string) { r[key] = append(r[key], where) }

// templKeyRE finds keys in .templ sources, which go/parser cannot read.
// A literal followed by "+" is only the start of a key; the tests of roles,
// audit actions and languages cover those.
var templKeyRE = []*regexp.Regexp{
	regexp.MustCompile(`\bT\(ctx,\s*"([^"]+)"\s*[,)]`),
	regexp.MustCompile(`\bError:\s*"([^"]+)"\s*[,}\n]`),
	regexp.MustCompile(`\bInvalid\(\s*"[^"]*",\s*"([^"]+)"\s*[,)]`),
	regexp.MustCompile(`\bflash\(c,\s*"[^"]*",\s*"([^"]+)"\s*\)`),
}

// keyShaped is a literal that reads like a key of one of the catalog areas.
func keyShaped(s string, areas map[string]bool) bool {
	if !regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_-]+)+$`).MatchString(s) {
		return false
	}
	area, _, _ := strings.Cut(s, ".")
	return areas[area]
}

// collectKeys reads every .go and .templ file under dirs (relative to the
// module root) and returns the locale keys they use literally.
func collectKeys(t *testing.T, dirs ...string) keyRefs {
	t.Helper()
	areas := map[string]bool{}
	for _, k := range locales.Keys("en") {
		a, _, _ := strings.Cut(k, ".")
		areas[a] = true
	}
	refs := keyRefs{}
	fset := token.NewFileSet()
	for _, dir := range dirs {
		root := filepath.Join("..", dir)
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			switch {
			case strings.HasSuffix(path, ".templ"):
				src, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				for _, re := range templKeyRE {
					for _, m := range re.FindAllStringSubmatch(string(src), -1) {
						refs.add(m[1], path)
					}
				}
			case strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_templ.go"):
				f, err := parser.ParseFile(fset, path, nil, 0)
				if err != nil {
					return err
				}
				goKeys(f, fset, areas, refs)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("walk %s: %v", root, err)
		}
	}
	return refs
}

// goKeys adds the keys of one Go file: the key argument of T, Invalid and
// flash, Error fields, and any other literal shaped like a catalog key
// (such as the values of a map of error keys).
func goKeys(f *ast.File, fset *token.FileSet, areas map[string]bool, refs keyRefs) {
	lit := func(e ast.Expr) (string, bool) {
		b, ok := e.(*ast.BasicLit)
		if !ok || b.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(b.Value)
		return s, err == nil
	}
	name := func(e ast.Expr) string {
		switch x := e.(type) {
		case *ast.Ident:
			return x.Name
		case *ast.SelectorExpr:
			return x.Sel.Name
		}
		return ""
	}
	ast.Inspect(f, func(n ast.Node) bool {
		if n == nil {
			return false
		}
		where := fset.Position(n.Pos()).String()
		switch x := n.(type) {
		case *ast.CallExpr:
			arg := -1
			switch name(x.Fun) {
			case "T":
				if _, ok := x.Fun.(*ast.SelectorExpr); ok {
					arg = 0 // translator.T(key, args...)
				} else {
					arg = 1 // T(ctx, key, args...)
				}
			case "Invalid":
				arg = 1
			case "flash":
				arg = 2
			case "audit", "Audit":
				// (tx or ctx, actor, action, targetType, ...): the audit page
				// names the target type with audit.target.<type>.
				if len(x.Args) > 3 {
					if s, ok := lit(x.Args[3]); ok && s != "" {
						refs.add("audit.target."+s, where)
					}
				}
			}
			if arg >= 0 && arg < len(x.Args) {
				if s, ok := lit(x.Args[arg]); ok {
					refs.add(s, where)
				}
			}
		case *ast.KeyValueExpr:
			if name(x.Key) == "Error" {
				if s, ok := lit(x.Value); ok {
					refs.add(s, where)
				}
			}
		case *ast.BasicLit:
			if s, ok := lit(x); ok && keyShaped(s, areas) {
				refs.add(s, where)
			}
		}
		return true
	})
}

func TestEveryKeyTheCodeUsesExists(t *testing.T) {
	refs := collectKeys(t, "views", "handlers", "models")
	pages := errorPageKeys(t)
	t.Logf("%d keys used literally", len(refs))
	for _, must := range []string{"login.title", "login.bad_credentials", "error.email_invalid", "flash.signed_out",
		"error.not_found", "flash.user_disabled", "audit.target.user", "audit.target.organization", "totp.bad_code"} {
		if _, ok := refs[must]; !ok {
			t.Fatalf("the scan did not find %q, which the code uses; the scan is broken", must)
		}
	}
	for _, lang := range locales.Supported {
		tr := locales.For(lang)
		t.Run("every key used literally exists in "+lang, func(t *testing.T) {
			for key, where := range refs {
				if !tr.Has(key) {
					t.Errorf("%s lacks %q (used at %s)", lang, key, where[0])
				}
			}
		})
		t.Run("every role has a name in "+lang, func(t *testing.T) {
			for _, r := range models.Roles {
				if !tr.Has("role." + string(r)) {
					t.Errorf("%s lacks role.%s", lang, r)
				}
			}
		})
		t.Run("every language has a name in "+lang, func(t *testing.T) {
			for _, l := range locales.Supported {
				if !tr.Has("lang." + l) {
					t.Errorf("%s lacks lang.%s", lang, l)
				}
			}
		})
		t.Run("every audit action has a label in "+lang, func(t *testing.T) {
			for _, a := range models.AuditActions {
				if !tr.Has("audit.action." + a) {
					t.Errorf("%s lacks audit.action.%s", lang, a)
				}
			}
		})
		t.Run("every error page has a title and a hint in "+lang, func(t *testing.T) {
			for _, key := range pages {
				for _, k := range []string{key, key + "_hint"} {
					if !tr.Has(k) {
						t.Errorf("%s lacks %q", lang, k)
					}
				}
			}
		})
	}
}

// errorPageKeys returns the keys the error handler renders as whole pages
// (with a "_hint" below): the values of errorKeys in handlers/app.go and
// any key assigned in handleError, such as error.internal.
func errorPageKeys(t *testing.T) []string {
	t.Helper()
	path := filepath.Join("..", "handlers", "app.go")
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	str := func(e ast.Expr) {
		if b, ok := e.(*ast.BasicLit); ok && b.Kind == token.STRING {
			if s, err := strconv.Unquote(b.Value); err == nil {
				keys = append(keys, s)
			}
		}
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.GenDecl:
			for _, sp := range d.Specs {
				vs, ok := sp.(*ast.ValueSpec)
				if !ok || len(vs.Names) != 1 || vs.Names[0].Name != "errorKeys" || len(vs.Values) != 1 {
					continue
				}
				if cl, ok := vs.Values[0].(*ast.CompositeLit); ok {
					for _, el := range cl.Elts {
						if kv, ok := el.(*ast.KeyValueExpr); ok {
							str(kv.Value)
						}
					}
				}
			}
		case *ast.FuncDecl:
			if d.Name.Name != "handleError" {
				continue
			}
			ast.Inspect(d, func(n ast.Node) bool {
				if as, ok := n.(*ast.AssignStmt); ok && len(as.Lhs) == 1 && len(as.Rhs) == 1 {
					if id, ok := as.Lhs[0].(*ast.Ident); ok && id.Name == "key" {
						str(as.Rhs[0])
					}
				}
				return true
			})
		}
	}
	if len(keys) < 5 {
		t.Fatalf("found only %v as error page keys in %s; the scan is broken", keys, path)
	}
	return keys
}
