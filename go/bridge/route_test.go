package bridge

import "testing"

func TestRoutesNameTheDeviceLevel(t *testing.T) {
	r, err := ParseRoute("plant/+device/vibration=models/pump,f32")
	if err != nil || r.Model != "models/pump" || r.Format != "f32" || r.filter != "plant/+/vibration" {
		t.Fatalf("ParseRoute = %+v, %v", r, err)
	}
	for topic, want := range map[string]string{"plant/pump-1/vibration": "pump-1", "plant/pump-1/current": "",
		"plant//vibration": "", "plant/a/b/vibration": "", "other/pump-1/vibration": ""} {
		if got, _ := r.deviceOf(topic); got != want {
			t.Errorf("%s: device %q; want %q", topic, got, want)
		}
	}
	for _, bad := range []string{"plant/+/vibration=m", "plant/+device/#=m", "a/+device/+device=m", "plant/+device", "x/+device=m,xml"} {
		if _, err := ParseRoute(bad); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}
