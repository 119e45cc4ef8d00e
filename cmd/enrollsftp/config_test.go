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
		{"no known_hosts", strings.Replace(good, ", known_hosts: kh", "", 1), "sources[0].sftp.known_hosts: line 3: required: host keys are always verified"},
		{"no credentials", strings.Replace(good, ", private_key: k", "", 1), "sources[0].sftp: line 3: private_key or password required"},
		{"no host", strings.Replace(good, "host: sftp.example.com, ", "", 1), "sources[0].sftp.host: line 3: required (or sftp.embedded)"},
		{"no archive", strings.Replace(good, "    archive: /arc\n", "", 1), "sources[0].archive: line 2: required"},
		{"bad schedule", good + "    schedule: \"61 * * * *\"\n", `sources[0].schedule: line 7: "61 * * * *": end of range (61) above maximum (59)`},
		{"seconds schedule", good + "    schedule: \"*/1 * * * * *\"\n", ""},
		{"bad pattern type", good + "    patterns: {payroll: \"*.csv\"}\n", "sources[0].patterns.payroll: line 7: want census or elections"},
		{"bad ratio", good + "    max_reject_ratio: 1.5\n", "sources[0].max_reject_ratio: line 7: want 0 to 1, got 1.5"},
		{"unknown key", good + "    colour: blue\n", `sources[0]: line 7: unknown key "colour" (want one of: archive, employers,`},
		{"pgp", good + "    pgp: {decrypt_key: k.asc, passphrase: x, verify_key: v.asc, encrypt_to: v.asc, sign_outbound: true}\n", ""},
		{"pgp without keys", good + "    pgp: {sign_outbound: true}\n", "sources[0].pgp: line 7: decrypt_key or encrypt_to required"},
		{"pgp verify without decrypt", good + "    pgp: {verify_key: v.asc, encrypt_to: v.asc}\n", "sources[0].pgp.verify_key: line 7: needs decrypt_key"},
		{"pgp unknown key", good + "    pgp: {decrypt_key: k.asc, armor: true}\n", `sources[0].pgp: line 7: unknown key "armor" (want one of: decrypt_key, encrypt_to, passphrase, sign_outbound, verify_key)`},
		{"misspelt key", strings.Replace(good, "known_hosts: kh}", "known_hosts: kh, timeot: 5s}", 1),
			`sources[0].sftp: line 3: unknown key "timeot" (did you mean "timeout"?)`},
		{"misspelt source key", good + "    max_reject_ration: 0.5\n",
			`sources[0]: line 7: unknown key "max_reject_ration" (did you mean "max_reject_ratio"?)`},
		{"not a number", good + "    max_reject_ratio: abc\n", `sources[0].max_reject_ratio: line 7: want a number, got "abc"`},
		{"not a port", strings.Replace(good, "user: acme", "user: acme, port: ssh", 1), `sources[0].sftp.port: line 3: want a whole number, got "ssh"`},
		{"employers not a list", good + "    employers: ACME\n", `sources[0].employers: line 7: want a list, got "ACME"`},
		{"every problem", "    sftp: {host: h, user: u, private_key: k}\n    inbound: /in\n    max_reject_ratio: 2\n",
			"4 problems:\n  sources[0].sftp.known_hosts: line 3: required: host keys are always verified\n" +
				"  sources[0].outbound: line 2: required\n  sources[0].archive: line 2: required\n" +
				"  sources[0].max_reject_ratio: line 5: want 0 to 1, got 2"},
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
		{"zero", "staging_retention: 0s\n", 0, "staging_retention: line 2: must be positive (e.g. 720h), got 0s"},
		{"negative", "staging_retention: -1h\n", 0, "must be positive"},
		{"not a duration", "staging_retention: 30d\n", 0, `staging_retention: line 2: want a duration such as 30s, 5m or 1h30m, got "30d"`},
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

// A config or plans file mistake is reported by its path and line in the
// file, in the file's words, without the command usage (the command line
// was right).
func TestFileErrorsReadLikeTheFile(t *testing.T) {
	const config = `# enrollsftp config
ledger: ledger.db

sources:
  # the payroll vendor
  - name: acme
    sftp:
      host: 127.0.0.1
      user: acme
      password: x
      known_hosts: kh
      timeot: 5s
    inbound: /in
    outbound: /out
    archive: /arc
    max_reject_ratio: abc
`
	const plans = `employers:
  - id: ACME

    pay_frequncy: WEEKLY
`
	tests := []struct {
		name  string
		files map[string]string
		args  []string
		want  string
	}{
		{"config", map[string]string{"config.yaml": config}, []string{"batches"},
			"enrollsftp: config config.yaml: 2 problems:\n" +
				`  sources[0].sftp: line 12: unknown key "timeot" (did you mean "timeout"?)` + "\n" +
				`  sources[0].max_reject_ratio: line 16: want a number, got "abc"` + "\n"},
		{"plans load", map[string]string{"p.yaml": plans}, []string{"plans", "load", "p.yaml"},
			`enrollsftp: p.yaml: plans: employers[0]: line 4: unknown key "pay_frequncy" (did you mean "pay_frequency"?)` + "\n"},
		{"plans load, a wrong value", map[string]string{"p.yaml": "employers:\n  - {id: ACME, pay_frequency: DAILY}\n"},
			[]string{"plans", "load", "p.yaml"}, "enrollsftp: p.yaml: plans: employers[0].pay_frequency \"DAILY\": want WEEKLY"},
		{"plans load, no file", nil, []string{"plans", "load", "nope.yaml"}, "enrollsftp: plans load: open nope.yaml: no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			code, _, stderr := runInProcess(t, dir, tt.args...)
			if code != exitUsage || !strings.HasPrefix(stderr, tt.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and:\n%s", code, stderr, tt.want)
			}
			if strings.Contains(stderr, "usage:") {
				t.Errorf("the usage text was printed:\n%s", stderr)
			}
		})
	}
}
