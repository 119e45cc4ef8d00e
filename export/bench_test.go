package export

import (
	"io"
	"testing"

	"enrollsftp"
)

// BenchmarkWriteAck writes ack lines for 10,000 records per op.
func BenchmarkWriteAck(b *testing.B) {
	o := enrollsftp.Outcome{Line: 2, RecordID: "L1", EmployerID: "ACME", EmployeeID: "E1", Action: "ENROLL",
		Status: "ACCEPTED", PerPayPeriod: "100.00"}
	records := func(fn func(enrollsftp.Outcome) error) error {
		for range 10000 {
			if err := fn(o); err != nil {
				return err
			}
		}
		return nil
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteAck(io.Discard, records); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(10000*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
