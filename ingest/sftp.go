package ingest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/pkg/sftp"
	"github.com/rs/zerolog"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"enrollsftp/internal/atrest"
)

// Endpoint says how to reach an SFTP server and how to trust it. Host keys
// are always verified: through a known_hosts file, or a key pinned in
// process (the embedded demo server). There is no way to skip the check.
type Endpoint struct {
	Host       string
	Port       int
	User       string
	PrivateKey string     // path to a private key file
	Signer     ssh.Signer // or a key in memory
	Password   string
	KnownHosts string        // path to a known_hosts file
	HostKey    ssh.PublicKey // or a pinned host key

	DialTimeout time.Duration // default 10s; also how long a waiting SFTP request may hear nothing
	KeepAlive   time.Duration // default 30s; <0 disables
	Attempts    int           // dial attempts for transient errors; default 4
	Backoff     time.Duration // first wait between attempts, doubled each time; default 500ms
	// Progress, when set, is called whenever the server sends something:
	// the daemon's sign of life for a run in progress.
	Progress func()
}

// HostKeyError is returned when the server's host key is unknown or does
// not match: the connection is refused, never trusted on first use.
type HostKeyError struct {
	Host        string
	Fingerprint string // SHA256:… of the key the server offered
	Err         error
}

func (e *HostKeyError) Error() string {
	var ke *knownhosts.KeyError
	what := "is not verified"
	if errors.As(e.Err, &ke) {
		if len(ke.Want) == 0 {
			what = "is unknown (not in known_hosts)"
		} else {
			what = "does not match known_hosts (possible man-in-the-middle)"
		}
	}
	return fmt.Sprintf("ingest: host key %s of %s %s", e.Fingerprint, e.Host, what)
}

func (e *HostKeyError) Unwrap() error { return e.Err }

// Client is a connected SFTP client. Every SFTP request it makes is
// watched: a server that leaves one unanswered for the timeout has its
// connection closed, so no call on SFTP blocks for longer than that; and a
// download ends at once when its context is cancelled.
type Client struct {
	SFTP *sftp.Client
	// MaxFileSize stops a download that passes it (0: no limit).
	MaxFileSize int64
	// AtRest encrypts what Download stages (the pipeline always sets it:
	// a staged copy holds a whole file's SSNs); nil stages plaintext.
	AtRest *atrest.Key
	ssh    *ssh.Client
	wd     *watchdog
	stop   chan struct{}
	once   sync.Once
}

// Close ends the session.
func (c *Client) Close() error {
	c.once.Do(func() { close(c.stop) })
	// The connection goes first: pkg/sftp's Close waits for the server to
	// end its stream, which a stuck server never does.
	err := c.ssh.Close()
	c.SFTP.Close()
	c.wd.close()
	return err
}

// Explain turns the error of a call on SFTP into why it really failed when
// the watchdog closed the connection under it: a stalled server.
func (c *Client) Explain(err error) error {
	if err == nil || !c.wd.stalled() {
		return err
	}
	return fmt.Errorf("%w (%v)", &StallError{c.wd.timeout}, err)
}

// Broken reports whether the connection is gone (a stall, a cancelled
// transfer, the server closing it): nothing more can be done on it.
func (c *Client) Broken() bool {
	if c.wd.stalled() {
		return true
	}
	_, err := c.SFTP.Getwd()
	return err != nil
}

// AbortOn closes the connection when ctx ends, until the returned stop is
// called: pkg/sftp calls take no context, and a listing, upload or
// transfer in progress must still end on SIGTERM.
func (c *Client) AbortOn(ctx context.Context) (stop func() bool) {
	return c.abortOn(ctx)
}

func (c *Client) abortOn(ctx context.Context) (stop func() bool) {
	return context.AfterFunc(ctx, func() { c.ssh.Close() })
}

func (ep *Endpoint) clientConfig() (*ssh.ClientConfig, error) {
	cfg := &ssh.ClientConfig{User: ep.User, Timeout: ep.DialTimeout}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	signer := ep.Signer
	if ep.PrivateKey != "" {
		pem, err := os.ReadFile(ep.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("ingest: private key: %w", err)
		}
		if signer, err = ssh.ParsePrivateKey(pem); err != nil {
			return nil, fmt.Errorf("ingest: private key %s: %w", ep.PrivateKey, err)
		}
	}
	if signer != nil {
		cfg.Auth = append(cfg.Auth, ssh.PublicKeys(signer))
	}
	if ep.Password != "" {
		cfg.Auth = append(cfg.Auth, ssh.Password(ep.Password))
	}
	if len(cfg.Auth) == 0 {
		return nil, errors.New("ingest: no private key or password")
	}
	var verify ssh.HostKeyCallback
	switch {
	case ep.HostKey != nil:
		verify = ssh.FixedHostKey(ep.HostKey)
		cfg.HostKeyAlgorithms = []string{ep.HostKey.Type()}
	case ep.KnownHosts != "":
		cb, err := knownhosts.New(ep.KnownHosts)
		if err != nil {
			return nil, fmt.Errorf("ingest: known_hosts: %w", err)
		}
		verify = cb
		// Ask the server for a key type known_hosts has for it, as OpenSSH
		// does: otherwise a server with an ECDSA and an Ed25519 key, listed
		// by its Ed25519 key only, offers ECDSA and is refused as a mismatch.
		cfg.HostKeyAlgorithms = knownAlgorithms(cb, ep.Host, ep.Port)
	default:
		return nil, errors.New("ingest: known_hosts is required: host keys are always verified")
	}
	cfg.HostKeyCallback = func(host string, remote net.Addr, key ssh.PublicKey) error {
		if err := verify(host, remote, key); err != nil {
			return &HostKeyError{Host: host, Fingerprint: ssh.FingerprintSHA256(key), Err: err}
		}
		return nil
	}
	return cfg, nil
}

