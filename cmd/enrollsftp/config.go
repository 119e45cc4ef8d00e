package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"

	"enrollsftp/internal/pgp"
	"enrollsftp/internal/yamlcheck"
	"enrollsftp/pipeline"
)

// Config is config.yaml (SPEC §7). Relative paths are relative to the
// config file's folder; ${ENV} references are expanded before parsing.
type Config struct {
	Ledger  string `yaml:"ledger"`
	Staging string `yaml:"staging"`
	Plans   string `yaml:"plans"`
	Layouts string `yaml:"layouts"` // folder of operator layouts; default "schemas"
	// StagingRetention is how long the staged copy of an APPLIED batch is
	// kept (it holds the file's SSNs, encrypted); FAILED, REJECTED and
	// HELD copies stay until a rerun supersedes them.
	StagingRetention time.Duration `yaml:"staging_retention"`
	// ShutdownTimeout is how long serve lets a file in progress finish on
	// SIGTERM before rolling it back.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	Log             struct {
		Level  string `yaml:"level"`
		Format string `yaml:"format"`
	} `yaml:"log"`
	HTTP struct {
		Addr string `yaml:"addr"`
	} `yaml:"http"`
	Secrets struct {
		KeyFile string `yaml:"key_file"`
	} `yaml:"secrets"`
	Sources []Source `yaml:"sources"`
	// Limits protect the daemon from hostile or broken files.
	Limits struct {
		MaxFileSize   int64 `yaml:"max_file_size"`   // bytes; larger files are rejected FILE_TOO_LARGE unread
		MaxLineLength int   `yaml:"max_line_length"` // bytes; a longer line rejects the file LINE_TOO_LONG
	} `yaml:"limits"`

	dir  string // the config file's folder
	file string // the file read; "" when there was none and the defaults apply
}

// Source is one SFTP source.
type Source struct {
	Name     string `yaml:"name"`
	Schedule string `yaml:"schedule"`
	SFTP     struct {
		Host       string `yaml:"host"`
		Port       int    `yaml:"port"`
		User       string `yaml:"user"`
		PrivateKey string `yaml:"private_key"`
		Password   string `yaml:"password"`
		KnownHosts string `yaml:"known_hosts"`
		Embedded   string `yaml:"embedded"`
		// Timeout bounds the TCP connect, the SSH handshake and how long an
		// SFTP request may go unanswered before the connection is cut (default 10s).
		Timeout time.Duration `yaml:"timeout"`
	} `yaml:"sftp"`
	Inbound        string            `yaml:"inbound"`
	Outbound       string            `yaml:"outbound"`
	Archive        string            `yaml:"archive"`
	Patterns       map[string]string `yaml:"patterns"`
	Layouts        map[string]string `yaml:"layouts"`
	MinFileAge     time.Duration     `yaml:"min_file_age"`
	MaxRejectRatio float64           `yaml:"max_reject_ratio"`
	Employers      []string          `yaml:"employers"`
	// PGP: decrypt inbound .pgp/.gpg/.asc files, check the vendor's
	// signature, encrypt (and sign) what goes back. Absent: none of it.
	PGP *pgp.Config `yaml:"pgp"`
}

