package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// newRegistry is the one registry of a serving process: the Go runtime's
// and the process's series, to which the handlers, the prober and the
// notify dispatcher add theirs (their Config and Deps fields). Nothing
// uses prometheus's global default registry.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// metricsServer is the separate listener of PORTAL_METRICS_LISTEN.
type metricsServer struct {
	srv *http.Server
}

// serveMetrics starts a plain net/http server on addr answering
// GET /metrics with reg (and 404 for everything else); an empty addr
// starts nothing. Its failure after start goes to errc, as the app's does.
func serveMetrics(addr string, reg *prometheus.Registry, log *slog.Logger, errc chan<- error) (*metricsServer, error) {
	if addr == "" {
		return &metricsServer{}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	log.Info("metrics listening", "addr", ln.Addr().String())
	return &metricsServer{srv: srv}, nil
}

// close stops the metrics server, letting a scrape under way finish.
func (m *metricsServer) close() {
	if m.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = m.srv.Shutdown(ctx)
}
