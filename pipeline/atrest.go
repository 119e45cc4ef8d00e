package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"enrollsftp/enroll"
	"enrollsftp/internal/atrest"
)

// DefaultStagingRetention is how long the staged copy of an applied batch
// is kept: `ack ID` rebuilds its outputs from the ledger without it.
const DefaultStagingRetention = 30 * 24 * time.Hour

// StagingKey is the key staged copies are encrypted under, derived from
// the ledger's master key. Every staged copy is written with it.
func StagingKey(l *enroll.Ledger) *atrest.Key {
	k, err := atrest.NewKey(l.StagingKey())
	if err != nil {
		// enroll.NewKeys always derives 32 bytes: a ledger without keys
		// is a programming error, not a reason to stage in the clear.
		panic(fmt.Sprintf("pipeline: staging key: %v", err))
	}
	return k
}

// hashStaged hashes a staged copy's plaintext: what a batch records is
// the hash of the bytes received (or of the decrypted OpenPGP plaintext),
// never of the ciphertext at rest. A copy staged before encryption is
// plaintext and read as it is.
func hashStaged(k *atrest.Key, path string) (string, int64, error) {
	f, err := k.Open(path)
	if err != nil {
		return "", 0, fmt.Errorf("pipeline: %w", err)
	}
	defer f.Close()
	return hashReader(f, path)
}

// SweepStaging deletes the staged copies kept longer than retention that no
// batch needs any more (every batch recorded with the copy is APPLIED or
// was superseded by a rerun; see enroll.StagedExpired), and records it on
// those batches. Only files under root are deleted: a batch recorded
// before local files were staged names the operator's own file, which is
// never touched. It returns how many copies went.
func SweepStaging(ctx context.Context, l *enroll.Ledger, log zerolog.Logger, root string, retention time.Duration) (int, error) {
	if retention <= 0 {
		return 0, fmt.Errorf("pipeline: staging retention %s: must be positive", retention)
	}
	now := l.Now()
	paths, err := l.StagedExpired(ctx, now.Add(-retention))
	if err != nil {
		return 0, err
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return 0, fmt.Errorf("pipeline: staging root: %w", err)
	}
	n := 0
	defer func() {
		if n > 0 {
			log.Info().Int("files", n).Dur("retention", retention).Msg("retention: removed staged copies of applied batches")
		}
	}()
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return n, err // stopping: the rest waits for the next pass
		}
		abs, err := filepath.Abs(p)
		if err != nil || !strings.HasPrefix(abs, absRoot+string(filepath.Separator)) {
			log.Debug().Str("staged", p).Msg("retention: not under staging, left alone")
			continue
		}
		if err := os.Remove(abs); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return n, fmt.Errorf("pipeline: retention: %w", err)
		}
		// The file is gone: record it even if we are stopping, so the
		// ledger says why. (Were this lost, the next sweep records it.)
		if err := l.MarkStagedRemoved(context.WithoutCancel(ctx), p, now); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// stagedCopyOf reports whether path is the kept staged copy of batch id.
// The same bytes under the same name stage to the same path, so a file
// re-sent after it was processed is downloaded over the first one's copy:
// removing it would take the copy a REJECTED or HELD batch waits to be
// rerun from. A copy retention already removed is not kept again.
func stagedCopyOf(ctx context.Context, l *enroll.Ledger, id, path string) bool {
	b, err := l.Batch(ctx, id)
	return err == nil && b.StagedPath == path && b.StagedRemovedAt == ""
}
