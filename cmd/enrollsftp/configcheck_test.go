package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"enrollsftp/internal/pgp/pgptest"
	"enrollsftp/internal/sshdtest"
)

// checkDir is a folder with a config whose every file is in order: an
// embedded source and an SFTP source with its key, known_hosts and PGP
// keys, the SSN key and the plans.
func checkDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	plans, err := os.ReadFile("../../testdata/plans.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, clientKey, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(clientKey, "")
	if err != nil {
		t.Fatal(err)
	}
	hostPub, _, _ := ed25519.GenerateKey(rand.Reader)
	hostKey, _ := ssh.NewPublicKey(hostPub)
	writeFiles(t, dir, map[string]string{
		"config.yaml": `ledger: var/ledger.db
staging: var/staging
plans: plans.yaml
secrets: {key_file: keys/ledger.key}
sources:
  - name: demo
    schedule: "0 2 * * *"
    sftp: {embedded: drop}
    inbound: /inbound
    outbound: /outbound
    archive: /archive
    max_reject_ratio: 0.5
    employers: [ACME, GLOBEX]
  - name: acme
    sftp: {host: 127.0.0.1, port: 2222, user: acme, private_key: keys/id_ed25519, known_hosts: keys/known_hosts, timeout: 5s}
    inbound: /in
    outbound: /out
    archive: /arc
    patterns: {census: "census_*.csv"}
    min_file_age: 30s
    pgp: {decrypt_key: keys/ours.asc, encrypt_to: keys/acme.asc}
`,
		"plans.yaml":         string(plans),
		"keys/ledger.key":    base64.StdEncoding.EncodeToString(make([]byte, 32)),
		"keys/id_ed25519":    string(pem.EncodeToMemory(block)),
		"keys/known_hosts":   knownhosts.Line([]string{"[127.0.0.1]:2222"}, hostKey) + "\n",
		"drop/inbound/.keep": "",
	})
	ours, acme := pgptest.NewEntity(t, "ours"), pgptest.NewEntity(t, "acme")
	pgptest.WriteKey(t, filepath.Join(dir, "keys"), "ours.asc", ours, true, "")
	pgptest.WriteKey(t, filepath.Join(dir, "keys"), "acme.asc", acme, false, "")
	return dir
}

// dirFree replaces the test's folder in s by DIR.
func dirFree(s, dir string) string {
	real, _ := filepath.EvalSymlinks(dir)
	return strings.ReplaceAll(strings.ReplaceAll(s, real, "DIR"), dir, "DIR")
}

func TestConfigCheck(t *testing.T) {
	dir := checkDir(t)
	code, stdout, stderr := runInProcess(t, dir, "--now", "2026-11-15T03:00:00Z", "config", "check")
	const want = `config DIR/config.yaml
  ledger   DIR/var/ledger.db
  staging  DIR/var/staging
  ssn key  DIR/keys/ledger.key
  plans    DIR/plans.yaml (2 employers)
  layouts  census.v1, elections.v1

source demo
  embedded          DIR/drop (served in process: no network)
  inbound           /inbound
  outbound          /outbound
  archive           /archive
  files             census census_*.csv with layout census.v1; elections elections_*.csv with layout elections.v1
  schedule          0 2 * * * (next 2026-11-16T02:00:00Z)
  employers         ACME, GLOBEX
  max_reject_ratio  0.5: a file with a larger share of rejected rows is HELD
  min_file_age      0s

source acme
  sftp              acme@127.0.0.1:2222 (key DIR/keys/id_ed25519; timeout 5s)
  known_hosts       DIR/keys/known_hosts
  inbound           /in
  outbound          /out
  archive           /arc
  files             census census_*.csv with layout census.v1
  schedule          none: only ` + "`run`" + ` takes this source (serve refuses it)
  employers         any employer of the plans
  max_reject_ratio  none: a file is never held
  min_file_age      30s
  pgp               decrypt inbound .pgp/.gpg/.asc with DIR/keys/ours.asc; encrypt outputs to DIR/keys/acme.asc

ok: 2 source(s)
`
	if got := dirFree(stdout, dir); code != exitOK || got != want || stderr != "" {
		t.Errorf("exit %d, stderr %q, stdout:\n%s\nwant exit 0 and:\n%s", code, stderr, got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "var")); err == nil {
		t.Error("config check created the ledger's folder")
	}
}

