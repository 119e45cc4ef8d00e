package ingest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"enrollsftp"
	"enrollsftp/internal/pgp"

	"github.com/pkg/sftp"
	"github.com/rs/zerolog"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// testWait bounds every network wait in these tests.
const testWait = 10 * time.Second

// startServer serves a fresh temporary folder over the embedded SFTP server
// and stops it when the test ends.
func startServer(t testing.TB) *Embedded {
	t.Helper()
	srv, err := StartEmbedded(t.TempDir(), zerolog.Nop())
	if err != nil {
		t.Fatalf("StartEmbedded: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Embedded.Close: %v", err)
		}
	})
	return srv
}

// dialServer connects to srv with its own Endpoint; the client is closed
// before the server (cleanups run last in, first out).
func dialServer(t testing.TB, srv *Embedded) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	ep := srv.Endpoint
	ep.DialTimeout = testWait
	c, err := Dial(ctx, ep, zerolog.Nop())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// listed is the RemoteFile a listing would give for the remote path p (or
// a zero size and time when it does not exist).
func listed(t testing.TB, c *Client, p string) RemoteFile {
	t.Helper()
	f := RemoteFile{Name: path.Base(p), Path: p}
	if fi, err := c.SFTP.Stat(p); err == nil {
		f.Size, f.ModTime = fi.Size(), fi.ModTime()
	}
	return f
}

// otherSigner is an ed25519 key the server has never seen.
func otherSigner(t testing.TB) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// writeKnownHosts writes a known_hosts file with one line for
// 127.0.0.1:port and returns its path.
func writeKnownHosts(t testing.TB, port int, key ssh.PublicKey) string {
	t.Helper()
	line := knownhosts.Line([]string{knownhosts.Normalize(net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))}, key)
	if want := fmt.Sprintf("[127.0.0.1]:%d ssh-ed25519 AAAA", port); !strings.HasPrefix(line, want) {
		t.Fatalf("known_hosts line = %q, want prefix %q", line, want)
	}
	p := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(p, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// closedPort returns a port on 127.0.0.1 that nothing listens on.
func closedPort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// retries counts the "retrying" warnings Dial logged into buf.
func retries(buf *bytes.Buffer) int {
	return strings.Count(buf.String(), "sftp connect failed, retrying")
}

func TestDial(t *testing.T) {
	srv := startServer(t)
	other := otherSigner(t)
	port := srv.Endpoint.Port
	goodHosts := writeKnownHosts(t, port, srv.Endpoint.HostKey)
	badHosts := writeKnownHosts(t, port, other.PublicKey())
	otherHost := writeKnownHosts(t, closedPort(t), srv.Endpoint.HostKey) // right key, another port
	offered := ssh.FingerprintSHA256(srv.Endpoint.HostKey)

	tests := []struct {
		name    string
		edit    func(ep *Endpoint)
		wantErr string // "" when Dial must succeed
		hostKey bool   // the error must be a *HostKeyError
	}{
		{name: "pinned host key", edit: func(*Endpoint) {}},
		{name: "known_hosts", edit: func(ep *Endpoint) { ep.HostKey, ep.KnownHosts = nil, goodHosts }},
		{
			name:    "wrong pinned host key",
			edit:    func(ep *Endpoint) { ep.HostKey = other.PublicKey() },
			wantErr: "is not verified", hostKey: true,
		},
		{
			name:    "known_hosts with another key",
			edit:    func(ep *Endpoint) { ep.HostKey, ep.KnownHosts = nil, badHosts },
			wantErr: "does not match known_hosts", hostKey: true,
		},
		{
			name:    "host not in known_hosts",
			edit:    func(ep *Endpoint) { ep.HostKey, ep.KnownHosts = nil, otherHost },
			wantErr: "is unknown", hostKey: true,
		},
		{
			name:    "client key not accepted",
			edit:    func(ep *Endpoint) { ep.Signer = other },
			wantErr: "unable to authenticate",
		},
		{
			name:    "no known_hosts and no pinned key",
			edit:    func(ep *Endpoint) { ep.HostKey, ep.KnownHosts = nil, "" },
			wantErr: "host keys are always verified",
		},
		{
			name:    "known_hosts file missing",
			edit:    func(ep *Endpoint) { ep.HostKey, ep.KnownHosts = nil, filepath.Join(t.TempDir(), "nope") },
			wantErr: "known_hosts",
		},
		{
			name:    "no credentials",
			edit:    func(ep *Endpoint) { ep.Signer = nil },
			wantErr: "no private key or password",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := srv.Endpoint
			ep.DialTimeout = testWait
			ep.Attempts, ep.Backoff = 5, time.Second // a retry would take at least 1s
			tt.edit(&ep)
			var logs bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), testWait)
			defer cancel()

			start := time.Now()
			c, err := Dial(ctx, ep, zerolog.New(&logs))
			elapsed := time.Since(start)

			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				defer c.Close()
				if _, err := c.SFTP.Getwd(); err != nil {
					t.Errorf("Getwd over the new session: %v", err)
				}
				return
			}
			if err == nil {
				c.Close()
				t.Fatalf("Dial succeeded, want error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Dial error = %q, want it to contain %q", err, tt.wantErr)
			}
			if Transient(err) {
				t.Errorf("Transient(%v) = true, want false", err)
			}
			if n := retries(&logs); n != 0 {
				t.Errorf("Dial retried %d times, want 0", n)
			}
			if elapsed >= 900*time.Millisecond {
				t.Errorf("Dial took %v, want well under the 1s backoff (not retried)", elapsed)
			}
			var hk *HostKeyError
			if got := errors.As(err, &hk); got != tt.hostKey {
				t.Fatalf("errors.As(*HostKeyError) = %v, want %v (err %v)", got, tt.hostKey, err)
			}
			if hk != nil {
				host := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
				if hk.Host != host || hk.Fingerprint != offered {
					t.Errorf("HostKeyError{Host: %q, Fingerprint: %q}, want {%q, %q}", hk.Host, hk.Fingerprint, host, offered)
				}
				if msg := hk.Error(); !strings.Contains(msg, host) || !strings.Contains(msg, offered) {
					t.Errorf("HostKeyError message %q does not name the host %s and the offered key %s", msg, host, offered)
				}
			}
		})
	}
}

