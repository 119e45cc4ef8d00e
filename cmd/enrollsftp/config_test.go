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
		{"negative timeout", strings.Replace(good, "known_hosts: kh}", "known_hosts: kh, timeout: -5s}", 1),
			"sources[0].sftp.timeout: line 3: must not be negative (0: the default, 10s), got -5s"},
		{"port out of range", strings.Replace(good, "user: acme", "user: acme, port: 70000", 1), "sources[0].sftp.port: line 3: want 1 to 65535, got 70000"},
		{"negative min_file_age", good + "    min_file_age: -30s\n", "sources[0].min_file_age: line 7: must not be negative, got -30s"},
		{"negative ratio", good + "    max_reject_ratio: -0.1\n", "sources[0].max_reject_ratio: line 7: want 0 to 1, got -0.1"},
		{"schedule every less than a second", good + "    schedule: \"@every 500ms\"\n", `sources[0].schedule: line 7: "@every 500ms": @every wants a duration of 1s or more, got 500ms`},
		{"schedule every negative", good + "    schedule: \"@every -5s\"\n", `sources[0].schedule: line 7: "@every -5s": @every wants a duration of 1s or more, got -5s`},
		{"schedule never fires", good + "    schedule: \"0 2 30 2 *\"\n", `sources[0].schedule: line 7: "0 2 30 2 *": never fires: no date matches it`},
		{"schedule every hour", good + "    schedule: \"@every 1h\"\n", ""},
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

// A value out of its range is a config error naming the key and its line,
// found when the config is loaded (every command) and by config check.
func TestConfigValues(t *testing.T) {
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"defaults", "", ""},
		{"log level", "log: {level: debug, format: console}\n", ""},
		{"log level in capitals", "log: {level: WARN}\n", ""},
		{"unknown log level", "log: {level: loud}\n", `log.level: line 2: want trace, debug, info, warn, error, fatal, panic, disabled, got "loud"`},
		{"unknown log format", "log:\n  level: info\n  format: xml\n", `log.format: line 4: want json or console, got "xml"`},
		{"negative shutdown timeout", "shutdown_timeout: -5s\n", "shutdown_timeout: line 2: must not be negative (0: roll back at once), got -5s"},
		{"zero shutdown timeout", "shutdown_timeout: 0s\n", ""},
		{"negative limit", "limits: {max_line_length: -1}\n", "limits.max_line_length: line 2: must be positive"},
		{"http addr without a port", "http: {addr: localhost}\n", `http.addr: line 2: want HOST:PORT (e.g. 127.0.0.1:9464), got "localhost"`},
		{"http addr, any interface", "http: {addr: \":9464\"}\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "config.yaml")
			os.WriteFile(p, []byte("ledger: l.db\n"+tt.yaml), 0o600)
			_, err := loadConfig(p, true)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error mentioning %q", err, tt.wantErr)
			}
		})
	}
}

// config check (and every command) refuses a value out of range, exit 2,
// saying where it is; a YAML syntax error is given on its own line.
func TestConfigCheckRefusesBadValues(t *testing.T) {
	tests := []struct{ name, config, want string }{
		{"log level", "ledger: l.db\nlog: {level: loud}\n",
			`enrollsftp: config config.yaml: log.level: line 2: want trace, debug, info, warn, error, fatal, panic, disabled, got "loud"` + "\n"},
		{"shutdown timeout", "ledger: l.db\nshutdown_timeout: -5s\n",
			"enrollsftp: config config.yaml: shutdown_timeout: line 2: must not be negative (0: roll back at once), got -5s\n"},
		{"a tab on line 4", "ledger: l.db\nstaging: s\nplans: p.yaml\n\tlog: {level: info}\n",
			"enrollsftp: config config.yaml: line 4: found a tab character that violates indentation\n"},
		{"a key indented too little", "ledger: l.db\nsources:\n  - name: a\n    sftp:\n      host: h\n     user: u\n",
			"enrollsftp: config config.yaml: line 6: did not find expected key\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"config.yaml": tt.config})
			code, stdout, stderr := runInProcess(t, dir, "config", "check")
			if code != exitUsage || stderr != tt.want || stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 2 and:\n%s", code, stdout, stderr, tt.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "l.db")); err == nil {
				t.Error("a ledger was created")
			}
		})
	}
}

// plansWrongValues has a mistake in most of its values.
const plansWrongValues = `employers:
  - id: ACME
    pay_frequency: DAILY
    plan_years:
      - id: ACME-2026
        start: 2026-01-01
        enrollment_start: 2025-11-01
        enrollment_end: 2025-12-15
      - {id: ACME-2027, start: 2027-01-01, end: 2027-12-31, enrollment_start: 2025-11-01, enrollment_end: 2025-10-01}
    plans:
      - code: P1
        type: PENSION
      - code: F1
        type: FSA
        limits: {individual: 3000, family: lots}
`

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
			`enrollsftp: plans p.yaml: employers[0]: line 4: unknown key "pay_frequncy" (did you mean "pay_frequency"?)` + "\n"},
		{"plans load, a wrong value", map[string]string{"p.yaml": "employers:\n  - {id: ACME, pay_frequency: DAILY}\n"},
			[]string{"plans", "load", "p.yaml"}, `enrollsftp: plans p.yaml: employers[0].pay_frequency: line 2: want WEEKLY, BIWEEKLY, SEMIMONTHLY or MONTHLY, got "DAILY"` + "\n"},
		{"plans load, every value wrong, one a line", map[string]string{"p.yaml": plansWrongValues}, []string{"plans", "load", "p.yaml"},
			"enrollsftp: plans p.yaml: 5 problems:\n" +
				`  employers[0].pay_frequency: line 3: want WEEKLY, BIWEEKLY, SEMIMONTHLY or MONTHLY, got "DAILY"` + "\n" +
				"  employers[0].plan_years[0].end: line 5: end date missing (want YYYY-MM-DD)\n" +
				"  employers[0].plan_years[1].enrollment_end: line 9: 2025-10-01 is before enrollment_start 2025-11-01\n" +
				`  employers[0].plans[0].type: line 12: want HSA, FSA, LPFSA, DCFSA, HRA or COMMUTER, got "PENSION"` + "\n" +
				`  employers[0].plans[1].limits.family: line 15: want a dollar amount, got "lots"` + "\n"},
		{"plans load, a syntax error", map[string]string{"p.yaml": "employers:\n  - id: ACME\n    pay_frequency: WEEKLY\n   plans: []\n"},
			[]string{"plans", "load", "p.yaml"}, "enrollsftp: plans p.yaml: line 4: did not find expected '-' indicator\n"},
		{"plans load, no file", nil, []string{"plans", "load", "nope.yaml"}, "enrollsftp: plans: open nope.yaml: no such file"},
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
