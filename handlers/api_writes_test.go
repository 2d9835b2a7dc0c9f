package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
)

// writeEnv is what the API write tests share: an app whose rate limit is
// out of the way, and clients of each kind of token.
type writeEnv struct {
	*env
	api *fiber.App
	// custA writes for OrgA, readA only reads; custB writes for OrgB;
	// staff is a service desk token that may write.
	custA, readA, custB, staff *apiClient
	tokA                       int64 // custA's token ID, named by the audit
}

func newWriteEnv(t *testing.T, e *env) *writeEnv {
	t.Helper()
	w := &writeEnv{env: e, api: newApp(e.store, func(d *handlers.Deps) { d.APIRate = 1_000_000 })}
	w.custA = newAPIClient(t, w.api, apiToken(t, e.store, e.fx.CustA, true))
	toks, err := e.store.ListAPITokens(t.Context(), e.fx.CustA.ID)
	if err != nil || len(toks) != 1 {
		t.Fatal(toks, err)
	}
	w.tokA = toks[0].ID
	w.readA = newAPIClient(t, w.api, apiToken(t, e.store, e.fx.CustA, false))
	w.custB = newAPIClient(t, w.api, apiToken(t, e.store, e.fx.CustB, true))
	w.staff = newAPIClient(t, w.api, apiToken(t, e.store, e.fx.Service, true))
	return w
}

// with is a copy of a with header k set to v.
func (a *apiClient) with(k, v string) *apiClient {
	b := *a
	b.header = a.header.Clone()
	b.header.Set(k, v)
	return &b
}

