package atrest

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func key(t *testing.T, b byte) *Key {
	t.Helper()
	k, err := NewKey(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func seal(t *testing.T, k *Key, plain []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := k.Encrypt(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTripAndRefusals(t *testing.T) {
	// More than one 64 KiB chunk, so truncation can cut between chunks.
	plain := []byte(strings.Repeat("R1,ACME,E1,Ada,Lovelace,123-45-6780,1980-04-12\n", 4000))
	k := key(t, 1)
	sealed := seal(t, k, plain)
	if !bytes.HasPrefix(sealed, []byte(Magic)) {
		t.Fatalf("sealed file starts %q, want the age header", sealed[:30])
	}
	if bytes.Contains(sealed, []byte("123-45-6780")) || bytes.Contains(sealed, []byte("ACME")) {
		t.Fatal("sealed file holds plaintext")
	}
	if again := seal(t, k, plain); bytes.Equal(again, sealed) {
		t.Error("two encryptions of one file are identical: the file key is not random")
	}
	tests := []struct {
		name    string
		key     *Key
		stored  []byte
		want    []byte
		wantErr error // nil: any error when want is nil
	}{
		{"encrypted", k, sealed, plain, nil},
		{"legacy plaintext", k, plain, plain, nil},
		{"legacy plaintext, no key", nil, plain, plain, nil},
		{"empty legacy file", k, nil, []byte{}, nil},
		{"another ledger key", key(t, 2), sealed, nil, ErrWrongKey},
		{"encrypted, no key", nil, sealed, nil, nil},
		{"truncated", k, sealed[:len(sealed)-100], nil, nil},
		{"cut after a whole chunk", k, sealed[:firstChunkEnd(t, sealed)], nil, nil},
		{"altered", k, flip(sealed, len(sealed)/2), nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "staged.csv")
			if err := os.WriteFile(path, tt.stored, 0o600); err != nil {
				t.Fatal(err)
			}
			var got []byte
			f, err := tt.key.Open(path)
			if err == nil {
				got, err = io.ReadAll(f)
				f.Close()
			}
			if tt.want != nil {
				if err != nil || !bytes.Equal(got, tt.want) {
					t.Fatalf("got %d bytes, %v; want the %d plaintext bytes", len(got), err, len(tt.want))
				}
				return
			}
			if err == nil {
				t.Fatalf("got %d bytes and no error, want an error", len(got))
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// firstChunkEnd is where the first 64 KiB chunk of an age payload ends
// (after the header and the 16-byte stream nonce): a file cut there reads
// as whole chunks, and only the missing final-chunk flag tells it is short.
func firstChunkEnd(t *testing.T, sealed []byte) int {
	t.Helper()
	mac := bytes.Index(sealed, []byte("\n--- "))
	end := bytes.IndexByte(sealed[mac+1:], '\n')
	if mac < 0 || end < 0 {
		t.Fatal("no age header MAC line")
	}
	return mac + 1 + end + 1 + 16 + 64<<10 + 16
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 1
	return c
}

func TestNilKeyWritesPlaintext(t *testing.T) {
	var k *Key
	if got := seal(t, k, []byte("a,b\n")); string(got) != "a,b\n" {
		t.Errorf("nil key wrote %q, want the bytes as given", got)
	}
}

func TestNewKeyWantsThirtyTwoBytes(t *testing.T) {
	if _, err := NewKey(make([]byte, 16)); err == nil {
		t.Error("a 16-byte key: got no error")
	}
}

// BenchmarkEncrypt is the cost encryption adds to staging a file.
func BenchmarkEncrypt(b *testing.B) {
	k, _ := NewKey(bytes.Repeat([]byte{1}, 32))
	buf := bytes.Repeat([]byte("R1,ACME,E1,Ada,Lovelace,123-45-6780,1980-04-12\n"), 1<<16/48)
	const total = 64 << 20
	b.SetBytes(total)
	for range b.N {
		w, _ := k.Encrypt(io.Discard)
		for n := 0; n < total; n += len(buf) {
			w.Write(buf)
		}
		w.Close()
	}
}

func BenchmarkDecrypt(b *testing.B) {
	k, _ := NewKey(bytes.Repeat([]byte{1}, 32))
	var sealed bytes.Buffer
	w, _ := k.Encrypt(&sealed)
	io.Copy(w, io.LimitReader(bytes.NewReader(bytes.Repeat([]byte("R1,ACME,123-45-6780\n"), 64<<20/20)), 64<<20))
	w.Close()
	b.SetBytes(64 << 20)
	for range b.N {
		r, err := k.Decrypt(bytes.NewReader(sealed.Bytes()))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, r)
	}
}
