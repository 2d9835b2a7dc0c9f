package handlers

// The OpenAPI 3.1 document of the JSON API, built from the API route table
// (api_routes.go) and the Go types of the bodies by reflection, so that it
// cannot drift from what the handlers take and give. Tests validate the
// document and every API test answer against it.

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
)

var (
	openAPIOnce sync.Once
	openAPIDoc  []byte
	openAPIErr  error
)

// serveOpenAPI: GET /api/v1/openapi.json.
func (h *Handler) serveOpenAPI(c *fiber.Ctx) error {
	openAPIOnce.Do(func() { openAPIDoc, openAPIErr = OpenAPIJSON() })
	if openAPIErr != nil {
		return openAPIErr
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.Send(openAPIDoc)
}

var fiberParam = regexp.MustCompile(`:([A-Za-z_]+)`)

// OpenAPIPath turns a fiber path into the document's (:id → {id}).
func OpenAPIPath(p string) string { return fiberParam.ReplaceAllString(p, "{$1}") }

// OpenAPI builds the document.
func (h *Handler) OpenAPI() map[string]any {
	g := &schemaGen{comps: map[string]any{}}
	problem := g.ref(reflect.TypeOf(Problem{}))
	paths := map[string]any{}
	for _, r := range h.apiRoutes() {
		d := r.Doc
		op := map[string]any{"operationId": d.ID, "summary": d.Summary, "tags": []string{d.Tag}}
		if d.Description != "" {
			op["description"] = d.Description
		}
		var params []any
		for _, m := range fiberParam.FindAllStringSubmatch(r.Path, -1) {
			typ := map[string]any{"type": "string"}
			if m[1] == "id" || strings.HasSuffix(m[1], "_id") {
				typ = map[string]any{"type": "integer", "format": "int64", "minimum": 1}
			}
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": typ})
		}
		for _, q := range d.Query {
			s := map[string]any{"type": q.Type}
			if q.Format != "" {
				s["format"] = q.Format
			}
			if len(q.Enum) > 0 {
				s["enum"] = q.Enum
			}
			params = append(params, map[string]any{"name": q.Name, "in": "query", "required": false, "schema": s,
				"description": q.Doc})
		}
		if d.Paged {
			params = append(params,
				map[string]any{"name": "limit", "in": "query", "required": false, "description": "Items a page.",
					"schema": map[string]any{"type": "integer", "minimum": 1, "maximum": MaxAPILimit, "default": DefaultAPILimit}},
				map[string]any{"name": "cursor", "in": "query", "required": false,
					"description": "The next_cursor of the previous page.", "schema": map[string]any{"type": "string"}})
		}
		if d.CSV {
			params = append(params, map[string]any{"name": "format", "in": "query", "required": false,
				"description": "csv answers text/csv (so does Accept: text/csv).",
				"schema":      map[string]any{"type": "string", "enum": []string{"json", "csv"}}})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if d.Body != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(d.Body))}}}
		}
		status := d.Status
		if status == 0 {
			status = fiber.StatusOK
		}
		ok := map[string]any{"description": "Success."}
		if d.Response != nil {
			content := map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(d.Response))}}
			if d.CSV {
				content["text/csv"] = map[string]any{"schema": map[string]any{"type": "string"}}
			}
			ok["content"] = content
		}
		if status == fiber.StatusCreated {
			ok["headers"] = map[string]any{"Location": map[string]any{"description": "The new object's URL.",
				"schema": map[string]any{"type": "string"}}}
		}
		responses := map[string]any{itoa(int64(status)): ok}
		problemOf := func(what string) map[string]any {
			return map[string]any{"description": what, "content": map[string]any{"application/problem+json": map[string]any{"schema": problem}}}
		}
		if r.Access.kind == accessAPI {
			op["security"] = []any{map[string]any{"bearerAuth": []string{}}}
			responses["401"] = problemOf("No token, or a token unknown, expired or revoked.")
			responses["403"] = problemOf("The token's scope or role may not use this route.")
			responses["429"] = problemOf("Too many requests with this token: wait Retry-After seconds.")
			responses["400"] = problemOf("A malformed query or body.")
		}
		if strings.Contains(r.Path, ":") {
			responses["404"] = problemOf("No such object, or one of another organization.")
		}
		if d.Body != nil {
			responses["422"] = problemOf("Invalid fields, each listed in errors.")
			responses["415"] = problemOf("The body is not application/json.")
		}
		if r.Method == "POST" || r.Method == "PATCH" || r.Method == "DELETE" {
			responses["409"] = problemOf("The object's state does not allow this change.")
		}
		op["responses"] = responses
		p := OpenAPIPath(r.Path)
		item, _ := paths[p].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[p] = item
		}
		item[strings.ToLower(r.Method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Colo Portal API", "version": "1",
			"description": "The colocation customer portal's JSON API: the same records, organizations and rules as its pages. " +
				"Authenticate with a personal access token (Account → API tokens): Authorization: Bearer cpt_…. " +
				"Errors are RFC 9457 problem details; lists are paged with cursors; each token is rate limited."},
		"paths": paths,
		"components": map[string]any{
			"schemas": g.comps,
			"securitySchemes": map[string]any{"bearerAuth": map[string]any{"type": "http", "scheme": "bearer",
				"description": "A personal access token (cpt_…); read or read and write."}},
		},
	}
}

