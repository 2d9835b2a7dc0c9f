package handlers

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The JSON API's counter (called by the API's middleware) labels a
// request by its token's scope and status class.
func TestAPIRequestCounter(t *testing.T) {
	m := newMetrics()
	m.apiRequest("read", 200)
	m.apiRequest("read", 204)
	m.apiRequest("write", 429)
	m.apiRequest("none", 401)
	for _, tc := range []struct {
		scope, code string
		want        float64
	}{{"read", "2xx", 2}, {"write", "4xx", 1}, {"none", "4xx", 1}, {"write", "2xx", 0}} {
		if got := testutil.ToFloat64(m.api.WithLabelValues(tc.scope, tc.code)); got != tc.want {
			t.Errorf("api requests {scope=%s, code=%s} = %v, want %v", tc.scope, tc.code, got, tc.want)
		}
	}
	for code, want := range map[int]string{101: "1xx", 200: "2xx", 303: "3xx", 404: "4xx", 503: "5xx", 0: "0xx", 700: "0xx"} {
		if got := statusClass(code); got != want {
			t.Errorf("statusClass(%d) = %q, want %q", code, got, want)
		}
	}
}
