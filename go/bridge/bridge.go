package bridge

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/sigop-dev/sigop/go/classify"
	"github.com/sigop-dev/sigop/go/edge"
)

// Config is what a bridge subscribes to, runs and publishes.
type Config struct {
	Broker             string // "tcp://host:1883", "ssl://host:8883"
	ClientID           string // fixed per replica: the broker keeps its session (QoS 1 messages while it is away)
	Username, Password string
	TLS                *tls.Config
	Routes             []Route
	Stream             classify.StreamConfig
	EventsTopic        string // "{device}" is the device id; default "sigop/{device}/events"
	StateTopic         string // retained; default "sigop/{device}/state"
	WindowsTopic       string // every window's scores; "" (default): not published
	DeadLetter         string // malformed payloads are republished here with why; "": not
	Queue              int    // messages held per device before the excess is dropped; default 256
	MaxDevices         int    // devices watched at once, beyond which new ones are dropped; default 10,000
	MaxMessageBytes    int    // larger payloads are dropped; default 1 MiB
	IdleTimeout        time.Duration
	Replica, Replicas  int // this replica watches the devices whose hash mod Replicas is Replica
	Log                *slog.Logger
}

// Bridge is a running bridge: New, then Run.
type Bridge struct {
	cfg     Config
	models  []*edge.Model // per route
	client  mqtt.Client
	mu      sync.Mutex
	devices map[string]*device // by route index and device id
	stats   Stats
	started time.Time
	observe func(arrived time.Time) // a message's time to results (the Collector's histogram); nil: none
}

// Stats counts what the bridge has done since it started.
type Stats struct {
	Devices      int   // watched now
	Messages     int64 // accepted for a device of this replica
	Windows      int64 // classified
	Events       int64 // published
	Dropped      int64 // over a device's queue, the device limit or the size limit
	Duplicates   int64 // redelivered messages (a seq already seen), skipped
	Gaps         int64 // missing seq or time: a new stream was started
	Errors       int64 // payloads that did not decode or fit the model
	ErrorsByDev  map[string]int64
	PublishFails int64
}

// New opens the routes' models and checks the config.
func New(cfg Config) (*Bridge, error) {
	if len(cfg.Routes) == 0 {
		return nil, errors.New("bridge: no routes")
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = 1
	}
	if cfg.Replica < 0 || cfg.Replica >= cfg.Replicas {
		return nil, fmt.Errorf("bridge: replica %d of %d; expected 0 to %d", cfg.Replica, cfg.Replicas, cfg.Replicas-1)
	}
	cfg.EventsTopic = or(cfg.EventsTopic, "sigop/{device}/events")
	cfg.StateTopic = or(cfg.StateTopic, "sigop/{device}/state")
	cfg.Queue = orInt(cfg.Queue, 256)
	cfg.MaxDevices = orInt(cfg.MaxDevices, 10_000)
	cfg.MaxMessageBytes = orInt(cfg.MaxMessageBytes, 1<<20)
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if err := cfg.Stream.Check(); err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	b := &Bridge{cfg: cfg, devices: map[string]*device{}, stats: Stats{ErrorsByDev: map[string]int64{}}, started: time.Now()}
	for i := range cfg.Routes {
		r := &b.cfg.Routes[i]
		if r.filter == "" {
			if err := r.compile(); err != nil {
				return nil, fmt.Errorf("bridge: %w", err)
			}
		}
		m, err := edge.Open(r.Model, edge.WithWorkers(1))
		if err != nil {
			return nil, fmt.Errorf("bridge: route %s: %w", r.Pattern, err)
		}
		if _, err := m.NewStream(cfg.Stream); err != nil {
			return nil, fmt.Errorf("bridge: route %s: %w", r.Pattern, err)
		}
		b.models = append(b.models, m)
	}
	return b, nil
}