func TestDialRefusedIsRetried(t *testing.T) {
	srv := startServer(t)
	tests := []struct {
		name     string
		attempts int
	}{
		{"one attempt", 1},
		{"three attempts", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := srv.Endpoint
			ep.Port = closedPort(t)
			ep.DialTimeout = testWait
			ep.Attempts, ep.Backoff = tt.attempts, 10*time.Millisecond
			var logs bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), testWait)
			defer cancel()

			c, err := Dial(ctx, ep, zerolog.New(&logs))
			if err == nil {
				c.Close()
				t.Fatal("Dial to a closed port succeeded")
			}
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("Dial error = %v, want ECONNREFUSED", err)
			}
			if !Transient(err) {
				t.Errorf("Transient(%v) = false, want true", err)
			}
			if want := fmt.Sprintf("attempt %d of %d", tt.attempts, tt.attempts); !strings.Contains(err.Error(), want) {
				t.Errorf("Dial error = %q, want it to contain %q", err, want)
			}
			if got, want := retries(&logs), tt.attempts-1; got != want {
				t.Errorf("retries logged = %d, want %d", got, want)
			}
		})
	}
}

func TestDialStopsWaitingOnCancel(t *testing.T) {
	srv := startServer(t)
	ep := srv.Endpoint
	ep.Port = closedPort(t)
	ep.Attempts, ep.Backoff = 5, time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()

	start := time.Now()
	c, err := Dial(ctx, ep, zerolog.Nop())
	if err == nil {
		c.Close()
		t.Fatal("Dial to a closed port succeeded")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Dial error = %v, want context.DeadlineExceeded", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Dial took %v after its context ended", elapsed)
	}
}