// auditCount counts the audit records of action.
func auditCount(t *testing.T, s *models.Store, action string) int {
	t.Helper()
	evs, err := s.ListAudit(context.Background(), models.AllOrgs(), models.AuditFilter{Action: action, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// wantAuditByToken fails unless the newest audit record of action names
// token tokID (detail api_token) and the acting user.
func wantAuditByToken(t *testing.T, s *models.Store, action string, tokID, userID int64) {
	t.Helper()
	evs, err := s.ListAudit(context.Background(), models.AllOrgs(), models.AuditFilter{Action: action, Limit: 1})
	if err != nil || len(evs) != 1 {
		t.Fatalf("audit %s: %v %v", action, evs, err)
	}
	var d map[string]any
	if err := json.Unmarshal([]byte(evs[0].Detail), &d); err != nil {
		t.Fatalf("audit %s detail %q: %v", action, evs[0].Detail, err)
	}
	if got, _ := d["api_token"].(float64); int64(got) != tokID || evs[0].ActorID == nil || *evs[0].ActorID != userID {
		t.Fatalf("audit %s: detail %s, actor %v; want api_token %d by user %d", action, evs[0].Detail, evs[0].ActorID, tokID, userID)
	}
}

// wantScopeRefused: a read token on a write route is 403 insufficient-scope.
func wantScopeRefused(t *testing.T, r *apiResponse) {
	t.Helper()
	wantAPIStatus(t, r, http.StatusForbidden)
	if p := r.Problem(t); p.Type != handlers.APIPrefix+"/problems/insufficient-scope" {
		t.Fatalf("read token on a write: %+v", p)
	}
}

// wantRoleRefused: a role the route does not allow is 403.
func wantRoleRefused(t *testing.T, r *apiResponse) {
	t.Helper()
	wantAPIStatus(t, r, http.StatusForbidden)
	if p := r.Problem(t); p.Type == handlers.APIPrefix+"/problems/insufficient-scope" || p.Detail == "" {
		t.Fatalf("a role refused: %+v", p)
	}
}

// wantInvalid sends body with method to path in English and in Chinese
// and checks each answer is a 422 listing exactly the fields of want
// (field → code), each detail in the language asked for. Nothing may
// change: count is called before and after.
func wantInvalid(t *testing.T, a *apiClient, method, path string, body any, want map[string]string, count func() int) {
	t.Helper()
	before := count()
	details := map[string]map[string]string{}
	for _, lang := range []string{"en", "zh-CN"} {
		r := a.with("Accept-Language", lang).call(method, path, body)
		wantAPIStatus(t, r, http.StatusUnprocessableEntity)
		p := r.Problem(t)
		if p.Type != handlers.APIPrefix+"/problems/validation" || p.Detail != locales.For(lang).T("api.problem.validation") ||
			r.Header.Get("Content-Language") != lang {
			t.Fatalf("%s %s in %s: %+v (Content-Language %q)", method, path, lang, p, r.Header.Get("Content-Language"))
		}
		got := map[string]string{}
		details[lang] = map[string]string{}
		for _, f := range p.Errors {
			got[f.Field] = f.Code
			details[lang][f.Field] = f.Detail
			if f.Detail == "" || f.Detail == f.Code {
				t.Errorf("%s in %s: field %s has detail %q", path, lang, f.Field, f.Detail)
			}
			if f.Code == "error.required" && f.Detail != locales.For(lang).T("error.required") {
				t.Errorf("%s in %s: %s reads %q", path, lang, f.Field, f.Detail)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s %s in %s: fields %v, want %v", method, path, lang, got, want)
		}
		for f, code := range want {
			if got[f] != code {
				t.Errorf("%s %s in %s: field %s has code %q, want %q (all: %v)", method, path, lang, f, got[f], code, got)
			}
		}
	}
	for f, d := range details["en"] {
		if details["zh-CN"][f] == d {
			t.Errorf("%s: field %s reads %q in both languages", path, f, d)
		}
	}
	if after := count(); after != before {
		t.Fatalf("%s %s refused, yet the count went from %d to %d", method, path, before, after)
	}
}

// wantMalformed checks a body of another content type is 415 and one with
// an unknown field 400, changing nothing.
func wantMalformed(t *testing.T, a *apiClient, method, path string, good map[string]any, count func() int) {
	t.Helper()
	before := count()
	b, err := json.Marshal(good)
	if err != nil {
		t.Fatal(err)
	}
	r := a.with("Content-Type", "text/plain").call(method, path, b)
	wantAPIStatus(t, r, http.StatusUnsupportedMediaType)
	r.Problem(t)
	r = a.with("Content-Type", "application/x-www-form-urlencoded").call(method, path, "name=x")
	wantAPIStatus(t, r, http.StatusUnsupportedMediaType)
	bad := map[string]any{"no_such_field": 1}
	for k, v := range good {
		bad[k] = v
	}
	r = a.call(method, path, bad)
	wantAPIStatus(t, r, http.StatusBadRequest)
	if p := r.Problem(t); !strings.Contains(p.Detail, "no_such_field") {
		t.Fatalf("unknown field: %+v", p)
	}
	if after := count(); after != before {
		t.Fatalf("%s %s malformed, yet the count went from %d to %d", method, path, before, after)
	}
}

func TestAPIContactWrites(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		w := newWriteEnv(t, e)
		ctx := t.Context()
		f := e.fx
		contacts := handlers.APIPrefix + "/contacts"
		count := func() int {
			n := 0
			for _, org := range []int64{f.OrgA.ID, f.OrgB.ID} {
				cs, err := e.store.ListContacts(ctx, models.AllOrgs(), org)
				if err != nil {
					t.Fatal(err)
				}
				n += len(cs)
			}
			return n
		}

		// An empty list, then a contact who may authorize on the phone.
		r := w.readA.get(contacts)
		wantAPIStatus(t, r, http.StatusOK)
		good := map[string]any{"name": "Wu Ops 吴", "title": "Ops lead", "mobile": "138 0013 8000", "email": "Wu@Alpha.test",
			"channels": []string{"email", "mobile"}, "priority": 2, "may_authorize": true, "locale": "en", "passphrase": "blue harbour 7"}
		r = w.custA.call("POST", contacts, good)
		wantAPIStatus(t, r, http.StatusCreated)
		var ct handlers.APIContact
		r.JSON(t, &ct)
		if r.Header.Get("Location") != contacts+"/"+ids(ct.ID) || ct.OrganizationID != f.OrgA.ID || ct.Mobile != "+8613800138000" ||
			ct.Email != "wu@alpha.test" || strings.Join(ct.Channels, ",") != "email,mobile" || !ct.PassphraseSet || !ct.MayAuthorize ||
			ct.Priority != 2 || strings.Contains(string(r.Body), "blue harbour") {
			t.Fatalf("created %s at %s", r.Body, r.Header.Get("Location"))
		}
		wantAuditByToken(t, e.store, models.AuditContactCreated, w.tokA, f.CustA.ID)
		// The first contact confirms the list, as on the page.
		if last, err := e.store.LastConfirmation(ctx, models.AllOrgs(), f.OrgA.ID); err != nil || last == nil || last.UserID != f.CustA.ID {
			t.Fatalf("list confirmation %+v %v", last, err)
		}
		var list handlers.List[handlers.APIContact]
		w.readA.get(contacts).JSON(t, &list)
		if len(list.Data) != 1 || list.Data[0].ID != ct.ID {
			t.Fatalf("list %+v", list)
		}

		// Scope, role, another organization.
		wantScopeRefused(t, w.readA.call("POST", contacts, good))
		wantScopeRefused(t, w.readA.call("PATCH", contacts+"/"+ids(ct.ID), map[string]any{"title": "x"}))
		wantScopeRefused(t, w.readA.call("DELETE", contacts+"/"+ids(ct.ID), nil))
		wantRoleRefused(t, w.staff.call("POST", contacts, good))
		wantRoleRefused(t, w.staff.get(contacts))
		wantAPIStatus(t, w.custB.call("PATCH", contacts+"/"+ids(ct.ID), map[string]any{"title": "taken"}), http.StatusNotFound)
		wantAPIStatus(t, w.custB.call("DELETE", contacts+"/"+ids(ct.ID), nil), http.StatusNotFound)
		w.custB.get(contacts).JSON(t, &list)
		if len(list.Data) != 0 {
			t.Fatalf("B sees %+v", list.Data)
		}
		if got, err := e.store.GetContact(ctx, models.AllOrgs(), ct.ID); err != nil || got.Title != "Ops lead" {
			t.Fatalf("after B's tries: %+v %v", got, err)
		}

		// Bad input: every field at once, in both languages, nothing saved.
		wantInvalid(t, w.custA, "POST", contacts, map[string]any{"name": " ", "mobile": "12", "channels": []string{"pager", "carrier pigeon"},
			"priority": 100, "may_authorize": true, "passphrase": "short"},
			map[string]string{"name": "error.required", "mobile": "error.phone_invalid", "channels": "error.channel_without_detail",
				"priority": "error.priority_range", "passphrase": "error.passphrase_too_short"}, count)
		wantInvalid(t, w.custA, "POST", contacts, map[string]any{"name": "No Pass", "may_authorize": true},
			map[string]string{"passphrase": "error.passphrase_required"}, count)
		wantMalformed(t, w.custA, "POST", contacts, good, count)
		if r := w.custA.call("POST", contacts, `{"name": "x"} {"name": "y"}`); r.StatusCode != http.StatusBadRequest {
			t.Fatalf("two values: %d", r.StatusCode)
		}
		if r := w.custA.call("POST", contacts, `{"priority": "high"}`); r.StatusCode != http.StatusBadRequest {
			t.Fatalf("a string for a number: %d", r.StatusCode)
		}

		// A partial update changes what it names and nothing else; the
		// passphrase on file stays.
		r = w.custA.call("PATCH", contacts+"/"+ids(ct.ID), map[string]any{"title": "CTO", "channels": []string{"mobile"}, "priority": nil})
		wantAPIStatus(t, r, http.StatusOK)
		var up handlers.APIContact
		r.JSON(t, &up)
		if up.Title != "CTO" || up.Name != ct.Name || up.Mobile != ct.Mobile || up.Email != ct.Email || up.Priority != 2 ||
			strings.Join(up.Channels, ",") != "mobile" || !up.MayAuthorize || !up.PassphraseSet || up.Locale != "en" {
			t.Fatalf("patched %+v from %+v", up, ct)
		}
		wantAuditByToken(t, e.store, models.AuditContactUpdated, w.tokA, f.CustA.ID)
		updates := func() int { return auditCount(t, e.store, models.AuditContactUpdated) }
		wantInvalid(t, w.custA, "PATCH", contacts+"/"+ids(ct.ID), map[string]any{"name": "", "email": "not an email", "channels": []string{"fax"}},
			map[string]string{"name": "error.required", "email": "error.email_invalid", "channels": "error.channel_without_detail"}, updates)
		wantMalformed(t, w.custA, "PATCH", contacts+"/"+ids(ct.ID), map[string]any{"title": "x"}, updates)
		wantAPIStatus(t, w.custA.call("PATCH", contacts+"/999999", map[string]any{"title": "x"}), http.StatusNotFound)
		if got, _ := e.store.GetContact(ctx, models.AllOrgs(), ct.ID); got.Title != "CTO" || got.Name != ct.Name {
			t.Fatalf("after refused patches: %+v", got)
		}

		// Removed: 204, audited, gone.
		r = w.custA.call("DELETE", contacts+"/"+ids(ct.ID), nil)
		wantAPIStatus(t, r, http.StatusNoContent)
		wantAuditByToken(t, e.store, models.AuditContactDeleted, w.tokA, f.CustA.ID)
		wantAPIStatus(t, w.custA.call("DELETE", contacts+"/"+ids(ct.ID), nil), http.StatusNotFound)
		if n := count(); n != 0 {
			t.Fatalf("%d contacts left", n)
		}
	})
}

func TestAPIContactListPages(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		w := newWriteEnv(t, e)
		for i, name := range []string{"b", "a", "c", "A"} {
			r := w.custA.call("POST", handlers.APIPrefix+"/contacts", map[string]any{"name": name, "priority": i % 2, "email": name + "@x.test",
				"channels": []string{"email"}})
			wantAPIStatus(t, r, http.StatusCreated)
		}
		var names []string
		path := handlers.APIPrefix + "/contacts?limit=3"
		for range 3 {
			var list handlers.List[handlers.APIContact]
			w.readA.get(path).JSON(t, &list)
			for _, c := range list.Data {
				names = append(names, c.Name)
			}
			if list.NextCursor == nil {
				break
			}
			path = handlers.APIPrefix + "/contacts?limit=3&cursor=" + *list.NextCursor
		}
		if got := strings.Join(names, ","); got != "b,c,A,a" {
			t.Fatalf("pages give %s, want priority then name", got)
		}
	})
}

