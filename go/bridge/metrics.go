package bridge

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector exposes the bridge's counts to Prometheus, read from Stats at
// each scrape (so the numbers are the ones /stats shows), and the time a
// message takes from its arrival to its results being handed to the client.
type Collector struct {
	b       *Bridge
	descs   map[string]*prometheus.Desc
	handled prometheus.Histogram
}

// metric names and their help, as Stats counts them
var counters = []struct{ name, help string }{
	{"sigop_bridge_messages_total", "Messages accepted for a device of this replica."},
	{"sigop_bridge_windows_total", "Windows classified."},
	{"sigop_bridge_events_total", "Events published."},
	{"sigop_bridge_dropped_total", "Messages dropped: over a device's queue, the device limit or the size limit."},
	{"sigop_bridge_duplicates_total", "Redelivered messages (a seq already seen), skipped."},
	{"sigop_bridge_gaps_total", "Gaps in a device's seq or time: a new stream was started."},
	{"sigop_bridge_decode_errors_total", "Payloads that did not decode or fit the model."},
	{"sigop_bridge_publish_failures_total", "Publishes the broker did not acknowledge."},
}

// NewCollector returns the bridge's metrics, to register on a registry.
func NewCollector(b *Bridge) *Collector {
	c := &Collector{b: b, descs: map[string]*prometheus.Desc{},
		handled: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sigop_bridge_message_seconds",
			Help:    "From a message's arrival to its windows' results published (queueing included).",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}})}
	for _, m := range counters {
		c.descs[m.name] = prometheus.NewDesc(m.name, m.help, nil, nil)
	}
	c.descs["sigop_bridge_devices"] = prometheus.NewDesc("sigop_bridge_devices", "Devices watched now.", nil, nil)
	c.descs["sigop_bridge_connected"] = prometheus.NewDesc("sigop_bridge_connected", "1 while the broker connection is up.", nil, nil)
	b.observe = func(arrived time.Time) { c.handled.Observe(time.Since(arrived).Seconds()) }
	return c
}

func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
	c.handled.Describe(ch)
}

func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.b.Stats()
	for name, v := range map[string]int64{"sigop_bridge_messages_total": s.Messages, "sigop_bridge_windows_total": s.Windows,
		"sigop_bridge_events_total": s.Events, "sigop_bridge_dropped_total": s.Dropped,
		"sigop_bridge_duplicates_total": s.Duplicates, "sigop_bridge_gaps_total": s.Gaps,
		"sigop_bridge_decode_errors_total": s.Errors, "sigop_bridge_publish_failures_total": s.PublishFails} {
		ch <- prometheus.MustNewConstMetric(c.descs[name], prometheus.CounterValue, float64(v))
	}
	ch <- prometheus.MustNewConstMetric(c.descs["sigop_bridge_devices"], prometheus.GaugeValue, float64(s.Devices))
	connected := 0.0
	if c.b.Connected() {
		connected = 1
	}
	ch <- prometheus.MustNewConstMetric(c.descs["sigop_bridge_connected"], prometheus.GaugeValue, connected)
	c.handled.Collect(ch)
}
