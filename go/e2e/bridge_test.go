//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sigop-dev/sigop/go/bridge"
	"github.com/sigop-dev/sigop/go/classify"
	"github.com/sigop-dev/sigop/go/internal/mosquitto"
	"github.com/sigop-dev/sigop/go/internal/testsignals"
)

// recording is a three-axis device whose tone moves between axes: 256
// samples (2.56 s at 100 Hz) per part.
func recording(seed uint64, parts ...int) [][]float64 {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	out := make([][]float64, 3)
	for _, axis := range parts {
		p := testsignals.ThreeAxes(rng, axis, 256)
		for c := range out {
			out[c] = append(out[c], p[c]...)
		}
	}
	return out
}

// messages are a recording as a device publishes it: JSON rows of 64
// samples, numbered from first.
func messages(x [][]float64, first int64) [][]byte {
	var out [][]byte
	for i, seq := 0, first; i < len(x[0]); i, seq = i+64, seq+1 {
		rows := make([][3]float64, 0, 64)
		for t := i; t < min(i+64, len(x[0])); t++ {
			rows = append(rows, [3]float64{x[0][t], x[1][t], x[2][t]})
		}
		b, _ := json.Marshal(map[string]any{"seq": seq, "samples": rows})
		out = append(out, b)
	}
	return out
}

func mqttClient(t *testing.T, url, id string, clean bool) mqtt.Client {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(id).SetCleanSession(clean).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(200 * time.Millisecond).SetOrderMatters(true))
	if tok := c.Connect(); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func publish(t *testing.T, c mqtt.Client, topic string, payloads ...[]byte) {
	t.Helper()
	for _, p := range payloads {
		if tok := c.Publish(topic, 1, false, p); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
	}
}

// events collects what the bridge publishes on a filter, by topic.
type events struct {
	mu sync.Mutex
	by map[string][]bridge.Event
}

// subscribe is a dashboard: a persistent session that subscribes again
// whenever it connects, so a broker restart loses it nothing.
func subscribe(t *testing.T, url, filter string) *events {
	t.Helper()
	e := &events{by: map[string][]bridge.Event{}}
	handle := func(_ mqtt.Client, m mqtt.Message) {
		var ev bridge.Event
		if json.Unmarshal(m.Payload(), &ev) == nil {
			e.mu.Lock()
			e.by[m.Topic()] = append(e.by[m.Topic()], ev)
			e.mu.Unlock()
		}
	}
	subscribed := make(chan error, 1)
	opts := mqtt.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("dashboard-%d", time.Now().UnixNano())).
		SetCleanSession(false).SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(200 * time.Millisecond).
		SetOnConnectHandler(func(c mqtt.Client) {
			tok := c.Subscribe(filter, 1, handle)
			go func() {
				tok.Wait()
				select {
				case subscribed <- tok.Error():
				default:
				}
			}()
		})
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	select {
	case err := <-subscribed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no SUBACK in 30 s")
	}
	return e
}