func TestTransient(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"refused", refused, true},
		{"refused, wrapped", fmt.Errorf("ingest: connect: %w", refused), true},
		{"reset", syscall.ECONNRESET, true},
		{"broken pipe", syscall.EPIPE, true},
		{"eof", io.EOF, true},
		{"unexpected eof", fmt.Errorf("ssh: %w", io.ErrUnexpectedEOF), true},
		{"connection lost", sftp.ErrSSHFxConnectionLost, true},
		{"deadline", os.ErrDeadlineExceeded, true},
		{"host key, even over eof", &HostKeyError{Host: "h:22", Err: io.EOF}, false},
		{"host key", fmt.Errorf("ssh: handshake failed: %w", &HostKeyError{Host: "h:22", Err: errors.New("mismatch")}), false},
		{"auth", errors.New("ssh: handshake failed: ssh: unable to authenticate"), false},
		{"permission", os.ErrPermission, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Transient(tt.err); got != tt.want {
				t.Errorf("Transient(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestHostKeyErrorMessage(t *testing.T) {
	key := otherSigner(t).PublicKey()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"unknown host", &knownhosts.KeyError{}, "is unknown (not in known_hosts)"},
		{"changed key", &knownhosts.KeyError{Want: []knownhosts.KnownKey{{Key: key}}}, "does not match known_hosts"},
		{"pinned key", errors.New("ssh: host key mismatch"), "is not verified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &HostKeyError{Host: "127.0.0.1:2222", Fingerprint: "SHA256:abc", Err: tt.err}
			got := e.Error()
			for _, want := range []string{tt.want, "127.0.0.1:2222", "SHA256:abc"} {
				if !strings.Contains(got, want) {
					t.Errorf("Error() = %q, want it to contain %q", got, want)
				}
			}
			if !errors.Is(e, tt.err) {
				t.Errorf("HostKeyError does not unwrap to %v", tt.err)
			}
		})
	}
}

func TestInFlight(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"census_1.csv", false},
		{"census_1.csv.part", true},
		{"census_1.csv.PART", true},
		{"census_1.csv.tmp", true},
		{"census_1.csv.filepart", true},
		{".census_1.csv", true},
		{"census_1.partial.csv", false},
	}
	for _, tt := range tests {
		if got := inFlight(tt.name); got != tt.want {
			t.Errorf("inFlight(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestUnsafeName(t *testing.T) {
	tests := []struct {
		name string
		want string // "" for a safe name
	}{
		{"census_1.csv", ""},
		{"census 1 (copy).csv", ""},
		{"", "not a file name"},
		{".", "not a file name"},
		{"..", "not a file name"},
		{"a/b.csv", "path separator"},
		{`a\b.csv`, "path separator"},
		{"census_..csv", "contains .."},
		{"census_\x01.csv", "control character"},
		{"census_\n.csv", "control character"},
		{"census_\x7f.csv", "control character"},
	}
	for _, tt := range tests {
		got := unsafeName(tt.name)
		if (got == "") != (tt.want == "") || !strings.Contains(got, tt.want) {
			t.Errorf("unsafeName(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// entry is one thing placed in the served inbound folder.
type entry struct {
	name    string
	age     time.Duration // a file's mtime is now - age
	dir     bool          // a folder instead of a file
	link    string        // a symlink to this path, relative to inbound; "abs:NAME" links to inbound/NAME by its absolute path
	outside bool          // a symlink to a file in another temporary folder
}

// populate creates entries in dir, with mtimes relative to now.
func populate(t testing.TB, dir string, now time.Time, entries []entry) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.name)
		var err error
		switch {
		case e.dir:
			err = os.Mkdir(p, 0o700)
		case e.outside:
			target := filepath.Join(t.TempDir(), "secret.csv")
			if err = os.WriteFile(target, []byte("ssn\n078051120\n"), 0o600); err == nil {
				err = os.Symlink(target, p)
			}
		case strings.HasPrefix(e.link, "abs:"): // an absolute path inside dir
			err = os.Symlink(filepath.Join(dir, strings.TrimPrefix(e.link, "abs:")), p)
		case e.link != "":
			err = os.Symlink(e.link, p)
		default:
			if err = os.WriteFile(p, []byte("contents of "+e.name+"\n"), 0o600); err == nil {
				mt := now.Add(-e.age)
				err = os.Chtimes(p, mt, mt)
			}
		}
		if err != nil {
			t.Fatalf("populate %q: %v", e.name, err)
		}
	}
}

func names(fs []RemoteFile) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Name)
	}
	return out
}

