package main

import (
	"os"

	"github.com/mattn/go-isatty"

	"enrollsftp/pipeline"
)

// progressEvery is how often process, run and rerun log a long file's
// progress when stderr is not a terminal; a test sets it shorter.
var progressEvery = pipeline.DefaultProgressEvery

// progress is how process, run and rerun show a long file's progress: a
// bar when stderr is a terminal, else a JSON "progress" log line every
// progressEvery. A bar is never written into a log file or a pipe.
func (a *app) progress() *pipeline.Progress {
	if f, ok := a.stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		return &pipeline.Progress{Terminal: f}
	}
	return &pipeline.Progress{Every: progressEvery}
}
