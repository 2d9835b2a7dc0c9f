package handlers

// The JSON API under /api/v1 (docs/architecture.md, "The JSON API"): the
// same Store methods, scopes and audit as the pages, reached with a
// personal access token instead of a session. This file holds what every
// endpoint shares: the token guard, the per-token rate limit, RFC 9457
// problem answers, cursor paging and strict JSON bodies.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// APIPrefix begins every path of the JSON API.
const APIPrefix = "/api/v1"

// apiPath reports whether path belongs to the JSON API, where no session
// cookie is read and no CSRF token is asked for.
func apiPath(path string) bool { return path == "/api" || strings.HasPrefix(path, "/api/") }

// Problem is an error answer of the API (RFC 9457, application/problem+json).
type Problem struct {
	Type     string `json:"type" doc:"A URI naming the kind of problem; about:blank when the status says it all."`
	Title    string `json:"title" doc:"A short summary of the kind of problem, in the language asked for."`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty" doc:"The request's path."`
	// RequestID is the X-Request-ID of the request, for the service desk.
	RequestID string `json:"request_id,omitempty"`
	// Errors lists every invalid field of a 422 answer.
	Errors []FieldProblem `json:"errors,omitempty"`
}

// FieldProblem is one invalid field of a request body or query.
type FieldProblem struct {
	Field  string `json:"field"`
	Code   string `json:"code" doc:"A stable code of the mistake (the message's locale key)."`
	Detail string `json:"detail" doc:"What is wrong, in the language asked for."`
}

// Problem types beyond the plain HTTP statuses.
const (
	problemValidation = APIPrefix + "/problems/validation"
	problemScope      = APIPrefix + "/problems/insufficient-scope"
	problemRateLimit  = APIPrefix + "/problems/rate-limited"
	problemToken      = APIPrefix + "/problems/invalid-token"
)

// apiError is an API answer other than a plain status: its problem type
// and the locale key of its detail.
type apiError struct {
	status    int
	typ       string
	detailKey string
	args      []any
}

func (e *apiError) Error() string { return fmt.Sprintf("api %d %s", e.status, e.detailKey) }

func apiProblem(status int, typ, detailKey string, args ...any) error {
	return &apiError{status: status, typ: typ, detailKey: detailKey, args: args}
}

// apiBadRequest is a 400 answer whose detail is the locale key.
func apiBadRequest(detailKey string, args ...any) error {
	return apiProblem(fiber.StatusBadRequest, "about:blank", detailKey, args...)
}

// apiContext carries the language of the answer to the translations.
func (h *Handler) apiContext(c *fiber.Ctx) context.Context {
	lang := locales.Match(c.Get(fiber.HeaderAcceptLanguage))
	return views.WithRequest(c.UserContext(), &views.Request{Lang: lang, T: locales.For(lang), Location: h.loc,
		User: state(c).user})
}

