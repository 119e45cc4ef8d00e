package pipeline

import (
	"io"

	"enrollsftp/enroll"
)

// readAheadBatch is how many records travel together to the ledger: one
// channel operation per batch, not per row.
const readAheadBatch = 256

// readAhead runs rows (read, validate, fingerprint) on a goroutine of its
// own, a few batches ahead of the ledger: that work then overlaps with the
// SQLite writes on the second core instead of adding to them. The returned
// stop ends the goroutine and waits for it; call it when the ledger is done
// with the rows, whether it read them all or not. Memory stays bounded:
// at most cap+2 batches are in flight.
func readAhead(rows enroll.Rows) (next enroll.Rows, stop func()) {
	type batch struct {
		recs []enroll.Record
		err  error // after recs: io.EOF, a file error, a failure
	}
	ch := make(chan batch, 2)
	done := make(chan struct{})
	go func() {
		defer close(ch)
		for {
			recs := make([]enroll.Record, 0, readAheadBatch)
			var err error
			for len(recs) < readAheadBatch {
				var r enroll.Record
				if r, err = rows(); err != nil {
					break
				}
				recs = append(recs, r)
			}
			select {
			case ch <- batch{recs, err}:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	var cur []enroll.Record
	var last error // the error that ended the rows, once reached
	next = func() (enroll.Record, error) {
		for len(cur) == 0 {
			if last != nil {
				return enroll.Record{}, last
			}
			b, ok := <-ch
			if !ok {
				last = io.ErrUnexpectedEOF // the reader stopped: only after stop
				continue
			}
			cur, last = b.recs, b.err
		}
		r := cur[0]
		cur[0] = enroll.Record{} // let it go once applied
		cur = cur[1:]
		return r, nil
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		close(done)
		for range ch { // until the goroutine has returned
		}
	}
	return next, stop
}
