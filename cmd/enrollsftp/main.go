// Command enrollsftp pulls census and election files from payroll vendors,
// applies them to the enrollment ledger and writes acknowledgements back.
// This file parses the command line and wires the packages; the work is in
// ingest, validate, enroll, export and pipeline.
package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"enrollsftp"
	"enrollsftp/enroll"
	"enrollsftp/kyc"
)

// Exit codes (SPEC §8).
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2
	exitRejected = 3
)

// exitError carries an exit code with its cause.
type exitError struct {
	code  int
	err   error
	usage bool   // print the command's usage line after the message (the usage text before a command)
	help  string // or this command's help
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErr is a mistake on the command line (exit 2): the message, then
// the command's usage line.
func usageErr(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...), usage: true}
}

// configErr is a configuration that cannot work (exit 2): the command
// line was right, so no usage follows the message.
func configErr(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// notFound is a well-formed request for something that does not exist: a
// usage error (exit 2), but the usage text would not help.
func notFound(err error) error {
	return &exitError{code: exitUsage, err: err}
}

const usage = `usage: enrollsftp [--config FILE] [--ledger FILE] [--now RFC3339] [--lock-wait D] COMMAND ...

commands:
  run [--source S]
  serve [--http ADDR]
  rerun ID [--force] [--out DIR] [--type census|elections] [--layout NAME] [--by NAME] [--reason TEXT]
  process --type census|elections [--layout NAME] [--dry-run] [--out DIR] [--max-reject-ratio R] FILE
  plans load [--by NAME] [--reason TEXT] FILE
  batches [--json] [--status STATUS] [--source S] [--since DATE|TIME]
  batch show ID [--json]
  ack ID [--out DIR]
  kyc approve --person ID --reason TEXT [--by NAME]
  lookup --employer E --employee N [--json] | --person ID [--json]
  audit [--person ID | --employer E --employee N] [--batch ID] [--entity TYPE,...] [--since T] [--until T] [--json]
  report --since D --until D [--source S] [--format html|csv|json] [--out FILE]
  gen --type census|elections [--rows N] [--seed S] [--out FILE]
  config check [--connect]
  layouts [--json]
  version
  help [COMMAND]

'enrollsftp COMMAND --help' lists a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	endProfile := startProfile(os.Getenv("ENROLLSFTP_CPUPROFILE"))
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	endProfile()
	stop()
	os.Exit(code)
}

// globals are the flags every command accepts, before or after its name.
type globals struct {
	config   string
	ledger   string
	now      string
	lockWait time.Duration
}

func (g *globals) register(fs *flag.FlagSet) {
	// The current values are the defaults, so a flag given before the
	// command name survives the command's own parse.
	fs.StringVar(&g.config, "config", g.config, "config file")
	fs.StringVar(&g.ledger, "ledger", g.ledger, "ledger database (overrides the config)")
	fs.StringVar(&g.now, "now", g.now, "fixed clock, RFC 3339 or a date (its midnight UTC), for tests and replays")
	fs.DurationVar(&g.lockWait, "lock-wait", g.lockWait,
		"how long a write waits for another process's write, and run for another run or serve taking its source")
}

// app is what a command runs with.
type app struct {
	ctx      context.Context
	cmd      string // the command's name, as the lock files record it
	usageFor string // the command a usage mistake is about ("batch show"); "" before one is named
	g        globals
	cfg      *Config
	log      zerolog.Logger
	now      func() time.Time
	stdout   io.Writer
	stderr   io.Writer
	setFlags map[string]bool
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{ctx: ctx, g: globals{config: "config.yaml", lockWait: enroll.DefaultLockWait}, stdout: stdout, stderr: stderr, setFlags: map[string]bool{}}
	err := a.dispatch(args)
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK // the help asked for is printed
	}
	fmt.Fprintln(stderr, "enrollsftp:", err)
	var ee *exitError
	if !errors.As(err, &ee) {
		return exitFailure
	}
	if ee.help != "" {
		fmt.Fprint(stderr, ee.help)
	} else if ee.usage {
		fmt.Fprint(stderr, shortUsage(a.usageFor))
	}
	return ee.code
}

// shortUsage is what follows a usage mistake: the command's usage line
// and where its flags are explained, or, when no command was named (or
// one that does not exist), the usage text with every command.
func shortUsage(cmd string) string {
	syn := synopsis(cmd)
	if cmd == "" || syn == "" {
		return usage
	}
	return fmt.Sprintf("usage:\n%ssee 'enrollsftp %s --help'\n", syn, cmd)
}

func (a *app) dispatch(args []string) error {
	top := flag.NewFlagSet("enrollsftp", flag.ContinueOnError)
	top.SetOutput(io.Discard) // the usage text says it all, once
	a.g.register(top)
	if err := top.Parse(args); errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(a.stdout, usage)
		return err
	} else if err != nil {
		return usageErr("%v", err)
	}
	top.Visit(func(f *flag.Flag) { a.setFlags[f.Name] = true })
	rest := top.Args()
	if len(rest) == 0 {
		return usageErr("no command given")
	}
	cmd, rest := rest[0], rest[1:]
	a.cmd = cmd
	a.usageFor = ""
	if synopsis(cmd) != "" {
		a.usageFor = cmd
	}
	switch cmd {
	case "run":
		return a.run(rest)
	case "serve":
		return a.serve(rest)
	case "gen":
		return a.gen(rest)
	case "rerun":
		return a.rerun(rest)
	case "process":
		return a.process(rest)
	case "plans":
		if a.groupHelp(cmd, rest) {
			return nil
		}
		if len(rest) == 0 || rest[0] != "load" {
			return usageErr("plans: want 'plans load FILE'")
		}
		a.usageFor = "plans load"
		return a.plansLoad(rest[1:])
	case "batches":
		return a.batches(rest)
	case "batch":
		if a.groupHelp(cmd, rest) {
			return nil
		}
		if len(rest) == 0 || rest[0] != "show" {
			return usageErr("batch: want 'batch show ID'")
		}
		a.usageFor = "batch show"
		return a.batchShow(rest[1:])
	case "ack":
		return a.ack(rest)
	case "kyc":
		if a.groupHelp(cmd, rest) {
			return nil
		}
		if len(rest) == 0 || rest[0] != "approve" {
			return usageErr("kyc: want 'kyc approve --person ID --reason TEXT'")
		}
		a.usageFor = "kyc approve"
		return a.kycApprove(rest[1:])
	case "lookup":
		return a.lookup(rest)
	case "audit":
		return a.audit(rest)
	case "report":
		return a.report(rest)
	case "config":
		if a.groupHelp(cmd, rest) {
			return nil
		}
		if len(rest) == 0 || rest[0] != "check" {
			return usageErr("config: want 'config check [--connect]'")
		}
		a.usageFor = "config check"
		return a.configCheck(rest[1:])
	case "layouts":
		return a.layouts(rest)
	case "version":
		return a.version(rest)
	case "help":
		if len(rest) > 0 { // help CMD: that command's help
			return a.dispatch(append(rest, "--help"))
		}
		fmt.Fprint(a.stdout, usage)
		return nil
	}
	return usageErr("unknown command %q", cmd)
}

// parse parses a command's flags, which may come before, between or after
// its positional arguments, with the global flags allowed among them, and
// sets the command up (config, logger, clock).
func (a *app) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	pos, err := a.parseFlags(fs, args)
	if err != nil {
		return nil, err
	}
	return pos, a.setup()
}

// parseFlags parses a command's flags, for a command that needs no config.
func (a *app) parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	// flag would print its own list of defaults on -h and on an error;
	// the command's help, printed once, lists the same flags.
	fs.SetOutput(io.Discard)
	a.g.register(fs)
	var pos []string
	for tries := 0; tries <= len(args); tries++ {
		if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(a.stdout, commandHelp(fs))
			return nil, err
		} else if err != nil {
			return nil, &exitError{code: exitUsage, err: fmt.Errorf("%s: %v", fs.Name(), err), help: commandHelp(fs)}
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	fs.Visit(func(f *flag.Flag) { a.setFlags[f.Name] = true })
	return pos, nil
}

// setup loads the config, builds the logger and the clock.
func (a *app) setup() error {
	cfg, err := loadConfig(a.g.config, a.setFlags["config"])
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	a.cfg = cfg
	if a.g.ledger != "" {
		cfg.Ledger, _ = filepath.Abs(a.g.ledger)
	}
	a.now = time.Now
	if a.g.now != "" {
		t, err := when(a.g.now, false) // a bare date means its midnight UTC
		if err != nil {
			return usageErr("--now %q: want RFC 3339 (2026-11-15T02:00:00Z) or a date (2026-11-15)", a.g.now)
		}
		a.now = func() time.Time { return t }
	}
	if a.g.lockWait < 0 {
		return usageErr("--lock-wait: want a duration of 0 or more")
	}
	a.log = newLogger(a.stderr, cfg)
	return nil
}

func newLogger(w io.Writer, cfg *Config) zerolog.Logger {
	level, err := zerolog.ParseLevel(cfg.Log.Level)
	if err != nil || cfg.Log.Level == "" {
		level = zerolog.InfoLevel
	}
	out := w
	if f, ok := w.(*os.File); cfg.Log.Format == "console" || ok && isatty.IsTerminal(f.Fd()) {
		out = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339}
	}
	return zerolog.New(out).Level(level).With().Timestamp().Logger()
}

// openLedger opens the configured ledger for a command that writes, with
// its SSN key: ENROLLSFTP_KEY, else secrets.key_file, else a key generated
// beside the ledger. Its writes wait up to --lock-wait for another
// process's.
func (a *app) openLedger() (*enroll.Ledger, error) {
	path := a.cfg.path(a.cfg.Ledger)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("ledger folder: %w", err)
	}
	var key []byte
	var err error
	switch {
	case os.Getenv("ENROLLSFTP_KEY") != "":
		if key, err = base64.StdEncoding.DecodeString(os.Getenv("ENROLLSFTP_KEY")); err != nil || len(key) != 32 {
			return nil, configErr("ENROLLSFTP_KEY must be 32 bytes, base64-encoded")
		}
	case a.cfg.Secrets.KeyFile != "":
		b, err := os.ReadFile(a.cfg.path(a.cfg.Secrets.KeyFile))
		if err != nil {
			return nil, configErr("secrets.key_file: %v", err)
		}
		if key, err = enroll.ParseKey(b); err != nil {
			return nil, configErr("secrets.key_file: %v", err)
		}
	default:
		var created bool
		if key, created, err = enroll.LoadOrCreateKey(path + ".key"); err != nil {
			return nil, err
		}
		if created {
			a.log.Warn().Str("key_file", path+".key").
				Msg("no ENROLLSFTP_KEY or secrets.key_file: generated an SSN key beside the ledger; back it up, the SSNs cannot be read without it")
		}
	}
	keys, err := enroll.NewKeys(key)
	if err != nil {
		return nil, err
	}
	l, err := enroll.OpenWith(a.ctx, path, keys, kyc.Rules{}, enroll.Options{LockWait: a.g.lockWait, Command: a.cmd})
	if err != nil {
		return nil, err
	}
	l.Now = a.now
	return l, nil
}

// openExistingLedger opens the ledger for a command that writes to what
// is already there (rerun, kyc approve): with no ledger there is nothing to
// act on, and making one, with a new SSN key, would only hide a wrong
// --ledger or config. Exit 2, nothing created.
func (a *app) openExistingLedger() (*enroll.Ledger, error) {
	path := a.cfg.path(a.cfg.Ledger)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, notFound(fmt.Errorf("%w at %s", enroll.ErrNoLedger, path))
	}
	return a.openLedger()
}

// openLedgerReadOnly opens the configured ledger for a command that only
// reads (batches, batch show, ack, lookup): it needs no SSN key, creates
// nothing, and reads while another process writes. With no ledger there
// is nothing to show: exit 2. A ledger this version would migrate is an
// error, as the queries may name what the migrations add; any command
// that writes migrates it.
func (a *app) openLedgerReadOnly() (*enroll.Ledger, error) {
	path := a.cfg.path(a.cfg.Ledger)
	l, err := enroll.OpenWith(a.ctx, path, nil, nil, enroll.Options{ReadOnly: true})
	if errors.Is(err, enroll.ErrNoLedger) {
		return nil, notFound(err)
	}
	if err != nil {
		return nil, err
	}
	l.Now = a.now
	return l, nil
}

// fileType reads a command's --type: census or elections, and required.
func fileType(cmd, s string) (enrollsftp.FileType, error) {
	if s == "" {
		return "", usageErr("%s: --type is required: census or elections", cmd)
	}
	ft, err := enrollsftp.ParseFileType(s)
	if err != nil {
		return "", usageErr("%s: --type: %v", cmd, err)
	}
	return ft, nil
}
