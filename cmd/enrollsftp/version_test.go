package main

import (
	"bytes"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestPrintVersion(t *testing.T) {
	tests := []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{"a release built from git", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.4.0"},
			Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"},
				{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
				{Key: "vcs.time", Value: "2026-11-14T21:03:00Z"}, {Key: "vcs.modified", Value: "false"}}},
			"enrollsftp   v1.4.0\nrevision     0123456789abcdef0123456789abcdef01234567\ncommit time  2026-11-14T21:03:00Z\ngo           go1.26.0\n"},
		{"a build with uncommitted changes", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.0.0-20261114210300-0123456789ab+dirty"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789ab"}, {Key: "vcs.time", Value: "2026-11-14T21:03:00Z"},
				{Key: "vcs.modified", Value: "true"}}},
			"enrollsftp   v0.0.0-20261114210300-0123456789ab+dirty\nrevision     0123456789ab (with uncommitted changes)\ncommit time  2026-11-14T21:03:00Z\ngo           go1.26.0\n"},
		{"go run or go test: no VCS stamp", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}},
			"enrollsftp   (devel)\nrevision     unknown\ncommit time  unknown\ngo           go1.26.0\n"},
		{"no build info", nil,
			"enrollsftp   (devel)\nrevision     unknown\ncommit time  unknown\ngo           " + runtime.Version() + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := printVersion(&b, tt.info); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", b.String(), tt.want)
			}
		})
	}
}

// version reads no config (a broken one must not hide the build) and
// prints this test binary's facts.
func TestVersionCommand(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"config.yaml": "colour: blue\n"})
	code, stdout, stderr := runInProcess(t, dir, "version")
	info, _ := debug.ReadBuildInfo()
	var want bytes.Buffer
	printVersion(&want, info)
	if code != exitOK || stdout != want.String() || stderr != "" {
		t.Errorf("exit %d, stdout:\n%s\nstderr %q; want 0 and:\n%s", code, stdout, stderr, want.String())
	}
	if code, _, stderr := runInProcess(t, dir, "version", "extra"); code != exitUsage {
		t.Errorf("version extra: exit %d (%s), want 2", code, stderr)
	}
}
