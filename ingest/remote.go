package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
	"enrollsftp/internal/pgp"
)

// RemoteFile is a file found in a source's inbound folder.
type RemoteFile struct {
	Name    string
	Path    string
	Type    enrollsftp.FileType
	Size    int64
	ModTime time.Time
	// Encrypted is a name ending .pgp, .gpg or .asc: the file is OpenPGP and
	// its pattern matched the name without that suffix.
	Encrypted bool
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
// its modification time, which any write or growth moves. With decrypts
// (the source has an OpenPGP key), a name ending .pgp, .gpg or .asc is an
// encrypted file whose name without the suffix is matched.
func (c *Client) Discover(inbound string, patterns map[enrollsftp.FileType]string, minAge time.Duration, now time.Time, decrypts bool) (Listing, error) {
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
		typ, enc, ok := match(name, patterns, decrypts)
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
		f := RemoteFile{Name: name, Path: p, Type: typ, Size: fi.Size(), ModTime: fi.ModTime(), Encrypted: enc}
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

// match finds the file type whose pattern matches name. With decrypts, an
// OpenPGP name is matched without its suffix (census_*.csv takes
// census_1.csv.pgp) and reported encrypted.
func match(name string, patterns map[enrollsftp.FileType]string, decrypts bool) (typ enrollsftp.FileType, encrypted, ok bool) {
	if decrypts {
		name, encrypted = pgp.Plain(name)
	}
	for _, t := range []enrollsftp.FileType{enrollsftp.Census, enrollsftp.Elections} {
		if p := patterns[t]; p != "" {
			if m, _ := path.Match(p, name); m {
				return t, encrypted, true
			}
		}
	}
	return "", false, false
}

// Staged is a downloaded file.
type Staged struct {
	Path   string
	SHA256 string // of the bytes received
	Size   int64  // bytes received
	// PlainSHA256 is the hash of the staged copy when a Decoder wrote it
	// (the plaintext of an encrypted file); empty when it is the bytes
	// received.
	PlainSHA256 string
	// Fault is why the Decoder refused bytes that arrived whole (a file
	// that cannot be decrypted, a bad signature): the file is rejected with
	// it. Path is then the received bytes, staged as they came.
	Fault *enrollsftp.Error
}

// Decoder turns the bytes received into the bytes staged while they
// stream (OpenPGP decryption). Its error is an *enrollsftp.Error when the
// file is at fault.
type Decoder func(dst io.Writer, src io.Reader) error

// Download copies f into dir (mode 0600), hashing while it streams. The
// bytes received must equal the remote size before and after the copy, or
// the download fails and nothing is kept: a partial file is never processed.
func (c *Client) Download(ctx context.Context, f RemoteFile, dir string) (Staged, error) {
	return c.DownloadDecoded(ctx, f, dir, nil)
}

// DownloadDecoded is Download with decode (when not nil) applied while the
// bytes stream in: what is staged is decode's output, under the name
// without its OpenPGP suffix; the hash recorded is still the received
// bytes'. When decode refuses the file, the received bytes are staged
// instead (for a rerun once the cause is fixed) and Staged.Fault says why.
func (c *Client) DownloadDecoded(ctx context.Context, f RemoteFile, dir string, decode Decoder) (Staged, error) {
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
	// What is staged is encrypted at rest (internal/atrest).
	w, err := c.AtRest.Encrypt(tmp)
	if err != nil {
		tmp.Close()
		return Staged{}, fmt.Errorf("ingest: staging: %w", err)
	}
	h := sha256.New()
	var n int64
	var st Staged
	if decode == nil {
		// WriteTo issues concurrent reads and writes in order. It holds the
		// file's lock throughout, so closing the file cannot stop it: a
		// cancel fails the next write instead.
		n, err = rf.WriteTo(ctxWriter{ctx, io.MultiWriter(w, h, failAfterFirstWrite{})})
	} else {
		n, st, err = decodeWhile(ctx, rf, h, w, decode)
	}
	if err == nil {
		err = w.Close() // the last chunk
	}
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
	st.SHA256, st.Size = hex.EncodeToString(h.Sum(nil)), n
	name := f.Name
	if st.Fault != nil {
		// The plaintext so far was never verified: it goes, and the
		// received bytes are fetched again to be kept as they came.
		return c.keepReceived(ctx, f, dir, st)
	}
	if decode != nil {
		name, _ = pgp.Plain(name)
	}
	st.Path = filepath.Join(dir, st.SHA256[:16]+"-"+name)
	if err := os.Rename(tmp.Name(), st.Path); err != nil {
		return Staged{}, fmt.Errorf("ingest: staging: %w", err)
	}
	return st, nil
}

// decodeWhile streams rf through decode into dst, hashing the received
// bytes into h and the decoded ones into st.PlainSHA256. Every byte is
// received even when decode stops early, so the hash is of the whole file.
// A transfer error wins over decode's: a file cut short is not the file's
// fault.
func decodeWhile(ctx context.Context, rf io.WriterTo, h io.Writer, dst io.Writer, decode Decoder) (int64, Staged, error) {
	var st Staged
	pr, pw := io.Pipe()
	type result struct {
		n   int64
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := rf.WriteTo(ctxWriter{ctx, io.MultiWriter(h, failAfterFirstWrite{}, pw)})
		pw.CloseWithError(err) // nil: the reader sees EOF
		done <- result{n, err}
	}()
	ph := sha256.New()
	derr := decode(io.MultiWriter(dst, ph), pr)
	_, _ = io.Copy(io.Discard, pr) // the rest of the file, for the hash; ends when the writer does
	res := <-done
	if res.err != nil {
		return res.n, st, res.err
	}
	var fault *enrollsftp.Error
	switch {
	case derr == nil:
		st.PlainSHA256 = hex.EncodeToString(ph.Sum(nil))
	case errors.As(derr, &fault):
		st.Fault = fault
	default:
		return res.n, st, fmt.Errorf("decode: %w", derr)
	}
	return res.n, st, nil
}

// keepReceived stages the bytes of a file its Decoder refused, as they
// are on the server, so that a rerun can decode them again once the cause
// (a key, a passphrase) is fixed. They must hash as the first download did.
func (c *Client) keepReceived(ctx context.Context, f RemoteFile, dir string, st Staged) (Staged, error) {
	raw, err := c.Download(ctx, f, dir)
	if err != nil {
		return Staged{}, err
	}
	if raw.SHA256 != st.SHA256 {
		os.Remove(raw.Path)
		return Staged{}, fmt.Errorf("ingest: download %s: the file changed between two reads", f.Path)
	}
	raw.Fault = st.Fault
	return raw, nil
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
