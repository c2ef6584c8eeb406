//go:build e2e

package e2e

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

// broker is a real Mosquitto (Debian's mosquitto package) on a free port,
// with persistence in a folder of the test's.
type broker struct {
	t    *testing.T
	port int
	dir  string
	cmd  *exec.Cmd
}

func startBroker(t *testing.T) *broker {
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
	b := &broker{t: t, port: port, dir: dir}
	b.start()
	t.Cleanup(func() { b.stop(syscall.SIGTERM); os.RemoveAll(dir) })
	return b
}

func (b *broker) url() string { return fmt.Sprintf("tcp://127.0.0.1:%d", b.port) }

func (b *broker) start() {
	b.t.Helper()
	conf := filepath.Join(b.dir, "mosquitto.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence true\n"+
		"persistence_location %s/\nmax_queued_messages 100000\nlog_dest stderr\nlog_type error\n", b.port, b.dir)), 0o644)
	mosquitto, err := exec.LookPath("mosquitto")
	if err != nil {
		for _, p := range []string{"/usr/sbin/mosquitto", "/sbin/mosquitto"} {
			if _, e := os.Stat(p); e == nil {
				mosquitto, err = p, nil
			}
		}
	}
	if err != nil {
		b.t.Fatal("mosquitto is not installed: make setup installs Debian's mosquitto")
	}
	b.cmd = exec.Command(mosquitto, "-c", conf)
	b.cmd.Stderr = os.Stderr
	if err := b.cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second) // ready when it accepts connections
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", b.port))
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("mosquitto on port %d did not accept connections: %v", b.port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends the broker with sig (SIGTERM: it saves its persistence first).
func (b *broker) stop(sig syscall.Signal) {
	if b.cmd == nil || b.cmd.Process == nil {
		return
	}
	b.cmd.Process.Signal(sig)
	b.cmd.Wait()
	b.cmd = nil
}
