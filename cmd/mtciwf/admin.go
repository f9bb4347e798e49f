package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// Admin listener timeouts: a scrape or a probe is small; a pprof profile
// runs for its ?seconds= (default 30) and needs the longer write timeout.
const (
	adminReadTimeout  = 10 * time.Second
	adminWriteTimeout = 2 * time.Minute
	adminIdleTimeout  = time.Minute
)

// newRegistry is the daemon's metrics registry: build info, the Go runtime
// and the process, and whatever the caller adds. There is no global
// registry.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{Namespace: "mtciwf"}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace:   "mtciwf",
			Name:        "build_info",
			Help:        "Build information of the running daemon; the value is always 1.",
			ConstLabels: prometheus.Labels{"version": version, "commit": buildCommit(), "goversion": runtime.Version()},
		}, func() float64 { return 1 }),
	)
	return reg
}

// readiness reports what keeps the daemon from being ready, nil when it is.
type readiness func(ctx context.Context) []string

// adminHandler serves /metrics, /healthz, /readyz and, with pprofOn,
// /debug/pprof/.
func adminHandler(reg *prometheus.Registry, ready readiness, pprofOn bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if missing := ready(ctx); len(missing) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "not ready: %s\n", strings.Join(missing, "; "))
			return
		}
		fmt.Fprintln(w, "ready")
	})
	if pprofOn {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// adminServer is the running admin listener.
type adminServer struct {
	srv  *http.Server
	addr net.Addr
	done chan error
}

// startAdmin listens on cfg.Listen and serves the admin handler; it returns
// nil, nil when the listener is disabled ("").
func startAdmin(cfg AdminConfig, reg *prometheus.Registry, ready readiness, log *zap.Logger) (*adminServer, error) {
	if cfg.Listen == "" {
		log.Info("admin listener disabled (admin.listen is empty)")
		return nil, nil
	}
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("admin.listen: %w", err)
	}
	a := &adminServer{
		srv: &http.Server{
			Handler:           adminHandler(reg, ready, cfg.Pprof),
			ReadHeaderTimeout: adminReadTimeout,
			ReadTimeout:       adminReadTimeout,
			WriteTimeout:      adminWriteTimeout,
			IdleTimeout:       adminIdleTimeout,
			ErrorLog:          zap.NewStdLog(log),
		},
		addr: l.Addr(),
		done: make(chan error, 1),
	}
	go func() { a.done <- a.srv.Serve(l) }()
	log.Info("admin listening (/metrics, /healthz, /readyz)", zap.String("addr", l.Addr().String()), zap.Bool("pprof", cfg.Pprof))
	if cfg.Pprof {
		log.Warn("pprof is enabled on the admin listener (/debug/pprof/): for debugging only")
	}
	return a, nil
}

// shutdown stops the admin listener, waiting for requests in progress up
// to ctx.
func (a *adminServer) shutdown(ctx context.Context) error {
	if a == nil {
		return nil
	}
	err := a.srv.Shutdown(ctx)
	if err != nil {
		_ = a.srv.Close() // a request still running (a pprof profile) is cut
	}
	if serr := <-a.done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
