package ingest

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// BenchmarkDownload pulls a plaintext census over the in-process SFTP
// server into staging, as `run` does: the SFTP transfer, the SHA-256 and
// the staging write (encrypted at rest when the client has a key).
func BenchmarkDownload(b *testing.B) {
	for _, rows := range []int{100_000, 1_000_000} {
		b.Run(byRows(rows), func(b *testing.B) {
			c, root := serve(b, "census_big.csv", nil)
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
			f := RemoteFile{Name: "census_big.csv", Path: "inbound/census_big.csv", Size: size}
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
