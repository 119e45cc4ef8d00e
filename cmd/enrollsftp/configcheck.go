package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"enrollsftp"
	"enrollsftp/enroll"
	"enrollsftp/ingest"
	"enrollsftp/internal/pgp"
	"enrollsftp/schemas"
)

// checker is the report `config check` prints: one row per fact, and the
// problems found, each named where it is found and all of them counted.
type checker struct {
	tw       *tabwriter.Writer
	problems []string // configuration problems: exit 2
	failed   []string // --connect failures that are not configuration: exit 1
}

func (r *checker) row(key, format string, args ...any) {
	fmt.Fprintf(r.tw, "  %s\t%s\n", key, fmt.Sprintf(format, args...))
}

// problem records a configuration problem of the part named by where.
func (r *checker) problem(where, format string, args ...any) {
	// A problem of several lines (a file's list of mistakes) is indented
	// under the one that names it.
	msg := strings.ReplaceAll(fmt.Sprintf(format, args...), "\n", "\n    ")
	fmt.Fprintf(r.tw, "  PROBLEM\t%s: %s\n", where, msg)
	r.problems = append(r.problems, where+": "+msg)
}

// configCheck reads the config as every command does, then opens each
// file it names (SSN key, plans, layouts, known_hosts, private keys, PGP
// keys) and prints what each source will do, so that a mistake shows at
// install time rather than at 2 a.m. Nothing is dialled without --connect.
func (a *app) configCheck(args []string) error {
	fs := flag.NewFlagSet("config check", flag.ContinueOnError)
	connect := fs.Bool("connect", false, "also connect to each SFTP source (host key verified) and look for its folders")
	if pos, err := a.parse(fs, args); err != nil {
		return err // a config that does not parse: every problem in it, exit 2
	} else if len(pos) != 0 {
		return usageErr("config check: unexpected %q", pos[0])
	}
	if err := a.needConfig(); err != nil {
		return err
	}
	r := &checker{tw: tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)}
	fmt.Fprintf(r.tw, "config %s\n", a.abs(a.cfg.file))
	r.row("ledger", "%s", a.abs(a.cfg.Ledger))
	r.row("staging", "%s", a.abs(a.cfg.Staging))
	a.checkKey(r)
	a.checkPlans(r)
	if list, err := a.loadLayouts(); err != nil {
		r.problem("layouts", "%v", err)
	} else {
		names := make([]string, len(list))
		for i, l := range list {
			names[i] = l.Name
		}
		r.row("layouts", "%s", strings.Join(names, ", "))
	}
	for i := range a.cfg.Sources {
		fmt.Fprintln(r.tw)
		a.checkSource(r, &a.cfg.Sources[i], *connect)
	}
	if err := r.tw.Flush(); err != nil {
		return err
	}
	switch {
	case len(r.problems) > 0:
		return &exitError{code: exitUsage, err: fmt.Errorf("config check: %s", countedList(r.problems))}
	case len(r.failed) > 0:
		return fmt.Errorf("config check: %s", countedList(r.failed))
	}
	fmt.Fprintf(a.stdout, "\nok: %d source(s)\n", len(a.cfg.Sources))
	return nil
}

// countedList is one item, or a count and one item a line.
func countedList(items []string) string {
	if len(items) == 1 {
		return items[0]
	}
	return fmt.Sprintf("%d problems:\n  %s", len(items), strings.Join(items, "\n  "))
}

// abs is a configured path as the commands resolve it, made absolute for
// the report; "" (not configured) stays "".
func (a *app) abs(p string) string {
	if p == "" {
		return ""
	}
	q, err := filepath.Abs(a.cfg.path(p))
	if err != nil {
		return a.cfg.path(p)
	}
	return q
}

