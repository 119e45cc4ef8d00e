package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"text/tabwriter"
)

// version prints what the binary was built from: the module version, the
// VCS revision and its time, and the Go version, so that an operator can
// say which build processed a night's files.
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
	return printVersion(a.stdout, info)
}

// printVersion writes the build facts of info; what the build did not
// record (go run and go test stamp no VCS data, nor a module version) is
// "unknown" or "(devel)".
func printVersion(w io.Writer, info *debug.BuildInfo) error {
	version, revision, built, modified := "(devel)", "unknown", "unknown", false
	goVersion := runtime.Version()
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
				revision = s.Value
			case "vcs.time":
				built = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if modified {
		revision += " (with uncommitted changes)"
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "enrollsftp\t%s\n", version)
	fmt.Fprintf(tw, "revision\t%s\n", revision)
	fmt.Fprintf(tw, "commit time\t%s\n", built)
	fmt.Fprintf(tw, "go\t%s\n", goVersion)
	return tw.Flush()
}