func defaultConfig(dir string) *Config {
	c := &Config{Ledger: "var/ledger.db", Staging: "var/staging", Layouts: "schemas",
		ShutdownTimeout: 30 * time.Second, StagingRetention: pipeline.DefaultStagingRetention, dir: dir}
	c.Log.Level, c.Log.Format = "info", "json"
	c.HTTP.Addr = "127.0.0.1:9464"
	c.Limits.MaxFileSize, c.Limits.MaxLineLength = 1<<30, 1<<20
	return c
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// loadConfig reads path. A missing file is an error only when the operator
// named it; the default ./config.yaml may be absent, and then the defaults
// apply relative to the working directory (Config.file stays empty, for
// the commands that cannot do without a config to say so).
func loadConfig(path string, explicit bool) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return defaultConfig("."), nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		abs, _ := filepath.Abs(path)
		return nil, fmt.Errorf("config: no config file at %s (given by --config)", abs)
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	// ${ENV} is expanded in values only, after parsing: a comment may
	// mention ${VAR} and a secret cannot break the YAML around it.
	// A syntax error is given on the line it is on (yaml.v3's own number
	// is often the line before).
	root, err := yamlcheck.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	var missing []string
	expandNode(root, &missing)
	if len(missing) > 0 {
		return nil, fmt.Errorf("config %s: environment variables not set: %s", path, strings.Join(missing, ", "))
	}
	c := defaultConfig(filepath.Dir(path))
	c.file = path
	// The nodes keep the file's own lines (comments and blank lines
	// counted), and yamlcheck names a misspelt key or a wrong type by
	// where it is in the config: every problem, not only the first.
	if err := yamlcheck.Decode(root, c); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		var errs yamlcheck.Errors
		if errors.As(err, &errs) {
			lines := yamlcheck.Lines(root)
			for _, e := range errs {
				e.Line = yamlcheck.LineOf(lines, e.Path)
			}
		}
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

func expandNode(n *yaml.Node, missing *[]string) {
	if n.Kind == yaml.ScalarNode {
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(m string) string {
			name := envRef.FindStringSubmatch(m)[1]
			v, ok := os.LookupEnv(name)
			if !ok {
				*missing = append(*missing, name)
			}
			return v
		})
	}
	for _, c := range n.Content {
		expandNode(c, missing)
	}
}

// problems collects what Validate finds, each named by its config path.
type problems yamlcheck.Errors