// wait returns the events once every topic has at least n, or fails at the deadline.
func (e *events) wait(t *testing.T, want map[string]int, within time.Duration) map[string][]bridge.Event {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		e.mu.Lock()
		done := true
		for topic, n := range want {
			done = done && len(e.by[topic]) >= n
		}
		got := map[string][]bridge.Event{}
		for k, v := range e.by {
			got[k] = append([]bridge.Event(nil), v...)
		}
		e.mu.Unlock()
		if done {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: events %+v; want at least %v", within, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func runBridge(t *testing.T, cfg bridge.Config) (*bridge.Bridge, context.CancelFunc) {
	t.Helper()
	b, err := bridge.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return b, func() { cancel(); <-done }
}

func bridgeConfig(url, id string) bridge.Config {
	route, _ := bridge.ParseRoute("plant/+device/vibration=" + filepath.Join(os.Getenv("SIGOP_GRAPHS"), "imu"))
	return bridge.Config{Broker: url, ClientID: id, Routes: []bridge.Route{route},
		Stream: classify.StreamConfig{Hop: 1.28, SmoothingWindows: 1}}
}

// localEvents are edge.Watch's events on the same recording: what the bridge must publish.
func localEvents(t *testing.T, x [][]float64) []string {
	chunks := make(chan [][]float64, 1)
	chunks <- x
	close(chunks)
	results, done := openIMU(t).WatchMultichannel(ctxT(t), classify.StreamConfig{Hop: 1.28, SmoothingWindows: 1}, chunks, classify.TopK(1))
	var out []string
	for r := range results {
		if r.Event != nil {
			out = append(out, fmt.Sprintf("%s@%d", r.Event.Label, r.Event.StartSample))
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return out
}

func labels(evs []bridge.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, fmt.Sprintf("%s@%d", e.Label, int64(e.Start*100+0.5)))
	}
	return out
}

// Three devices switching state at known times: each device's events, on
// its own topic, are the ones the same recording gives through Watch; its
// state is retained for a dashboard that subscribes afterwards; malformed,
// wrong-shaped and oversized messages from other devices are counted and
// change nothing for these.
func TestBridgeWatchesThreeDevices(t *testing.T) {
	br := mosquitto.Start(t, "")
	cfg := bridgeConfig(br.URL(), "bridge-three")
	cfg.MaxMessageBytes = 64 << 10
	b, _ := runBridge(t, cfg)
	got := subscribe(t, br.URL(), "sigop/+/events")
	parts := map[string][]int{"pump-1": {0, 0, 0, 1, 1, 1}, "pump-2": {1, 1, 2, 2, 2, 2}, "fan-3": {2, 2, 2, 2, 0, 0}}
	want := map[string][]string{}
	device := mqttClient(t, br.URL(), "devices", true)
	var wg sync.WaitGroup
	for i, name := range []string{"pump-1", "pump-2", "fan-3"} {
		x := recording(uint64(30+i), parts[name]...)
		want["sigop/"+name+"/events"] = localEvents(t, x)
		wg.Add(1)
		go func() {
			defer wg.Done()
			publish(t, device, "plant/"+name+"/vibration", messages(x, 1)...)
		}()
	}
	bad := [][]byte{[]byte(`{not json`), []byte(`{"samples": [[1, 2]]}`), []byte(`{"samples": [[NaN, 0, 0]]}`),
		[]byte(`{"samples": [["a", 0, 0]]}`), []byte(`{"x": 1}`), []byte(strings.Repeat("[0,0,0],", 20000))}
	publish(t, device, "plant/broken-9/vibration", bad...)
	wg.Wait()
	counts := map[string]int{}
	for topic, evs := range want {
		counts[topic] = len(evs)
	}
	evs := got.wait(t, counts, 60*time.Second)
	for topic, w := range want {
		g := labels(evs[topic])
		t.Logf("%s: %v", topic, g)
		if strings.Join(g, " ") != strings.Join(w, " ") || len(w) < 2 {
			t.Errorf("%s: the bridge published %v; Watch on the recording gives %v", topic, g, w)
		}
		for _, e := range evs[topic] {
			if "sigop/"+e.Device+"/events" != topic || e.Model != "imu" || e.ID == "" {
				t.Errorf("%s: event %+v names another device, model or no id", topic, e)
			}
		}
	}
	if len(evs["sigop/broken-9/events"]) != 0 {
		t.Errorf("the broken device published events: %v", evs["sigop/broken-9/events"])
	}
	deadline := time.Now().Add(30 * time.Second)
	for b.Stats().ErrorsByDev["broken-9"]+b.Stats().Dropped < int64(len(bad)) {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v: want the %d bad messages counted", b.Stats(), len(bad))
		}
		time.Sleep(20 * time.Millisecond)
	}
	state := subscribe(t, br.URL(), "sigop/+/state") // a dashboard connecting now sees every device's state
	states := state.wait(t, map[string]int{"sigop/pump-1/state": 1, "sigop/pump-2/state": 1, "sigop/fan-3/state": 1}, 30*time.Second)
	for name, p := range parts {
		last := states["sigop/"+name+"/state"][0].Label
		if last != "tone_"+axes[p[len(p)-1]] {
			t.Errorf("%s: retained state %s; want tone_%s", name, last, axes[p[len(p)-1]])
		}
	}
	t.Logf("stats %+v", b.Stats())
}

// bridgeProcess runs the sigop-bridge command (built once per test run).
func bridgeProcess(t *testing.T, args ...string) (*exec.Cmd, string) {
	t.Helper()
	bin := filepath.Join(bridgeBin(t), "sigop-bridge")
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() }) // a test that fails early leaves no bridge behind
	// it prints its -http address, then serves /healthz: wait on that
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("sigop-bridge printed no address: %v", err)
	}
	addr = strings.TrimSpace(addr)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd, addr
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("sigop-bridge never healthy: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var bridgeOnce struct {
	sync.Once
	dir string
	err error
}