// The Idempotency-Key of a create: a repeat answers the first object,
// parallel repeats make one record, a refused create gives the key back,
// and a key is the token's and the route's own.
func TestAPICreateIdempotencyKey(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		w := newWriteEnv(t, e)
		ctx := t.Context()
		contacts := handlers.APIPrefix + "/contacts"
		count := func() int {
			cs, err := e.store.ListContacts(ctx, models.AllOrgs(), e.fx.OrgA.ID)
			if err != nil {
				t.Fatal(err)
			}
			return len(cs)
		}
		body := map[string]any{"name": "Once", "email": "once@alpha.test", "channels": []string{"email"}}
		k1 := w.custA.with("Idempotency-Key", "order-7_A")
		first := k1.call("POST", contacts, body)
		wantAPIStatus(t, first, http.StatusCreated)
		again := k1.call("POST", contacts, body)
		wantAPIStatus(t, again, http.StatusCreated)
		var a, b handlers.APIContact
		first.JSON(t, &a)
		again.JSON(t, &b)
		if again.Header.Get("Location") != first.Header.Get("Location") || a.ID != b.ID || again.Header.Get("Idempotent-Replayed") != "true" ||
			first.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("repeat: %s %s, first %s %s", again.Header.Get("Location"), again.Body, first.Header.Get("Location"), first.Body)
		}
		if n := count(); n != 1 || auditCount(t, e.store, models.AuditContactCreated) != 1 {
			t.Fatalf("%d contacts after a repeat", n)
		}
		// Without the key, or with another, it is another contact.
		wantAPIStatus(t, w.custA.call("POST", contacts, body), http.StatusCreated)
		wantAPIStatus(t, w.custA.with("Idempotency-Key", "order-8").call("POST", contacts, body), http.StatusCreated)
		if n := count(); n != 3 {
			t.Fatalf("%d contacts, want 3", n)
		}
		// Another token of the same user with the same key: its own.
		other := newAPIClient(t, w.api, apiToken(t, e.store, e.fx.CustA, true)).with("Idempotency-Key", "order-7_A")
		wantAPIStatus(t, other.call("POST", contacts, body), http.StatusCreated)
		if n := count(); n != 4 {
			t.Fatalf("%d contacts, want 4", n)
		}

		// Parallel repeats: one record, every answer its object.
		before := count()
		k2 := w.custA.with("Idempotency-Key", "parallel")
		const n = 4
		answers := make([]*apiResponse, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i] = k2.call("POST", contacts, body)
			}()
		}
		wg.Wait()
		for i, r := range answers {
			if r == nil || r.StatusCode != http.StatusCreated || r.Header.Get("Location") != answers[0].Header.Get("Location") {
				t.Fatalf("parallel answer %d: %+v", i, r)
			}
		}
		if got := count(); got != before+1 {
			t.Fatalf("parallel posts made %d contacts", got-before)
		}

		// A refused create gives the key back for the corrected one.
		k3 := w.custA.with("Idempotency-Key", "fix-me")
		wantAPIStatus(t, k3.call("POST", contacts, map[string]any{"name": ""}), http.StatusUnprocessableEntity)
		r := k3.call("POST", contacts, body)
		wantAPIStatus(t, r, http.StatusCreated)
		if r.Header.Get("Idempotent-Replayed") != "" || count() != before+2 {
			t.Fatalf("corrected create: %s, %d contacts", r.Header.Get("Idempotent-Replayed"), count())
		}

		// A key of the wrong shape is a 400.
		for _, k := range []string{strings.Repeat("k", 65), "with space", "ключ"} {
			r := w.custA.with("Idempotency-Key", k).call("POST", contacts, body)
			wantAPIStatus(t, r, http.StatusBadRequest)
			r.Problem(t)
		}
		if got := count(); got != before+2 {
			t.Fatalf("bad keys made %d contacts", got-before-2)
		}
	})
}