func TestDiscover(t *testing.T) {
	old := time.Hour
	exact := map[enrollsftp.FileType]string{enrollsftp.Census: "census_*.csv", enrollsftp.Elections: "elections_*.csv"}
	loose := map[enrollsftp.FileType]string{enrollsftp.Census: "*census_*", enrollsftp.Elections: "*elections_*"}
	tests := []struct {
		name     string
		entries  []entry
		patterns map[enrollsftp.FileType]string
		minAge   time.Duration
		decrypts bool // the source has an OpenPGP key
		ready    []string
		waiting  []string
		refused  map[string]string // name -> part of the reason
	}{
		{
			name: "OpenPGP names, source with a key",
			entries: []entry{
				{name: "census_a.csv.pgp", age: old}, {name: "census_b.csv.ASC", age: old},
				{name: "elections_a.csv.gpg", age: old}, {name: "census_c.csv", age: old}, {name: "census_d.txt.pgp", age: old},
			},
			patterns: exact,
			decrypts: true,
			ready:    []string{"census_a.csv.pgp", "census_b.csv.ASC", "census_c.csv", "elections_a.csv.gpg"},
		},
		{
			name:     "OpenPGP names, source without a key",
			entries:  []entry{{name: "census_a.csv.pgp", age: old}, {name: "census_c.csv", age: old}},
			patterns: exact,
			ready:    []string{"census_c.csv"},
		},
		{
			name: "patterns and order",
			entries: []entry{
				{name: "elections_002.csv", age: old}, {name: "elections_001.csv", age: old},
				{name: "census_b.csv", age: old}, {name: "census_a.csv", age: old},
				{name: "readme.txt", age: old}, {name: "census_a.txt", age: old}, {name: "payroll.csv", age: old},
			},
			patterns: exact,
			ready:    []string{"census_a.csv", "census_b.csv", "elections_001.csv", "elections_002.csv"},
		},
		{
			name:     "only census configured",
			entries:  []entry{{name: "elections_001.csv", age: old}, {name: "census_a.csv", age: old}},
			patterns: map[enrollsftp.FileType]string{enrollsftp.Census: "census_*.csv"},
			ready:    []string{"census_a.csv"},
		},
		{
			name: "in-flight names skipped",
			entries: []entry{
				{name: "census_1.csv", age: old},
				{name: "census_2.csv.part", age: old}, {name: "census_3.csv.tmp", age: old},
				{name: "census_4.csv.filepart", age: old}, {name: ".census_5.csv", age: old},
				{name: "elections_6.csv.PART", age: old},
			},
			patterns: loose, // they would all match but for being in flight
			ready:    []string{"census_1.csv"},
		},
		{
			name: "unsafe names refused",
			entries: []entry{
				{name: "census_ok.csv", age: old},
				{name: "census_\x01.csv", age: old}, {name: "census_\n.csv", age: old},
				{name: "census_\x7f.csv", age: old}, {name: `census_a\b.csv`, age: old},
				{name: "census_..x.csv", age: old},
			},
			patterns: exact,
			ready:    []string{"census_ok.csv"},
			refused: map[string]string{
				"census_\x01.csv": "control character", "census_\n.csv": "control character",
				"census_\x7f.csv": "control character", `census_a\b.csv`: "path separator",
				"census_..x.csv": "contains ..",
			},
		},
		{
			name: "symlinks",
			entries: []entry{
				{name: "real.csv", age: old},
				{name: "sub", dir: true},
				{name: "sub/deeper.csv", age: old},
				{name: "census_in.csv", link: "real.csv"},
				{name: "census_abs.csv", link: "abs:real.csv"},
				{name: "census_sub.csv", link: "sub/deeper.csv"},
				{name: "census_outside.csv", outside: true},
				{name: "census_up.csv", link: "../elsewhere.csv"},
				{name: "census_chain.csv", link: "census_outside.csv"},
				{name: "census_dangling.csv", link: "missing.csv"},
				{name: "census_dir.csv", link: "sub"},
				{name: "census_loop.csv", link: "census_loop.csv"},
			},
			patterns: exact,
			ready:    []string{"census_abs.csv", "census_in.csv", "census_sub.csv"},
			refused: map[string]string{
				"census_outside.csv":  "symlink",
				"census_up.csv":       "symlink",
				"census_chain.csv":    "symlink",
				"census_dangling.csv": "symlink",
				"census_loop.csv":     "symlink",
			},
		},
		{
			name: "min_file_age",
			entries: []entry{
				{name: "census_new.csv", age: 0}, {name: "census_old.csv", age: time.Minute},
				{name: "elections_new.csv", age: 10 * time.Second},
			},
			patterns: exact,
			minAge:   30 * time.Second,
			ready:    []string{"census_old.csv"},
			waiting:  []string{"census_new.csv", "elections_new.csv"},
		},
		{
			name:     "no min_file_age",
			entries:  []entry{{name: "census_new.csv", age: 0}, {name: "census_old.csv", age: time.Minute}},
			patterns: exact,
			ready:    []string{"census_new.csv", "census_old.csv"},
		},
		{
			name: "subfolders ignored",
			entries: []entry{
				{name: "census_dir.csv", dir: true}, {name: "elections_dir.csv", dir: true},
				{name: "census_a.csv", age: old},
			},
			patterns: exact,
			ready:    []string{"census_a.csv"},
		},
		{name: "empty folder", patterns: exact},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t)
			now := time.Now()
			// "elsewhere.csv" sits in the served root, beside (not inside) inbound.
			if err := os.WriteFile(filepath.Join(srv.Root, "elsewhere.csv"), []byte("x\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			populate(t, filepath.Join(srv.Root, "inbound"), now, tt.entries)
			c := dialServer(t, srv)

			got, err := c.Discover(ServedPath("/inbound"), tt.patterns, tt.minAge, now, tt.decrypts)
			if err != nil {
				t.Fatalf("Discover: %v", err)
			}
			if g := names(got.Ready); !slices.Equal(g, tt.ready) {
				t.Errorf("Ready = %q, want %q", g, tt.ready)
			}
			for _, f := range got.Ready {
				if _, suffix := pgp.Plain(f.Name); f.Encrypted != (suffix && tt.decrypts) {
					t.Errorf("%s: Encrypted = %v", f.Name, f.Encrypted)
				}
			}
			g := names(got.Waiting)
			slices.Sort(g)
			if !slices.Equal(g, tt.waiting) {
				t.Errorf("Waiting = %q, want %q", g, tt.waiting)
			}
			refused := map[string]string{}
			for _, r := range got.Refused {
				refused[r.Name] = r.Reason
			}
			if len(refused) != len(tt.refused) {
				t.Errorf("Refused = %q, want %q", refused, tt.refused)
			}
			for name, want := range tt.refused {
				if reason, ok := refused[name]; !ok || !strings.Contains(reason, want) {
					t.Errorf("Refused[%q] = %q (present %v), want a reason containing %q", name, reason, ok, want)
				}
			}
		})
	}
}

