// Package serverproc starts a real sigop server (the Python `sigop serve`) as
// a child process and waits until it is ready, for end-to-end tests,
// benchmarks and demos; it is to a sigop server what httptest is to a handler.
//
// Readiness is observed, never guessed: the server is started on port 0,
// reports the address it bound on its first stdout line, and Start then
// watches the standard gRPC health service until the Operator service is
// SERVING (after the server has loaded and warmed up every graph).
package serverproc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// OperatorService is the gRPC service whose health Start waits for.
const OperatorService = "sigop.operator.v1.Operator"

const listeningPrefix = "sigop: listening on "

// Config says how to run the server.
type Config struct {
	// Command is the sigop executable, e.g. .venv/bin/sigop.
	Command string
	// Graphs is the folder of exported graphs to serve.
	Graphs string
	// Host to listen on; default 127.0.0.1.
	Host string
	// Port to listen on; 0 (the default) lets the server pick a free one.
	// Restarting a killed replica on its old port looks, to clients, like
	// the same server coming back.
	Port int
	// Args are further `sigop serve` flags.
	Args []string
	// Stderr receives the server's log; nil keeps only the last lines, which
	// errors quote.
	Stderr io.Writer
	// DialOptions for the health check, e.g. TLS credentials when Args
	// include --tls-cert; default plaintext.
	DialOptions []grpc.DialOption
}

// Server is a running sigop server process.
type Server struct {
	Addr string // host:port it listens on
	cmd  *exec.Cmd
	log  *tail
	done chan struct{}
	err  error // exit status, valid once done is closed
}

// Start runs `Command serve` and returns once it is SERVING, or an error
// (quoting the server's last log lines) if it exits or ctx ends first.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	host := cfg.Host
	if host == "" {
		host = "127.0.0.1"
	}
	args := append([]string{"serve", "--graphs", cfg.Graphs, "--address", fmt.Sprintf("%s:%d", host, cfg.Port)}, cfg.Args...)
	cmd := exec.Command(cfg.Command, args...)
	cmd.Env = append(os.Environ(), "TF_CPP_MIN_LOG_LEVEL=2", "PYTHONUNBUFFERED=1")
	s := &Server{cmd: cmd, log: &tail{max: 40}, done: make(chan struct{})}
	if cfg.Stderr != nil {
		cmd.Stderr = io.MultiWriter(s.log, cfg.Stderr)
	} else {
		cmd.Stderr = s.log
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("serverproc: start %s: %w", cfg.Command, err)
	}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), listeningPrefix); ok {
				addrc <- a
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()

	select {
	case s.Addr = <-addrc:
	case <-s.done:
		return nil, fmt.Errorf("serverproc: server exited before listening (%v); its log:\n%s", s.err, s.log)
	case <-ctx.Done():
		s.Kill()
		return nil, fmt.Errorf("serverproc: server did not listen: %w; its log:\n%s", ctx.Err(), s.log)
	}
	if err := s.waitServing(ctx, cfg.DialOptions); err != nil {
		s.Kill()
		return nil, err
	}
	return s, nil
}

// waitServing follows the health service's Watch stream until SERVING.
func (s *Server) waitServing(ctx context.Context, opts []grpc.DialOption) error {
	conn, err := grpc.NewClient(s.Addr, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // the server dying ends the wait too
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	stream, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{Service: OperatorService}, grpc.WaitForReady(true))
	if err != nil {
		return fmt.Errorf("serverproc: health watch: %w", err)
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			return fmt.Errorf("serverproc: server at %s never became SERVING: %w; its log:\n%s", s.Addr, err, s.log)
		}
		if resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
	}
}

// Stop sends SIGTERM, which the server answers with a graceful shutdown, and
// waits for it to exit; after timeout it is killed.
func (s *Server) Stop(timeout time.Duration) error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-s.done:
		return s.err
	case <-time.After(timeout):
		s.Kill()
		return fmt.Errorf("serverproc: server ignored SIGTERM for %v and was killed; its log:\n%s", timeout, s.log)
	}
}

// Pid is the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Signal sends sig to the server, e.g. syscall.SIGHUP to rescan its graphs.
func (s *Server) Signal(sig os.Signal) error { return s.cmd.Process.Signal(sig) }

// Kill ends the server at once (SIGKILL) and waits for it.
func (s *Server) Kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

// Done is closed when the process has exited.
func (s *Server) Done() <-chan struct{} { return s.done }

// Log returns the server's last log lines.
func (s *Server) Log() string { return s.log.String() }

// tail keeps the last max lines written to it.
type tail struct {
	mu    sync.Mutex
	max   int
	lines []string
	part  []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.part = append(t.part, p...)
	for {
		i := bytes.IndexByte(t.part, '\n')
		if i < 0 {
			break
		}
		t.lines = append(t.lines, string(t.part[:i]))
		t.part = t.part[i+1:]
		if len(t.lines) > t.max {
			t.lines = t.lines[len(t.lines)-t.max:]
		}
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(append(append([]string(nil), t.lines...), string(t.part)), "\n")
}
