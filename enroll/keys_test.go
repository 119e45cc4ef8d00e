package enroll

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Processes starting together on a new ledger all get the one key: none
// reads a key file half written, none fails because another created it.
func TestLoadOrCreateKeyConcurrently(t *testing.T) {
	for round := range 50 {
		dir := t.TempDir()
		path := filepath.Join(dir, "ledger.db.key")
		keys := make([][]byte, 8)
		errs := make([]error, len(keys))
		created := make([]bool, len(keys))
		var wg sync.WaitGroup
		for i := range keys {
			wg.Add(1)
			go func() {
				defer wg.Done()
				keys[i], created[i], errs[i] = LoadOrCreateKey(path)
			}()
		}
		wg.Wait()
		n := 0
		for i := range keys {
			if errs[i] != nil {
				t.Fatalf("round %d, caller %d: %v", round, i, errs[i])
			}
			if !bytes.Equal(keys[i], keys[0]) {
				t.Fatalf("round %d: callers got different keys", round)
			}
			if created[i] {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("round %d: %d callers say they created the key, want 1", round, n)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 1 {
			t.Fatalf("round %d: left %v, want only the key", round, ents)
		}
		if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
			t.Fatalf("round %d: key mode %v, want 0600", round, st.Mode().Perm())
		}
	}
}
