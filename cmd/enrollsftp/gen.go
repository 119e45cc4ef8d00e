package main

import (
	"bufio"
	"flag"
	"os"

	"enrollsftp"
	"enrollsftp/internal/gen"
)

// gen writes a deterministic test file (for benchmarks) to stdout or --out.
func (a *app) gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	// No default type: a forgotten --type is a usage error, not a census file.
	typ := fs.String("type", "", "census or elections")
	rows := fs.Int("rows", 1000, "number of rows")
	seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same file")
	out := fs.String("out", "", "output file (default stdout)")
	// No config is read: gen needs none.
	if pos, err := a.parseFlags(fs, args); err != nil {
		return err
	} else if len(pos) != 0 {
		return usageErr("gen: unexpected %q", pos[0])
	}
	ft, err := fileType("gen", *typ)
	if err != nil {
		return err
	}
	if *rows < 0 {
		return usageErr("gen: --rows: want 0 or more, got %d", *rows)
	}
	w := a.stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		bw := bufio.NewWriter(f)
		defer bw.Flush()
		w = bw
	}
	if ft == enrollsftp.Census {
		return gen.Census(w, *rows, *seed)
	}
	return gen.Elections(w, *rows, *seed)
}
