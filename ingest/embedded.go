package ingest

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"

	"github.com/pkg/sftp"
	"github.com/rs/zerolog"
	"golang.org/x/crypto/ssh"
)

// Embedded is an SFTP server in this process, on 127.0.0.1 and a random
// port, serving one folder: the demo source that makes `enrollsftp run`
// work on a fresh machine, and the unit tests' server. Its host key and
// the one client key it accepts are made at start and pinned in the
// Endpoint, so the demo goes through the same verifying client as a real
// source.
type Embedded struct {
	Endpoint Endpoint
	Root     string
	ln       net.Listener
	wg       sync.WaitGroup
	log      zerolog.Logger
}

// StartEmbedded serves root until Close. Remote paths are relative to root
// (a leading "/" is dropped by the caller: see ServedPath).
func StartEmbedded(root string, log zerolog.Logger) (*Embedded, error) {
	root, err := filepath.Abs(root) // pkg/sftp roots a relative working directory at "/"
	if err != nil {
		return nil, err
	}
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		return nil, err
	}
	_, clientPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	clientSigner, err := ssh.NewSignerFromKey(clientPriv)
	if err != nil {
		return nil, err
	}
	allowed := clientSigner.PublicKey().Marshal()
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if string(key.Marshal()) == string(allowed) {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		},
	}
	cfg.AddHostKey(hostSigner)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("ingest: embedded server: %w", err)
	}
	e := &Embedded{Root: root, ln: ln, log: log}
	e.Endpoint = Endpoint{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, User: "demo",
		Signer: clientSigner, HostKey: hostSigner.PublicKey(), KeepAlive: -1}
	e.wg.Add(1)
	go e.accept(cfg)
	return e, nil
}

// Close stops the server and waits for its sessions to end.
func (e *Embedded) Close() error {
	err := e.ln.Close()
	e.wg.Wait()
	return err
}

func (e *Embedded) accept(cfg *ssh.ServerConfig) {
	defer e.wg.Done()
	for {
		conn, err := e.ln.Accept()
		if err != nil {
			return // closed
		}
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			e.serve(conn, cfg)
		}()
	}
}

func (e *Embedded) serve(conn net.Conn, cfg *ssh.ServerConfig) {
	defer conn.Close()
	sc, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, requests, err := nc.Accept()
		if err != nil {
			return
		}
		go func() {
			for req := range requests {
				ok := req.Type == "subsystem" && len(req.Payload) > 4 && string(req.Payload[4:]) == "sftp"
				req.Reply(ok, nil)
				if ok {
					srv, err := sftp.NewServer(ch, sftp.WithServerWorkingDirectory(e.Root))
					if err == nil {
						if err := srv.Serve(); err != nil && !errors.Is(err, io.EOF) {
							e.log.Debug().Err(err).Msg("embedded sftp session ended")
						}
					}
					ch.Close()
					return
				}
			}
		}()
	}
}

// ServedPath maps a configured folder ("/inbound") onto the embedded
// server, whose paths are relative to the served root.
func ServedPath(p string) string {
	for len(p) > 0 && p[0] == '/' {
		p = p[1:]
	}
	if p == "" {
		return "."
	}
	return p
}

// SeedOnce copies the folder seed into work unless work exists already: the
// demo runs on a working copy, and the repository's testdata is never
// modified. Files are copied 0600, folders 0700.
func SeedOnce(seed, work string) error {
	if _, err := os.Stat(work); err == nil {
		return nil
	}
	tmp := work + ".seeding"
	os.RemoveAll(tmp)
	err := filepath.WalkDir(seed, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(seed, p)
		dst := filepath.Join(tmp, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o600)
	})
	if err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("ingest: seed %s: %w", seed, err)
	}
	return os.Rename(tmp, work)
}
