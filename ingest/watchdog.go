package ingest

import (
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"time"
)

// StallError says the SFTP server stopped answering: requests were waiting
// and nothing came back for the timeout, so the connection was closed.
type StallError struct{ After time.Duration }

func (e *StallError) Error() string {
	return fmt.Sprintf("ingest: the SFTP server sent nothing for %s while requests were waiting: connection closed", e.After)
}

// watchdog closes a connection whose SFTP server has stopped answering.
//
// pkg/sftp requests take no context and have no deadline, and SSH
// keepalives do not help: sshd answers them while its sftp-server is stuck
// (stopped, blocked opening a FIFO, or not an sftp-server at all). So the
// SFTP stream itself is watched: every packet sent is a request that gets
// exactly one answer, and while any is unanswered some bytes must arrive
// within the timeout. Closing the SSH connection fails every waiting
// request at once, which is what unblocks a transfer.
type watchdog struct {
	timeout time.Duration
	closeFn func()
	beat    func() // progress, for /healthz; may be nil

	mu       sync.Mutex
	sent     int       // request packets written
	answered int       // answer packets read whole
	partial  bool      // an answer is part-way in: pkg/sftp waits for the rest
	writing  int       // Writes blocked in the channel (the server not reading)
	since    time.Time // last sign of life while something waits
	fired    bool
	stop     chan struct{}
	stopOnce sync.Once
}

func newWatchdog(timeout time.Duration, closeFn, beat func()) *watchdog {
	return &watchdog{timeout: timeout, closeFn: closeFn, beat: beat, stop: make(chan struct{})}
}

// run checks for a stall until close; call it in its own goroutine.
func (w *watchdog) run() {
	every := w.timeout / 4
	if every < 10*time.Millisecond {
		every = 10 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case now := <-t.C:
			w.mu.Lock()
			stalled := w.waiting() && now.Sub(w.since) > w.timeout
			if stalled {
				w.fired = true
			}
			w.mu.Unlock()
			if stalled {
				w.closeFn()
				return
			}
		}
	}
}

func (w *watchdog) close() { w.stopOnce.Do(func() { close(w.stop) }) }

// Stalled reports whether the watchdog closed the connection.
func (w *watchdog) stalled() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fired
}

func (w *watchdog) waiting() bool { return w.sent > w.answered || w.partial || w.writing > 0 }

// requests records n request packets begun by the client.
func (w *watchdog) requests(n int) { w.update(func() { w.sent += n }, false) }

// writes records a Write into the channel starting (+1) or ending (-1).
func (w *watchdog) writes(delta int) { w.update(func() { w.writing += delta }, false) }

// received records bytes from the server: n answers completed, and
// whether one is still part-way in.
func (w *watchdog) received(n int, partial bool) {
	w.update(func() { w.answered += n; w.partial = partial }, true)
	if w.beat != nil {
		w.beat()
	}
}

// update applies change under the lock. Only bytes from the server are
// progress: our own writes succeed into the SSH window while the server is
// stuck. The clock also starts when something begins to wait.
func (w *watchdog) update(change func(), progress bool) {
	w.mu.Lock()
	was := w.waiting()
	change()
	if !was || progress {
		w.since = time.Now()
	}
	w.mu.Unlock()
}

// framer counts the SFTP packets in a byte stream: each is a 4-byte
// big-endian length and that many bytes.
type framer struct {
	head [4]byte
	have int    // header bytes seen of the current packet
	left uint32 // body bytes still to come
}

// feed returns how many packets begin and how many end in p.
func (f *framer) feed(p []byte) (begun, ended int) {
	for len(p) > 0 {
		if f.left > 0 {
			k := min(uint32(len(p)), f.left)
			if f.left -= k; f.left == 0 {
				ended++
			}
			p = p[k:]
			continue
		}
		c := copy(f.head[f.have:], p)
		f.have += c
		p = p[c:]
		if f.have == 4 {
			f.have, f.left = 0, binary.BigEndian.Uint32(f.head[:])
			begun++
			if f.left == 0 {
				ended++
			}
		}
	}
	return begun, ended
}

// inPacket reports whether a packet is part-way through.
func (f *framer) inPacket() bool { return f.have > 0 || f.left > 0 }

// watchedReader counts the server's answers.
type watchedReader struct {
	r io.Reader
	w *watchdog
	f framer
}

func (r *watchedReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		_, ended := r.f.feed(p[:n])
		r.w.received(ended, r.f.inPacket())
	}
	return n, err
}

// watchedWriter counts the client's requests; a Write blocked because the
// server stopped reading counts as waiting too.
type watchedWriter struct {
	wc io.WriteCloser
	w  *watchdog
	f  framer
}

func (w *watchedWriter) Write(p []byte) (int, error) {
	begun, _ := w.f.feed(p)
	w.w.requests(begun)
	w.w.writes(1)
	n, err := w.wc.Write(p)
	w.w.writes(-1)
	return n, err
}

func (w *watchedWriter) Close() error { return w.wc.Close() }
