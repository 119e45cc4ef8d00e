package main

import (
	"bytes"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

func TestPrintVersion(t *testing.T) {
	built := time.Date(2026, 11, 15, 1, 30, 0, 0, time.FixedZone("EST", -5*3600))
	tests := []struct {
		name  string
		info  *debug.BuildInfo
		built time.Time
		want  string
	}{
		{"a release built from git", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.4.0"},
			Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"},
				{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
				{Key: "vcs.time", Value: "2026-11-14T21:03:00Z"}, {Key: "vcs.modified", Value: "false"}}}, built,
			"enrollsftp   v1.4.0\n" +
				"revision     0123456789abcdef0123456789abcdef01234567\n" +
				"commit time  2026-11-14T21:03:00Z (vcs.time: when the revision was committed)\n" +
				"built        2026-11-15T06:30:00Z (the binary file's modification time)\n" +
				"go           go1.26.0\n"},
		{"a build with uncommitted changes", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.0.0-20261114210300-0123456789ab+dirty"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789ab"}, {Key: "vcs.time", Value: "2026-11-14T21:03:00Z"},
				{Key: "vcs.modified", Value: "true"}}}, built,
			"enrollsftp   v0.0.0-20261114210300-0123456789ab+dirty\n" +
				"revision     0123456789ab (with uncommitted changes)\n" +
				"commit time  2026-11-14T21:03:00Z (vcs.time: when the revision was committed)\n" +
				"built        2026-11-15T06:30:00Z (the binary file's modification time)\n" +
				"go           go1.26.0\n"},
		{"go run or go test: no VCS stamp", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}}, built,
			"enrollsftp   (devel)\n" +
				"revision     unknown (built without VCS information: go run, go test or -buildvcs=false)\n" +
				"commit time  unknown\n" +
				"built        2026-11-15T06:30:00Z (the binary file's modification time)\n" +
				"go           go1.26.0\n"},
		{"no build info, no binary", nil, time.Time{},
			"enrollsftp   (devel)\n" +
				"revision     unknown (built without VCS information: go run, go test or -buildvcs=false)\n" +
				"commit time  unknown\n" +
				"built        unknown\n" +
				"go           " + runtime.Version() + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := printVersion(&b, tt.info, tt.built); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", b.String(), tt.want)
			}
		})
	}
}

// version reads no config (a broken one must not hide the build) and
// prints this test binary's facts, its build time the binary's own.
func TestVersionCommand(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"config.yaml": "colour: blue\n"})
	code, stdout, stderr := runInProcess(t, dir, "version")
	info, _ := debug.ReadBuildInfo()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(exe)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	printVersion(&want, info, fi.ModTime())
	if code != exitOK || stdout != want.String() || stderr != "" {
		t.Errorf("exit %d, stdout:\n%s\nstderr %q; want 0 and:\n%s", code, stdout, stderr, want.String())
	}
	if !strings.Contains(stdout, "\nbuilt        "+fi.ModTime().UTC().Format(time.RFC3339)) {
		t.Errorf("the binary's time is not given as built:\n%s", stdout)
	}
	if code, _, stderr := runInProcess(t, dir, "version", "extra"); code != exitUsage {
		t.Errorf("version extra: exit %d (%s), want 2", code, stderr)
	}
}
