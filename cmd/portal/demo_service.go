package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The demo's HTTP checks watch a small web service of their own that the
// demo starts on the loopback interface, never the portal itself: a check
// of the portal's own /healthz would turn a database outage into customer
// outages and emergency notices. It listens on 127.0.0.1 at the port after
// the portal's (8081 for the default :8080) and answers every demo
// device's path with "ok".

// demoServiceAddr is the demo service's address for the portal's listen
// address.
func demoServiceAddr(listen string) string {
	port := 8080
	if _, p, err := net.SplitHostPort(listen); err == nil {
		if n, err := strconv.Atoi(p); err == nil && n > 0 && n < 65535 {
			port = n
		}
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port+1))
}

// demoServiceURL is the URL a demo device's HTTP check watches.
func demoServiceURL(listen, device string) string {
	return "http://" + demoServiceAddr(listen) + "/" + device
}

// demoServiceHandler answers "ok" for the demo devices' pages and 404 for
// anything else.
func demoServiceHandler() http.Handler {
	known := map[string]bool{}
	for _, d := range demoDevices(":0") {
		known["/"+d.name] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !known[r.URL.Path] {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "ok: demo service of %s\n", strings.TrimPrefix(r.URL.Path, "/"))
	})
}

// startDemoService serves the demo service until ctx ends. When its port is
// taken the demo goes on and the HTTP checks report the outage, which is
// logged once here.
func startDemoService(ctx context.Context, listen string, log *slog.Logger) {
	addr := demoServiceAddr(listen)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Warn("demo service not started: the demo's HTTP checks will fail", "addr", addr, "err", err)
		return
	}
	srv := &http.Server{Handler: demoServiceHandler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("demo service stopped", "err", err)
		}
	}()
	log.Info("demo service for the HTTP checks", "addr", addr)
}
