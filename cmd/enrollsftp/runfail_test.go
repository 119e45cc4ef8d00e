package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"enrollsftp/ingest"
	"enrollsftp/internal/sshdtest"
)

// runHere runs the command in this process, as main does, with the
// config in dir and a fixed clock; it returns the exit code and output.
func runHere(t *testing.T, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	full := append([]string{"--config", filepath.Join(dir, "config.yaml"), "--ledger", filepath.Join(dir, "ledger.db"),
		"--now", "2026-11-15T02:00:00Z"}, args...)
	var out, errb bytes.Buffer
	code = run(context.Background(), full, &out, &errb)
	return code, out.String(), errb.String()
}

// writeClientKey writes an unencrypted OpenSSH ed25519 private key.
func writeClientKey(t *testing.T, path string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRunSaysWhichSourceFailed: a run whose sources could not be reached
// printed "no new files" on stdout, as if the vendors had sent nothing.
// Each failed source gets a line on stdout saying why, and the run exits
// 1 (an operational failure, SPEC §8).
func TestRunSaysWhichSourceFailed(t *testing.T) {
	// A server whose host key is not the one known_hosts lists.
	srv, err := ingest.StartEmbedded(t.TempDir(), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	other, _ := ssh.NewSignerFromKey(otherPriv)
	addr := net.JoinHostPort("127.0.0.1", fmt.Sprint(srv.Endpoint.Port))
	wrongHosts := knownhosts.Line([]string{knownhosts.Normalize(addr)}, other.PublicKey()) + "\n"

	// An embedded source with an empty inbound: reached, nothing new.
	empty := t.TempDir()
	if err := os.MkdirAll(filepath.Join(empty, "inbound"), 0o700); err != nil {
		t.Fatal(err)
	}
	quiet := fmt.Sprintf("  - name: quiet\n    sftp: {embedded: %s}\n    inbound: /inbound\n    outbound: /outbound\n    archive: /archive\n", empty)

	tests := []struct {
		name       string
		port       int
		knownHosts string // "" leaves the known_hosts file missing
		others     string // more sources
		wantWhy    string
		wantOut    string // another line stdout must hold
		config     bool   // a configuration error: exit 2, found before connecting
	}{
		{name: "wrong host key", port: srv.Endpoint.Port, knownHosts: wrongHosts,
			wantWhy: "does not match known_hosts"},
		{name: "connection refused", port: sshdtest.FreePort(t), knownHosts: wrongHosts,
			wantWhy: "connection refused"},
		{name: "known_hosts missing", port: srv.Endpoint.Port,
			wantWhy: "known_hosts: open", config: true},
		{name: "one of two sources", port: sshdtest.FreePort(t), knownHosts: wrongHosts, others: quiet,
			wantWhy: "connection refused", wantOut: "no new files from the other sources"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeClientKey(t, filepath.Join(dir, "id_ed25519"))
			if tc.knownHosts != "" {
				if err := os.WriteFile(filepath.Join(dir, "known_hosts"), []byte(tc.knownHosts), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cfg := fmt.Sprintf(`ledger: ledger.db
staging: staging
sources:
  - name: acme
    sftp: {host: 127.0.0.1, port: %d, user: acme, private_key: id_ed25519, known_hosts: known_hosts}
    inbound: /inbound
    outbound: /outbound
    archive: /archive
%s`, tc.port, tc.others)
			if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := runHere(t, dir, "run")
			wantCode, wantPrefix := exitFailure, "source acme FAILED: connect: "
			if tc.config {
				wantCode, wantPrefix = exitUsage, "source acme FAILED: config: "
			}
			if code != wantCode {
				t.Errorf("exit %d, want %d\nstderr:\n%s", code, wantCode, stderr)
			}
			if strings.Contains(stdout, "no new files\n") {
				t.Errorf("stdout says there was nothing new:\n%s", stdout)
			}
			var failed []string
			for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
				if strings.HasPrefix(line, "source ") {
					failed = append(failed, line)
				}
			}
			if len(failed) != 1 || !strings.HasPrefix(failed[0], wantPrefix) ||
				!strings.Contains(failed[0], tc.wantWhy) {
				t.Errorf("stdout: got failure lines %q, want one for acme saying %q\n%s", failed, tc.wantWhy, stdout)
			}
			if !strings.Contains(stdout, tc.wantOut) {
				t.Errorf("stdout lacks %q:\n%s", tc.wantOut, stdout)
			}
		})
	}
}
