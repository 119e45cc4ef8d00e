package lockfile

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestExclusiveAndSaysWhoHoldsIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db.lock")
	a, err := Acquire(path, Holder{PID: 4242, Host: "h1", Command: "serve", Since: time.Unix(0, 0)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(path, Me("run"), 120*time.Millisecond)
	var held *HeldError
	if !errors.As(err, &held) || held.Holder.PID != 4242 || !strings.Contains(err.Error(), "pid 4242 on h1 (serve") {
		t.Fatalf("second acquire: got %v, want HeldError naming pid 4242", err)
	}
	a.Release()
	b, err := Acquire(path, Me("run"), 0)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	b.Release()
}

func TestWaitsForTheHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l.lock")
	a, err := Acquire(path, Me("first"), 0)
	if err != nil {
		t.Fatal(err)
	}
	go func() { time.Sleep(150 * time.Millisecond); a.Release() }()
	b, err := Acquire(path, Me("second"), 5*time.Second)
	if err != nil {
		t.Fatalf("waiting acquire: %v", err)
	}
	b.Release()
}

// The kernel releases the lock of a process that dies: no stale locks.
func TestDeadHolderReleases(t *testing.T) {
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("flock(1) not installed")
	}
	path := filepath.Join(t.TempDir(), "l.lock")
	os.WriteFile(path, nil, 0o600)
	cmd := exec.Command("flock", "-x", path, "sleep", "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // sleep inherits the lock: kill them both
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		l, err := Acquire(path, Me("probe"), 0)
		if err != nil {
			break // flock(1) holds it now
		}
		l.Release()
		if time.Now().After(deadline) {
			t.Fatal("flock(1) never took the lock")
		}
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	l, err := Acquire(path, Me("after"), 2*time.Second)
	if err != nil {
		t.Fatalf("after the holder died: %v", err)
	}
	l.Release()
}

// A waiter gives up when its context ends, before its wait runs out.
func TestAcquireContextStopsOnCancel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l.lock")
	a, err := Acquire(path, Me("first"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := AcquireContext(ctx, path, Me("second"), 10*time.Second); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("acquire with an ended context: %v, want context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("gave up after %v, want when the context ended (100ms)", took)
	}
}

// The record names the holder from when it took the lock, not from when
// it started waiting.
func TestSinceIsWhenTaken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l.lock")
	me := Me("run")
	me.Since = time.Unix(0, 0)
	before := time.Now().Add(-time.Second)
	a, err := Acquire(path, me, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	_, err = Acquire(path, Me("probe"), 0)
	var held *HeldError
	if !errors.As(err, &held) || held.Holder.Since.Before(before) {
		t.Fatalf("holder %+v (%v), want since about now", held, err)
	}
}

// What a write transaction pays for the lock file: taken and dropped once.
func BenchmarkAcquireRelease(b *testing.B) {
	path := filepath.Join(b.TempDir(), "l.lock")
	me := Me("bench")
	for b.Loop() {
		l, err := Acquire(path, me, 0)
		if err != nil {
			b.Fatal(err)
		}
		l.Release()
	}
}