func (p *problems) add(path, format string, args ...any) {
	*p = append(*p, &yamlcheck.Error{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return yamlcheck.Errors(p)
}

// Validate names every field that is wrong by its path in the config
// (a yamlcheck.Errors), and fills the sources' defaults.
func (c *Config) Validate() error {
	var p problems
	if c.Ledger == "" {
		p.add("ledger", "required")
	}
	switch c.Log.Format {
	case "json", "console":
	default:
		p.add("log.format", "want json or console, got %q", c.Log.Format)
	}
	if c.Log.Level != "" && !slices.ContainsFunc(logLevels, func(l string) bool { return strings.EqualFold(l, c.Log.Level) }) {
		p.add("log.level", "want %s, got %q", strings.Join(logLevels, ", "), c.Log.Level)
	}
	if c.HTTP.Addr != "" {
		if _, port, err := net.SplitHostPort(c.HTTP.Addr); err != nil || port == "" {
			p.add("http.addr", "want HOST:PORT (e.g. 127.0.0.1:9464), got %q", c.HTTP.Addr)
		}
	}
	if c.StagingRetention <= 0 {
		p.add("staging_retention", "must be positive (e.g. 720h), got %s", c.StagingRetention)
	}
	if c.ShutdownTimeout < 0 {
		p.add("shutdown_timeout", "must not be negative (0: roll back at once), got %s", c.ShutdownTimeout)
	}
	if c.Limits.MaxFileSize <= 0 {
		p.add("limits.max_file_size", "must be positive")
	}
	if c.Limits.MaxLineLength <= 0 {
		p.add("limits.max_line_length", "must be positive")
	}
	seen := map[string]int{}
	for i := range c.Sources {
		s := &c.Sources[i]
		at := fmt.Sprintf("sources[%d]", i)
		if s.Name == "" {
			p.add(at+".name", "required")
		} else if j, ok := seen[s.Name]; ok {
			p.add(at+".name", "%q is also the name of sources[%d]", s.Name, j)
		} else {
			seen[s.Name] = i
		}
		s.validate(at, &p)
	}
	return p.err()
}

// logLevels are the levels zerolog knows, by the names it gives them (in
// any case; "" is info).
var logLevels = []string{"trace", "debug", "info", "warn", "error", "fatal", "panic", "disabled"}

// cronParser accepts five fields or six with leading seconds, and CRON_TZ=.
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// validate checks the source at path at (sources[i]) and fills its
// defaults.
func (s *Source) validate(at string, p *problems) {
	if s.Schedule != "" {
		if err := checkSchedule(s.Schedule); err != nil {
			p.add(at+".schedule", "%q: %v", s.Schedule, err)
		}
	}
	if s.SFTP.Embedded == "" {
		if s.SFTP.Host == "" {
			p.add(at+".sftp.host", "required (or sftp.embedded)")
		}
		if s.SFTP.User == "" {
			p.add(at+".sftp.user", "required")
		}
		if s.SFTP.KnownHosts == "" {
			p.add(at+".sftp.known_hosts", "required: host keys are always verified")
		}
		if s.SFTP.PrivateKey == "" && s.SFTP.Password == "" {
			p.add(at+".sftp", "private_key or password required")
		}
		if s.SFTP.Port == 0 {
			s.SFTP.Port = 22
		}
		if s.SFTP.Port < 0 || s.SFTP.Port > 65535 {
			p.add(at+".sftp.port", "want 1 to 65535, got %d", s.SFTP.Port)
		}
		if s.SFTP.Timeout < 0 {
			p.add(at+".sftp.timeout", "must not be negative (0: the default, 10s), got %s", s.SFTP.Timeout)
		}
	} else if s.SFTP.Host != "" {
		p.add(at+".sftp", "embedded and host are exclusive")
	}
	for _, f := range []struct{ key, v string }{{"inbound", s.Inbound}, {"outbound", s.Outbound}, {"archive", s.Archive}} {
		if f.v == "" {
			p.add(at+"."+f.key, "required")
		}
	}
	if len(s.Patterns) == 0 {
		s.Patterns = map[string]string{"census": "census_*.csv", "elections": "elections_*.csv"}
	}
	for _, k := range sortedKeys(s.Patterns) {
		if k != "census" && k != "elections" {
			p.add(at+".patterns."+k, "want census or elections")
		} else if _, err := path.Match(s.Patterns[k], ""); err != nil {
			p.add(at+".patterns."+k, "%q: %v", s.Patterns[k], err)
		}
	}
	for _, k := range sortedKeys(s.Layouts) {
		if k != "census" && k != "elections" {
			p.add(at+".layouts."+k, "want census or elections")
		}
	}
	if s.MinFileAge < 0 {
		p.add(at+".min_file_age", "must not be negative, got %s", s.MinFileAge)
	}
	if s.MaxRejectRatio < 0 || s.MaxRejectRatio > 1 {
		p.add(at+".max_reject_ratio", "want 0 to 1, got %g", s.MaxRejectRatio)
	}
	if g := s.PGP; g != nil {
		if g.DecryptKey == "" && g.EncryptTo == "" {
			p.add(at+".pgp", "decrypt_key or encrypt_to required")
		}
		if g.VerifyKey != "" && g.DecryptKey == "" {
			p.add(at+".pgp.verify_key", "needs decrypt_key (a file must be decrypted to check its signature)")
		}
	}
}

// checkSchedule parses a cron schedule as serve will, and refuses one that
// robfig/cron would quietly change or that never fires: "@every" less
// than a second (cron runs it every second) and a date no year has (30 2:
// the 30th of February).
func checkSchedule(spec string) error {
	sched, err := cronParser.Parse(spec)
	if err != nil {
		return err
	}
	if every, ok := strings.CutPrefix(strings.TrimSpace(spec), "@every "); ok {
		if d, err := time.ParseDuration(strings.TrimSpace(every)); err == nil && d < time.Second {
			return fmt.Errorf("@every wants a duration of 1s or more, got %s", d)
		}
	}
	if sched.Next(time.Now()).IsZero() {
		return errors.New("never fires: no date matches it")
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// path resolves a configured path against the config file's folder.
//
// The result is absolute: paths the ledger records (staged copies) must
// mean the same file to a later command run from another folder.
func (c *Config) path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	if abs, err := filepath.Abs(filepath.Join(c.dir, p)); err == nil {
		return abs
	}
	return filepath.Join(c.dir, p)
}
