package enrollsftp

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf8"
)

// MaxFileName is the longest file name used as is for the names derived
// from it — staged copies (a 17-byte hash prefix), outputs and their
// temporaries (".NAME.errors.csv.<random>.tmp", "NAME.errors.csv.pgp.part"),
// archived copies (a ".YYYYMMDDTHHMMSSZ.N" suffix) — all of which must fit
// the 255-byte name limit of common file systems.
const MaxFileName = 200

// ShortName is name when it is at most MaxFileName bytes; a longer one
// keeps its start and its extension (".csv", ".csv.pgp") around a hash of
// the whole name, so distinct long names stay distinct and the same name
// always shortens the same way (outputs regenerate byte for byte).
func ShortName(name string) string {
	if len(name) <= MaxFileName {
		return name
	}
	ext := ""
	if i := strings.IndexByte(name[len(name)-12:], '.'); i >= 0 {
		ext = name[len(name)-12+i:]
	}
	sum := sha256.Sum256([]byte(name))
	tag := "~" + hex.EncodeToString(sum[:4])
	keep := name[:MaxFileName-len(tag)-len(ext)]
	for !utf8.ValidString(keep) { // do not cut a character in two
		keep = keep[:len(keep)-1]
	}
	return keep + tag + ext
}
