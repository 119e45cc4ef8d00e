package ingest

import (
	"errors"
	"io"
	"runtime"
	"testing"
)

// TestReaderStreamsInConstantMemory reads 200,000 generated rows (about
// 35 MB of text, never held whole) and checks the live heap afterwards is
// small: the reader keeps no rows. Kept rows would take well over 100 MiB.
func TestReaderStreamsInConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 200,000 rows")
	}
	const rows = 200_000
	const bound = 32 << 20
	l := layout(t, "census.v1")

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	gen := newGenReader(rows)
	rd, err := NewReader[CensusRow](gen, l)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	n := 0
	for {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("row %d: Next: %v", n+1, err)
		}
		n++
		if row.Line != n+1 {
			t.Fatalf("row %d: Line got %d, want %d", n, row.Line, n+1)
		}
		if len(row.Problems) > 0 {
			t.Fatalf("row %d: Problems got %s, want none", n, row.Problems.Codes())
		}
	}
	if n != rows {
		t.Fatalf("rows: got %d, want %d", n, rows)
	}

	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(rd) // whatever the reader holds must count
	t.Logf("read %d rows, %.1f MB; HeapInuse before %.2f MiB, after %.2f MiB; total allocated %.0f MiB",
		n, float64(gen.bytes)/1e6, mib(before.HeapInuse), mib(after.HeapInuse),
		mib(after.TotalAlloc-before.TotalAlloc))
	if after.HeapInuse > bound {
		t.Errorf("HeapInuse after reading: got %.1f MiB, want under %.0f MiB", mib(after.HeapInuse), mib(bound))
	}
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// BenchmarkReadCensus reads a generated census file of 10,000 rows per
// iteration; -benchmem figures are per file.
func BenchmarkReadCensus(b *testing.B) {
	const rows = 10_000
	l := layout(b, "census.v1")
	b.ReportAllocs()
	var size int64
	for b.Loop() {
		gen := newGenReader(rows)
		rd, err := NewReader[CensusRow](gen, l)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != rows {
			b.Fatalf("rows: got %d, want %d", n, rows)
		}
		size = gen.bytes
	}
	b.SetBytes(size)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
}