// Every problem is named, each where it is, not only the first; exit 2.
func TestConfigCheckProblems(t *testing.T) {
	dir := checkDir(t)
	otherHost, _, _ := ed25519.GenerateKey(rand.Reader)
	otherKey, _ := ssh.NewPublicKey(otherHost)
	cfg, _ := os.ReadFile(filepath.Join(dir, "config.yaml"))
	config := strings.NewReplacer(
		"key_file: keys/ledger.key", "key_file: keys/missing.key",
		"embedded: drop", "embedded: nowhere",
		`patterns: {census: "census_*.csv"}`, `layouts: {census: nope.v1, elections: census.v1}`,
		"encrypt_to: keys/acme.asc", "encrypt_to: keys/gone.asc",
	).Replace(string(cfg))
	writeFiles(t, dir, map[string]string{
		"config.yaml":      config,
		"plans.yaml":       "employers:\n  - id: ACME\n    pay_frequncy: WEEKLY\n",
		"keys/id_ed25519":  "not a key",
		"keys/known_hosts": knownhosts.Line([]string{"[127.0.0.1]:2200"}, otherKey) + "\n",
	})
	code, stdout, stderr := runInProcess(t, dir, "config", "check")
	stderr, stdout = dirFree(stderr, dir), columns(dirFree(stdout, dir))
	wants := []string{
		"secrets.key_file: open DIR/keys/missing.key: no such file or directory",
		`plans: DIR/plans.yaml: employers[0]: line 3: unknown key "pay_frequncy" (did you mean "pay_frequency"?)`,
		"source demo: sftp.embedded: stat DIR/nowhere: no such file or directory",
		"source acme: sftp.known_hosts: DIR/keys/known_hosts has no key for 127.0.0.1:2222: every connection would be refused",
		"source acme: sftp.private_key: ssh: no key found",
		`source acme: layouts.census: schemas: layout "nope.v1" not found`,
		"source acme: layouts.elections: census.v1 is a census layout",
		"source acme: pgp: open DIR/keys/gone.asc: no such file or directory",
	}
	if code != exitUsage || !strings.HasPrefix(stderr, "enrollsftp: config check: 8 problems:\n") {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and 8 problems", code, stderr)
	}
	for _, w := range wants {
		if !strings.Contains(stderr, "\n  "+w) || !strings.Contains(stdout, "PROBLEM  "+w) {
			t.Errorf("problem %q not named on stderr and stdout:\n%s\n%s", w, stderr, stdout)
		}
	}
}

func TestConfigCheckWithoutAConfig(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		args  []string
		want  string
	}{
		{"no config.yaml", nil, []string{"config", "check"},
			"enrollsftp: config: no config file found: looked for DIR/config.yaml (give one with --config FILE)\n"},
		{"a config that does not parse", map[string]string{"config.yaml": "ledgr: l.db\nsources:\n  - name: a\n    sftp: {embedded: x, timeot: 1s}\n"},
			[]string{"config", "check"}, "enrollsftp: config config.yaml: 2 problems:\n" +
				`  line 1: unknown key "ledgr" (did you mean "ledger"?)` + "\n" +
				`  sources[0].sftp: line 4: unknown key "timeot" (did you mean "timeout"?)` + "\n"},
		{"one missing folder", map[string]string{"config.yaml": "sources:\n  - name: a\n    sftp: {embedded: x}\n    inbound: /in\n"},
			[]string{"config", "check"}, "enrollsftp: config config.yaml: 2 problems:\n" +
				"  sources[0].outbound: line 2: required\n  sources[0].archive: line 2: required\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			code, stdout, stderr := runInProcess(t, dir, tt.args...)
			if got := dirFree(stderr, dir); code != exitUsage || got != tt.want || stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 2 and:\n%s", code, stdout, got, tt.want)
			}
		})
	}
}

