// Package bridge watches devices that publish their samples to an MQTT
// broker: it subscribes to topic patterns that carry a device id, keeps one
// stream per device (the pure-Go runtime of package edge, with the server's
// windows, smoothing and events), and publishes each device's label changes
// (QoS 1, with ids a consumer can drop duplicates by) and its current state
// (retained, for a dashboard that connects later).
//
// A device's messages are handled in the order the broker delivers them, on
// a goroutine of the device's own: a slow or flooding device fills only its
// own bounded queue (the excess is dropped and counted), and a malformed
// payload is counted, logged sparingly and optionally republished to a
// dead-letter topic, never stalling the others.
package bridge
