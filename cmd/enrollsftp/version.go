package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"text/tabwriter"
	"time"
)

// version prints what the binary was built from: the module version, the
// VCS revision and its commit time, when the binary was built and the Go
// version, so that an operator can say which build processed a night's
// files.
func (a *app) version(args []string) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	// No config is read: a broken one must not hide which build this is.
	if pos, err := a.parseFlags(fs, args); err != nil {
		return err
	} else if len(pos) != 0 {
		return usageErr("version: unexpected %q", pos[0])
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		info = nil // a binary built without module support
	}
	return printVersion(a.stdout, info, binaryTime())
}

// binaryTime is the modification time of the running binary: the build
// info records no build time, and a binary is written when it is built
// (or copied, unless the copy keeps the time). Zero when it cannot be
// found.
func binaryTime() time.Time {
	exe, err := os.Executable()
	if err != nil {
		return time.Time{}
	}
	fi, err := os.Stat(exe)
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}

// printVersion writes the build facts of info, and built, the binary's
// modification time (zero: unknown). What the build did not record (go
// run and go test stamp no VCS data, nor a module version) is "unknown"
// or "(devel)".
func printVersion(w io.Writer, info *debug.BuildInfo, built time.Time) error {
	version, revision, committed, modified := "(devel)", "unknown", "unknown", false
	goVersion := runtime.Version()
	vcs := false
	if info != nil {
		if info.Main.Version != "" {
			version = info.Main.Version
		}
		if info.GoVersion != "" {
			goVersion = info.GoVersion
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				revision, vcs = s.Value, true
			case "vcs.time":
				committed = s.Value + " (vcs.time: when the revision was committed)"
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	switch {
	case !vcs:
		revision += " (built without VCS information: go run, go test or -buildvcs=false)"
	case modified:
		revision += " (with uncommitted changes)"
	}
	builtAt := "unknown"
	if !built.IsZero() {
		builtAt = built.UTC().Format(time.RFC3339) + " (the binary file's modification time)"
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "enrollsftp\t%s\n", version)
	fmt.Fprintf(tw, "revision\t%s\n", revision)
	fmt.Fprintf(tw, "commit time\t%s\n", committed)
	fmt.Fprintf(tw, "built\t%s\n", builtAt)
	fmt.Fprintf(tw, "go\t%s\n", goVersion)
	return tw.Flush()
}
