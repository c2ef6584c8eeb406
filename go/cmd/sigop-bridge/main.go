// Command sigop-bridge watches devices that publish samples to an MQTT
// broker and publishes their label changes (package bridge):
//
//	sigop-bridge -broker tcp://localhost:1883 -route 'plant/+device/vibration=models/pump' -hop 0.5 -unknown-events
//
// Each device's events go to sigop/<device>/events (QoS 1) and its current
// state to sigop/<device>/state (retained). -http serves /healthz (200
// while the broker connection is up), /metrics (Prometheus) and /stats (the
// counts, JSON).
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sigop-dev/sigop/go/bridge"
)

type routes []bridge.Route

func (r *routes) String() string { return fmt.Sprint(*r) }
func (r *routes) Set(s string) error {
	route, err := bridge.ParseRoute(s)
	if err == nil {
		*r = append(*r, route)
	}
	return err
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "sigop-bridge:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("sigop-bridge", flag.ContinueOnError)
	var cfg bridge.Config
	var rs routes
	fs.Var(&rs, "route", "PATTERN=MODEL_DIR[,json|f32|f64]: a topic filter with a +device level, and the model folder its devices run on (repeatable)")
	fs.StringVar(&cfg.Broker, "broker", "tcp://127.0.0.1:1883", "the MQTT broker (tcp://, ssl://)")
	fs.StringVar(&cfg.ClientID, "client-id", "sigop-bridge-0", "the session's client id: keep it across restarts (the broker keeps QoS 1 messages for it)")
	fs.StringVar(&cfg.Username, "username", "", "broker user name")
	passwordFile := fs.String("password-file", "", "file holding the broker password")
	ca := fs.String("tls-ca", "", "PEM CA the broker's certificate is signed by (with ssl://)")
	fs.Float64Var(&cfg.Stream.Hop, "hop", 0, "seconds between window starts; 0: one window")
	fs.IntVar(&cfg.Stream.SmoothingWindows, "smooth", 3, "windows whose scores are averaged before a label is taken")
	fs.Float64Var(&cfg.Stream.MinDuration, "min-duration", 0, "seconds a new label must hold before its event")
	fs.Float64Var(&cfg.Stream.Threshold, "threshold", 0, `a smoothed top score below this is the label "none"`)
	fs.BoolVar(&cfg.Stream.UnknownEvents, "unknown-events", false, `publish "unknown" events from the model's unknown score`)
	fs.StringVar(&cfg.EventsTopic, "events-topic", "sigop/{device}/events", "where each device's events go (QoS 1)")
	fs.StringVar(&cfg.StateTopic, "state-topic", "sigop/{device}/state", "where each device's current state is retained")
	fs.StringVar(&cfg.WindowsTopic, "windows-topic", "", `every window's scores (e.g. "sigop/{device}/windows"); empty: none`)
	fs.StringVar(&cfg.DeadLetter, "dead-letter", "", `malformed payloads republished here with why (e.g. "sigop/{device}/rejected"); empty: none`)
	fs.IntVar(&cfg.Queue, "queue", 256, "messages held per device; the excess is dropped and counted")
	fs.IntVar(&cfg.MaxDevices, "max-devices", 10000, "devices watched at once")
	fs.IntVar(&cfg.MaxMessageBytes, "max-message-bytes", 1<<20, "larger payloads are dropped and counted")
	fs.DurationVar(&cfg.IdleTimeout, "idle-timeout", 0, "close a device's stream after this long without a message; 0: never")
	fs.IntVar(&cfg.Replica, "replica", 0, "this replica's ordinal (a StatefulSet's pod index)")
	fs.IntVar(&cfg.Replicas, "replicas", 1, "replicas sharing the devices: each watches those whose id hashes to its ordinal")
	httpAddr := fs.String("http", "", "serve /healthz, /metrics and /stats here (e.g. :8080)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile here until the bridge stops (go tool pprof)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.Routes = rs
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *passwordFile != "" {
		b, err := os.ReadFile(*passwordFile)
		if err != nil {
			return err
		}
		cfg.Password = strings.TrimSpace(string(b))
	}
	if *ca != "" {
		pem, err := os.ReadFile(*ca)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("--tls-ca %s holds no PEM certificate", *ca)
		}
		cfg.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	b, err := bridge.New(cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *httpAddr != "" {
		l, err := net.Listen("tcp", *httpAddr)
		if err != nil {
			return err
		}
		fmt.Println(l.Addr()) // the address, for a test or a script that asked for port 0
		mux := http.NewServeMux()
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
			if !b.Connected() {
				http.Error(w, "not connected to the broker", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintln(w, "ok")
		})
		registry := prometheus.NewRegistry()
		registry.MustRegister(bridge.NewCollector(b), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		mux.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
		mux.HandleFunc("/stats", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(b.Stats())
		})
		srv := &http.Server{Handler: mux}
		go func() {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				cfg.Log.Error("http", "err", err)
			}
		}()
		defer srv.Close()
	}
	return b.Run(ctx)
}