// apiErrorAnswer writes err as a problem. Called by handleError for every
// error of an /api/ path.
func (h *Handler) apiErrorAnswer(c *fiber.Ctx, status int, err error) error {
	ctx := h.apiContext(c)
	p := Problem{Type: "about:blank", Status: status, Instance: c.Path(), RequestID: c.GetRespHeader(fiber.HeaderXRequestID)}
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		p.Status, p.Type = ae.status, ae.typ
		p.Detail = views.T(ctx, ae.detailKey, ae.args...)
	case len(models.Validations(err)) > 0:
		p.Status, p.Type = fiber.StatusUnprocessableEntity, problemValidation
		p.Detail = views.T(ctx, "api.problem.validation")
		fe := views.FromError(err)
		for _, v := range models.Validations(err) {
			if fe[v.Field] != v {
				continue // a later error of a field already listed
			}
			p.Errors = append(p.Errors, FieldProblem{Field: v.Field, Code: v.Key, Detail: fe.Msg(ctx, v.Field)})
		}
	case errors.Is(err, models.ErrConflict):
		p.Status = fiber.StatusConflict
	}
	if p.Status == fiber.StatusUnauthorized {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="api"`)
		if p.Type == "about:blank" {
			p.Type = problemToken
			p.Detail = views.T(ctx, "api.problem.token")
		}
	}
	if key := "api.status." + strconv.Itoa(p.Status); views.Req(ctx).T.Has(key) {
		p.Title = views.T(ctx, key)
	} else {
		p.Title = http.StatusText(p.Status)
	}
	if p.Status >= 500 {
		h.logger(c).Error("request failed", "method", c.Method(), "path", loggedPath(c), "status", p.Status, "err", err)
	}
	c.Set(fiber.HeaderContentLanguage, locales.Match(c.Get(fiber.HeaderAcceptLanguage)))
	b, merr := json.Marshal(p)
	if merr != nil {
		return merr
	}
	c.Status(p.Status)
	c.Set(fiber.HeaderContentType, "application/problem+json")
	return c.Send(b)
}

// apiToken is the token of an API request, set by the guard.
func apiToken(c *fiber.Ctx) *models.APIToken {
	t, _ := c.Locals("portal.api_token").(*models.APIToken)
	return t
}

// apiActor is the token's user as the author of a change, naming the token.
func apiActor(c *fiber.Ctx) models.Actor {
	a := models.UserActor(currentUser(c), c.IP())
	if t := apiToken(c); t != nil {
		a.TokenID = t.ID
	}
	return a
}

// apiGuard authenticates the bearer token of an API route, enforces the
// rate limit, the scope (read or write) and the roles, and sets the
// request's user and tenancy scope from the token's user.
func (h *Handler) apiGuard(a Access) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if a.kind == accessPublic {
			return c.Next()
		}
		// The scheme is case-insensitive (RFC 6750 after RFC 9110).
		scheme, raw, _ := strings.Cut(strings.TrimSpace(c.Get(fiber.HeaderAuthorization)), " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(raw) == "" {
			return h.apiRefuse(c)
		}
		tok, u, err := h.store.AuthenticateToken(c.UserContext(), strings.TrimSpace(raw), c.IP())
		if errors.Is(err, models.ErrTokenInvalid) {
			return h.apiRefuse(c)
		}
		if err != nil {
			return err
		}
		if err := h.apiSpend(c, "t:"+strconv.FormatInt(tok.ID, 10)); err != nil {
			return err
		}
		st := state(c)
		st.user, st.stage, st.scope = u, models.StageFull, models.ScopeOf(u)
		c.Locals("portal.api_token", tok)
		if a.Write && !tok.CanWrite() {
			return apiProblem(fiber.StatusForbidden, problemScope, "api.problem.scope")
		}
		if !a.Allows(u.Role) {
			return apiProblem(fiber.StatusForbidden, "about:blank", "api.problem.role")
		}
		return c.Next()
	}
}

// apiSpend takes one request of key's allowance, setting the RateLimit
// headers; none left is a 429 problem with Retry-After.
func (h *Handler) apiSpend(c *fiber.Ctx, key string) error {
	wait, ok := h.apiLimiter.take(key, time.Now())
	c.Set("RateLimit-Limit", strconv.Itoa(h.apiLimiter.perMinute))
	c.Set("RateLimit-Remaining", strconv.Itoa(h.apiLimiter.remaining(key)))
	if !ok {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return apiProblem(fiber.StatusTooManyRequests, problemRateLimit, "api.problem.rate_limited")
	}
	return nil
}

// apiRefuse answers a request without a usable token 401, after taking
// one request of its address's allowance: guessing tokens from one
// address is limited like using one.
func (h *Handler) apiRefuse(c *fiber.Ctx) error {
	if err := h.apiSpend(c, "ip:"+c.IP()); err != nil {
		return err
	}
	return fiber.ErrUnauthorized
}

// apiLimiter is a token bucket per API token (and per address for
// requests without a usable token), in this instance's memory:
// perMinute requests a minute on average, at most burst at once.
type apiLimiter struct {
	mu        sync.Mutex
	perMinute int
	burst     float64
	buckets   map[string]*apiBucket
	swept     time.Time
}

type apiBucket struct {
	tokens float64
	at     time.Time
}

// DefaultAPIRate is the default of PORTAL_API_RATE, requests a minute per token.
const DefaultAPIRate = 600

func newAPILimiter(perMinute int) *apiLimiter {
	if perMinute <= 0 {
		perMinute = DefaultAPIRate
	}
	return &apiLimiter{perMinute: perMinute, burst: float64(max(1, min(60, perMinute))), buckets: map[string]*apiBucket{}}
}

// take spends one request of key at now; when none is left it says how
// long until one is.
func (l *apiLimiter) take(id string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	rate := float64(l.perMinute) / 60 // a second
	if now.Sub(l.swept) > 10*time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.at) > time.Hour {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b := l.buckets[id]
	if b == nil {
		b = &apiBucket{tokens: l.burst, at: now}
		l.buckets[id] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.at).Seconds()*rate)
	b.at = now
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) / rate * float64(time.Second)), false
	}
	b.tokens--
	return 0, true
}

func (l *apiLimiter) remaining(id string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.buckets[id]; b != nil {
		return int(b.tokens)
	}
	return int(l.burst)
}

// apiJSON answers v as JSON with status.
func apiJSON(c *fiber.Ctx, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.Status(status)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(b)
}

// apiCreated answers 201 with the new object and its Location.
func apiCreated(c *fiber.Ctx, location string, v any) error {
	c.Set(fiber.HeaderLocation, location)
	return apiJSON(c, fiber.StatusCreated, v)
}

// MaxAPIBody bounds a JSON request body.
const MaxAPIBody = 1 << 20

// apiBody decodes the JSON body into v strictly: application/json, at most
// MaxAPIBody, no unknown field, one value. Anything else is a 400 problem
// (415 for another content type).
func apiBody(c *fiber.Ctx, v any) error {
	ct := strings.ToLower(strings.TrimSpace(strings.Split(c.Get(fiber.HeaderContentType), ";")[0]))
	if ct != fiber.MIMEApplicationJSON {
		return apiProblem(fiber.StatusUnsupportedMediaType, "about:blank", "api.problem.json_only")
	}
	body := c.Body()
	if len(body) > MaxAPIBody {
		return apiProblem(fiber.StatusRequestEntityTooLarge, "about:blank", "api.problem.too_large")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) && ute.Field != "" {
			return apiBadRequest("api.problem.bad_field", ute.Field)
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return apiBadRequest("api.problem.unknown_field", strings.Trim(f, `"`))
		}
		return apiBadRequest("api.problem.bad_json")
	}
	if _, err := dec.Token(); err != io.EOF {
		return apiBadRequest("api.problem.bad_json")
	}
	return nil
}

