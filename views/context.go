// Package views holds the templ components: the layout, one XxxPage per
// page with its view model, and small shared parts. Templates format; they
// never query.
package views

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
)

// Request carries the request-wide values every template may need.
type Request struct {
	User      *models.User
	Lang      string
	CSRF      string
	Path      string
	T         *locales.Translator
	Location  *time.Location
	Flash     string // a locale key shown once after a redirect
	FlashKind string // ok, bad or warn
	// Limited is set while a user must finish enrolling a second factor:
	// the layout then offers only that and signing out.
	Limited bool
	// OpenIncident is the open provider-wide incident (0: none), set for
	// staff only: the layout shows a banner linking to it.
	OpenIncident int64
}

type ctxKey struct{}

// WithRequest returns ctx carrying r.
func WithRequest(ctx context.Context, r *Request) context.Context {
	return context.WithValue(ctx, ctxKey{}, r)
}

// Req returns the request values of ctx, never nil.
func Req(ctx context.Context) *Request {
	if r, ok := ctx.Value(ctxKey{}).(*Request); ok && r != nil {
		return r
	}
	return &Request{Lang: locales.Default, T: locales.For(locales.Default), Location: time.UTC}
}

// T translates key in the request's language.
func T(ctx context.Context, key string, args ...any) string {
	return Req(ctx).T.T(key, args...)
}

// FormatTime shows t in the viewer's time zone.
func FormatTime(ctx context.Context, t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	loc := Req(ctx).Location
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02 15:04")
}

// FormatTimePtr is FormatTime for optional times.
func FormatTimePtr(ctx context.Context, t *time.Time) string {
	if t == nil {
		return "—"
	}
	return FormatTime(ctx, *t)
}

// Initial is the first letter of a name, for avatars.
func Initial(name string) string {
	for _, r := range strings.TrimSpace(name) {
		return strings.ToUpper(string(r))
	}
	return "?"
}

// RoleName translates a role.
func RoleName(ctx context.Context, r models.Role) string {
	return T(ctx, "role."+string(r))
}

// FormErrors maps a field name to what is wrong with it.
type FormErrors map[string]*models.ValidationError

// Msg translates the error of field, or "".
func (e FormErrors) Msg(ctx context.Context, field string) string {
	v, ok := e[field]
	if !ok || v == nil {
		return ""
	}
	args := make([]any, len(v.Args))
	for i, a := range v.Args {
		switch x := a.(type) {
		case models.Role:
			a = RoleName(ctx, x)
		case models.Channel:
			a = ChannelName(ctx, x)
		case time.Time:
			a = FormatTime(ctx, x)
		case models.Number:
			a = Count(int(x))
		case time.Duration:
			a = Duration(ctx, x)
		}
		args[i] = a
	}
	return T(ctx, v.Key, args...)
}

// Has reports an error on field.
func (e FormErrors) Has(field string) bool { _, ok := e[field]; return ok }

// FromError turns a validation error into FormErrors; other errors give nil.
func FromError(err error) FormErrors {
	vs := models.Validations(err)
	if len(vs) == 0 {
		return nil
	}
	out := FormErrors{}
	for _, v := range vs {
		if _, ok := out[v.Field]; !ok {
			out[v.Field] = v
		}
	}
	return out
}

// I64 formats an ID for URLs.
func I64(id int64) string { return fmt.Sprint(id) }

// IDOrEmpty formats an optional ID for form values.
func IDOrEmpty(id *int64) string {
	if id == nil {
		return ""
	}
	return fmt.Sprint(*id)
}

// Path builds a URL path from parts.
func Path(parts ...any) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(fmt.Sprint(p))
	}
	return b.String()
}

// NavItem is one link of the top navigation.
type NavItem struct {
	Href, Key string
}

