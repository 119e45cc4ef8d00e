package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"

	"enrollsftp/internal/pgp"
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

	dir string // the config file's folder
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
// apply relative to the working directory.
func loadConfig(path string, explicit bool) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return defaultConfig("."), nil
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	// ${ENV} is expanded in values only, after parsing: a comment may
	// mention ${VAR} and a secret cannot break the YAML around it.
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	var missing []string
	expandNode(&root, &missing)
	if len(missing) > 0 {
		return nil, fmt.Errorf("config %s: environment variables not set: %s", path, strings.Join(missing, ", "))
	}
	c := defaultConfig(filepath.Dir(path))
	if len(root.Content) > 0 {
		var buf strings.Builder
		enc := yaml.NewEncoder(&buf)
		if err := enc.Encode(&root); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
		dec := yaml.NewDecoder(strings.NewReader(buf.String()))
		dec.KnownFields(true) // a misspelt key is an error, not a silent default
		if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := c.Validate(); err != nil {
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

// Validate names the first field that is wrong.
func (c *Config) Validate() error {
	if c.Ledger == "" {
		return errors.New("ledger: required")
	}
	switch c.Log.Format {
	case "json", "console":
	default:
		return fmt.Errorf("log.format %q: want json or console", c.Log.Format)
	}
	if c.StagingRetention <= 0 {
		return fmt.Errorf("staging_retention %s: must be positive (e.g. 720h)", c.StagingRetention)
	}
	if c.Limits.MaxFileSize <= 0 || c.Limits.MaxLineLength <= 0 {
		return errors.New("limits: max_file_size and max_line_length must be positive")
	}
	seen := map[string]bool{}
	for i := range c.Sources {
		s := &c.Sources[i]
		if s.Name == "" {
			return fmt.Errorf("sources[%d].name: required", i)
		}
		if seen[s.Name] {
			return fmt.Errorf("sources[%d].name %q: used twice", i, s.Name)
		}
		seen[s.Name] = true
		if err := s.validate(); err != nil {
			return fmt.Errorf("sources[%d] (%s).%w", i, s.Name, err)
		}
	}
	return nil
}

// cronParser accepts five fields or six with leading seconds, and CRON_TZ=.
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// validate checks a source and fills its defaults.
func (s *Source) validate() error {
	if s.Schedule != "" {
		if _, err := cronParser.Parse(s.Schedule); err != nil {
			return fmt.Errorf("schedule %q: %v", s.Schedule, err)
		}
	}
	if s.SFTP.Embedded == "" {
		switch {
		case s.SFTP.Host == "":
			return errors.New("sftp.host: required (or sftp.embedded)")
		case s.SFTP.User == "":
			return errors.New("sftp.user: required")
		case s.SFTP.KnownHosts == "":
			return errors.New("sftp.known_hosts: required: host keys are always verified")
		case s.SFTP.PrivateKey == "" && s.SFTP.Password == "":
			return errors.New("sftp: private_key or password required")
		}
		if s.SFTP.Port == 0 {
			s.SFTP.Port = 22
		}
	} else if s.SFTP.Host != "" {
		return errors.New("sftp: embedded and host are exclusive")
	}
	for field, v := range map[string]string{"inbound": s.Inbound, "outbound": s.Outbound, "archive": s.Archive} {
		if v == "" {
			return fmt.Errorf("%s: required", field)
		}
	}
	if len(s.Patterns) == 0 {
		s.Patterns = map[string]string{"census": "census_*.csv", "elections": "elections_*.csv"}
	}
	for k, p := range s.Patterns {
		if k != "census" && k != "elections" {
			return fmt.Errorf("patterns.%s: want census or elections", k)
		}
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("patterns.%s %q: %v", k, p, err)
		}
	}
	for k := range s.Layouts {
		if k != "census" && k != "elections" {
			return fmt.Errorf("layouts.%s: want census or elections", k)
		}
	}
	if s.MinFileAge < 0 {
		return errors.New("min_file_age: must not be negative")
	}
	if s.MaxRejectRatio < 0 || s.MaxRejectRatio > 1 {
		return errors.New("max_reject_ratio: want 0 to 1")
	}
	if p := s.PGP; p != nil {
		switch {
		case p.DecryptKey == "" && p.EncryptTo == "":
			return errors.New("pgp: decrypt_key or encrypt_to required")
		case p.VerifyKey != "" && p.DecryptKey == "":
			return errors.New("pgp.verify_key: needs decrypt_key (a file must be decrypted to check its signature)")
		}
	}
	return nil
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