// Paging of API lists.
const (
	DefaultAPILimit = 50
	MaxAPILimit     = 200
)

// List is the envelope of every API list: one page of data and the cursor
// of the next, null on the last page.
type List[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor" doc:"Pass as ?cursor= for the next page; null on the last page."`
}

// apiPage reads ?limit= and ?cursor= of a list. The cursor decodes into
// after (a pointer to the key the list resumes after; left untouched on the
// first page). Bad values are 400 problems.
func apiPage(c *fiber.Ctx, after any) (limit int, err error) {
	limit = DefaultAPILimit
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxAPILimit {
			return 0, apiBadRequest("api.problem.limit", MaxAPILimit)
		}
		limit = n
	}
	if cur := c.Query("cursor"); cur != "" {
		b, err := base64.RawURLEncoding.DecodeString(cur)
		if err != nil || json.Unmarshal(b, after) != nil {
			return 0, apiBadRequest("api.problem.cursor")
		}
	}
	return limit, nil
}

// apiList answers a page of items. more says whether items were cut at the
// limit; next is the key of the last item, encoded as the next cursor.
func apiList[T any](c *fiber.Ctx, items []T, more bool, next any) error {
	out := List[T]{Data: items}
	if out.Data == nil {
		out.Data = []T{}
	}
	if more {
		b, err := json.Marshal(next)
		if err != nil {
			return err
		}
		cur := base64.RawURLEncoding.EncodeToString(b)
		out.NextCursor = &cur
		q := c.Request().URI().QueryArgs()
		vals := url.Values{}
		q.VisitAll(func(k, v []byte) {
			if string(k) != "cursor" {
				vals.Add(string(k), string(v))
			}
		})
		vals.Set("cursor", cur)
		c.Set(fiber.HeaderLink, fmt.Sprintf(`<%s?%s>; rel="next"`, c.Path(), vals.Encode()))
	}
	return apiJSON(c, fiber.StatusOK, out)
}

// apiTime formats a time as the API does: RFC 3339 in UTC, to the second.
func apiTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// apiTimePtr is apiTime of an optional time, nil stays nil.
func apiTimePtr(t *time.Time) *string {
	if t == nil || t.IsZero() {
		return nil
	}
	s := apiTime(*t)
	return &s
}

// apiQueryTime reads an optional RFC 3339 time (or a YYYY-MM-DD date, the
// start of that day in the provider's zone) from the query.
func (h *Handler) apiQueryTime(c *fiber.Ctx, name string) (time.Time, error) {
	v := c.Query(name)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	if d, err := time.ParseInLocation(time.DateOnly, v, h.loc); err == nil {
		return d.UTC(), nil
	}
	return time.Time{}, apiBadRequest("api.problem.time", name)
}
