package export

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Sealer wraps a destination so that what is written to it is encrypted
// (and signed) for the vendor; closing it finishes the message.
type Sealer func(dst io.Writer) (io.WriteCloser, error)

// Seal writes local, sealed, to local+".pgp" (mode 0600, atomically) and
// returns that path. The plaintext file stays as it is: `ack ID`
// regenerates it byte for byte, whatever the encryption.
func Seal(local string, seal Sealer) (string, error) {
	src, err := os.Open(local)
	if err != nil {
		return "", fmt.Errorf("export: seal: %w", err)
	}
	defer src.Close()
	tmp, err := os.CreateTemp(filepath.Dir(local), ".seal-*") // 0600
	if err != nil {
		return "", fmt.Errorf("export: seal: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	w, err := seal(tmp)
	if err == nil {
		_, err = io.Copy(w, src)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("export: seal %s: %w", filepath.Base(local), err)
	}
	dst := local + ".pgp"
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", fmt.Errorf("export: seal: %w", err)
	}
	return dst, nil
}
