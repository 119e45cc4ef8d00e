package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// globalFlags are the flags globals.register adds to every command; a
// command's help lists them apart from its own.
var globalFlags = map[string]bool{"config": true, "ledger": true, "now": true, "lock-wait": true}

// synopsis is the lines of the usage text for a command or a group of
// commands ("batch show", or "plans" for every plans command).
func synopsis(name string) string {
	var b strings.Builder
	for line := range strings.Lines(usage) {
		if trimmed := strings.TrimSpace(line); trimmed == name || strings.HasPrefix(trimmed, name+" ") {
			b.WriteString("  enrollsftp ")
			b.WriteString(strings.TrimSpace(line))
			b.WriteString("\n")
		}
	}
	return b.String()
}

// commandHelp is a command's help: its synopsis from the usage text and
// every flag it takes, its own and then the global ones.
func commandHelp(fs *flag.FlagSet) string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage:\n%s", synopsis(fs.Name()))
	own, global := &strings.Builder{}, &strings.Builder{}
	fs.VisitAll(func(f *flag.Flag) {
		w := own
		if globalFlags[f.Name] {
			w = global
		}
		writeFlag(w, f)
	})
	if own.Len() > 0 {
		b.WriteString("\nflags:\n")
		tabulate(&b, own.String())
	}
	b.WriteString("\nglobal flags:\n")
	tabulate(&b, global.String())
	return b.String()
}

// writeFlag writes a flag as one tab-separated line, in the --name form
// the usage text uses.
func writeFlag(w io.Writer, f *flag.Flag) {
	typ, text := flag.UnquoteUsage(f)
	name := "--" + f.Name
	if typ != "" {
		name += " " + typ
	}
	switch f.DefValue {
	case "", "0", "false", "0s":
	default:
		text += fmt.Sprintf(" (default %s)", f.DefValue)
	}
	fmt.Fprintf(w, "  %s\t%s\n", name, text)
}

func tabulate(w io.Writer, lines string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	io.WriteString(tw, lines)
	tw.Flush()
}

// groupHelp answers `plans --help` and the like: a group's commands. It
// reports whether args asked for help.
func (a *app) groupHelp(group string, args []string) bool {
	if len(args) == 0 || !isHelpFlag(args[0]) {
		return false
	}
	fmt.Fprintf(a.stdout, "usage:\n%s", synopsis(group))
	return true
}

func isHelpFlag(s string) bool {
	switch s {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}
