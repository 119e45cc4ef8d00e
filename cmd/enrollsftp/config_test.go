package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigValidation(t *testing.T) {
	const good = `    sftp: {host: sftp.example.com, user: acme, private_key: k, known_hosts: kh}
    inbound: /in
    outbound: /out
    archive: /arc
`
	tests := []struct {
		name, source, wantErr string
	}{
		{"valid", good, ""},
		{"embedded", "    sftp: {embedded: testdata/demo}\n    inbound: /in\n    outbound: /out\n    archive: /arc\n", ""},
		{"no known_hosts", strings.Replace(good, ", known_hosts: kh", "", 1), "sftp.known_hosts: required"},
		{"no credentials", strings.Replace(good, ", private_key: k", "", 1), "private_key or password required"},
		{"no host", strings.Replace(good, "host: sftp.example.com, ", "", 1), "sftp.host: required"},
		{"no archive", strings.Replace(good, "    archive: /arc\n", "", 1), "archive: required"},
		{"bad schedule", good + "    schedule: \"61 * * * *\"\n", "schedule"},
		{"seconds schedule", good + "    schedule: \"*/1 * * * * *\"\n", ""},
		{"bad pattern type", good + "    patterns: {payroll: \"*.csv\"}\n", "patterns.payroll"},
		{"bad ratio", good + "    max_reject_ratio: 1.5\n", "max_reject_ratio"},
		{"unknown key", good + "    colour: blue\n", "colour"},
		{"pgp", good + "    pgp: {decrypt_key: k.asc, passphrase: x, verify_key: v.asc, encrypt_to: v.asc, sign_outbound: true}\n", ""},
		{"pgp without keys", good + "    pgp: {sign_outbound: true}\n", "pgp: decrypt_key or encrypt_to required"},
		{"pgp verify without decrypt", good + "    pgp: {verify_key: v.asc, encrypt_to: v.asc}\n", "pgp.verify_key: needs decrypt_key"},
		{"pgp unknown key", good + "    pgp: {decrypt_key: k.asc, armor: true}\n", "armor"},
		{"missing env", good + "    employers: [\"${ENROLLSFTP_TEST_UNSET_VAR}\"]\n", "ENROLLSFTP_TEST_UNSET_VAR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "config.yaml")
			os.WriteFile(p, []byte("sources:\n  - name: acme\n"+tt.source), 0o600)
			c, err := loadConfig(p, true)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				if c.Sources[0].Patterns["census"] != "census_*.csv" && !strings.Contains(tt.source, "patterns") {
					t.Errorf("default patterns not set: %v", c.Sources[0].Patterns)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v, want an error mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestConfigPathsAndEnv(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("ENROLLSFTP_TEST_PASSWORD", "s3cret")
	p := filepath.Join(dir, "config.yaml")
	os.WriteFile(p, []byte(`ledger: data/l.db
sources:
  - name: acme
    sftp: {host: h, user: u, password: "${ENROLLSFTP_TEST_PASSWORD}", known_hosts: keys/kh}
    inbound: /in
    outbound: /out
    archive: /arc
`), 0o600)
	c, err := loadConfig(p, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Sources[0].SFTP.Password; got != "s3cret" {
		t.Errorf("password: got %q, want the environment's", got)
	}
	if got := c.path(c.Ledger); got != filepath.Join(dir, "data/l.db") {
		t.Errorf("ledger path: got %s, want it relative to the config's folder", got)
	}
	if _, err := loadConfig(filepath.Join(dir, "missing.yaml"), true); err == nil {
		t.Error("a missing config named with --config must be an error")
	}
	if c, err := loadConfig(filepath.Join(dir, "missing.yaml"), false); err != nil || c.Ledger != "var/ledger.db" {
		t.Errorf("an absent default config: got %v, %v; want the defaults", c, err)
	}
}

func TestShippedConfigsAreValid(t *testing.T) {
	t.Setenv("GLOBEX_SFTP_PASSWORD", "x")
	for _, p := range []string{"../../config.yaml", "../../deploy/config.example.yaml"} {
		c, err := loadConfig(p, true)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		for _, s := range c.Sources {
			if s.Schedule == "" {
				t.Errorf("%s: source %s has no schedule", p, s.Name)
			}
		}
	}
}

func TestConfigStagingRetention(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       time.Duration
		wantErr    string
	}{
		{"default: 30 days", "", 720 * time.Hour, ""},
		{"hours", "staging_retention: 48h\n", 48 * time.Hour, ""},
		{"zero", "staging_retention: 0s\n", 0, "staging_retention 0s: must be positive"},
		{"negative", "staging_retention: -1h\n", 0, "must be positive"},
		{"not a duration", "staging_retention: 30d\n", 0, "30d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "config.yaml")
			os.WriteFile(p, []byte("ledger: l.db\n"+tt.yaml), 0o600)
			c, err := loadConfig(p, true)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || c.StagingRetention != tt.want {
				t.Fatalf("got %v, %v; want %v", c.StagingRetention, err, tt.want)
			}
		})
	}
}