// recordsFixture: a device of each organization, a site, and a time
// tomorrow within the rules of visits.
type recordsFixture struct {
	devA, devB *models.Device
	site       int64
	from, to   string
}

func newRecordsFixture(t *testing.T, e *env) recordsFixture {
	t.Helper()
	ctx := t.Context()
	sys := models.SystemActor("test")
	var rf recordsFixture
	var err error
	if rf.devA, err = e.store.CreateDevice(ctx, sys, models.DeviceInput{OrgID: e.fx.OrgA.ID, Name: "web-01", Address: "127.0.0.20", Cabinet: "A-07"}); err != nil {
		t.Fatal(err)
	}
	if rf.devB, err = e.store.CreateDevice(ctx, sys, models.DeviceInput{OrgID: e.fx.OrgB.ID, Name: "bravo-01", Address: "127.0.0.21", Cabinet: "B-01"}); err != nil {
		t.Fatal(err)
	}
	sites, err := e.store.ListSites(ctx)
	if err != nil || len(sites) == 0 {
		t.Fatalf("sites %v (%v)", sites, err)
	}
	rf.site = sites[0].ID
	day := e.clock.Now().Truncate(24*time.Hour).AddDate(0, 0, 1)
	rf.from, rf.to = day.Add(10*time.Hour).Format(time.RFC3339), day.Add(12*time.Hour).Format(time.RFC3339)
	return rf
}

