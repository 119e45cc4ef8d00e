package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"enrollsftp/internal/sshdtest"
)

// A revoked client key: refused at once, nothing taken; restored, the
// next run takes the file.
func TestSFTPClientKeyRevoked(t *testing.T) {
	bin := sftpBinary(t)
	s := sshdtest.Start(t)
	r := newRemote(t)
	c := sftpCLI(t, bin, sourceFor("acme", s, r))
	c.run(0, "run")
	auth := filepath.Join(s.Dir, "authorized_keys")
	key, _ := os.ReadFile(auth)
	os.WriteFile(auth, nil, 0o600)
	r.drop(t, "census_demo_20261115.csv", demoFile(t, "census_demo_20261115.csv"))
	c.run(1, "run")
	if logs := c.logs.String(); !strings.Contains(logs, "unable to authenticate") || strings.Contains(logs, "retrying") {
		t.Errorf("revoked key: want a clear authentication error, not retried:\n%s", logs)
	}
	if got := names(t, r.inbound); len(got) != 1 {
		t.Fatalf("inbound changed while refused: %v", got)
	}
	os.WriteFile(auth, key, 0o600)
	if out := c.run(0, "run"); !strings.Contains(out, "APPLIED") {
		t.Errorf("after the key is restored:\n%s", out)
	}
}

// A server that accepts the connection and never speaks: the handshake
// times out, is retried a bounded number of times, and the run fails.
func TestSFTPServerNeverAnswers(t *testing.T) {
	bin := sftpBinary(t)
	s := sshdtest.Start(t) // for its keys only
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, conn) // accepted, never answered
			mu.Unlock()
		}
	}()
	defer func() {
		ln.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	}()
	src := sourceFor("silent", s, newRemote(t))
	src.port = ln.Addr().(*net.TCPAddr).Port
	c := sftpCLI(t, bin, src)
	cfg, _ := os.ReadFile(c.config)
	os.WriteFile(c.config, []byte(strings.Replace(string(cfg), "known_hosts:", "timeout: 500ms, known_hosts:", 1)), 0o600)
	start := time.Now()
	c.run(1, "run")
	took := time.Since(start)
	if n := strings.Count(c.logs.String(), "retrying"); n != 3 {
		t.Errorf("want 3 retries logged, got %d:\n%s", n, c.logs.String())
	}
	if took > 15*time.Second {
		t.Errorf("a silent server held the run %v: the timeout does not bound it", took)
	}
}

// Outputs that cannot be written after the commit: the batch stays
// APPLIED and undelivered, the next run delivers it without processing
// the file again.
func TestSFTPOutboundNotWritable(t *testing.T) {
	bin := sftpBinary(t)
	s := sshdtest.Start(t)
	r := newRemote(t)
	r.drop(t, "census_demo_20261115.csv", demoFile(t, "census_demo_20261115.csv"))
	block := filepath.Join(r.outbound, "census_demo_20261115.ack.csv.part")
	os.MkdirAll(block, 0o755) // a folder where the upload's temporary file must go
	c := sftpCLI(t, bin, sourceFor("acme", s, r))
	c.run(1, "run")
	if !strings.Contains(c.logs.String(), "the next run delivers it") {
		t.Errorf("the error should say the batch is committed and will be delivered:\n%s", c.logs.String())
	}
	os.RemoveAll(block)
	out := c.run(0, "run")
	if !strings.Contains(out, "redelivered") || !strings.Contains(out, "already processed") {
		t.Errorf("second run should redeliver and archive without processing:\n%s", out)
	}
	var batches []map[string]any
	jsonUnmarshal(c.run(0, "batches", "--json"), &batches)
	if len(batches) != 1 {
		t.Errorf("the file was processed %d times", len(batches))
	}
	if _, err := os.Stat(filepath.Join(r.outbound, "census_demo_20261115.ack.csv")); err != nil {
		t.Errorf("ack not delivered: %v", err)
	}
}

// A server with ECDSA and Ed25519 host keys, listed in known_hosts by its
// Ed25519 key only (as `ssh-keyscan -t ed25519` gives): the client must ask
// for the known type, not be refused as a mismatch on the ECDSA one it
// would otherwise prefer.
func TestSFTPKnownHostsPicksTheKnownKeyType(t *testing.T) {
	bin := sftpBinary(t)
	s := sshdtest.Start(t)
	s.AddHostKey("ecdsa")
	r := newRemote(t)
	r.drop(t, "census_demo_20261115.csv", demoFile(t, "census_demo_20261115.csv"))
	c := sftpCLI(t, bin, sourceFor("acme", s, r))
	if out := c.run(0, "run"); !strings.Contains(out, "APPLIED") {
		t.Errorf("run:\n%s", out)
	}
}

// An SFTP subsystem that never answers (sshd up, `Subsystem sftp
// /bin/sleep 3600`): `run` hung forever and ignored SIGTERM. Now the first
// SFTP request is cut after sftp.timeout, and SIGTERM ends a run at once
// whatever the timeout.
func TestSFTPSubsystemNeverAnswers(t *testing.T) {
	bin := sftpBinary(t)
	s := sshdtest.Start(t)
	s.SetSubsystem("/bin/sleep 3600")
	r := newRemote(t)
	r.drop(t, "census_demo_20261115.csv", demoFile(t, "census_demo_20261115.csv"))
	withTimeout := func(d string) *cli {
		c := sftpCLI(t, bin, sourceFor("stuck", s, r))
		cfg, _ := os.ReadFile(c.config)
		os.WriteFile(c.config, []byte(strings.Replace(string(cfg), "known_hosts:", "timeout: "+d+", known_hosts:", 1)), 0o600)
		return c
	}

	t.Run("cut after the timeout", func(t *testing.T) {
		c := withTimeout("300ms")
		start := time.Now()
		c.run(1, "run")
		if took := time.Since(start); took > 20*time.Second {
			t.Errorf("run took %s", took)
		}
		if logs := c.logs.String(); !strings.Contains(logs, "sent nothing for 300ms") {
			t.Errorf("logs do not say the server stalled:\n%s", logs)
		}
	})

	t.Run("SIGTERM", func(t *testing.T) {
		c := withTimeout("1h")
		cmd := exec.Command(c.bin, "--config", c.config, "--ledger", "ledger.db", "run")
		cmd.Dir = c.dir
		var logs syncBuffer
		cmd.Stderr = &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond) // into the SFTP start-up, which never ends
		start := time.Now()
		cmd.Process.Signal(syscall.SIGTERM)
		errc := make(chan error, 1)
		go func() { errc <- cmd.Wait() }()
		select {
		case <-errc:
			took := time.Since(start)
			if took > 5*time.Second {
				t.Errorf("run took %s to stop after SIGTERM", took)
			}
			t.Logf("run stopped %s after SIGTERM", took)
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-errc
			t.Fatalf("run did not stop within 15s of SIGTERM:\n%s", logs.String())
		}
	})
}
