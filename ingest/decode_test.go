package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"enrollsftp"
	"enrollsftp/internal/pgp"
	"enrollsftp/internal/pgp/pgptest"
)

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// adminKeys are source keys that decrypt what is sealed to the returned
// entity.
func adminKeys(t testing.TB) (*pgp.Keys, *openpgp.Entity) {
	t.Helper()
	admin := pgptest.NewEntity(t, "admin")
	k, err := pgp.Load(pgp.Config{DecryptKey: pgptest.WriteKey(t, t.TempDir(), "admin.asc", admin, true, "")})
	if err != nil {
		t.Fatal(err)
	}
	return k, admin
}

// serve puts body at inbound/name on a fresh embedded server and dials it;
// it returns the client and the served folder.
func serve(t testing.TB, name string, body []byte) (*Client, string) {
	t.Helper()
	srv := startServer(t)
	inbound := filepath.Join(srv.Root, "inbound")
	if err := os.MkdirAll(inbound, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(inbound, name), body, 0o644); err != nil {
		t.Fatal(err)
	}
	return dialServer(t, srv), srv.Root
}

func TestDownloadDecoded(t *testing.T) {
	keys, admin := adminKeys(t)
	plain := []byte("record_id,employer_id\r\n1,ACME\r\n")
	sealed := pgptest.Seal(t, plain, admin, nil, false)
	stranger := pgptest.Seal(t, plain, pgptest.NewEntity(t, "stranger"), nil, false)
	diskFull := errors.New("no space left on device")
	tests := []struct {
		name      string
		body      []byte
		decode    Decoder
		staged    []byte // what is staged; nil: nothing
		stagedAs  string // its name after the hash prefix
		fault     enrollsftp.Code
		wantError error
	}{
		{"decrypted", sealed, keys.Decrypt, plain, "census_a.csv", "", nil},
		{"refused: kept as received", stranger, keys.Decrypt, stranger, "census_a.csv.pgp", enrollsftp.PGPDecryptFailed, nil},
		{"refused before reading a byte", sealed, func(io.Writer, io.Reader) error {
			return enrollsftp.Errorf(enrollsftp.PGPDecryptFailed, "", "no")
		}, sealed, "census_a.csv.pgp", enrollsftp.PGPDecryptFailed, nil},
		{"staging write fails", sealed, func(dst io.Writer, src io.Reader) error {
			return diskFull
		}, nil, "", "", diskFull},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := serve(t, "census_a.csv.pgp", tt.body)
			dir := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), testWait)
			defer cancel()
			got, err := c.DownloadDecoded(ctx, listed(t, c, "inbound/census_a.csv.pgp"), dir, tt.decode)
			if tt.wantError != nil {
				if !errors.Is(err, tt.wantError) {
					t.Fatalf("got %v, want %v", err, tt.wantError)
				}
				if left := dirNames(t, dir); len(left) != 0 {
					t.Errorf("staging holds %q after a failure", left)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// The hash and size are always of the bytes received.
			if got.SHA256 != hexSum(tt.body) || got.Size != int64(len(tt.body)) {
				t.Errorf("got %s %d, want the received bytes' %s %d", got.SHA256, got.Size, hexSum(tt.body), len(tt.body))
			}
			if (got.Fault == nil) != (tt.fault == "") || (got.Fault != nil && got.Fault.Code != tt.fault) {
				t.Errorf("fault %v, want %q", got.Fault, tt.fault)
			}
			if want := filepath.Join(dir, got.SHA256[:16]+"-"+tt.stagedAs); got.Path != want {
				t.Errorf("staged as %s, want %s", got.Path, want)
			}
			b, _ := os.ReadFile(got.Path)
			if !bytes.Equal(b, tt.staged) {
				t.Errorf("staged bytes differ")
			}
			if tt.fault == "" && got.PlainSHA256 != hexSum(plain) {
				t.Errorf("PlainSHA256 %s, want the plaintext's", got.PlainSHA256)
			}
			if fi, _ := os.Stat(got.Path); fi.Mode().Perm() != 0o600 {
				t.Errorf("staged mode %v, want 0600", fi.Mode().Perm())
			}
			if left := dirNames(t, dir); !slices.Equal(left, []string{filepath.Base(got.Path)}) {
				t.Errorf("staging holds %q, want only the staged file", left)
			}
		})
	}
}

// BenchmarkDownloadDecrypted pulls an encrypted, signed census of 10,000
// and 100,000 rows from the in-process SFTP server, decrypting it into
// staging as it streams. peak-heap-MiB (sampled every 5 ms) must not grow
// with the rows: the plaintext is never held whole.
func BenchmarkDownloadDecrypted(b *testing.B) {
	for _, rows := range []int{10_000, 100_000, 300_000} {
		b.Run(byRows(rows), func(b *testing.B) {
			keys, admin := adminKeys(b)
			// Sealed straight into the served file: the benchmark holds no
			// copy of it either.
			c, root := serve(b, "census_big.csv.pgp", nil)
			path := filepath.Join(root, "inbound", "census_big.csv.pgp")
			out, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			pgptest.SealTo(b, out, newGenReader(rows), admin, pgptest.NewEntity(b, "vendor"), false)
			size, _ := out.Seek(0, io.SeekCurrent)
			out.Close()
			f := listed(b, c, "inbound/census_big.csv.pgp")
			dir := b.TempDir()
			runtime.GC()
			peak := sampleHeap()
			b.SetBytes(size)
			b.ResetTimer()
			for range b.N {
				st, err := c.DownloadDecoded(context.Background(), f, dir, keys.Decrypt)
				if err != nil || st.Fault != nil {
					b.Fatalf("download: %v %v", err, st.Fault)
				}
				os.Remove(st.Path)
			}
			b.StopTimer()
			b.ReportMetric(peak(), "peak-heap-MiB")
		})
	}
}

func byRows(n int) string {
	if n >= 1000 {
		return "rows=" + strconv.Itoa(n/1000) + "k"
	}
	return "rows=" + strconv.Itoa(n)
}

// sampleHeap samples HeapInuse until the returned func is called, which
// gives the peak in MiB.
func sampleHeap() func() float64 {
	var max uint64 // read only after done: no lock needed
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > max {
				max = m.HeapInuse
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() float64 {
		close(stop)
		<-done
		return mib(max)
	}
}
