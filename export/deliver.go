package export

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"time"

	"enrollsftp"
	"enrollsftp/internal/failpoint"
	"github.com/pkg/sftp"
)

// Upload puts a local file into a remote folder atomically: it is written
// as NAME.part, then renamed, so a vendor polling the folder never picks up
// half an ack. Where the server lacks the POSIX rename extension, the old
// file is removed first, since a plain SFTP rename refuses to overwrite.
func Upload(c *sftp.Client, local, remoteDir string) (string, error) {
	name := path.Base(local)
	final := path.Join(remoteDir, name)
	part := final + ".part"
	src, err := os.Open(local)
	if err != nil {
		return "", fmt.Errorf("export: upload: %w", err)
	}
	defer src.Close()
	dst, err := c.OpenFile(part, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return "", fmt.Errorf("export: upload %s: %w", part, err)
	}
	// The server makes the file with its own default mode (0644 under the
	// usual umask); an error file holds names and addresses. Made 0600
	// before a byte is written, the rename keeps it. A server that refuses
	// modes (not every SFTP server has them) still gets the file.
	_ = dst.Chmod(0o600)
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		c.Remove(part)
		return "", fmt.Errorf("export: upload %s: %w", part, err)
	}
	if err := dst.Close(); err != nil {
		c.Remove(part)
		return "", fmt.Errorf("export: upload %s: %w", part, err)
	}
	failpoint.Hit(failpoint.MidUpload)
	if _, ok := c.HasExtension("posix-rename@openssh.com"); ok {
		if err := c.PosixRename(part, final); err != nil {
			return "", fmt.Errorf("export: rename %s: %w", part, err)
		}
		return final, nil
	}
	if err := c.Remove(final); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("export: replace %s: %w", final, err)
	}
	if err := c.Rename(part, final); err != nil {
		return "", fmt.Errorf("export: rename %s: %w", part, err)
	}
	return final, nil
}

// Archive moves a processed input into the archive folder. A name already
// there gets a UTC timestamp suffix rather than overwriting the older file.
func Archive(c *sftp.Client, remotePath, archiveDir string, now time.Time) (string, error) {
	name := enrollsftp.ShortName(path.Base(remotePath)) // room for the suffix below
	dst := path.Join(archiveDir, name)
	if _, err := c.Stat(dst); err == nil {
		dst += "." + now.UTC().Format("20060102T150405Z")
		for i := 2; ; i++ { // bounded by the clash count, in practice one
			if _, err := c.Stat(dst); err != nil {
				break
			}
			if i > 100 {
				return "", fmt.Errorf("export: archive %s: too many names taken", remotePath)
			}
			dst = fmt.Sprintf("%s.%s.%d", path.Join(archiveDir, name), now.UTC().Format("20060102T150405Z"), i)
		}
	}
	if err := c.Rename(remotePath, dst); err != nil {
		return "", fmt.Errorf("export: archive %s: %w", remotePath, err)
	}
	return dst, nil
}
