package pipeline

import (
	"fmt"
	"io"
	"time"

	"enrollsftp/enroll"
)

// withProgress reports rows done and rows per second to w at most every
// two seconds, on one line rewritten in place (w is a terminal).
func withProgress(rows enroll.Rows, w io.Writer) enroll.Rows {
	start := time.Now()
	last := start
	n := 0
	return func() (enroll.Record, error) {
		rec, err := rows()
		if err != nil {
			if n > 0 && last != start {
				fmt.Fprintln(w)
			}
			return rec, err
		}
		n++
		if now := time.Now(); now.Sub(last) >= 2*time.Second {
			last = now
			fmt.Fprintf(w, "\r%d rows, %.0f rows/s", n, float64(n)/now.Sub(start).Seconds())
		}
		return rec, nil
	}
}
