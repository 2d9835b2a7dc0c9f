package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRoutesCommand(t *testing.T) {
	var out bytes.Buffer
	// routes needs no configuration: a getenv that fails the test proves it.
	getenv := func(k string) string {
		t.Errorf("routes read %s", k)
		return ""
	}
	if err := run(t.Context(), []string{"routes"}, strings.NewReader(""), &out, getenv); err != nil {
		t.Fatalf("routes: %v", err)
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) < 10 {
		t.Fatalf("routes printed %d lines:\n%s", len(lines), out.String())
	}
	seen := map[string]bool{}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 3 {
			t.Errorf("line %q has %d fields, want METHOD PATH POLICY", l, len(f))
			continue
		}
		// Pages are GET and POST; the JSON API also has PATCH and DELETE.
		if f[0] != "GET" && f[0] != "POST" && !(strings.HasPrefix(f[1], "/api/") && (f[0] == "PATCH" || f[0] == "DELETE")) {
			t.Errorf("line %q: method %q", l, f[0])
		}
		if !strings.HasPrefix(f[1], "/") {
			t.Errorf("line %q: path %q does not start with /", l, f[1])
		}
		if seen[f[0]+" "+f[1]] {
			t.Errorf("route %s %s listed twice", f[0], f[1])
		}
		seen[f[0]+" "+f[1]] = true
		seen[l] = true
	}
	for _, want := range []string{
		"GET /admin/users admin",
		"GET /healthz public",
		"GET /readyz public",
		"GET /login public",
		"POST /login public",
		"GET /login/totp second-factor-pending",
		"POST /logout any-session",
		"GET / customer,reception,engineer,service,admin",
		"GET /team customer",
		"GET /orgs reception,engineer,service,admin",
	} {
		if !seen[want] {
			t.Errorf("routes lacks %q:\n%s", want, out.String())
		}
	}
}