// refOf is the reference at the end of a Location.
func refOf(t *testing.T, r *apiResponse, prefix string) string {
	t.Helper()
	loc := r.Header.Get("Location")
	ref, ok := strings.CutPrefix(loc, prefix+"/")
	if !ok || len(ref) != 16 {
		t.Fatalf("Location %q, want %s/{ref}", loc, prefix)
	}
	return ref
}

func TestAPIOperationWrites(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		w := newWriteEnv(t, e)
		rf := newRecordsFixture(t, e)
		ctx := t.Context()
		f := e.fx
		ops := handlers.APIPrefix + "/operations"
		count := func() int {
			rs, err := e.store.ListRequests(ctx, models.AllOrgs(), models.RequestFilter{})
			if err != nil {
				t.Fatal(err)
			}
			return len(rs)
		}
		good := map[string]any{"title": "Replace a disk", "work": "Swap disk 2 of web-01", "urgency": "urgent",
			"device_ids": []int64{rf.devA.ID}, "window_from": rf.from, "window_to": rf.to}
		r := w.custA.call("POST", ops, good)
		wantAPIStatus(t, r, http.StatusCreated)
		ref := refOf(t, r, ops)
		var op handlers.APIOperation
		r.JSON(t, &op)
		if op.Ref != ref || op.OrgID != f.OrgA.ID || op.Urgency != "urgent" || op.Channel != "portal" || op.WindowFrom == nil ||
			*op.WindowFrom != rf.from || !strings.HasPrefix(op.Number, "OP-") {
			t.Fatalf("created %s", r.Body)
		}
		wantAuditByToken(t, e.store, models.AuditRequestCreated, w.tokA, f.CustA.ID)
		if got, err := e.store.GetRequestByRef(ctx, models.AllOrgs(), ref); err != nil || got.RequestedBy == nil || *got.RequestedBy != f.CustA.ID {
			t.Fatalf("stored %+v %v", got, err)
		}
		// The read of the new object is the same object.
		var read handlers.APIOperationDetail
		rr := w.readA.get(r.Header.Get("Location"))
		wantAPIStatus(t, rr, http.StatusOK)
		rr.JSON(t, &read)
		if a, b := mustJSON(t, read.APIOperation), mustJSON(t, op); a != b {
			t.Fatalf("read %+v, created %+v", read.APIOperation, op)
		}

		wantScopeRefused(t, w.readA.call("POST", ops, good))
		wantRoleRefused(t, w.staff.call("POST", ops, good))
		wantInvalid(t, w.custA, "POST", ops, map[string]any{"title": "", "work": " ", "urgency": "whenever", "window_from": "tomorrow",
			"device_ids": []int64{rf.devB.ID}},
			map[string]string{"title": "error.required", "work": "error.required", "urgency": "operation.error.urgency",
				"window_from": "api.write.time_invalid"}, count)
		wantInvalid(t, w.custA, "POST", ops, map[string]any{"title": "B's device", "work": "x", "device_ids": []int64{rf.devB.ID}},
			map[string]string{"device_ids": "operation.error.device_unknown"}, count)
		wantMalformed(t, w.custA, "POST", ops, good, count)

		// Messages: the customer and the staff who answer them.
		msgs := ops + "/" + ref + "/messages"
		r = w.custA.call("POST", msgs, map[string]any{"body": "Disk is in the box at reception."})
		wantAPIStatus(t, r, http.StatusCreated)
		var m handlers.APIOperationMessage
		r.JSON(t, &m)
		if !strings.HasPrefix(r.Header.Get("Location"), ops+"/"+ref+"#message-") || m.Staff || m.Body != "Disk is in the box at reception." ||
			m.AuthorName != f.CustA.Name {
			t.Fatalf("message %s at %s", r.Body, r.Header.Get("Location"))
		}
		wantAuditByToken(t, e.store, models.AuditOperationMessage, w.tokA, f.CustA.ID)
		eng := newAPIClient(t, w.api, apiToken(t, e.store, f.Engineer, true))
		r = eng.call("POST", msgs, map[string]any{"body": "Booked for tomorrow."})
		wantAPIStatus(t, r, http.StatusCreated)
		if r.JSON(t, &m); !m.Staff {
			t.Fatalf("engineer's message %s", r.Body)
		}
		messages := func() int { return auditCount(t, e.store, models.AuditOperationMessage) }
		wantRoleRefused(t, newAPIClient(t, w.api, apiToken(t, e.store, f.Reception, true)).call("POST", msgs, map[string]any{"body": "hi"}))
		wantScopeRefused(t, w.readA.call("POST", msgs, map[string]any{"body": "hi"}))
		wantAPIStatus(t, w.custB.call("POST", msgs, map[string]any{"body": "hi"}), http.StatusNotFound)
		wantAPIStatus(t, w.custA.call("POST", ops+"/AAAAAAAAAAAAAAAA/messages", map[string]any{"body": "hi"}), http.StatusNotFound)
		wantInvalid(t, w.custA, "POST", msgs, map[string]any{"body": "  "}, map[string]string{"body": "error.required"}, messages)
		wantMalformed(t, w.custA, "POST", msgs, map[string]any{"body": "x"}, messages)
		if n := messages(); n != 2 {
			t.Fatalf("%d messages", n)
		}

		// A repeated message with its key is the first one.
		k := w.custA.with("Idempotency-Key", "msg-1")
		first, again := k.call("POST", msgs, map[string]any{"body": "once"}), k.call("POST", msgs, map[string]any{"body": "once"})
		wantAPIStatus(t, again, http.StatusCreated)
		if again.Header.Get("Location") != first.Header.Get("Location") || string(again.Body) != string(first.Body) || messages() != 3 {
			t.Fatalf("repeat %s %s of %s %s", again.Header.Get("Location"), again.Body, first.Header.Get("Location"), first.Body)
		}
		// A repeated request with its key is the first one.
		k = w.custA.with("Idempotency-Key", "op-1")
		first, again = k.call("POST", ops, good), k.call("POST", ops, good)
		wantAPIStatus(t, again, http.StatusCreated)
		if again.Header.Get("Location") != first.Header.Get("Location") || string(again.Body) != string(first.Body) || count() != 2 {
			t.Fatalf("repeat %s of %s, %d requests", again.Header.Get("Location"), first.Header.Get("Location"), count())
		}
	})
}