func TestDiscoverFileDetails(t *testing.T) {
	srv := startServer(t)
	now := time.Now().Truncate(time.Second)
	populate(t, filepath.Join(srv.Root, "inbound"), now, []entry{
		{name: "census_a.csv", age: time.Hour}, {name: "elections_a.csv", age: time.Hour},
	})
	c := dialServer(t, srv)
	patterns := map[enrollsftp.FileType]string{enrollsftp.Census: "census_*.csv", enrollsftp.Elections: "elections_*.csv"}

	got, err := c.Discover("inbound", patterns, 30*time.Second, now, false)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	want := []RemoteFile{
		{Name: "census_a.csv", Path: "inbound/census_a.csv", Type: enrollsftp.Census, Size: int64(len("contents of census_a.csv\n")), ModTime: now.Add(-time.Hour)},
		{Name: "elections_a.csv", Path: "inbound/elections_a.csv", Type: enrollsftp.Elections, Size: int64(len("contents of elections_a.csv\n")), ModTime: now.Add(-time.Hour)},
	}
	if len(got.Ready) != len(want) {
		t.Fatalf("Ready = %+v, want %+v", got.Ready, want)
	}
	for i := range want {
		g, w := got.Ready[i], want[i]
		if g.Name != w.Name || g.Path != w.Path || g.Type != w.Type || g.Size != w.Size || !g.ModTime.Equal(w.ModTime) {
			t.Errorf("Ready[%d] = %+v, want %+v", i, g, w)
		}
	}

	if _, err := c.Discover("missing", patterns, 0, now, false); err == nil {
		t.Error("Discover of a missing folder succeeded, want an error")
	}
}