func bridgeBin(t *testing.T) string {
	bridgeOnce.Do(func() {
		bridgeOnce.dir, bridgeOnce.err = os.MkdirTemp("", "sigop-bridge")
		if bridgeOnce.err == nil {
			out, err := exec.Command("go", "build", "-o", bridgeOnce.dir, "../cmd/sigop-bridge").CombinedOutput()
			if err != nil {
				bridgeOnce.err = fmt.Errorf("go build: %v: %s", err, out)
			}
		}
	})
	if bridgeOnce.err != nil {
		t.Fatal(bridgeOnce.err)
	}
	return bridgeOnce.dir
}

// The bridge killed with SIGKILL mid-stream and started again with the same
// client id gets what the device published meanwhile (its session is the
// broker's: QoS 1 messages it had not acknowledged are redelivered), and
// the broker stopped and started (persistence on) mid-stream loses nothing:
// every state change of the recording is published, in order. A SIGKILL
// loses the stream's windows in memory, so the second bridge starts a new
// stream at the first message it gets (its events count from there).
func TestBridgeSurvivesItsOwnDeathAndTheBrokers(t *testing.T) {
	br := mosquitto.Start(t, "")
	model := filepath.Join(os.Getenv("SIGOP_GRAPHS"), "imu")
	args := []string{"-broker", br.URL(), "-client-id", "bridge-restart", "-route", "plant/+device/vibration=" + model,
		"-hop", "1.28", "-smooth", "1", "-http", "127.0.0.1:0"}
	first, _ := bridgeProcess(t, args...)
	got := subscribe(t, br.URL(), "sigop/+/events")
	x := recording(40, 0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 0)
	want := changes(localEvents(t, x))
	msgs := messages(x, 1)
	device := mqttClient(t, br.URL(), "device-restart", false)
	third := len(msgs) / 3
	publish(t, device, "plant/pump-7/vibration", msgs[:third]...)
	got.wait(t, map[string]int{"sigop/pump-7/events": 1}, 30*time.Second)
	first.Process.Signal(syscall.SIGKILL)
	first.Wait()
	publish(t, device, "plant/pump-7/vibration", msgs[third:2*third]...) // while no bridge runs
	second, addr := bridgeProcess(t, args...)
	got.until(t, "tone_z", 60*time.Second) // the change published while the bridge was dead
	br.Stop(syscall.SIGTERM)
	br.Restart()
	publish(t, device, "plant/pump-7/vibration", msgs[2*third:]...)
	evs := got.until(t, "tone_x after tone_z", 60*time.Second)
	metrics := scrape(t, "http://"+addr+"/metrics")
	t.Logf("the second bridge's /metrics: %v", metrics)
	if metrics["sigop_bridge_events_total"] < 2 || metrics["sigop_bridge_connected"] != 1 ||
		metrics["sigop_bridge_message_seconds_count"] < 1 || metrics["sigop_bridge_devices"] != 1 {
		t.Errorf("/metrics %v: want its events counted, connected, messages timed, one device", metrics)
	}
	second.Process.Signal(syscall.SIGTERM)
	second.Wait()
	t.Logf("events %v; Watch's changes %v", labels(evs), want)
	if g := changes(labels(evs)); strings.Join(g, " ") != strings.Join(want, " ") {
		t.Fatalf("state changes %v after a SIGKILL of the bridge and a broker restart; the recording's are %v", g, want)
	}
}

// changes is the labels of events in order, a label repeated by a new
// stream once.
func changes(evs []string) []string {
	var out []string
	for _, e := range evs {
		label, _, _ := strings.Cut(e, "@")
		if len(out) == 0 || out[len(out)-1] != label {
			out = append(out, label)
		}
	}
	return out
}