func TestAPIVisitWrites(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		w := newWriteEnv(t, e)
		rf := newRecordsFixture(t, e)
		ctx := t.Context()
		f := e.fx
		visits := handlers.APIPrefix + "/visits"
		count := func() int {
			vs, err := e.store.ListVisits(ctx, models.AllOrgs(), models.VisitFilter{})
			if err != nil {
				t.Fatal(err)
			}
			return len(vs)
		}
		good := map[string]any{"site_id": rf.site, "activity": "operation", "reason": "Replace a disk", "planned_from": rf.from,
			"planned_to": rf.to, "device_ids": []int64{rf.devA.ID}, "needs": map[string]string{"tools": "torque screwdriver"},
			"visitors": []map[string]any{{"name": "张伟", "company": "Alpha", "id_type": "resident_id", "id_number": residentID,
				"phone": "13812345678"}}}
		r := w.custA.call("POST", visits, good)
		wantAPIStatus(t, r, http.StatusCreated)
		ref := refOf(t, r, visits)
		var v handlers.APIVisit
		r.JSON(t, &v)
		if v.Ref != ref || v.OrgID != f.OrgA.ID || v.State != models.VisitPending || v.PlannedFrom != rf.from || v.SiteID != rf.site ||
			strings.Contains(string(r.Body), residentID) {
			t.Fatalf("created %s", r.Body)
		}
		wantAuditByToken(t, e.store, models.AuditVisitRequested, w.tokA, f.CustA.ID)

		wantScopeRefused(t, w.readA.call("POST", visits, good))
		wantRoleRefused(t, w.staff.call("POST", visits, good))
		wantInvalid(t, w.custA, "POST", visits, map[string]any{"site_id": rf.site, "activity": "party", "reason": "", "planned_from": "soon",
			"planned_to": rf.to, "needs": map[string]string{"other": ""},
			"visitors": []map[string]any{{"name": "", "id_type": "resident_id", "id_number": "123", "phone": ""}}},
			map[string]string{"activity": "visits.error.activity", "reason": "error.required", "planned_from": "api.write.time_invalid",
				"visitors[0].name": "error.required", "visitors[0].id_number": "visits.error.resident_length",
				"visitors[0].phone": "error.required", "device_ids": "visits.error.no_targets", "needs.other": "visits.error.need_other"}, count)
		wantInvalid(t, w.custA, "POST", visits, map[string]any{"site_id": rf.site, "activity": "operation", "reason": "B's cabinet",
			"planned_from": rf.from, "planned_to": rf.to, "cabinets": []string{"B-01"}, "operation_ref": "AAAAAAAAAAAAAAAA",
			"visitors": good["visitors"]},
			map[string]string{"cabinets": "visits.error.cabinet_unknown", "operation_ref": "visits.error.operation"}, count)
		wantMalformed(t, w.custA, "POST", visits, good, count)

		// Cancelling: another organization's is 404, a closed one 409.
		cancel := visits + "/" + ref + "/cancel"
		wantAPIStatus(t, w.custB.call("POST", cancel, map[string]any{}), http.StatusNotFound)
		wantScopeRefused(t, w.readA.call("POST", cancel, map[string]any{}))
		wantRoleRefused(t, newAPIClient(t, w.api, apiToken(t, e.store, f.Reception, true)).call("POST", cancel, map[string]any{}))
		cancels := func() int { return auditCount(t, e.store, models.AuditVisitCancelled) }
		wantMalformed(t, w.custA, "POST", cancel, map[string]any{"reason": "x"}, cancels)
		if got, _ := e.store.GetVisitByRef(ctx, models.AllOrgs(), ref); got.State != models.VisitPending {
			t.Fatalf("visit %s after refused cancels", got.State)
		}
		r = w.custA.call("POST", cancel, map[string]any{"reason": "Disk arrived broken"})
		wantAPIStatus(t, r, http.StatusOK)
		if r.JSON(t, &v); v.State != models.VisitCancelled || v.CancelledAt == nil {
			t.Fatalf("cancelled %s", r.Body)
		}
		wantAuditByToken(t, e.store, models.AuditVisitCancelled, w.tokA, f.CustA.ID)
		r = w.custA.with("Accept-Language", "en").call("POST", cancel, map[string]any{})
		wantAPIStatus(t, r, http.StatusConflict)
		if p := r.Problem(t); p.Detail != locales.For("en").T("visits.error.closed") {
			t.Fatalf("cancel twice: %+v", p)
		}

		// Parallel repeats of a visit with its key: one visit.
		before := count()
		k := w.custA.with("Idempotency-Key", "visit-1")
		var wg sync.WaitGroup
		answers := make([]*apiResponse, 2)
		for i := range answers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i] = k.call("POST", visits, good)
			}()
		}
		wg.Wait()
		if answers[0] == nil || answers[1] == nil || answers[0].StatusCode != http.StatusCreated || answers[1].StatusCode != http.StatusCreated ||
			answers[0].Header.Get("Location") != answers[1].Header.Get("Location") || count() != before+1 {
			t.Fatalf("parallel visits: %v, %d made", answers, count()-before)
		}
	})
}

