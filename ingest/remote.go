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

	"github.com/pkg/sftp"

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
	// Link is a symlink the listing followed to a regular file inside
	// inbound; Size and ModTime are its target's.
	Link bool
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
		isLink := fi.Mode()&os.ModeSymlink != 0
		if isLink {
			if why := c.linkInside(p, root); why != "" {
				l.Refused = append(l.Refused, Refusal{Name: name, Reason: why})
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
		f := RemoteFile{Name: name, Path: p, Type: typ, Size: fi.Size(), ModTime: fi.ModTime(), Encrypted: enc,
			Link: isLink}
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

// linkInside says why the symlink p may not be followed ("" when it leads
// to a path inside root, the resolved inbound folder).
func (c *Client) linkInside(p, root string) string {
	inside := strings.TrimSuffix(root, "/") + "/"
	target, err := c.SFTP.RealPath(p)
	if err == nil && strings.HasPrefix(target, inside) {
		// Not every server's realpath follows links (pkg/sftp's only
		// cleans the path): follow them here too.
		target, err = c.linkTarget(p)
	}
	if err != nil || !strings.HasPrefix(target, inside) {
		return "symlink leading outside inbound"
	}
	return ""
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

// cancelled says the run was cancelled when that is why err happened (the
// connection was closed under the transfer).
func cancelled(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w: %v", cerr, err)
	}
	return err
}

// RefusedError is a listed file that is not downloaded: it is no longer
// the regular file that was listed (a symlink or FIFO swapped in, another
// size or time). It is left where it is, neither processed nor archived.
type RefusedError struct {
	Name   string
	Reason string
}

func (e *RefusedError) Error() string { return "ingest: " + e.Name + " refused: " + e.Reason }

// openListed opens a listed file only if it is still what was listed:
// checked by name first (Lstat: a symlink or FIFO swapped in after the
// listing is refused unopened — opening a FIFO blocks the server), then by
// the opened handle (fstat: a swap between the two checks shows as another
// file's type, size or time). A listed symlink must still lead inside
// inbound.
func (c *Client) openListed(f RemoteFile) (*sftp.File, os.FileInfo, error) {
	refuse := func(format string, args ...any) (*sftp.File, os.FileInfo, error) {
		return nil, nil, &RefusedError{Name: f.Name, Reason: fmt.Sprintf(format, args...)}
	}
	li, err := c.SFTP.Lstat(f.Path)
	if err != nil {
		return nil, nil, fmt.Errorf("ingest: stat %s: %w", f.Path, c.Explain(err))
	}
	switch {
	case li.Mode()&os.ModeSymlink != 0 && !f.Link:
		return refuse("it became a symlink after it was listed")
	case li.Mode()&os.ModeSymlink != 0:
		root, err := c.SFTP.RealPath(path.Dir(f.Path))
		if err != nil {
			return nil, nil, fmt.Errorf("ingest: resolve %s: %w", path.Dir(f.Path), c.Explain(err))
		}
		if why := c.linkInside(f.Path, root); why != "" {
			return refuse("%s", why)
		}
	case !li.Mode().IsRegular():
		return refuse("it is no longer a regular file (%s)", li.Mode().Type())
	}
	rf, err := c.SFTP.Open(f.Path)
	if err != nil {
		return nil, nil, fmt.Errorf("ingest: open %s: %w", f.Path, c.Explain(err))
	}
	fi, err := rf.Stat()
	if err != nil {
		rf.Close()
		return nil, nil, fmt.Errorf("ingest: stat %s: %w", f.Path, c.Explain(err))
	}
	if !fi.Mode().IsRegular() || fi.Size() != f.Size || !fi.ModTime().Equal(f.ModTime) {
		rf.Close()
		return refuse("the file opened is not the one listed (%s, %d bytes, modified %s; listed %d bytes, modified %s)",
			fi.Mode().Type(), fi.Size(), fi.ModTime().UTC().Format(time.RFC3339), f.Size, f.ModTime.UTC().Format(time.RFC3339))
	}
	return rf, fi, nil
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
		return Staged{}, &StagingError{err}
	}
	stop := c.abortOn(ctx)
	defer stop()
	rf, before, err := c.openListed(f)
	if err != nil {
		return Staged{}, cancelled(ctx, err)
	}
	defer rf.Close()
	tmp, err := os.CreateTemp(dir, ".download-*") // CreateTemp makes it 0600
	if err != nil {
		return Staged{}, &StagingError{err}
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	// What is staged is encrypted at rest (internal/atrest).
	enc, err := c.AtRest.Encrypt(tmp)
	if err != nil {
		tmp.Close()
		return Staged{}, &StagingError{err}
	}
	w := stagingWriter{enc}
	h := sha256.New()
	var n int64
	var st Staged
	if decode == nil {
		// WriteTo issues concurrent reads and writes in order. It holds the
		// file's lock throughout, so closing the file cannot stop it: a
		// cancel fails the next write instead.
		n, err = rf.WriteTo(&ctxWriter{ctx, c.MaxFileSize, 0, io.MultiWriter(w, h, failAfterFirstWrite{})})
	} else {
		n, st, err = decodeWhile(ctx, c.MaxFileSize, rf, h, w, decode)
	}
	if err == nil {
		err = staging(enc.Close()) // the last chunk
	}
	if err == nil {
		err = staging(tmp.Sync())
	}
	if cerr := tmp.Close(); err == nil {
		err = staging(cerr)
	}
	if err != nil {
		return Staged{}, cancelled(ctx, fmt.Errorf("ingest: download %s: %w", f.Path, c.Explain(err)))
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
	st.Path = filepath.Join(dir, st.SHA256[:16]+"-"+enrollsftp.ShortName(name))
	if err := os.Rename(tmp.Name(), st.Path); err != nil {
		return Staged{}, &StagingError{err}
	}
	return st, nil
}

// StagingError is a failure of the local staging folder (disk full, not
// writable), not of the server or the file: a pass stops on it, and the
// file is not blamed (no FAILED batch, no backoff).
type StagingError struct{ Err error }

func (e *StagingError) Error() string { return "ingest: staging: " + e.Err.Error() }
func (e *StagingError) Unwrap() error { return e.Err }

func staging(err error) error {
	if err == nil {
		return nil
	}
	return &StagingError{err}
}

// stagingWriter marks the errors of writes into the staged copy as the
// staging folder's.
type stagingWriter struct{ w io.Writer }

func (s stagingWriter) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	return n, staging(err)
}

// decodeWhile streams rf through decode into dst, hashing the received
// bytes into h and the decoded ones into st.PlainSHA256. Every byte is
// received even when decode stops early, so the hash is of the whole file.
// A transfer error wins over decode's: a file cut short is not the file's
// fault.
func decodeWhile(ctx context.Context, limit int64, rf io.WriterTo, h io.Writer, dst io.Writer, decode Decoder) (int64, Staged, error) {
	var st Staged
	pr, pw := io.Pipe()
	type result struct {
		n   int64
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := rf.WriteTo(&ctxWriter{ctx, limit, 0, io.MultiWriter(h, failAfterFirstWrite{}, pw)})
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
	stop := c.abortOn(ctx)
	defer stop()
	rf, _, err := c.openListed(f)
	if err != nil {
		return "", 0, cancelled(ctx, err)
	}
	defer rf.Close()
	h := sha256.New()
	n, err := rf.WriteTo(&ctxWriter{ctx: ctx, w: h})
	if err != nil {
		return "", 0, cancelled(ctx, fmt.Errorf("ingest: read %s: %w", f.Path, c.Explain(err)))
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

// ctxWriter fails its writes once ctx is done (File.WriteTo holds the
// file's lock until it returns, so closing the file does not stop it), and
// once more than limit bytes came (0: no limit): a file that grows past
// max_file_size while it downloads is not staged whole.
type ctxWriter struct {
	ctx   context.Context
	limit int64
	n     int64
	w     io.Writer
}

func (w *ctxWriter) Write(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	if w.n += int64(len(p)); w.limit > 0 && w.n > w.limit {
		return 0, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, w.limit)
	}
	return w.w.Write(p)
}

// ErrTooLarge is a download stopped at the size limit: the file grew past
// it after it was listed.
var ErrTooLarge = errors.New("the file grew past limits.max_file_size while downloading")