// until waits for pump-7's events to reach a label ("tone_z") or a change
// ("tone_x after tone_z"), and returns them.
func (e *events) until(t *testing.T, what string, within time.Duration) []bridge.Event {
	t.Helper()
	label, after, _ := strings.Cut(what, " after ")
	deadline := time.Now().Add(within)
	for {
		e.mu.Lock()
		evs := append([]bridge.Event(nil), e.by["sigop/pump-7/events"]...)
		e.mu.Unlock()
		for _, ev := range evs {
			if ev.Label == label && (after == "" || ev.Previous == after) {
				return evs
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v, no event %s: %v", within, what, labels(evs))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Two replicas share the devices by a hash of their ids: every device's
// events are published once, by one of them, and are Watch's.
func TestBridgeReplicasWatchEveryDeviceOnce(t *testing.T) {
	br := mosquitto.Start(t, "")
	var replicas []*bridge.Bridge
	for i := range 2 {
		cfg := bridgeConfig(br.URL(), fmt.Sprintf("bridge-replica-%d", i))
		cfg.Replica, cfg.Replicas = i, 2
		b, _ := runBridge(t, cfg)
		replicas = append(replicas, b)
	}
	got := subscribe(t, br.URL(), "sigop/+/events")
	device := mqttClient(t, br.URL(), "devices-replicas", true)
	want, counts := map[string][]string{}, map[string]int{}
	for i := range 8 {
		name := fmt.Sprintf("motor-%d", i)
		x := recording(uint64(50+i), i%3, i%3, (i+1)%3, (i+1)%3)
		topic := "sigop/" + name + "/events"
		want[topic] = localEvents(t, x)
		counts[topic] = len(want[topic])
		publish(t, device, "plant/"+name+"/vibration", messages(x, 1)...)
	}
	evs := got.wait(t, counts, 60*time.Second)
	for topic, w := range want {
		if g := labels(evs[topic]); strings.Join(g, " ") != strings.Join(w, " ") {
			t.Errorf("%s: %v; Watch gives %v (each event once)", topic, g, w)
		}
	}
	a, b := replicas[0].Stats(), replicas[1].Stats()
	t.Logf("replica 0 watched %d messages, replica 1 %d", a.Messages, b.Messages)
	if a.Messages == 0 || b.Messages == 0 || a.Messages+b.Messages != int64(8*len(messages(recording(1, 0, 0, 0, 0), 1))) {
		t.Errorf("replicas took %d and %d messages; want every one of 8 devices' 16 once, shared", a.Messages, b.Messages)
	}
}

// scrape parses a /metrics page with Prometheus's own text parser: each
// sigop_bridge sample's value by name (a histogram's _count and _sum).
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("%s is not the Prometheus text format: %v", url, err)
	}
	out := map[string]float64{}
	for name, f := range families {
		if !strings.HasPrefix(name, "sigop_bridge") {
			continue
		}
		for _, m := range f.GetMetric() {
			switch {
			case m.GetCounter() != nil:
				out[name] += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[name] += m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				out[name+"_count"] += float64(m.GetHistogram().GetSampleCount())
				out[name+"_sum"] += m.GetHistogram().GetSampleSum()
			}
		}
	}
	return out
}

// A device that floods (far more messages than its queue holds, as fast as
// the broker takes them) has its excess dropped and counted, and another
// device's events still arrive, the same as Watch's.
func TestBridgeDropsAFloodingDevicesExcessAndWatchesTheOthers(t *testing.T) {
	br := mosquitto.Start(t, "max_inflight_messages 1000")
	cfg := bridgeConfig(br.URL(), "bridge-flood")
	cfg.Queue = 64 // the quiet device's whole recording fits; the flood does not
	b, _ := runBridge(t, cfg)
	got := subscribe(t, br.URL(), "sigop/+/events")
	flood := mqttClient(t, br.URL(), "flooder", true)
	x := recording(70, 0, 0, 1, 1)
	one := messages(x, 1)[0]
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // 20,000 messages without waiting for each: the broker delivers them faster than a window is computed
		defer wg.Done()
		var last mqtt.Token
		for range 20000 {
			last = flood.Publish("plant/flood-1/vibration", 0, false, one)
		}
		last.Wait()
	}()
	device := mqttClient(t, br.URL(), "quiet-device", true)
	quiet := recording(71, 2, 2, 2, 0, 0, 0)
	want := localEvents(t, quiet)
	publish(t, device, "plant/quiet-2/vibration", messages(quiet, 1)...)
	evs := got.wait(t, map[string]int{"sigop/quiet-2/events": len(want)}, 60*time.Second)
	wg.Wait()
	if g := labels(evs["sigop/quiet-2/events"]); strings.Join(g, " ") != strings.Join(want, " ") {
		t.Errorf("the quiet device's events %v beside a flood; Watch gives %v", g, want)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		s := b.Stats()
		if s.Dropped > 0 && s.Messages+s.Dropped >= 20000+int64(len(messages(quiet, 1))) {
			t.Logf("flood: %d messages taken, %d dropped", s.Messages, s.Dropped)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v: want every one of the 20,000 flood messages taken or dropped, some dropped", s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
