package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"enrollsftp/internal/atrest"
)

// Download with a key stages ciphertext, and the hash is still of the
// bytes received.
func TestDownloadEncryptsAtRest(t *testing.T) {
	body := []byte("record_id,employer_id,ssn\r\n1,ACME,123-45-6780\r\n")
	c, _ := serve(t, "census_a.csv", body)
	key, err := atrest.NewKey(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	c.AtRest = key
	st, err := c.Download(context.Background(), listed(t, c, "inbound/census_a.csv"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := os.ReadFile(st.Path)
	if !bytes.HasPrefix(stored, []byte(atrest.Magic)) || bytes.Contains(stored, []byte("123-45-6780")) {
		t.Fatalf("staged %q, want it encrypted", stored[:min(len(stored), 40)])
	}
	if fi, _ := os.Stat(st.Path); fi.Mode().Perm() != 0o600 {
		t.Errorf("staged mode %v, want 0600", fi.Mode().Perm())
	}
	if st.SHA256 != sha256Hex(body) || st.Size != int64(len(body)) {
		t.Errorf("recorded %s/%d, want the received bytes' %s/%d", st.SHA256, st.Size, sha256Hex(body), len(body))
	}
	f, err := key.Open(st.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, err := io.ReadAll(f); err != nil || !bytes.Equal(got, body) {
		t.Errorf("decrypted %q, %v; want the bytes received", got, err)
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// BenchmarkDownload pulls a plaintext census over the in-process SFTP
// server into staging, as `run` does: the SFTP transfer, the SHA-256 and
// the staging write, in the clear (as before staged copies were
// encrypted) and encrypted at rest.
func BenchmarkDownload(b *testing.B) {
	key, _ := atrest.NewKey(bytes.Repeat([]byte{3}, 32))
	for _, rows := range []int{100_000, 1_000_000} {
		for _, mode := range []struct {
			name string
			key  *atrest.Key
		}{{"plain", nil}, {"at-rest", key}} {
			b.Run(byRows(rows)+"/"+mode.name, func(b *testing.B) {
				c, root := serve(b, "census_big.csv", nil)
				c.AtRest = mode.key
				path := filepath.Join(root, "inbound", "census_big.csv")
				out, err := os.Create(path)
				if err != nil {
					b.Fatal(err)
				}
				size, err := io.Copy(out, newGenReader(rows))
				out.Close()
				if err != nil {
					b.Fatal(err)
				}
				f := listed(b, c, "inbound/census_big.csv")
				dir := b.TempDir()
				runtime.GC()
				b.SetBytes(size)
				b.ResetTimer()
				for range b.N {
					st, err := c.Download(context.Background(), f, dir)
					if err != nil {
						b.Fatalf("download: %v", err)
					}
					os.Remove(st.Path)
				}
			})
		}
	}
}
