//go:build image

// Package bridge tests the MQTT bridge's image as a container runtime would
// run it: its entrypoint and command from the image's config, chrooted into
// its root filesystem made read-only, as its user, with the models mounted
// at /models; a real Mosquitto on the host is its broker.
//
// `make test-image-bridge` builds the image, unpacks it and sets
// SIGOP_BRIDGE_BUNDLE (the unpacked bundle) and SIGOP_BRIDGE_MODELS (a
// folder holding the imu model).
package bridge

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/sigop-dev/sigop/go/internal/mosquitto"
	"github.com/sigop-dev/sigop/go/internal/testsignals"
)

type config struct {
	Process struct {
		Args []string `json:"args"`
		User struct {
			UID int `json:"uid"`
			GID int `json:"gid"`
		} `json:"user"`
	} `json:"process"`
}

// mounts: the image's root read-only, a private /tmp, the models read-only,
// then the image's own process as its user (the image has no shell: chroot
// execs the binary itself).
const mounts = `set -eu
root=$1 models=$2 user=$3; shift 3
mount --bind "$root" "$root"
mount -o remount,bind,ro "$root"
mount -t tmpfs -o mode=1777,size=64m tmpfs "$root/tmp"
mount --bind "$models" "$root/models"
mount -o remount,bind,ro "$root/models"
exec chroot --userspec="$user" "$root" "$@"
`

func TestTheImageHoldsTheBinaryAlone(t *testing.T) {
	root := filepath.Join(os.Getenv("SIGOP_BRIDGE_BUNDLE"), "rootfs")
	var files []string
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, path)
			files = append(files, rel)
		}
		return nil
	})
	slices.Sort(files)
	if strings.Join(files, " ") != "etc/group etc/passwd usr/local/bin/sigop-bridge" {
		t.Fatalf("the image holds %v; want the binary, /etc/passwd and /etc/group", files)
	}
}

func TestTheImageWatchesADeviceAndStopsOnSIGTERM(t *testing.T) {
	bundle, models := os.Getenv("SIGOP_BRIDGE_BUNDLE"), os.Getenv("SIGOP_BRIDGE_MODELS")
	if bundle == "" || models == "" {
		t.Fatal("SIGOP_BRIDGE_BUNDLE and SIGOP_BRIDGE_MODELS are not set: run make test-image-bridge")
	}
	var c config
	b, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil || json.Unmarshal(b, &c) != nil {
		t.Fatalf("the bundle's config.json: %v", err)
	}
	if c.Process.User.UID == 0 {
		t.Fatalf("the image runs as root: %+v", c.Process.User)
	}
	br := mosquitto.Start(t, "")
	args := append(append([]string{}, c.Process.Args...), "-http=127.0.0.1:0", "-broker="+br.URL(),
		"-route=plant/+device/vibration=/models/imu", "-hop=1.28", "-smooth=1")
	full := append([]string{"--mount", "--propagation", "private", "sh", "-c", mounts, "sh", filepath.Join(bundle, "rootfs"), models,
		fmt.Sprintf("%d:%d", c.Process.User.UID, c.Process.User.GID)}, args...)
	cmd := exec.Command("unshare", full...)
	cmd.Stderr = os.Stderr
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("the image's bridge printed no address: %v", err)
	}
	addr = strings.TrimSpace(addr)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil && resp.StatusCode == 200 {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the image's bridge never healthy: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	events := make(chan string, 16)
	consumer := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(br.URL()).SetClientID("image-consumer"))
	if tok := consumer.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer consumer.Disconnect(100)
	if tok := consumer.Subscribe("sigop/+/events", 1, func(_ mqtt.Client, m mqtt.Message) {
		var e struct{ Device, Label string }
		json.Unmarshal(m.Payload(), &e)
		events <- e.Device + ":" + e.Label
	}); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	device := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(br.URL()).SetClientID("image-device"))
	if tok := device.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer device.Disconnect(100)
	rng := rand.New(rand.NewPCG(60, 61))
	x := make([][]float64, 3)
	for _, axis := range []int{0, 0, 0, 2, 2, 2} {
		p := testsignals.ThreeAxes(rng, axis, 256)
		for ch := range x {
			x[ch] = append(x[ch], p[ch]...)
		}
	}
	for i, seq := 0, 1; i < len(x[0]); i, seq = i+64, seq+1 {
		rows := make([][3]float64, 0, 64)
		for s := i; s < i+64; s++ {
			rows = append(rows, [3]float64{x[0][s], x[1][s], x[2][s]})
		}
		payload, _ := json.Marshal(map[string]any{"seq": seq, "samples": rows})
		if tok := device.Publish("plant/press-2/vibration", 1, false, payload); tok.Wait() && tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	var got []string
	for len(got) < 2 {
		select {
		case e := <-events:
			got = append(got, e)
		case <-time.After(30 * time.Second):
			t.Fatalf("events from the image's bridge: %v; want press-2's tone_x then tone_z", got)
		}
	}
	if strings.Join(got, " ") != "press-2:tone_x press-2:tone_z" {
		t.Errorf("events %v; want press-2:tone_x press-2:tone_z", got)
	}
	cmd.Process.Signal(syscall.SIGTERM) // unshare, sh and chroot each exec the next: this is the bridge
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("the bridge exited with %v after SIGTERM", err)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the bridge did not stop within 30 s of SIGTERM")
	}
}
