// Package mosquitto starts a real Mosquitto broker (Debian's mosquitto
// package) for tests: on a free port, with its own config and persistence
// folder, ready when it accepts connections.
package mosquitto

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Broker is a running (or stopped) Mosquitto.
type Broker struct {
	t    testing.TB
	Port int
	dir  string
	Conf string // extra config lines
	cmd  *exec.Cmd
}

// Start runs a broker for the test; it is stopped (SIGTERM) at cleanup.
func Start(t testing.TB, conf string) *Broker {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	// mosquitto started as root runs as its own user, which writes the persistence file: a folder it can reach
	dir, err := os.MkdirTemp("", "mosquitto")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o777)
	b := &Broker{t: t, Port: port, dir: dir, Conf: conf}
	b.Restart()
	t.Cleanup(func() { b.Stop(syscall.SIGTERM); os.RemoveAll(dir) })
	return b
}

// URL is the broker's address for an MQTT client.
func (b *Broker) URL() string { return fmt.Sprintf("tcp://127.0.0.1:%d", b.Port) }

// Restart starts the broker (again, on the same port and persistence) and
// waits until it accepts connections.
func (b *Broker) Restart() {
	b.t.Helper()
	conf := filepath.Join(b.dir, "mosquitto.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence true\n"+
		"persistence_location %s/\nmax_queued_messages 100000\nlog_dest stderr\nlog_type error\n%s\n", b.Port, b.dir, b.Conf)), 0o644)
	path, err := exec.LookPath("mosquitto")
	if err != nil {
		if _, e := os.Stat("/usr/sbin/mosquitto"); e == nil {
			path, err = "/usr/sbin/mosquitto", nil
		}
	}
	if err != nil {
		b.t.Fatal("mosquitto is not installed: make setup installs Debian's mosquitto")
	}
	b.cmd = exec.Command(path, "-c", conf)
	b.cmd.Stderr = os.Stderr
	if err := b.cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", b.Port))
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("mosquitto on port %d did not accept connections: %v", b.Port, err)
		}
		time.Sleep(20 * time.Millisecond) // between attempts to connect: readiness, not a guess
	}
}

// Stop ends the broker with sig (SIGTERM: it saves its persistence first).
func (b *Broker) Stop(sig syscall.Signal) {
	if b.cmd == nil || b.cmd.Process == nil {
		return
	}
	b.cmd.Process.Signal(sig)
	b.cmd.Wait()
	b.cmd = nil
}
