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
	if pos, err := a.parse(fs, args); err != nil {
		return err
	} else if len(pos) != 0 || *rows < 0 || *typ == "" {
		return usageErr("gen: want --type census|elections [--rows N] [--seed S] [--out FILE]")
	}
	ft, err := enrollsftp.ParseFileType(*typ)
	if err != nil {
		return usageErr("gen: %v", err)
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
