package bridge

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/sigop-dev/sigop/go/classify"
	"github.com/sigop-dev/sigop/go/edge"
)

// device is one watched device: its queue, its stream, and where its next
// message should continue.
type device struct {
	b        *Bridge
	key, id  string
	route    int
	model    *edge.Model
	info     edge.Info
	queue    chan queued
	stream   *edge.Stream
	epoch    string   // names the stream in event ids: its first seq or time, stable across redeliveries
	origin   *float64 // the stream's first sample's time (seconds), if the device sends times
	nextSeq  *int64
	nextTime *float64
	afterGap bool
	streams  int
	unknown  *float32 // the last window's unknown score
}

// queued is a message and when it arrived.
type queued struct {
	mqtt.Message
	arrived time.Time
}

// Event is what the bridge publishes for a label change.
type Event struct {
	ID            string   `json:"id"` // the same for a redelivered message's event: drop duplicates by it
	Device        string   `json:"device"`
	Label         string   `json:"label"`
	Score         float32  `json:"score"`                   // the smoothed top score (for "unknown": the unknown score)
	UnknownScore  *float32 `json:"unknown_score,omitempty"` // of the window that set it off
	Start         float64  `json:"start_seconds"`           // since the stream began
	StartTime     *float64 `json:"start_time,omitempty"`    // the device's clock, where its messages carry "t"
	Previous      string   `json:"previous"`
	PreviousStart float64  `json:"previous_start_seconds"`
	AfterGap      bool     `json:"after_gap"` // the stream was restarted by a gap in seq or time: the first event after it
	Model         string   `json:"model"`
	Version       int64    `json:"version"`
}

func (b *Bridge) newDevice(key, id string, route int) *device {
	m := b.models[route]
	d := &device{b: b, key: key, id: id, route: route, model: m, info: m.Info(), queue: make(chan queued, b.cfg.Queue)}
	go d.run()
	return d
}

// run handles the device's messages in order until its queue closes or it
// has been idle for the timeout.
func (d *device) run() {
	var idle <-chan time.Time
	var timer *time.Timer
	if t := d.b.cfg.IdleTimeout; t > 0 {
		timer = time.NewTimer(t)
		idle = timer.C
	}
	for {
		select {
		case msg, ok := <-d.queue:
			if !ok {
				return
			}
			d.handle(msg.Message)
			if d.b.observe != nil {
				d.b.observe(msg.arrived)
			}
			if timer != nil {
				timer.Reset(d.b.cfg.IdleTimeout)
			}
		case <-idle:
			b := d.b
			b.mu.Lock()
			if len(d.queue) == 0 && b.devices[d.key] == d { // a message queued meanwhile keeps it
				delete(b.devices, d.key)
				b.mu.Unlock()
				return
			}
			b.mu.Unlock()
			timer.Reset(d.b.cfg.IdleTimeout)
		}
	}
}

func (d *device) handle(msg mqtt.Message) {
	defer msg.Ack()
	f, err := decode(d.b.cfg.Routes[d.route].Format, msg.Payload(), d.info.Channels, d.info.ChannelNames)
	if err == nil && len(f.samples) > 0 && len(f.samples[0]) == 0 {
		err = fmt.Errorf("no samples")
	}
	if err != nil {
		d.fail(msg, err)
		return
	}
	if d.duplicate(f) {
		d.b.mu.Lock()
		d.b.stats.Duplicates++
		d.b.mu.Unlock()
		return
	}
	if d.stream == nil || d.gap(f) {
		if err := d.restart(f); err != nil {
			d.fail(msg, err)
			return
		}
	}
	d.advance(f)
	results, err := d.stream.FeedMultichannel(f.samples)
	if err != nil {
		d.fail(msg, err)
		return
	}
	for _, r := range results {
		d.publish(r)
	}
}

// duplicate is a message whose seq was already seen in this stream: the
// broker redelivers QoS 1 messages it is not sure arrived.
func (d *device) duplicate(f frame) bool {
	return f.seq != nil && d.nextSeq != nil && *f.seq < *d.nextSeq
}

// gap is a message that does not follow the last: a skipped seq, or a time
// more than a sample and a half from where the last message ended.
func (d *device) gap(f frame) bool {
	if f.seq != nil && d.nextSeq != nil && *f.seq != *d.nextSeq {
		return true
	}
	if f.time != nil && d.nextTime != nil && d.info.SampleRate > 0 {
		return math.Abs(*f.time-*d.nextTime) > 1.5/d.info.SampleRate
	}
	return false
}

func (d *device) restart(f frame) error {
	s, err := d.model.NewStream(d.b.cfg.Stream, classify.TopK(1))
	if err != nil {
		return err
	}
	if d.stream != nil {
		d.afterGap = true
		d.b.mu.Lock()
		d.b.stats.Gaps++
		d.b.mu.Unlock()
	}
	d.stream, d.origin, d.streams = s, f.time, d.streams+1
	switch {
	case f.seq != nil:
		d.epoch = fmt.Sprintf("seq%d", *f.seq)
	case f.time != nil:
		d.epoch = fmt.Sprintf("t%.6f", *f.time)
	default: // nothing stable to name it by: this run's start and its count
		d.epoch = fmt.Sprintf("run%d.%d", d.b.started.UnixNano(), d.streams)
	}
	return nil
}

// advance notes where the next message should begin.
func (d *device) advance(f frame) {
	if f.seq != nil {
		next := *f.seq + 1
		d.nextSeq = &next
	}
	if f.time != nil && d.info.SampleRate > 0 {
		next := *f.time + float64(len(f.samples[0]))/d.info.SampleRate
		d.nextTime = &next
	}
}

func (d *device) fail(msg mqtt.Message, err error) {
	d.b.mu.Lock()
	defer d.b.mu.Unlock()
	d.b.failLocked(d.id, msg, err)
}

func (d *device) publish(r classify.StreamResult) {
	b := d.b
	if r.Window != nil {
		d.unknown = nil
		if r.Window.Unknown != nil {
			u := r.Window.Unknown.Score
			d.unknown = &u
		}
		b.mu.Lock()
		b.stats.Windows++
		b.mu.Unlock()
		if b.cfg.WindowsTopic != "" {
			payload, _ := json.Marshal(map[string]any{"device": d.id, "window": r.Window, "model": r.Model, "version": r.Version})
			b.client.Publish(b.topic(b.cfg.WindowsTopic, d.id), 0, false, payload)
		}
		return
	}
	e := r.Event
	ev := Event{ID: fmt.Sprintf("%s/%s/%d/%s", d.id, d.epoch, e.StartSample, e.Label), Device: d.id, Label: e.Label,
		Score: e.Score, Start: e.Start, Previous: e.Previous, PreviousStart: e.PreviousStart, AfterGap: d.afterGap,
		Model: r.Model, Version: r.Version, UnknownScore: d.unknown}
	d.afterGap = false
	if d.origin != nil {
		t := *d.origin + e.Start
		ev.StartTime = &t
	}
	payload, _ := json.Marshal(ev)
	b.mu.Lock()
	b.stats.Events++
	b.mu.Unlock()
	for _, p := range []struct {
		topic    string
		retained bool
	}{{b.topic(b.cfg.EventsTopic, d.id), false}, {b.topic(b.cfg.StateTopic, d.id), true}} {
		t := b.client.Publish(p.topic, 1, p.retained, payload)
		go func() {
			if t.Wait(); t.Error() != nil {
				b.mu.Lock()
				b.stats.PublishFails++
				b.mu.Unlock()
				b.cfg.Log.Warn("publish", "topic", p.topic, "err", t.Error())
			}
		}()
	}
}
