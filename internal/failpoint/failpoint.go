// Package failpoint kills the process at a named point, for crash tests:
// ENROLLSFTP_FAILPOINT=name (or name@N, the Nth time the point is hit)
// makes Hit(name) send SIGKILL to this process — no deferred function, no
// rollback, no flush runs, as in a power cut. Unset, Hit does nothing.
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
	hits   atomic.Int64
)

func init() {
	v := os.Getenv("ENROLLSFTP_FAILPOINT")
	if name, n, ok := strings.Cut(v, "@"); ok {
		if k, err := strconv.ParseInt(n, 10, 64); err == nil && k > 0 {
			v, nth = name, k
		}
	}
	target = v
}

// Hit kills the process if name is the armed point (and this is the Nth hit).
func Hit(name string) {
	if target == "" || name != target {
		return
	}
	if hits.Add(1) < nth {
		return
	}
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // SIGKILL is not deliverable late, but never run on
}
