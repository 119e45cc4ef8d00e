// Package failpoint kills the process at a named point, for crash tests:
// ENROLLSFTP_FAILPOINT=name (or name@N, the Nth time the point is hit)
// makes Hit(name) send SIGKILL to this process — no deferred function, no
// rollback, no flush runs, as in a power cut. Unset, Hit does nothing.
//
// With ":stop" after it (name:stop, name@N:stop) the process stops itself
// instead (SIGSTOP) at that one hit, and goes on where it was when sent
// SIGCONT: a test can hold it mid-transaction, e.g. to see what other
// processes do while it writes.
package failpoint

import (
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

// The points, in the order a file meets them.
const (
	MidDownload   = "mid-download"   // some bytes staged, not all
	MidParse      = "mid-parse"      // rows read, the file not finished
	MidApply      = "mid-apply"      // rows applied inside the open transaction
	BeforeCommit  = "before-commit"  // everything applied, not committed
	AfterCommit   = "after-commit"   // committed, no output written
	MidUpload     = "mid-upload"     // an output's temporary file written, not renamed
	BeforeArchive = "before-archive" // outputs delivered, input not archived
)

var (
	target string
	nth    int64 = 1
	stop   bool
	hits   atomic.Int64
)

func init() {
	v := os.Getenv("ENROLLSFTP_FAILPOINT")
	v, stop = strings.CutSuffix(v, ":stop")
	if name, n, ok := strings.Cut(v, "@"); ok {
		if k, err := strconv.ParseInt(n, 10, 64); err == nil && k > 0 {
			v, nth = name, k
		}
	}
	target = v
}

// Hit kills the process if name is the armed point (and this is the Nth
// hit), or stops it there.
func Hit(name string) {
	if target == "" || name != target {
		return
	}
	n := hits.Add(1)
	if stop {
		if n == nth {
			_ = syscall.Kill(os.Getpid(), syscall.SIGSTOP)
		}
		return
	}
	if n < nth {
		return
	}
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // SIGKILL is not deliverable late, but never run on
}
