package enroll

import (
	"hash/maphash"
	"math/bits"
)

// lineSet remembers, for every dedup key of the file so far, the first line
// that had it, in 8 bytes a key: a 32-bit fingerprint of the key beside the
// line, in an open-addressing table placed by the fingerprint (so it can
// grow without the keys). A fingerprint match is only a candidate, which
// seenInFile confirms against the key stored with that line.
//
// It replaced an index on batch_records (batch_id, dedup_key): its keys
// are hashes, so every row landed at a random place in a b-tree as large
// as the file (a 200k-row nightly file spent 1.7 of 6.2 s writing it). A
// million-row file takes 16 MB here.
type lineSet struct {
	seed  maphash.Seed
	slots []uint64 // fingerprint<<32 | line; 0 is empty (lines start at 1)
	shift uint     // 64 - log2(len(slots))
	n     int
	// fp overrides the fingerprint (tests: every key colliding).
	fp func(string) uint32
}

func newLineSet() *lineSet {
	s := &lineSet{seed: maphash.MakeSeed()}
	s.resize(1 << 12)
	if newLineSetHook != nil {
		newLineSetHook(s)
	}
	return s
}

// newLineSetHook, when set, adjusts each new table (tests).
var newLineSetHook func(*lineSet)

func (s *lineSet) resize(n int) {
	s.slots = make([]uint64, n)
	s.shift = uint(64 - bits.TrailingZeros(uint(n)))
}

func (s *lineSet) fingerprint(key string) uint32 {
	if s.fp != nil {
		return s.fp(key)
	}
	return uint32(maphash.String(s.seed, key) >> 32)
}

// home is a fingerprint's first slot (Fibonacci hashing: the top bits of
// fp × 2⁶⁴/φ spread any fingerprints evenly).
func (s *lineSet) home(fp uint32) uint64 {
	return (uint64(fp) * 0x9E3779B97F4A7C15) >> s.shift
}

// candidates calls fn with each line whose key may be key, first added
// first, until fn says stop.
func (s *lineSet) candidates(key string, fn func(line int) (stop bool, err error)) error {
	fp := s.fingerprint(key)
	mask := uint64(len(s.slots) - 1)
	for i := s.home(fp); s.slots[i] != 0; i = (i + 1) & mask {
		if uint32(s.slots[i]>>32) == fp {
			if stop, err := fn(int(uint32(s.slots[i]))); stop || err != nil {
				return err
			}
		}
	}
	return nil
}

// add records key's first line (line ≥ 1).
func (s *lineSet) add(key string, line int) {
	if (s.n+1)*4 > len(s.slots)*3 {
		old := s.slots
		s.resize(2 * len(old))
		for _, v := range old {
			if v != 0 {
				s.put(v)
			}
		}
	}
	s.put(uint64(s.fingerprint(key))<<32 | uint64(uint32(line)))
	s.n++
}

func (s *lineSet) put(v uint64) {
	mask := uint64(len(s.slots) - 1)
	i := s.home(uint32(v >> 32))
	for s.slots[i] != 0 {
		i = (i + 1) & mask
	}
	s.slots[i] = v
}