// Nav lists the links a role sees.
func Nav(u *models.User) []NavItem {
	if u == nil {
		return nil
	}
	items := []NavItem{{"/", "nav.home"}}
	switch u.Role {
	case models.RoleCustomer:
		items = append(items, NavItem{"/uptime", "nav.uptime"}, NavItem{"/traffic", "nav.traffic"}, NavItem{"/cabinets", "nav.cabinets"}, NavItem{"/operations", "nav.operations"}, NavItem{"/visits", "nav.visits"}, NavItem{"/access", "nav.access"}, NavItem{"/shipments", "nav.shipments"}, NavItem{"/complaints", "nav.complaints"},
			NavItem{"/statements", "nav.statements"}, NavItem{"/contracts", "nav.contracts"}, NavItem{"/contacts", "nav.contacts"}, NavItem{"/team", "nav.team"}, NavItem{"/webhooks", "webhooks.nav"})
	case models.RoleAdmin:
		items = append(items, NavItem{"/reception", "nav.reception"}, NavItem{"/reception/today", "nav.today"}, NavItem{"/oncall", "nav.oncall"},
			NavItem{"/operations", "nav.operations"}, NavItem{"/visits", "nav.visits"}, NavItem{"/access", "nav.access"}, NavItem{"/reception/shipments", "nav.shipment_desk"}, NavItem{"/complaints", "nav.complaints"}, NavItem{"/orgs", "nav.orgs"}, NavItem{"/contracts", "nav.contracts"},
			NavItem{"/statements", "nav.ledger"}, NavItem{"/fleet", "nav.fleet"}, NavItem{"/traffic", "nav.traffic"}, NavItem{"/cabinets", "nav.cabinets"}, NavItem{"/incidents", "nav.incidents"}, NavItem{"/admin/users", "nav.users"}, NavItem{"/admin/tokens", "tokens.nav"}, NavItem{"/admin/audit", "nav.audit"})
	case models.RoleReception:
		// Reception's home is its queue of visit requests.
		items = append(items, NavItem{"/reception/today", "nav.today"}, NavItem{"/visits", "nav.visits"}, NavItem{"/reception/log", "nav.visit_log"}, NavItem{"/access", "nav.access"}, NavItem{"/reception/shipments", "nav.shipment_desk"},
			NavItem{"/oncall", "nav.oncall"}, NavItem{"/operations", "nav.operations"}, NavItem{"/complaints", "nav.complaints"}, NavItem{"/orgs", "nav.orgs"},
			NavItem{"/contracts", "nav.contracts"}, NavItem{"/traffic", "nav.traffic"}, NavItem{"/cabinets", "nav.cabinets"}, NavItem{"/incidents", "nav.incidents"})
	case models.RoleService:
		// The complaint queue is the service desk's main job.
		items = append(items, NavItem{"/complaints", "nav.complaints"}, NavItem{"/oncall", "nav.oncall"}, NavItem{"/operations", "nav.operations"},
			NavItem{"/visits", "nav.visits"}, NavItem{"/shipments", "nav.shipments"}, NavItem{"/orgs", "nav.orgs"}, NavItem{"/contracts", "nav.contracts"}, NavItem{"/statements", "nav.ledger"},
			NavItem{"/fleet", "nav.fleet"}, NavItem{"/traffic", "nav.traffic"}, NavItem{"/cabinets", "nav.cabinets"}, NavItem{"/incidents", "nav.incidents"})
	default:
		items = append(items, NavItem{"/oncall", "nav.oncall"}, NavItem{"/operations", "nav.operations"}, NavItem{"/visits", "nav.visits"},
			NavItem{"/reception/shipments", "nav.shipment_desk"}, NavItem{"/complaints", "nav.complaints"}, NavItem{"/orgs", "nav.orgs"}, NavItem{"/contracts", "nav.contracts"}, NavItem{"/statements", "nav.ledger"},
			NavItem{"/fleet", "nav.fleet"}, NavItem{"/traffic", "nav.traffic"}, NavItem{"/cabinets", "nav.cabinets"}, NavItem{"/incidents", "nav.incidents"})
	}
	return items
}

// Current reports whether href is the page being shown (or its parent area).
func Current(ctx context.Context, href string) bool {
	p := Req(ctx).Path
	if href == "/" {
		return p == "/"
	}
	return p == href || strings.HasPrefix(p, href+"/")
}

func boolAttr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func orgFormTitle(ctx context.Context, id int64) string {
	if id == 0 {
		return T(ctx, "orgs.new")
	}
	return T(ctx, "org.edit")
}

func orgFormAction(id int64) string {
	if id == 0 {
		return "/admin/orgs"
	}
	return Path("/admin/orgs/", id)
}

func staffName(ctx context.Context, names map[int64]string, id *int64) string {
	if id == nil {
		return T(ctx, "common.not_set")
	}
	if n, ok := names[*id]; ok {
		return n
	}
	return "#" + I64(*id)
}

func userFormTitle(ctx context.Context, u *models.User) string {
	if u == nil {
		return T(ctx, "users.new")
	}
	return u.Name
}

func userFormAction(u *models.User) string {
	if u == nil {
		return "/admin/users"
	}
	return Path("/admin/users/", u.ID)
}

func auditBadge(action string) string {
	switch {
	case strings.HasSuffix(action, "_failed") || strings.HasSuffix(action, "_limited") || strings.HasSuffix(action, "_disabled"):
		return "bad"
	case action == models.AuditSignIn:
		return "ok"
	}
	return ""
}

func auditNext(vm AuditPageVM) string {
	q := auditQuery(vm)
	q.Set("before", fmt.Sprint(vm.NextBefore))
	return "/admin/audit?" + q.Encode()
}

// auditCSV is the CSV export of the page's filter.
func auditCSV(vm AuditPageVM) string {
	if q := auditQuery(vm).Encode(); q != "" {
		return "/admin/audit.csv?" + q
	}
	return "/admin/audit.csv"
}

// auditQuery is the page's filter as a query.
func auditQuery(vm AuditPageVM) url.Values {
	q := url.Values{}
	if vm.Filter.Action != "" {
		q.Set("action", vm.Filter.Action)
	}
	if vm.Filter.ActorID != 0 {
		q.Set("user", fmt.Sprint(vm.Filter.ActorID))
	}
	if vm.Filter.OrgID != 0 {
		q.Set("org", fmt.Sprint(vm.Filter.OrgID))
	}
	if vm.From != "" {
		q.Set("from", vm.From)
	}
	if vm.To != "" {
		q.Set("to", vm.To)
	}
	return q
}

// NewOnceToken is a fresh one-time token for a form (see Once).
func NewOnceToken() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}

// dateBounds are the min and max of a date or datetime-local input: the
// range the server accepts (models.CheckDate), so a browser says it first.
func dateBounds(typ string) templ.Attributes {
	switch typ {
	case "date":
		return templ.Attributes{"min": models.EarliestDate, "max": models.LatestDate}
	case "datetime-local":
		return templ.Attributes{"min": models.EarliestDate + "T00:00", "max": models.LatestDate + "T23:59"}
	}
	return nil
}