// checkKey finds the SSN key as openLedger would, without creating one.
func (a *app) checkKey(r *checker) {
	switch {
	case os.Getenv("ENROLLSFTP_KEY") != "":
		if k, err := base64.StdEncoding.DecodeString(os.Getenv("ENROLLSFTP_KEY")); err != nil || len(k) != 32 {
			r.problem("ENROLLSFTP_KEY", "must be 32 bytes, base64-encoded")
			return
		}
		r.row("ssn key", "ENROLLSFTP_KEY")
	case a.cfg.Secrets.KeyFile != "":
		p := a.abs(a.cfg.Secrets.KeyFile)
		b, err := os.ReadFile(p)
		if err == nil {
			_, err = enroll.ParseKey(b)
		}
		if err != nil {
			r.problem("secrets.key_file", "%v", err)
			return
		}
		r.row("ssn key", "%s", p)
	default:
		p := a.abs(a.cfg.Ledger) + ".key"
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			r.row("ssn key", "%s (none yet: made at the first write; back it up)", p)
			return
		}
		if err == nil {
			_, err = enroll.ParseKey(b)
		}
		if err != nil {
			r.problem("ssn key", "%s: %v", p, err)
			return
		}
		r.row("ssn key", "%s (beside the ledger: no secrets.key_file)", p)
	}
}

// checkPlans parses the plans file that run and serve load.
func (a *app) checkPlans(r *checker) {
	if a.cfg.Plans == "" {
		r.row("plans", "none (load them with `plans load FILE`)")
		return
	}
	p := a.abs(a.cfg.Plans)
	pf, err := enroll.ReadPlans(p)
	if err != nil {
		// "plans FILE: …" or "plans: open FILE: …": the row names plans.
		msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "plans"), ":")
		r.problem("plans", "%s", strings.TrimSpace(msg))
		return
	}
	r.row("plans", "%s (%d employers)", p, len(pf.Employers))
}

// checkSource prints what a source will do and opens the files it names.
func (a *app) checkSource(r *checker, s *Source, connect bool) {
	where := "source " + s.Name
	fmt.Fprintf(r.tw, "source %s\n", s.Name)
	var ep *ingest.Endpoint
	if s.SFTP.Embedded != "" {
		dir := a.abs(s.SFTP.Embedded)
		r.row("embedded", "%s (served in process: no network)", dir)
		if fi, err := os.Stat(dir); err != nil {
			r.problem(where, "sftp.embedded: %v", err)
		} else if !fi.IsDir() {
			r.problem(where, "sftp.embedded: %s is not a folder", dir)
		}
	} else {
		ep = a.checkEndpoint(r, s, where)
	}
	r.row("inbound", "%s", s.Inbound)
	r.row("outbound", "%s", s.Outbound)
	r.row("archive", "%s", s.Archive)
	var kinds []string
	for _, ft := range []enrollsftp.FileType{enrollsftp.Census, enrollsftp.Elections} {
		t := string(ft)
		pattern, ok := s.Patterns[t]
		if !ok {
			continue // a source may send one kind only
		}
		name := s.Layouts[t]
		if name == "" {
			name = t + ".v1"
		}
		kinds = append(kinds, fmt.Sprintf("%s %s with layout %s", t, pattern, name))
		if l, err := schemas.Load(name, a.cfg.path(a.cfg.Layouts)); err != nil {
			r.problem(where, "layouts.%s: %v", t, err)
		} else if l.Type != t {
			r.problem(where, "layouts.%s: %s is a %s layout", t, name, l.Type)
		}
	}
	r.row("files", "%s", strings.Join(kinds, "; "))
	if s.Schedule == "" {
		r.row("schedule", "none: only `run` takes this source (serve refuses it)")
	} else if sched, err := cronParser.Parse(s.Schedule); err == nil {
		r.row("schedule", "%s (next %s)", s.Schedule, sched.Next(a.now()).Format(time.RFC3339))
	}
	if len(s.Employers) == 0 {
		r.row("employers", "any employer of the plans")
	} else {
		r.row("employers", "%s", strings.Join(s.Employers, ", "))
	}
	if s.MaxRejectRatio == 0 {
		r.row("max_reject_ratio", "none: a file is never held")
	} else {
		r.row("max_reject_ratio", "%g: a file with a larger share of rejected rows is HELD", s.MaxRejectRatio)
	}
	r.row("min_file_age", "%s", s.MinFileAge)
	if s.PGP != nil {
		a.checkPGP(r, s, where)
	}
	if connect && ep != nil {
		a.checkConnect(r, s, *ep, where)
	}
}

