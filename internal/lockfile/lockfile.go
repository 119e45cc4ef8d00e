// Package lockfile is an exclusive, advisory lock on a file beside the
// ledger (flock(2)), recording who holds it. The kernel drops the lock when
// the holder dies, so a crashed process never leaves a stale lock behind.
package lockfile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// Holder says who holds a lock.
type Holder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Command string    `json:"command"`
	Since   time.Time `json:"since"` // when the lock was taken
}

func (h Holder) String() string {
	return fmt.Sprintf("pid %d on %s (%s, since %s)", h.PID, h.Host, h.Command, h.Since.UTC().Format(time.RFC3339))
}

// Me describes this process as a holder.
func Me(command string) Holder {
	host, _ := os.Hostname()
	return Holder{PID: os.Getpid(), Host: host, Command: command, Since: time.Now()}
}

// HeldError is returned when another process holds the lock.
type HeldError struct {
	Path   string
	Holder Holder // zero if the holder's record could not be read
}

func (e *HeldError) Error() string {
	if e.Holder.PID == 0 {
		return "lock " + e.Path + " is held by another process"
	}
	return "lock " + e.Path + " is held by " + e.Holder.String()
}

// Lock is a held lock.
type Lock struct{ f *os.File }

// Acquire takes the lock at path, waiting up to wait (0: not at all).
func Acquire(path string, me Holder, wait time.Duration) (*Lock, error) {
	return AcquireContext(context.Background(), path, me, wait)
}

// AcquireContext is Acquire that also stops waiting when ctx is done. The
// record written says me took the lock now, whatever me.Since says: a
// holder that waited is named from when it got the lock.
func AcquireContext(ctx context.Context, path string, me Holder, wait time.Duration) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lockfile: %w", err)
	}
	deadline := time.Now().Add(wait)
	// Polled, from 1 ms doubling to 50 ms: a blocking flock could not be
	// given up at the deadline or on cancel, and a short first sleep keeps
	// the hand-over between queued writers quick.
	pause := time.Millisecond
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lockfile: %s: %w", path, err)
		}
		if !time.Now().Before(deadline) {
			held := &HeldError{Path: path}
			if b, err := os.ReadFile(path); err == nil {
				_ = json.Unmarshal(b, &held.Holder)
			}
			f.Close()
			return nil, held
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(min(pause, time.Until(deadline))):
		}
		pause = min(2*pause, 50*time.Millisecond)
	}
	me.Since = time.Now()
	b, _ := json.Marshal(me)
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt(append(b, '\n'), 0)
	}
	return &Lock{f: f}, nil
}

// Release drops the lock. The file stays: removing it would race with a
// process that opened it and is about to lock it.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	err := l.f.Close() // closing the descriptor releases the flock
	l.f = nil
	return err
}
