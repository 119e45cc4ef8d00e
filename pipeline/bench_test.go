package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"enrollsftp"
	"enrollsftp/internal/gen"
)

// BenchmarkProcessCensus measures a whole census file through the pipeline
// into a fresh ledger: read, validate, apply, write the ack. ns/op is per
// file of b.N… rows: see rows/s.
func BenchmarkProcessCensus(b *testing.B) {
	const rows = 5000
	var sb strings.Builder
	sb.WriteString(censusHeader)
	for i := range rows {
		fmt.Fprintf(&sb, "R%d,ACME,X%d,First,Last,%03d-45-%04d,1980-01-01,1 Main St,Boston,MA,02134,,ACTIVE,2020-01-01,\n", i, i, 100+i%500, 1000+i)
	}
	body := sb.String()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		e := newEnv(&testing.T{})
		p := filepath.Join(b.TempDir(), "census.csv")
		os.WriteFile(p, []byte(body), 0o600)
		b.StartTimer()
		res, err := ProcessFile(b.Context(), e.l, discard, Options{Path: p, Type: enrollsftp.Census, OutDir: b.TempDir(), ReceivedAt: e.now})
		if err != nil || res.Batch.Accepted != rows {
			b.Fatalf("got %+v, %v", res.Batch, err)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkProcessElections measures an elections file (ENROLL rows from
// enrollsftp gen) into a ledger holding the matching census.
func BenchmarkProcessElections(b *testing.B) {
	const rows = 5000
	var census, elections strings.Builder
	gen.Census(&census, rows, 1)
	gen.Elections(&elections, rows, 1)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		e := newEnv(&testing.T{})
		dir := b.TempDir()
		cp, ep := filepath.Join(dir, "census.csv"), filepath.Join(dir, "elections.csv")
		os.WriteFile(cp, []byte(census.String()), 0o600)
		os.WriteFile(ep, []byte(elections.String()), 0o600)
		if _, err := ProcessFile(b.Context(), e.l, discard, Options{Path: cp, Type: enrollsftp.Census, OutDir: dir, ReceivedAt: e.now}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := ProcessFile(b.Context(), e.l, discard, Options{Path: ep, Type: enrollsftp.Elections, OutDir: dir, ReceivedAt: e.now})
		if err != nil || res.Batch.Rows != rows {
			b.Fatalf("got %+v, %v", res.Batch, err)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
