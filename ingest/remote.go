package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"enrollsftp"
	"enrollsftp/internal/failpoint"
)

// RemoteFile is a file found in a source's inbound folder.
type RemoteFile struct {
	Name    string
	Path    string
	Type    enrollsftp.FileType
	Size    int64
	ModTime time.Time
}

// Refusal is a remote name that is never followed, and why.
type Refusal struct {
	Name   string
	Reason string
}

// Listing is what one look at the inbound folder found.
type Listing struct {
	Ready   []RemoteFile // stable files, census before elections, each in name order
	Waiting []RemoteFile // changed within min_file_age: maybe still uploading
	Refused []Refusal
}

// inFlight reports names of uploads still in progress, by convention.
func inFlight(name string) bool {
	if strings.HasPrefix(name, ".") {
		return true
	}
	for _, s := range []string{".part", ".tmp", ".filepart"} {
		if strings.HasSuffix(strings.ToLower(name), s) {
			return true
		}
	}
	return false
}

// unsafeName reports why a remote name must not be used as a path part.
func unsafeName(name string) string {
	switch {
	case name == "" || name == "." || name == "..":
		return "not a file name"
	case strings.ContainsAny(name, `/\`):
		return "contains a path separator"
	case strings.Contains(name, ".."):
		return "contains .."
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "contains a control character"
		}
	}
	return ""
}

// Discover lists inbound and sorts its files: ready (matching a pattern and
// unchanged for minAge), waiting, or refused. A file's age is measured from
// its modification time, which any write or growth moves.
func (c *Client) Discover(inbound string, patterns map[enrollsftp.FileType]string, minAge time.Duration, now time.Time) (Listing, error) {
	var l Listing
	entries, err := c.SFTP.ReadDir(inbound)
	if err != nil {
		return l, fmt.Errorf("ingest: list %s: %w", inbound, err)
	}
	root, err := c.SFTP.RealPath(inbound)
	if err != nil {
		return l, fmt.Errorf("ingest: resolve %s: %w", inbound, err)
	}
	for _, fi := range entries {
		name := fi.Name()
		if why := unsafeName(name); why != "" {
			l.Refused = append(l.Refused, Refusal{Name: name, Reason: why})
			continue
		}
		if inFlight(name) {
			continue
		}
		typ, ok := match(name, patterns)
		if !ok {
			continue
		}
		p := path.Join(inbound, name)
		if fi.Mode()&os.ModeSymlink != 0 {
			inside := strings.TrimSuffix(root, "/") + "/"
			target, err := c.SFTP.RealPath(p)
			if err == nil && strings.HasPrefix(target, inside) {
				// Not every server's realpath follows links (pkg/sftp's only
				// cleans the path): follow them here too.
				target, err = c.linkTarget(p)
			}
			if err != nil || !strings.HasPrefix(target, inside) {
				l.Refused = append(l.Refused, Refusal{Name: name, Reason: "symlink leading outside inbound"})
				continue
			}
			if fi, err = c.SFTP.Stat(p); err != nil {
				l.Refused = append(l.Refused, Refusal{Name: name, Reason: "symlink target unreadable"})
				continue
			}
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		f := RemoteFile{Name: name, Path: p, Type: typ, Size: fi.Size(), ModTime: fi.ModTime()}
		if minAge > 0 && now.Sub(f.ModTime) < minAge {
			l.Waiting = append(l.Waiting, f)
			continue
		}
		l.Ready = append(l.Ready, f)
	}
	sort.Slice(l.Ready, func(i, j int) bool {
		a, b := l.Ready[i], l.Ready[j]
		if a.Type != b.Type {
			return a.Type == enrollsftp.Census
		}
		return a.Name < b.Name
	})
	return l, nil
}

// maxLinks bounds a chain of symlinks followed by linkTarget.
const maxLinks = 8

// linkTarget follows the symlink p, and any link it leads to, by reading
// each link, and returns the path it ends at. A target that does not exist
// ends the walk: the caller's Stat reports it.
func (c *Client) linkTarget(p string) (string, error) {
	for range maxLinks {
		t, err := c.SFTP.ReadLink(p)
		if err != nil {
			return "", err
		}
		if !path.IsAbs(t) {
			t = path.Join(path.Dir(p), t)
		}
		p = t
		fi, err := c.SFTP.Lstat(p)
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			return c.SFTP.RealPath(p)
		}
	}
	return "", fmt.Errorf("more than %d symlinks", maxLinks)
}

// match finds the file type whose pattern matches name.
func match(name string, patterns map[enrollsftp.FileType]string) (enrollsftp.FileType, bool) {
	for _, t := range []enrollsftp.FileType{enrollsftp.Census, enrollsftp.Elections} {
		if p, ok := patterns[t]; ok && p != "" {
			if m, _ := path.Match(p, name); m {
				return t, true
			}
		}
	}
	return "", false
}

// Staged is a downloaded file.
type Staged struct {
	Path   string
	SHA256 string
	Size   int64
}

// Download copies f into dir (mode 0600), hashing while it streams. The
// bytes received must equal the remote size before and after the copy, or
// the download fails and nothing is kept: a partial file is never processed.
func (c *Client) Download(ctx context.Context, f RemoteFile, dir string) (Staged, error) {
	if err := ctx.Err(); err != nil {
		return Staged{}, fmt.Errorf("ingest: download %s: %w", f.Path, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Staged{}, fmt.Errorf("ingest: staging: %w", err)
	}
	rf, err := c.SFTP.Open(f.Path)
	if err != nil {
		return Staged{}, fmt.Errorf("ingest: open %s: %w", f.Path, err)
	}
	defer rf.Close()
	before, err := rf.Stat()
	if err != nil {
		return Staged{}, fmt.Errorf("ingest: stat %s: %w", f.Path, err)
	}
	tmp, err := os.CreateTemp(dir, ".download-*") // CreateTemp makes it 0600
	if err != nil {
		return Staged{}, fmt.Errorf("ingest: staging: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	h := sha256.New()
	// WriteTo issues concurrent reads and writes in order. It holds the
	// file's lock throughout, so closing the file cannot stop it: a cancel
	// fails the next write instead.
	n, err := rf.WriteTo(ctxWriter{ctx, io.MultiWriter(tmp, h, failAfterFirstWrite{})})
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Staged{}, fmt.Errorf("ingest: download %s: %w", f.Path, err)
	}
	after, err := c.SFTP.Stat(f.Path)
	if err != nil {
		return Staged{}, fmt.Errorf("ingest: stat %s: %w", f.Path, err)
	}
	if n != before.Size() || after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) {
		return Staged{}, fmt.Errorf("ingest: download %s: got %d bytes, remote had %d then %d: the file changed or the transfer broke",
			f.Path, n, before.Size(), after.Size())
	}
	sum := hex.EncodeToString(h.Sum(nil))
	final := filepath.Join(dir, sum[:16]+"-"+f.Name)
	if err := os.Rename(tmp.Name(), final); err != nil {
		return Staged{}, fmt.Errorf("ingest: staging: %w", err)
	}
	return Staged{Path: final, SHA256: sum, Size: n}, nil
}

// Hash reads a remote file to its SHA-256 without keeping it: for a file
// too large to stage, which is rejected but still deduplicated and acked.
func (c *Client) Hash(ctx context.Context, f RemoteFile) (string, int64, error) {
	rf, err := c.SFTP.Open(f.Path)
	if err != nil {
		return "", 0, fmt.Errorf("ingest: open %s: %w", f.Path, err)
	}
	defer rf.Close()
	h := sha256.New()
	n, err := rf.WriteTo(ctxWriter{ctx, h})
	if err != nil {
		return "", 0, fmt.Errorf("ingest: read %s: %w", f.Path, err)
	}
	if n != f.Size {
		return "", 0, fmt.Errorf("ingest: read %s: got %d bytes, listed %d: the file changed", f.Path, n, f.Size)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// failAfterFirstWrite arms the mid-download failpoint once bytes are staged.
type failAfterFirstWrite struct{}

func (failAfterFirstWrite) Write(p []byte) (int, error) {
	failpoint.Hit(failpoint.MidDownload)
	return len(p), nil
}

// ctxWriter fails its writes once ctx is done: File.WriteTo holds the
// file's lock until it returns, so closing the file does not stop it.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (w ctxWriter) Write(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	return w.w.Write(p)
}