// Dial connects, retrying transient failures (refused, reset, timeout)
// with bounded exponential backoff. Authentication and host key failures
// are not retried: they will not fix themselves.
func Dial(ctx context.Context, ep Endpoint, log zerolog.Logger) (*Client, error) {
	cfg, err := ep.clientConfig()
	if err != nil {
		return nil, err
	}
	attempts, wait := ep.Attempts, ep.Backoff
	if attempts <= 0 {
		attempts = 4
	}
	if wait <= 0 {
		wait = 500 * time.Millisecond
	}
	addr := net.JoinHostPort(ep.Host, strconv.Itoa(ep.Port))
	for i := 1; ; i++ {
		c, err := dialOnce(ctx, addr, cfg, ep.KeepAlive, ep.Progress)
		if err == nil {
			return c, nil
		}
		if i >= attempts || !Transient(err) {
			return nil, fmt.Errorf("ingest: connect %s (attempt %d of %d): %w", addr, i, attempts, err)
		}
		log.Warn().Err(err).Str("addr", addr).Int("attempt", i).Dur("retry_in", wait).Msg("sftp connect failed, retrying")
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

func dialOnce(ctx context.Context, addr string, cfg *ssh.ClientConfig, keepAlive time.Duration, progress func()) (*Client, error) {
	d := net.Dialer{Timeout: cfg.Timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	// The handshake gets the same deadline: a server that accepts and never
	// answers must not hang the run.
	_ = conn.SetDeadline(time.Now().Add(cfg.Timeout))
	sc, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	sshc := ssh.NewClient(sc, chans, reqs)
	c := &Client{ssh: sshc, stop: make(chan struct{})}
	c.wd = newWatchdog(cfg.Timeout, func() { sshc.Close() }, progress)
	go c.wd.run()
	stop := c.abortOn(ctx)
	c.SFTP, err = c.subsystem()
	stop()
	if err != nil {
		c.once.Do(func() { close(c.stop) })
		c.wd.close()
		sshc.Close()
		return nil, fmt.Errorf("sftp subsystem: %w", c.Explain(err))
	}
	if keepAlive == 0 {
		keepAlive = 30 * time.Second
	}
	if keepAlive > 0 {
		go c.keepAlive(keepAlive)
	}
	return c, nil
}

// subsystem starts the SFTP session as sftp.NewClient does, but with its
// streams watched: opening the channel counts as a request waiting, and so
// does the SFTP version exchange, so a server that accepts the connection
// and never starts SFTP (a subsystem that does not answer) fails within the
// timeout.
func (c *Client) subsystem() (*sftp.Client, error) {
	c.wd.requests(1) // the session and subsystem requests
	s, err := c.ssh.NewSession()
	if err != nil {
		return nil, err
	}
	pw, err := s.StdinPipe()
	if err != nil {
		return nil, err
	}
	pr, err := s.StdoutPipe()
	if err != nil {
		return nil, err
	}
	perr, err := s.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := s.RequestSubsystem("sftp"); err != nil {
		return nil, err
	}
	c.wd.received(1, false)
	go func() { _, _ = io.Copy(io.Discard, perr) }() // the server's messages: unread, they would fill the window
	return sftp.NewClientPipe(&watchedReader{r: pr, w: c.wd}, &watchedWriter{wc: pw, w: c.wd})
}

// keepAlive pings the server so idle NAT and firewalls keep the session,
// and closes it when the server stops answering.
func (c *Client) keepAlive(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			// A server that stops answering would block SendRequest forever:
			// no reply within one interval closes the connection, which fails
			// the transfer in progress instead of hanging the run.
			replied := make(chan error, 1)
			go func() {
				_, _, err := c.ssh.SendRequest("keepalive@openssh.com", true, nil)
				replied <- err
			}()
			select {
			case err := <-replied:
				if err != nil {
					c.ssh.Close()
					return
				}
			case <-time.After(every):
				c.ssh.Close()
				return
			case <-c.stop:
				return
			}
		}
	}
}

// Transient reports whether a connection error may go away on retry.
func Transient(err error) bool {
	var hk *HostKeyError
	if errors.As(err, &hk) {
		return false
	}
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, sftp.ErrSSHFxConnectionLost), errors.Is(err, os.ErrDeadlineExceeded):
		return true
	case errors.As(err, new(*StallError)):
		return true
	case errors.As(err, &ne) && ne.Timeout():
		return true
	}
	return false
}

// knownAlgorithms lists the host key algorithms known_hosts holds keys of
// for host:port (nil when it holds none: the check then fails closed).
// The callback is asked about a throwaway key; its KeyError lists the keys
// the file wants for the host.
func knownAlgorithms(cb ssh.HostKeyCallback, host string, port int) []string {
	_, probe, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil
	}
	signer, err := ssh.NewSignerFromKey(probe)
	if err != nil {
		return nil
	}
	addr := &net.TCPAddr{IP: net.ParseIP(host), Port: port}
	var ke *knownhosts.KeyError
	if err := cb(knownhosts.Normalize(net.JoinHostPort(host, strconv.Itoa(port))), addr, signer.PublicKey()); !errors.As(err, &ke) {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	for _, k := range ke.Want {
		types := []string{k.Key.Type()}
		if k.Key.Type() == ssh.KeyAlgoRSA { // one RSA key signs with any of these
			types = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
		}
		for _, t := range types {
			if !seen[t] {
				seen[t] = true
				algos = append(algos, t)
			}
		}
	}
	return algos
}
