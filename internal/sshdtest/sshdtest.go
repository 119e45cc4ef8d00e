// Package sshdtest runs a real OpenSSH sshd on 127.0.0.1 for integration
// tests: its own config, host key, client key and authorized_keys in a
// temporary folder, stopped when the test ends.
//
// When sshd is not installed the tests skip, unless ENROLLSFTP_REQUIRE_SSHD=1
// (set by scripts/test), which makes them fail instead: CI must not pass by
// silently skipping its integration tests.
package sshdtest

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

const sshdPath = "/usr/sbin/sshd"

// Server is a running sshd.
type Server struct {
	Dir        string // the server's own folder: config, keys, pid
	Port       int
	User       string
	ClientKey  string // private key accepted by the server
	KnownHosts string // known_hosts holding the server's host key
	HostKey    ssh.PublicKey
	config     string
	cmd        *exec.Cmd
	exited     <-chan struct{} // closed when cmd has exited and been waited for
	t          testing.TB
}

// Start starts sshd on a free loopback port and stops it at the end of t.
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := os.Stat(sshdPath); err != nil {
		if os.Getenv("ENROLLSFTP_REQUIRE_SSHD") == "1" {
			t.Fatalf("sshd is required (ENROLLSFTP_REQUIRE_SSHD=1) but %s is missing", sshdPath)
		}
		t.Skipf("%s not installed (apt-get install openssh-server)", sshdPath)
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Dir: t.TempDir(), User: u.Username, t: t}
	_ = os.MkdirAll("/run/sshd", 0o755) // privilege separation folder, compiled in
	for _, k := range []string{"host_ed25519", "client_ed25519"} {
		keygen(t, filepath.Join(s.Dir, k))
	}
	s.ClientKey = filepath.Join(s.Dir, "client_ed25519")
	copyFile(t, s.ClientKey+".pub", filepath.Join(s.Dir, "authorized_keys"))
	s.Port = freePort(t)
	s.config = filepath.Join(s.Dir, "sshd_config")
	conf := fmt.Sprintf(`ListenAddress 127.0.0.1
Port %d
HostKey %s/host_ed25519
PidFile %s/sshd.pid
AuthorizedKeysFile %s/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
`, s.Port, s.Dir, s.Dir, s.Dir)
	if err := os.WriteFile(s.config, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(filepath.Join(s.Dir, "host_ed25519.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if s.HostKey, _, _, _, err = ssh.ParseAuthorizedKey(pub); err != nil {
		t.Fatal(err)
	}
	s.KnownHosts = filepath.Join(s.Dir, "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)))}, s.HostKey)
	if err := os.WriteFile(s.KnownHosts, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

// Restart starts sshd (again) on the same port with the same keys, and
// returns once that sshd — not a leftover — answers with its SSH banner.
//
// Why the banner and the retry: a session child of a just-killed sshd can
// hold the listening socket for a moment after its parent is reaped. Then
// the new sshd fails to bind and exits, while a bare TCP connect still
// succeeds into the dying socket's backlog; the test's own dial then gets
// "connection refused" or "reset by peer" (a CI failure, seen once).
func (s *Server) Restart() {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	s.spawn()
	for {
		select {
		case <-s.exited: // could not bind (yet): start it again
			time.Sleep(50 * time.Millisecond)
			s.spawn()
		default:
			if s.answers() {
				return
			}
		}
		if time.Now().After(deadline) {
			s.Stop()
			s.t.Fatalf("sshd did not answer on port %d within 10s", s.Port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *Server) spawn() {
	s.t.Helper()
	s.cmd = exec.Command(sshdPath, "-D", "-e", "-f", s.config)
	if testing.Verbose() {
		s.cmd.Stdout, s.cmd.Stderr = os.Stderr, os.Stderr
	}
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start sshd: %v", err)
	}
	exited := make(chan struct{})
	s.exited = exited
	cmd := s.cmd
	go func() { _ = cmd.Wait(); close(exited) }()
}

// answers reports whether the port sends an SSH banner within a short wait.
func (s *Server) answers() bool {
	c, err := net.DialTimeout("tcp", s.Addr(), 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	buf := make([]byte, 4)
	_, err = io.ReadFull(c, buf)
	return err == nil && string(buf) == "SSH-"
}

// Stop kills sshd and every session process it forked (internal-sftp runs
// in a child that outlives the listener), and waits for sshd to exit.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	for _, pid := range descendants(s.cmd.Process.Pid) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// descendants lists the process ids below pid, from /proc.
func descendants(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the ")" that closes the command name: state ppid …
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		f := strings.Fields(rest)
		if len(f) > 1 {
			if pp, err := strconv.Atoi(f[1]); err == nil {
				parent[p] = pp
			}
		}
	}
	var out []int
	frontier := []int{pid}
	for len(frontier) > 0 && len(out) < 1000 {
		next := frontier[0]
		frontier = frontier[1:]
		for p, pp := range parent {
			if pp == next {
				out = append(out, p)
				frontier = append(frontier, p)
			}
		}
	}
	return out
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

func keygen(t testing.TB, path string, typ ...string) {
	t.Helper()
	kind := "ed25519"
	if len(typ) > 0 {
		kind = typ[0]
	}
	out, err := exec.Command("ssh-keygen", "-q", "-t", kind, "-N", "", "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
}

// NewKey makes another key pair in dir and returns the private key's path:
// for tests of a client key the server does not know.
func NewKey(t testing.TB, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	keygen(t, p)
	return p
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// FreePort returns a loopback port nothing listens on (for refused dials).
func FreePort(t testing.TB) int { return freePort(t) }

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// AddHostKey gives the running server another host key of type typ
// (ssh-keygen -t) and restarts it; known_hosts keeps only the first key.
func (s *Server) AddHostKey(typ string) {
	s.t.Helper()
	path := filepath.Join(s.Dir, "host_"+typ)
	keygen(s.t, path, typ)
	conf, err := os.ReadFile(s.config)
	if err != nil {
		s.t.Fatal(err)
	}
	conf = append(conf, []byte("HostKey "+path+"\n")...)
	if err := os.WriteFile(s.config, conf, 0o600); err != nil {
		s.t.Fatal(err)
	}
	s.Stop()
	s.Restart()
}

// SetSubsystem makes the server run command as its SFTP subsystem (for
// example "/bin/sleep 3600": a server that accepts the session and never
// speaks SFTP) and restarts it.
func (s *Server) SetSubsystem(command string) {
	s.t.Helper()
	conf, err := os.ReadFile(s.config)
	if err != nil {
		s.t.Fatal(err)
	}
	lines := strings.Split(string(conf), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "Subsystem sftp ") {
			lines[i] = "Subsystem sftp " + command
		}
	}
	if err := os.WriteFile(s.config, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		s.t.Fatal(err)
	}
	s.Stop()
	s.Restart()
}

// FreezeSFTP stops (SIGSTOP) the processes at the leaves of the server's
// process tree — with internal-sftp, the SFTP server of each session, while
// the session process above it keeps answering SSH keepalives — and
// returns a function that resumes them. Stop kills them either way.
func (s *Server) FreezeSFTP() (resume func()) {
	s.t.Helper()
	var leaves []int
	all := descendants(s.cmd.Process.Pid)
	for _, p := range all {
		if len(descendants(p)) == 0 {
			leaves = append(leaves, p)
		}
	}
	if len(leaves) == 0 {
		s.t.Fatal("sshdtest: no session process to freeze")
	}
	for _, p := range leaves {
		_ = syscall.Kill(p, syscall.SIGSTOP)
	}
	return func() {
		for _, p := range leaves {
			_ = syscall.Kill(p, syscall.SIGCONT)
		}
	}
}
