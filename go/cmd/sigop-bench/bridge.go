package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// BridgeResult is what simulated devices saw of a bridge: every window it
// should have published, how many it did, and how long after the message
// that completed a window its scores arrived.
type BridgeResult struct {
	Devices         int     `json:"devices"`
	Seconds         float64 `json:"seconds"`
	MessagesPerSec  float64 `json:"messages_per_second"`
	WindowsExpected int64   `json:"windows_expected"`
	WindowsReceived int64   `json:"windows_received"`
	WindowsPerSec   float64 `json:"windows_per_second"`
	P50             float64 `json:"latency_p50_seconds"`
	P99             float64 `json:"latency_p99_seconds"`
	PublishErrors   int64   `json:"publish_errors"`
}

// runBridge publishes three-axis samples for N devices in real time (rate
// Hz, per-message samples a message) to topic plant/<device>/vibration for
// the given seconds, and times the bridge's windows on sigop/+/windows.
func runBridge(args []string) error {
	fs := flag.NewFlagSet("bridge", flag.ContinueOnError)
	broker := fs.String("broker", "tcp://127.0.0.1:1883", "the MQTT broker the bridge reads")
	devices := fs.Int("devices", 100, "simulated devices")
	seconds := fs.Float64("seconds", 60, "seconds of samples each device publishes")
	rate := fs.Float64("rate", 100, "samples per second per device")
	per := fs.Int("per-message", 10, "samples per message")
	window := fs.Int("window", 100, "the model's window, in samples")
	hop := fs.Int("hop", 50, "the bridge's hop, in samples")
	conns := fs.Int("connections", 8, "publishing connections the devices share")
	tail := fs.Duration("tail", 10*time.Second, "how long to wait for the last windows after publishing stops")
	if err := fs.Parse(args); err != nil {
		return err
	}
	messages := int(*seconds * *rate / float64(*per))
	sent := make([][]time.Time, *devices) // when each device's message m was published
	for d := range sent {
		sent[d] = make([]time.Time, messages)
	}
	var mu sync.Mutex
	var latencies []float64
	var received, pubErrors atomic.Int64
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(*broker).SetClientID(fmt.Sprintf("bench-windows-%d", time.Now().UnixNano())))
	if t := sub.Connect(); t.Wait() && t.Error() != nil {
		return t.Error()
	}
	defer sub.Disconnect(100)
	t := sub.Subscribe("sigop/+/windows", 0, func(_ mqtt.Client, m mqtt.Message) {
		now := time.Now()
		var w struct {
			Device string `json:"device"`
			Window struct {
				End int64 `json:"end_sample"`
			} `json:"window"`
		}
		if json.Unmarshal(m.Payload(), &w) != nil {
			return
		}
		var d int
		if _, err := fmt.Sscanf(w.Device, "dev-%d", &d); err != nil || d >= *devices {
			return
		}
		msg := int((w.Window.End+int64(*per)-1)/int64(*per)) - 1 // the message holding the window's last sample
		if msg < 0 || msg >= messages {
			return
		}
		mu.Lock()
		if at := sent[d][msg]; !at.IsZero() {
			latencies = append(latencies, now.Sub(at).Seconds())
		}
		mu.Unlock()
		received.Add(1)
	})
	if t.Wait() && t.Error() != nil {
		return t.Error()
	}
	rng := rand.New(rand.NewPCG(1, 2))
	payloads := make([][]byte, 64) // samples of a tone on one axis, in noise: the content does not matter here
	for i := range payloads {
		rows := make([][3]float64, *per)
		for j := range rows {
			rows[j] = [3]float64{math.Sin(float64(i**per+j) * 0.7), 0.1 * rng.NormFloat64(), 0.1 * rng.NormFloat64()}
		}
		payloads[i], _ = json.Marshal(rows)
	}
	var wg sync.WaitGroup
	start := time.Now()
	for c := range *conns {
		pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(*broker).SetClientID(fmt.Sprintf("bench-devices-%d-%d", c, time.Now().UnixNano())).
			SetMaxResumePubInFlight(1000).SetWriteTimeout(10 * time.Second))
		if t := pub.Connect(); t.Wait() && t.Error() != nil {
			return t.Error()
		}
		defer pub.Disconnect(100)
		wg.Add(1)
		go func() {
			defer wg.Done()
			period := time.Duration(float64(*per) / *rate * float64(time.Second))
			for m := range messages {
				time.Sleep(time.Until(start.Add(time.Duration(m) * period)))
				for d := c; d < *devices; d += *conns {
					body := fmt.Sprintf(`{"seq": %d, "samples": %s}`, m+1, payloads[(m+d)%len(payloads)])
					mu.Lock()
					sent[d][m] = time.Now()
					mu.Unlock()
					tok := pub.Publish(fmt.Sprintf("plant/dev-%d/vibration", d), 1, false, body)
					go func() {
						if tok.Wait(); tok.Error() != nil {
							pubErrors.Add(1)
						}
					}()
				}
			}
		}()
	}
	wg.Wait()
	published := time.Since(start).Seconds()
	samples := int64(messages * *per)
	expected := int64(*devices) * ((samples-int64(*window))/int64(*hop) + 1)
	deadline := time.Now().Add(*tail)
	for received.Load() < expected && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	slices.Sort(latencies)
	r := BridgeResult{Devices: *devices, Seconds: published, MessagesPerSec: float64(*devices*messages) / published,
		WindowsExpected: expected, WindowsReceived: received.Load(), WindowsPerSec: float64(received.Load()) / published,
		PublishErrors: pubErrors.Load()}
	if n := len(latencies); n > 0 {
		r.P50, r.P99 = latencies[n/2], latencies[min(n-1, n*99/100)]
	}
	mu.Unlock()
	return json.NewEncoder(os.Stdout).Encode(r)
}