// checkEndpoint opens the known_hosts and private key files of an SFTP
// source, as the client will, and checks known_hosts lists the host.
func (a *app) checkEndpoint(r *checker, s *Source, where string) *ingest.Endpoint {
	ep := ingest.Endpoint{Host: s.SFTP.Host, Port: s.SFTP.Port, User: s.SFTP.User, Password: s.SFTP.Password,
		PrivateKey: a.abs(s.SFTP.PrivateKey), KnownHosts: a.abs(s.SFTP.KnownHosts), DialTimeout: s.SFTP.Timeout,
		Attempts: 1}
	addr := net.JoinHostPort(ep.Host, strconv.Itoa(ep.Port))
	auth := "password"
	if ep.PrivateKey != "" {
		auth = "key " + ep.PrivateKey
	}
	timeout := ep.DialTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	r.row("sftp", "%s@%s (%s; timeout %s)", ep.User, addr, auth, timeout)
	r.row("known_hosts", "%s", ep.KnownHosts)
	ok := true
	if err := knownHost(ep.KnownHosts, addr); err != nil {
		r.problem(where, "sftp.known_hosts: %v", err)
		ok = false
	}
	if ep.PrivateKey != "" {
		b, err := os.ReadFile(ep.PrivateKey)
		if err == nil {
			_, err = ssh.ParsePrivateKey(b)
		}
		var pm *ssh.PassphraseMissingError
		if errors.As(err, &pm) {
			err = errors.New("the key has a passphrase; enrollsftp needs an unencrypted key file (mode 0600)")
		}
		if err != nil {
			r.problem(where, "sftp.private_key: %v", err)
			ok = false
		}
	}
	if !ok {
		return nil // nothing to connect with
	}
	return &ep
}

// knownHost reads a known_hosts file and checks that it has a key for
// addr: without one every connection is refused.
func knownHost(path, addr string) error {
	cb, err := knownhosts.New(path)
	if err != nil {
		return err
	}
	// A key no server has: the callback then lists the keys the file
	// has for addr, or none.
	probe, err := ssh.NewPublicKey(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))
	if err != nil {
		return err
	}
	err = cb(knownhosts.Normalize(addr), &net.TCPAddr{}, probe)
	var ke *knownhosts.KeyError
	if errors.As(err, &ke) && len(ke.Want) == 0 {
		return fmt.Errorf("%s has no key for %s: every connection would be refused", path, addr)
	}
	return nil
}

// checkPGP loads the source's OpenPGP keys as run does.
func (a *app) checkPGP(r *checker, s *Source, where string) {
	c := *s.PGP
	c.DecryptKey, c.VerifyKey, c.EncryptTo = a.abs(c.DecryptKey), a.abs(c.VerifyKey), a.abs(c.EncryptTo)
	if _, err := pgp.Load(c); err != nil {
		r.problem(where, "%v", err) // pgp: …
		return
	}
	var does []string
	if c.DecryptKey != "" {
		does = append(does, "decrypt inbound .pgp/.gpg/.asc with "+c.DecryptKey)
	}
	if c.VerifyKey != "" {
		does = append(does, "require signatures by "+c.VerifyKey)
	}
	if c.EncryptTo != "" {
		does = append(does, "encrypt outputs to "+c.EncryptTo)
	}
	if c.SignOutbound {
		does = append(does, "sign outputs")
	}
	r.row("pgp", "%s", strings.Join(does, "; "))
}

// checkConnect dials the source with the client run uses (host key
// verified, one attempt) and looks for its three folders.
func (a *app) checkConnect(r *checker, s *Source, ep ingest.Endpoint, where string) {
	c, err := ingest.Dial(a.ctx, ep, a.log)
	var hk *ingest.HostKeyError
	switch {
	case errors.As(err, &hk):
		r.problem(where, "connect: %v", err) // known_hosts is the config's
		return
	case err != nil:
		fmt.Fprintf(r.tw, "  connect\tFAILED: %v\n", err)
		r.failed = append(r.failed, fmt.Sprintf("%s: connect: %v", where, err))
		return
	}
	defer c.Close()
	var missing []string
	for _, p := range []struct{ key, dir string }{{"inbound", s.Inbound}, {"outbound", s.Outbound}, {"archive", s.Archive}} {
		fi, err := c.SFTP.Stat(p.dir)
		if err == nil && !fi.IsDir() {
			err = errors.New("not a folder")
		}
		if err != nil {
			r.problem(where, "%s %s on the server: %v", p.key, p.dir, c.Explain(err))
			missing = append(missing, p.key)
		}
	}
	if len(missing) == 0 {
		r.row("connect", "ok: host key verified, logged in, inbound, outbound and archive found")
	}
}