// Run connects (with a persistent session), subscribes at QoS 1, and
// watches until ctx is done; the client reconnects with backoff on its own.
func (b *Bridge) Run(ctx context.Context) error {
	opts := mqtt.NewClientOptions().AddBroker(b.cfg.Broker).SetClientID(b.cfg.ClientID).
		SetCleanSession(false).SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).SetMaxReconnectInterval(10 * time.Second).
		SetOrderMatters(true).SetResumeSubs(true).SetKeepAlive(30 * time.Second).
		SetAutoAckDisabled(true) // a message is acknowledged once handled: one queued when the bridge dies is redelivered
	if b.cfg.Username != "" {
		opts.SetUsername(b.cfg.Username).SetPassword(b.cfg.Password)
	}
	if b.cfg.TLS != nil {
		opts.SetTLSConfig(b.cfg.TLS)
	}
	opts.SetOnConnectHandler(func(c mqtt.Client) {
		for i, r := range b.cfg.Routes {
			t := c.Subscribe(r.filter, 1, b.handler(i))
			go func() {
				if t.Wait(); t.Error() != nil {
					b.cfg.Log.Error("subscribe", "filter", r.filter, "err", t.Error())
				}
			}()
		}
	})
	opts.SetConnectionLostHandler(func(_ mqtt.Client, err error) {
		b.cfg.Log.Warn("broker connection lost; reconnecting", "err", err)
	})
	b.client = mqtt.NewClient(opts)
	b.client.Connect() // with ConnectRetry it keeps trying in the background
	<-ctx.Done()
	b.mu.Lock()
	for _, d := range b.devices {
		close(d.queue)
	}
	b.devices = map[string]*device{}
	b.mu.Unlock()
	b.client.Disconnect(1000)
	return nil
}

// Connected reports whether the broker connection is up (a health check).
func (b *Bridge) Connected() bool { return b.client != nil && b.client.IsConnectionOpen() }

// Stats is a copy of the counts.
func (b *Bridge) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stats
	s.Devices = len(b.devices)
	s.ErrorsByDev = make(map[string]int64, len(b.stats.ErrorsByDev))
	for k, v := range b.stats.ErrorsByDev {
		s.ErrorsByDev[k] = v
	}
	return s
}

// mine says whether this replica watches the device.
func (b *Bridge) mine(id string) bool {
	if b.cfg.Replicas == 1 {
		return true
	}
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32()%uint32(b.cfg.Replicas)) == b.cfg.Replica
}

// handler queues a route's messages on their device's goroutine without
// blocking the client (which delivers every message in order on one).
func (b *Bridge) handler(route int) mqtt.MessageHandler {
	r := b.cfg.Routes[route]
	return func(_ mqtt.Client, msg mqtt.Message) {
		id, ok := r.deviceOf(msg.Topic())
		if !ok || !b.mine(id) {
			msg.Ack()
			return
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		if len(msg.Payload()) > b.cfg.MaxMessageBytes {
			msg.Ack()
			b.stats.Dropped++
			b.failLocked(id, msg, fmt.Errorf("%d bytes exceed the limit of %d", len(msg.Payload()), b.cfg.MaxMessageBytes))
			return
		}
		key := fmt.Sprintf("%d/%s", route, id)
		d, ok := b.devices[key]
		if !ok {
			if len(b.devices) >= b.cfg.MaxDevices {
				msg.Ack()
				b.stats.Dropped++
				return
			}
			d = b.newDevice(key, id, route)
			b.devices[key] = d
		}
		select {
		case d.queue <- queued{msg, time.Now()}:
			b.stats.Messages++
		default:
			msg.Ack()
			b.stats.Dropped++
		}
	}
}

// failLocked counts a device's bad message, logs the first and every
// hundredth, and republishes it to the dead-letter topic. b.mu is held.
func (b *Bridge) failLocked(id string, msg mqtt.Message, err error) {
	b.stats.Errors++
	b.stats.ErrorsByDev[id]++
	if n := b.stats.ErrorsByDev[id]; n == 1 || n%100 == 0 {
		b.cfg.Log.Warn("bad message", "device", id, "topic", msg.Topic(), "errors", n, "err", err)
	}
	if b.cfg.DeadLetter != "" {
		payload := fmt.Sprintf(`{"device":%q,"topic":%q,"error":%q,"payload":%q}`, id, msg.Topic(), err.Error(), msg.Payload())
		b.client.Publish(b.topic(b.cfg.DeadLetter, id), 1, false, payload)
	}
}

func (b *Bridge) topic(template, id string) string {
	return strings.ReplaceAll(template, "{device}", id)
}

func or(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func orInt(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}
