package ingest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"enrollsftp"
	"enrollsftp/internal/sshdtest"
)

// Tests against a real OpenSSH sshd of what a hostile or broken server can
// do once the connection is up (issue 12: findings 1, 2 and 8).

func sshdEndpoint(s *sshdtest.Server, timeout time.Duration) Endpoint {
	return Endpoint{Host: "127.0.0.1", Port: s.Port, User: s.User, PrivateKey: s.ClientKey,
		KnownHosts: s.KnownHosts, DialTimeout: timeout, Attempts: 1, KeepAlive: -1}
}

func dialSSHD(t *testing.T, s *sshdtest.Server, timeout time.Duration) *Client {
	t.Helper()
	c, err := Dial(context.Background(), sshdEndpoint(s, timeout), zerolog.Nop())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// writeFile writes a remote file through the local file system (the sshd
// serves absolute paths of this machine).
func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func listOne(t *testing.T, c *Client, inbound string) RemoteFile {
	t.Helper()
	l, err := c.Discover(inbound, map[enrollsftp.FileType]string{enrollsftp.Census: "census_*.csv"}, 0, time.Now(), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Ready) != 1 {
		t.Fatalf("listing: %+v, want one ready file", l)
	}
	return l.Ready[0]
}

// TestDownloadRefusesWhatChangedSinceListing: the file downloaded must be
// the regular file that was listed. A symlink to another vendor's folder or
// a FIFO swapped in after the listing, or a file replaced or grown, is
// refused and nothing is staged (finding 1, 8).
func TestDownloadRefusesWhatChangedSinceListing(t *testing.T) {
	s := sshdtest.Start(t)
	c := dialSSHD(t, s, 5*time.Second)
	secret := []byte("employer_id,ssn\nOTHER,123-45-6789\n")
	tests := []struct {
		name string
		swap func(t *testing.T, file, secretPath string)
	}{
		{"symlink to another vendor's file", func(t *testing.T, file, secretPath string) {
			os.Remove(file)
			if err := os.Symlink(secretPath, file); err != nil {
				t.Fatal(err)
			}
		}},
		{"relative symlink out of inbound", func(t *testing.T, file, secretPath string) {
			os.Remove(file)
			if err := os.Symlink("../../othervendor/inbound/secret.csv", file); err != nil {
				t.Fatal(err)
			}
		}},
		{"fifo", func(t *testing.T, file, _ string) {
			os.Remove(file)
			if err := syscall.Mkfifo(file, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"replaced by a larger file", func(t *testing.T, file, _ string) {
			writeFile(t, file, bytes.Repeat([]byte("employer_id,employee_id\n"), 1000))
		}},
		{"same size, other time", func(t *testing.T, file, _ string) {
			later := time.Now().Add(time.Hour)
			if err := os.Chtimes(file, later, later); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			inbound := filepath.Join(root, "acme", "inbound")
			secretPath := filepath.Join(root, "othervendor", "inbound", "secret.csv")
			writeFile(t, secretPath, secret)
			file := filepath.Join(inbound, "census_b.csv")
			writeFile(t, file, []byte("employer_id,employee_id\nACME,E1\n"))
			old := time.Now().Add(-time.Hour)
			if err := os.Chtimes(file, old, old); err != nil {
				t.Fatal(err)
			}
			f := listOne(t, c, inbound)
			tt.swap(t, file, secretPath)

			dir := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			st, err := c.Download(ctx, f, dir)
			var refused *RefusedError
			if !errors.As(err, &refused) {
				t.Fatalf("Download = %+v, %v; want a RefusedError", st, err)
			}
			if got := dirNames(t, dir); len(got) != 0 {
				t.Errorf("staging holds %q after a refusal, want nothing", got)
			}
			if _, _, err := c.Hash(ctx, f); !errors.As(err, &refused) {
				t.Errorf("Hash: %v, want a RefusedError", err)
			}
		})
	}
}

// TestDownloadStopsAtTheSizeLimit: a download stops once it passes the
// client's MaxFileSize, whatever the listing said (finding 8).
func TestDownloadStopsAtTheSizeLimit(t *testing.T) {
	s := sshdtest.Start(t)
	c := dialSSHD(t, s, 5*time.Second)
	inbound := filepath.Join(t.TempDir(), "inbound")
	writeFile(t, filepath.Join(inbound, "census_big.csv"), bytes.Repeat([]byte("x,y\n"), 1<<20)) // 4 MiB
	f := listOne(t, c, inbound)
	c.MaxFileSize = 1 << 20
	dir := t.TempDir()
	_, err := c.Download(context.Background(), f, dir)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Download: %v, want ErrTooLarge", err)
	}
	if got := dirNames(t, dir); len(got) != 0 {
		t.Errorf("staging holds %q, want nothing", got)
	}
}

// TestStalledServerIsCut: a server that stops answering SFTP requests —
// while sshd itself still answers — fails the call within a few timeouts
// instead of hanging the run (finding 2).
func TestStalledServerIsCut(t *testing.T) {
	const timeout = 300 * time.Millisecond
	const bound = 10 * timeout // generous for a loaded machine; the hang was forever

	t.Run("subsystem that never speaks SFTP", func(t *testing.T) {
		s := sshdtest.Start(t)
		s.SetSubsystem("/bin/sleep 3600")
		start := time.Now()
		_, err := Dial(context.Background(), sshdEndpoint(s, timeout), zerolog.Nop())
		if !errors.As(err, new(*StallError)) {
			t.Fatalf("Dial: %v, want a StallError", err)
		}
		if took := time.Since(start); took > bound {
			t.Errorf("Dial took %s, want under %s", took, bound)
		}
	})

	t.Run("open of a FIFO", func(t *testing.T) {
		s := sshdtest.Start(t)
		c := dialSSHD(t, s, timeout)
		fifo := filepath.Join(t.TempDir(), "census_fifo.csv")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err := c.SFTP.Open(fifo)
		if err == nil || !errors.As(c.Explain(err), new(*StallError)) {
			t.Fatalf("Open of a FIFO: %v, want a stall", c.Explain(err))
		}
		if took := time.Since(start); took > bound {
			t.Errorf("Open took %s, want under %s", took, bound)
		}
	})

	t.Run("close while the server is frozen", func(t *testing.T) {
		s := sshdtest.Start(t)
		c, err := Dial(context.Background(), sshdEndpoint(s, time.Hour), zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.SFTP.Getwd(); err != nil {
			t.Fatal(err)
		}
		resume := s.FreezeSFTP()
		defer resume()
		closed := make(chan struct{})
		go func() { c.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(bound):
			t.Fatalf("Close still waiting %s after the server froze between requests", bound)
		}
	})

	// The server stopped mid-download (kill -STOP of the SFTP process):
	// the watchdog cuts it, and a cancelled context cuts it sooner.
	for _, tt := range []struct {
		name    string
		timeout time.Duration
		cancel  bool
		want    func(error) bool
	}{
		{"frozen mid-download", timeout, false, func(err error) bool { return errors.As(err, new(*StallError)) }},
		{"frozen mid-download, then cancelled", time.Hour, true, func(err error) bool { return errors.Is(err, context.Canceled) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := sshdtest.Start(t)
			c := dialSSHD(t, s, tt.timeout)
			inbound := filepath.Join(t.TempDir(), "inbound")
			writeFile(t, filepath.Join(inbound, "census_big.csv"), bytes.Repeat([]byte("employer_id,employee_id\n"), 1<<20))
			f := listOne(t, c, inbound)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var resume func()
			defer func() {
				if resume != nil {
					resume()
				}
			}()
			start := time.Now()
			froze := false
			decode := func(dst io.Writer, src io.Reader) error {
				// Take some bytes, then freeze the server mid-transfer.
				if _, err := io.CopyN(dst, src, 64<<10); err != nil {
					return err
				}
				resume, froze = s.FreezeSFTP(), true
				start = time.Now()
				if tt.cancel {
					time.AfterFunc(100*time.Millisecond, cancel)
				}
				_, err := io.Copy(dst, src)
				return err
			}
			_, err := c.DownloadDecoded(ctx, f, t.TempDir(), decode)
			if !froze {
				t.Fatalf("the download ended before the server froze: %v", err)
			}
			if !tt.want(err) {
				t.Fatalf("Download: %v", err)
			}
			if took := time.Since(start); took > bound {
				t.Errorf("Download ended %s after the freeze, want under %s", took, bound)
			}
			if !c.Broken() {
				t.Error("the client is not broken after its connection was cut")
			}
			if !strings.Contains(err.Error(), "census_big.csv") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}