// --connect dials each SFTP source with run's client: the host key is
// verified, the folders looked for. A wrong host key or a missing folder
// is the config's problem (exit 2); a server that cannot be reached is an
// operational failure (exit 1).
func TestConfigCheckConnect(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	s := sshdtest.Start(t)
	other := sshdtest.Start(t) // its known_hosts has another key
	r := newRemote(t)
	os.MkdirAll(r.outbound, 0o755)
	os.MkdirAll(r.archive, 0o755)
	source := func(name string, port int, knownHosts, inbound string) string {
		return "  - name: " + name + "\n    sftp: {host: 127.0.0.1, port: " + strconv.Itoa(port) + ", user: " + s.User +
			", private_key: " + s.ClientKey + ", known_hosts: " + knownHosts + "}\n    inbound: " + inbound +
			"\n    outbound: " + r.outbound + "\n    archive: " + r.archive + "\n"
	}
	// known_hosts must list the port dialled, or the check stops before dialling.
	free := sshdtest.FreePort(t)
	tests := []struct {
		name     string
		sources  string
		wantCode int
		want     []string // in stdout
	}{
		{"ok", source("acme", s.Port, s.KnownHosts, r.inbound) + "  - name: demo\n    sftp: {embedded: .}\n    inbound: /i\n    outbound: /o\n    archive: /a\n",
			exitOK, []string{"connect  ok: host key verified, logged in, inbound, outbound and archive found", "ok: 2 source(s)"}},
		{"host key not the one known", source("acme", s.Port, rewritePort(t, other.KnownHosts, other.Port, s.Port), r.inbound),
			exitUsage, []string{"PROBLEM  source acme: connect: ingest: connect 127.0.0.1:", "does not match known_hosts"}},
		{"no inbound folder", source("acme", s.Port, s.KnownHosts, r.inbound+"-missing"),
			exitUsage, []string{"PROBLEM  source acme: inbound " + r.inbound + "-missing on the server: file does not exist"}},
		{"nothing listening", source("acme", free, rewritePort(t, s.KnownHosts, s.Port, free), r.inbound),
			exitFailure, []string{"connect  FAILED: ingest: connect 127.0.0.1:", "connection refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"config.yaml": "sources:\n" + tt.sources})
			code, stdout, stderr := runInProcess(t, dir, "config", "check", "--connect")
			stdout = columns(stdout)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout does not hold %q:\n%s", w, stdout)
				}
			}
		})
	}
	// Without --connect nothing is dialled: a port nobody listens on is fine.
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"config.yaml": "sources:\n" + source("acme", free, rewritePort(t, s.KnownHosts, s.Port, free), r.inbound)})
	if code, stdout, stderr := runInProcess(t, dir, "config", "check"); code != exitOK || strings.Contains(stdout, "connect") {
		t.Errorf("without --connect: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// rewritePort writes a copy of a known_hosts file whose keys are listed
// for port to instead of port from.
func rewritePort(t *testing.T, knownHosts string, from, to int) string {
	t.Helper()
	b, err := os.ReadFile(knownHosts)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "known_hosts")
	b = []byte(strings.ReplaceAll(string(b), "]:"+strconv.Itoa(from)+" ", "]:"+strconv.Itoa(to)+" "))
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// columns makes the gaps between a report's columns two spaces, whatever
// the widest key of a block.
func columns(s string) string {
	return regexp.MustCompile(`(\S)  +`).ReplaceAllString(s, "$1  ")
}