// dirNames lists dir, or fails the test.
func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestDownload(t *testing.T) {
	big := make([]byte, 5<<20)
	rng := mrand.NewChaCha8([32]byte{1})
	rng.Read(big)
	tests := []struct {
		name    string
		file    string
		content []byte
	}{
		{"small", "census_a.csv", []byte("record_id,employer_id\r\n1,ACME\r\n")},
		{"empty", "census_empty.csv", []byte{}},
		{"5 MiB, concurrent reads", "elections_big.csv", big},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t)
			inbound := filepath.Join(srv.Root, "inbound")
			if err := os.MkdirAll(inbound, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(inbound, tt.file), tt.content, 0o644); err != nil {
				t.Fatal(err)
			}
			c := dialServer(t, srv)
			dir := filepath.Join(t.TempDir(), "staging", "acme") // made by Download
			ctx, cancel := context.WithTimeout(context.Background(), testWait)
			defer cancel()

			got, err := c.Download(ctx, listed(t, c, "inbound/"+tt.file), dir)
			if err != nil {
				t.Fatalf("Download: %v", err)
			}
			sum := sha256.Sum256(tt.content)
			wantSum := hex.EncodeToString(sum[:])
			wantPath := filepath.Join(dir, wantSum[:16]+"-"+tt.file)
			if got.SHA256 != wantSum || got.Path != wantPath || got.Size != int64(len(tt.content)) {
				t.Errorf("Download = {%s %s %d}, want {%s %s %d}", got.Path, got.SHA256, got.Size, wantPath, wantSum, len(tt.content))
			}
			b, err := os.ReadFile(wantPath)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, tt.content) {
				t.Errorf("staged bytes differ: got %d bytes, want %d", len(b), len(tt.content))
			}
			fi, err := os.Stat(wantPath)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
				t.Errorf("staged mode = %v, want %v", got, want)
			}
			if got, want := dirNames(t, dir), []string{filepath.Base(wantPath)}; !slices.Equal(got, want) {
				t.Errorf("staging holds %q, want %q", got, want)
			}
		})
	}
}

