package handlers_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
)

var (
	apiValidatorOnce sync.Once
	apiValidator     validator.Validator
	apiValidatorErr  []error
	// apiValidatorMu: the validator is not known to be safe for parallel use.
	apiValidatorMu sync.Mutex
)

// openAPIValidator is the validator of the served OpenAPI document.
func openAPIValidator(t testing.TB) validator.Validator {
	t.Helper()
	apiValidatorOnce.Do(func() {
		b, err := handlers.OpenAPIJSON()
		if err != nil {
			apiValidatorErr = []error{err}
			return
		}
		doc, err := libopenapi.NewDocument(b)
		if err != nil {
			apiValidatorErr = []error{err}
			return
		}
		apiValidator, apiValidatorErr = validator.NewValidator(doc)
	})
	if len(apiValidatorErr) > 0 {
		t.Fatalf("OpenAPI document: %v", apiValidatorErr)
	}
	return apiValidator
}

// apiToken makes a personal access token of u (write: read and write).
func apiToken(t testing.TB, s *models.Store, u *models.User, write bool) string {
	t.Helper()
	_, secret, err := s.CreateAPIToken(t.Context(), models.UserActor(u, "192.0.2.1"),
		models.APITokenInput{Name: "test " + u.Email, Days: 30, Write: write})
	if err != nil {
		t.Fatalf("token of %s: %v", u.Email, err)
	}
	return secret
}

// apiClient calls the JSON API with a token, and checks every answer
// against the OpenAPI document (its status is documented for the route,
// its body matches the schema).
type apiClient struct {
	t     testing.TB
	app   *fiber.App
	token string
	// header is sent with every request (Accept-Language, say).
	header http.Header
	// unchecked skips the document check (a route that is not the API's).
	unchecked bool
}

func newAPIClient(t testing.TB, app *fiber.App, token string) *apiClient {
	return &apiClient{t: t, app: app, token: token, header: http.Header{}}
}

// apiResponse is an API answer with its body.
type apiResponse struct {
	*http.Response
	Body []byte
}

// JSON decodes the body into v, failing the test if it cannot.
func (r *apiResponse) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("%s: body %q: %v", r.Request.URL, clip(string(r.Body)), err)
	}
}

// Problem decodes a problem answer.
func (r *apiResponse) Problem(t testing.TB) handlers.Problem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%s: content type %q, want application/problem+json; body %s", r.Request.URL, ct, clip(string(r.Body)))
	}
	var p handlers.Problem
	r.JSON(t, &p)
	if p.Status != r.StatusCode || p.Title == "" {
		t.Fatalf("problem %+v of a %d answer", p, r.StatusCode)
	}
	return p
}

// call sends one request; body, if not nil, is sent as JSON (a string or
// []byte as it is).
func (a *apiClient) call(method, path string, body any) *apiResponse {
	a.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			a.t.Fatal(err)
		}
	}
	req := httptest.NewRequest(method, path, bytes.NewReader(raw))
	for k, vs := range a.header {
		req.Header[k] = vs
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.app.Test(req, -1)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	resp.Request = req
	out := &apiResponse{Response: resp, Body: b}
	if !a.unchecked && strings.HasPrefix(path, handlers.APIPrefix+"/") && resp.StatusCode < 500 {
		a.check(req, raw, out)
	}
	return out
}

func (a *apiClient) get(path string) *apiResponse { return a.call(http.MethodGet, path, nil) }

// check validates an answer against the OpenAPI document.
func (a *apiClient) check(req *http.Request, reqBody []byte, r *apiResponse) {
	a.t.Helper()
	v := openAPIValidator(a.t)
	vreq := httptest.NewRequest(req.Method, req.URL.String(), bytes.NewReader(reqBody))
	vreq.Header = req.Header.Clone()
	vresp := &http.Response{StatusCode: r.StatusCode, Header: r.Header.Clone(), Body: io.NopCloser(bytes.NewReader(r.Body)), Request: vreq}
	apiValidatorMu.Lock()
	ok, errs := v.ValidateHttpResponse(vreq, vresp)
	apiValidatorMu.Unlock()
	if !ok {
		var msgs []string
		for _, e := range errs {
			m := e.Message + ": " + e.Reason
			for _, se := range e.SchemaValidationErrors {
				m += " [" + se.FieldPath + ": " + se.Reason + "]"
			}
			msgs = append(msgs, m)
		}
		a.t.Fatalf("%s %s answered %d, which the OpenAPI document does not allow:\n%s\nbody: %s", req.Method, req.URL,
			r.StatusCode, strings.Join(msgs, "\n"), clip(string(r.Body)))
	}
}