func TestAPIComplaintWrites(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		w := newWriteEnv(t, e)
		ctx := t.Context()
		f := e.fx
		cps := handlers.APIPrefix + "/complaints"
		count := func() int {
			cs, err := e.store.ListComplaints(ctx, models.Viewer{Scope: models.AllOrgs()}, models.ComplaintFilter{})
			if err != nil {
				t.Fatal(err)
			}
			return len(cs)
		}
		rf := newRecordsFixture(t, e)
		opB, err := e.store.CreateRequest(ctx, models.UserActor(f.CustB, ""), f.OrgB.ID, models.RequestInput{Title: "B", Work: "B's work",
			Urgency: "normal", RequestedBy: &f.CustB.ID, DeviceIDs: []int64{rf.devB.ID}})
		if err != nil {
			t.Fatal(err)
		}
		good := map[string]any{"category": "service", "subject": "Slow answers", "description": "Nobody called back for two days."}
		r := w.custA.call("POST", cps, good)
		wantAPIStatus(t, r, http.StatusCreated)
		ref := refOf(t, r, cps)
		var cp handlers.APIComplaint
		r.JSON(t, &cp)
		if cp.Ref != ref || cp.OrgID != f.OrgA.ID || cp.Channel != "portal" || cp.State != models.ComplaintOpen || cp.ReceivedAt != apiTimeOf(e.clock.Now()) {
			t.Fatalf("created %s", r.Body)
		}
		wantAuditByToken(t, e.store, models.AuditComplaintFiled, w.tokA, f.CustA.ID)

		wantScopeRefused(t, w.readA.call("POST", cps, good))
		wantRoleRefused(t, newAPIClient(t, w.api, apiToken(t, e.store, f.Reception, true)).call("POST", cps, good))
		wantInvalid(t, w.custA, "POST", cps, map[string]any{"category": "employee", "subject": "", "description": "x",
			"operation_ref": opB.Ref, "channel": "phone", "filed_by_user_id": f.CustA.ID},
			map[string]string{"named_user_id": "complaints.error.named_user", "subject": "error.required",
				"channel": "api.write.desk_only", "filed_by_user_id": "api.write.desk_only"}, count)
		wantInvalid(t, w.custA, "POST", cps, map[string]any{"category": "service", "subject": "B's op", "description": "x",
			"operation_ref": opB.Ref}, map[string]string{"operation_ref": "complaints.error.operation"}, count)
		wantMalformed(t, w.custA, "POST", cps, good, count)

		// The service desk records one for a customer user.
		received := e.clock.Now().Add(-3 * time.Hour).Format(time.RFC3339)
		r = w.staff.call("POST", cps, map[string]any{"category": "network", "subject": "Called about packet loss", "description": "By phone.",
			"channel": "phone", "received_at": received, "filed_by_user_id": f.CustB.ID})
		wantAPIStatus(t, r, http.StatusCreated)
		if r.JSON(t, &cp); cp.OrgID != f.OrgB.ID || cp.Channel != "phone" || cp.ReceivedAt != received {
			t.Fatalf("recorded %s", r.Body)
		}
		wantInvalid(t, w.staff, "POST", cps, map[string]any{"category": "network", "subject": "", "description": "x",
			"received_at": "yesterday", "filed_by_user_id": f.Service.ID},
			map[string]string{"subject": "error.required", "received_at": "api.write.time_invalid", "filed_by_user_id": "complaints.error.filed_by",
				"channel": "complaints.error.channel"}, count)

		// Messages: the complaining organization and the desk; engineers
		// read only; another organization does not see it.
		msgs := cps + "/" + ref + "/messages"
		r = w.custA.call("POST", msgs, map[string]any{"body": "Still waiting."})
		wantAPIStatus(t, r, http.StatusCreated)
		var l handlers.APIComplaintLine
		if r.JSON(t, &l); l.Staff || l.Body != "Still waiting." || l.Kind != models.ComplaintMessage ||
			!strings.HasPrefix(r.Header.Get("Location"), cps+"/"+ref+"#message-") {
			t.Fatalf("message %s at %s", r.Body, r.Header.Get("Location"))
		}
		wantAuditByToken(t, e.store, models.AuditComplaintMessage, w.tokA, f.CustA.ID)
		r = w.staff.call("POST", msgs, map[string]any{"body": "We are on it."})
		wantAPIStatus(t, r, http.StatusCreated)
		if r.JSON(t, &l); !l.Staff {
			t.Fatalf("desk's message %s", r.Body)
		}
		messages := func() int { return auditCount(t, e.store, models.AuditComplaintMessage) }
		wantRoleRefused(t, newAPIClient(t, w.api, apiToken(t, e.store, f.Engineer, true)).call("POST", msgs, map[string]any{"body": "hi"}))
		wantAPIStatus(t, w.custB.call("POST", msgs, map[string]any{"body": "hi"}), http.StatusNotFound)
		wantScopeRefused(t, w.readA.call("POST", msgs, map[string]any{"body": "hi"}))
		wantInvalid(t, w.custA, "POST", msgs, map[string]any{"body": ""}, map[string]string{"body": "error.required"}, messages)
		wantMalformed(t, w.custA, "POST", msgs, map[string]any{"body": "x"}, messages)
		if n := messages(); n != 2 {
			t.Fatalf("%d messages", n)
		}
	})
}

// apiTimeOf is how the API writes t.
func apiTimeOf(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
