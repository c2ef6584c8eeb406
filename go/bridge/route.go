package bridge

import (
	"fmt"
	"strings"
)

// Route maps one topic pattern to a model. The pattern is an MQTT topic
// filter with one level named "+device" (for example
// "plant/+device/vibration"): that level is the device id; other levels may
// be "+" or fixed.
type Route struct {
	Pattern string
	Model   string // the model folder (edge.Open)
	Format  string // "json" (default), "f32" or "f64": little-endian rows, channels as the model's
	device  int    // the index of the device level
	filter  string // the pattern as an MQTT filter: "+device" as "+"
}

// ParseRoute reads "PATTERN=MODEL_DIR[,format]".
func ParseRoute(s string) (Route, error) {
	pattern, rest, ok := strings.Cut(s, "=")
	if !ok || pattern == "" || rest == "" {
		return Route{}, fmt.Errorf("route %q: expected PATTERN=MODEL_DIR[,format], e.g. plant/+device/vibration=models/pump", s)
	}
	model, format, _ := strings.Cut(rest, ",")
	r := Route{Pattern: pattern, Model: model, Format: format}
	return r, r.compile()
}

func (r *Route) compile() error {
	if r.Format == "" {
		r.Format = "json"
	}
	if r.Format != "json" && r.Format != "f32" && r.Format != "f64" {
		return fmt.Errorf("route %q: format %q; expected json, f32 or f64", r.Pattern, r.Format)
	}
	levels := strings.Split(r.Pattern, "/")
	r.device = -1
	for i, l := range levels {
		switch {
		case l == "+device":
			if r.device >= 0 {
				return fmt.Errorf("route %q: two +device levels", r.Pattern)
			}
			r.device, levels[i] = i, "+"
		case l == "#" || strings.ContainsAny(l, "+#") && l != "+":
			return fmt.Errorf("route %q: level %q; expected a name, + or +device (no #)", r.Pattern, l)
		}
	}
	if r.device < 0 {
		return fmt.Errorf("route %q: no +device level names the device", r.Pattern)
	}
	r.filter = strings.Join(levels, "/")
	return nil
}

// deviceOf is the device id a topic carries, or false if it does not match.
func (r *Route) deviceOf(topic string) (string, bool) {
	levels, want := strings.Split(topic, "/"), strings.Split(r.filter, "/")
	if len(levels) != len(want) {
		return "", false
	}
	for i, l := range want {
		if l != "+" && l != levels[i] {
			return "", false
		}
	}
	if levels[r.device] == "" {
		return "", false
	}
	return levels[r.device], true
}