func TestDownloadFailureLeavesNothing(t *testing.T) {
	srv := startServer(t)
	inbound := filepath.Join(srv.Root, "inbound")
	if err := os.MkdirAll(inbound, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(inbound, "census_a.csv"), []byte("a,b\n1,2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := dialServer(t, srv)

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		file RemoteFile
		is   error // when set, errors.Is(err, is) must hold
	}{
		{"missing file", context.Background(), RemoteFile{Name: "census_b.csv", Path: "inbound/census_b.csv"}, os.ErrNotExist},
		{"cancelled context", cancelled, RemoteFile{Name: "census_a.csv", Path: "inbound/census_a.csv"}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "earlier.csv"), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, stop := context.WithTimeout(tt.ctx, testWait)
			defer stop()

			got, err := c.Download(ctx, tt.file, dir)
			if err == nil {
				t.Fatalf("Download = %+v, want an error", got)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("Download error = %v, want errors.Is %v", err, tt.is)
			}
			if got, want := dirNames(t, dir), []string{"earlier.csv"}; !slices.Equal(got, want) {
				t.Errorf("staging holds %q after a failed download, want %q", got, want)
			}
		})
	}
	// The session is still usable after the failures.
	ctx, stop := context.WithTimeout(context.Background(), testWait)
	defer stop()
	if _, err := c.Download(ctx, listed(t, c, "inbound/census_a.csv"), t.TempDir()); err != nil {
		t.Errorf("Download after failures: %v", err)
	}
}

func TestServedPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/inbound", "inbound"},
		{"//inbound/acme", "inbound/acme"},
		{"inbound", "inbound"},
		{"/", "."},
		{"", "."},
	}
	for _, tt := range tests {
		if got := ServedPath(tt.in); got != tt.want {
			t.Errorf("ServedPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSeedOnce(t *testing.T) {
	seed := t.TempDir()
	files := map[string]string{
		"inbound/census_1.csv":         "census one\n",
		"inbound/acme/elections_1.csv": "elections one\n",
		"outbound/.keep":               "",
		"top.txt":                      "top\n",
	}
	for name, body := range files {
		p := filepath.Join(seed, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(seed, "archive"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(seed, "inbound", "census_link.csv")); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(t.TempDir(), "work")

	if err := SeedOnce(seed, work); err != nil {
		t.Fatalf("SeedOnce: %v", err)
	}
	for name, body := range files {
		p := filepath.Join(work, filepath.FromSlash(name))
		b, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("copy of %s: %v", name, err)
			continue
		}
		if string(b) != body {
			t.Errorf("copy of %s = %q, want %q", name, b, body)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("mode of %s = %v, want 0600", name, got)
		}
	}
	for _, d := range []string{".", "inbound", "inbound/acme", "archive"} {
		fi, err := os.Stat(filepath.Join(work, d))
		if err != nil {
			t.Errorf("folder %s: %v", d, err)
			continue
		}
		if got := fi.Mode().Perm(); !fi.IsDir() || got != 0o700 {
			t.Errorf("folder %s: dir %v mode %v, want a 0700 folder", d, fi.IsDir(), got)
		}
	}
	if _, err := os.Lstat(filepath.Join(work, "inbound", "census_link.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("symlink in the seed was copied (Lstat err %v)", err)
	}
	if _, err := os.Stat(work + ".seeding"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary seeding folder left behind (Stat err %v)", err)
	}

	// A second call with a changed seed leaves the working copy alone.
	changed := filepath.Join(seed, "inbound", "census_1.csv")
	if err := os.WriteFile(changed, []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(seed, "new.txt"), []byte("new\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := SeedOnce(seed, work); err != nil {
		t.Fatalf("second SeedOnce: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(work, "inbound", "census_1.csv")); string(b) != "census one\n" {
		t.Errorf("second SeedOnce overwrote census_1.csv with %q", b)
	}
	if _, err := os.Stat(filepath.Join(work, "new.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("second SeedOnce copied new.txt (Stat err %v)", err)
	}
}

func TestSeedOnceMissingSeed(t *testing.T) {
	work := filepath.Join(t.TempDir(), "work")
	if err := SeedOnce(filepath.Join(t.TempDir(), "nope"), work); err == nil {
		t.Fatal("SeedOnce of a missing seed succeeded")
	}
	for _, p := range []string{work, work + ".seeding"} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists after a failed seed (Stat err %v)", p, err)
		}
	}
}
