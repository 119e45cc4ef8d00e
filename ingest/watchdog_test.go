package ingest

import (
	"encoding/binary"
	"io"
	"testing"
	"time"

	"github.com/pkg/sftp"
)

func packet(typ byte, body ...byte) []byte {
	p := make([]byte, 4, 5+len(body))
	binary.BigEndian.PutUint32(p, uint32(1+len(body)))
	return append(append(p, typ), body...)
}

// TestFramerCountsPacketsAcrossReads: packets split anywhere, several in
// one read, and empty bodies are counted once each, when they end.
func TestFramerCountsPacketsAcrossReads(t *testing.T) {
	stream := append(append(packet(2, 0, 0, 0, 3), packet(101, 1, 2, 3, 4, 5, 6, 7)...), 0, 0, 0, 0) // the last: an empty body
	for cut := 0; cut <= len(stream); cut++ {
		var f framer
		b1, e1 := f.feed(stream[:cut])
		mid := f.inPacket()
		b2, e2 := f.feed(stream[cut:])
		if b1+b2 != 3 || e1+e2 != 3 || f.inPacket() {
			t.Errorf("cut at %d: begun %d+%d, ended %d+%d, in a packet after: %v; want 3 and 3, not", cut, b1, b2, e1, e2, f.inPacket())
		}
		boundary := cut == 0 || cut == 9 || cut == 21 || cut == len(stream) // where the packets meet
		if mid != !boundary {
			t.Errorf("cut at %d: in a packet = %v, want %v", cut, mid, !boundary)
		}
	}
}

// TestStallWithAPartAnswer: a server that sends the start of an answer and
// then nothing leaves pkg/sftp waiting for the rest, though every request
// has begun to be answered: that is a stall too.
func TestStallWithAPartAnswer(t *testing.T) {
	cr, sw := io.Pipe() // server → client
	sr, cw := io.Pipe() // client → server
	wd := newWatchdog(200*time.Millisecond, func() { cr.Close(); cw.Close(); sr.Close(); sw.Close() }, nil)
	go wd.run()
	defer wd.close()
	go func() { // the server: version, then half of the next answer
		var f framer
		buf := make([]byte, 4096)
		answered := false
		for {
			n, err := sr.Read(buf)
			if err != nil {
				return
			}
			if _, ended := f.feed(buf[:n]); ended > 0 {
				if !answered {
					sw.Write(packet(2, 0, 0, 0, 3)) // SSH_FXP_VERSION 3
					answered = true
					continue
				}
				sw.Write([]byte{0, 0, 0, 100, 105}) // a 100-byte answer that never comes
			}
		}
	}()
	c, err := sftp.NewClientPipe(&watchedReader{r: cr, w: wd}, &watchedWriter{wc: cw, w: wd})
	if err != nil {
		t.Fatalf("NewClientPipe: %v", err)
	}
	done := make(chan error, 1)
	go func() { _, err := c.Stat("/x"); done <- err }()
	select {
	case err := <-done:
		if err == nil || !wd.stalled() {
			t.Errorf("Stat: %v, stalled %v; want a stall", err, wd.stalled())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Stat still waiting 5s after the server went quiet mid-answer")
	}
}