// schemaGen builds JSON Schemas of Go types, each named struct once in
// components.
type schemaGen struct{ comps map[string]any }

var timeType = reflect.TypeOf(time.Time{})

// schemaName names a struct type in components: List[handlers.APIDevice]
// becomes ListAPIDevice.
func schemaName(t reflect.Type) string {
	n := t.Name()
	if i := strings.Index(n, "["); i >= 0 {
		inner := n[i+1 : len(n)-1]
		if j := strings.LastIndex(inner, "."); j >= 0 {
			inner = inner[j+1:]
		}
		n = n[:i] + inner
	}
	return n
}

func (g *schemaGen) ref(t reflect.Type) map[string]any {
	name := schemaName(t)
	if _, ok := g.comps[name]; !ok {
		g.comps[name] = map[string]any{} // placeholder against recursion
		g.comps[name] = g.object(t)
	}
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t.Kind() == reflect.Pointer:
		inner := g.schema(t.Elem())
		if typ, ok := inner["type"].(string); ok {
			out := map[string]any{}
			for k, v := range inner {
				out[k] = v
			}
			out["type"] = []string{typ, "null"}
			return out
		}
		return map[string]any{"oneOf": []any{inner, map[string]any{"type": "null"}}}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return map[string]any{"type": "integer"}
	case reflect.Int64, reflect.Uint64, reflect.Uint:
		return map[string]any{"type": "integer", "format": "int64"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		if t.Elem().Kind() == reflect.Interface {
			return map[string]any{"type": "object"}
		}
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Struct:
		return g.ref(t)
	}
	return map[string]any{} // any
}

// object is the schema of a struct: its json fields, required unless
// omitempty (a pointer without omitempty is required and nullable).
func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" || (!f.IsExported() && !f.Anonymous) {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
				walk(f.Type)
				continue
			}
			if name == "" {
				name = f.Name
			}
			s := g.schema(f.Type)
			if _, isRef := s["$ref"]; isRef && (f.Tag.Get("doc") != "") {
				s = map[string]any{"allOf": []any{s}}
			}
			if d := f.Tag.Get("doc"); d != "" {
				s["description"] = d
			}
			if e := f.Tag.Get("enum"); e != "" {
				vals := []any{}
				for _, v := range strings.Split(e, ",") {
					vals = append(vals, v)
				}
				if f.Type.Kind() == reflect.Pointer {
					vals = append(vals, nil)
				}
				s["enum"] = vals
			}
			if fm := f.Tag.Get("format"); fm != "" {
				s["format"] = fm
			}
			props[name] = s
			if !strings.Contains(opts, "omitempty") {
				required = append(required, name)
			}
		}
	}
	walk(t)
	out := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}

// OpenAPIJSON is the document as served, for tests and `portal openapi`.
func OpenAPIJSON() ([]byte, error) { return json.MarshalIndent((&Handler{}).OpenAPI(), "", " ") }
