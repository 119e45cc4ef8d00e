package main

import (
	"regexp"
	"strings"
	"testing"

	"enrollsftp"
)

// commandsInUsage are the commands the usage text lists, as their words
// ("batch show"): what comes before the first flag or placeholder.
func commandsInUsage(t *testing.T) [][]string {
	t.Helper()
	_, rest, ok := strings.Cut(usage, "commands:\n")
	if !ok {
		t.Fatal("usage text has no commands: section")
	}
	var cmds [][]string
	for line := range strings.Lines(rest) {
		if !strings.HasPrefix(line, "  ") {
			continue
		}
		var words []string
		for _, w := range strings.Fields(line) {
			if strings.ContainsAny(w, "-[|") || strings.ToUpper(w) == w {
				break
			}
			words = append(words, w)
		}
		cmds = append(cmds, words)
	}
	if len(cmds) < 14 {
		t.Fatalf("found %d commands in the usage text: %v", len(cmds), cmds)
	}
	return cmds
}

var flagLine = regexp.MustCompile(`(?m)^  (--[a-z-]+)`)

// Every command answers --help, -h and `help CMD` on stdout, once, exit 0,
// before reading any config; its help lists every flag it takes, and the
// usage text's line for it names each of its own flags.
func TestCommandHelp(t *testing.T) {
	for _, cmd := range commandsInUsage(t) {
		name := strings.Join(cmd, " ")
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			// A broken config must not stand in the way of help.
			writeFiles(t, dir, map[string]string{"config.yaml": "colour: blue\n"})
			var outs []string
			for _, args := range [][]string{append(cmd[:len(cmd):len(cmd)], "--help"), append(cmd[:len(cmd):len(cmd)], "-h"), append([]string{"help"}, cmd...)} {
				code, stdout, stderr := runInProcess(t, dir, args...)
				if code != exitOK || stderr != "" {
					t.Fatalf("%v: exit %d, stderr %q; want 0 and nothing on stderr", args, code, stderr)
				}
				outs = append(outs, stdout)
			}
			if outs[1] != outs[0] || outs[2] != outs[0] {
				t.Errorf("--help, -h and help %s differ:\n%s\n---\n%s\n---\n%s", name, outs[0], outs[1], outs[2])
			}
			help := outs[0]
			if strings.Count(help, "usage:") != 1 {
				t.Errorf("the help is not printed once:\n%s", help)
			}
			if name == "help" {
				return // its help is the usage text
			}
			syn := synopsis(name)
			if syn == "" || !strings.HasPrefix(help, "usage:\n"+syn) {
				t.Errorf("help does not start with the usage line %q:\n%s", syn, help)
			}
			own, _, _ := strings.Cut(help, "global flags:")
			for _, m := range flagLine.FindAllStringSubmatch(own, -1) {
				if !regexp.MustCompile(regexp.QuoteMeta(m[1]) + `\b[^-]`).MatchString(syn + " ") {
					t.Errorf("the usage text for %s does not list %s: %q", name, m[1], syn)
				}
			}
			for _, g := range []string{"--config", "--ledger", "--now", "--lock-wait"} {
				if !strings.Contains(help, "  "+g) {
					t.Errorf("global flag %s not listed:\n%s", g, help)
				}
			}
		})
	}
}

func TestTopLevelHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"--now", "2026-01-01", "--help"}} {
		code, stdout, stderr := runInProcess(t, t.TempDir(), args...)
		if code != exitOK || stdout != usage || stderr != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 0 and the usage text once on stdout", args, code, stdout, stderr)
		}
	}
}

// A usage mistake: exit 2, the message and the help on stderr, once, and
// none of flag's own listing of defaults. A mistake in a command's
// arguments is followed by that command's usage line, not by every
// command; a wrong flag by the command's help.
func TestUsageErrors(t *testing.T) {
	const sourceConfig = "sources:\n  - {name: demo, sftp: {embedded: drop}, inbound: /in, outbound: /out, archive: /arc}\n"
	tests := []struct {
		args       []string
		want       string // stderr starts with it
		wantInHelp string
		config     string
	}{
		{[]string{"process", "--bogus", "f.csv"}, "enrollsftp: process: flag provided but not defined: -bogus\nusage:\n  enrollsftp process --type", "  --layout string", ""},
		{[]string{"batches", "--json=maybe"}, "enrollsftp: batches: invalid boolean value", "  --since string", ""},
		{[]string{"process"}, "enrollsftp: process: want exactly one FILE\nusage:\n  enrollsftp process --type census|elections [--layout NAME]", "\nsee 'enrollsftp process --help'\n", ""},
		{[]string{"process", "f.csv"}, "enrollsftp: process: --type is required: census or elections\nusage:\n  enrollsftp process --type", "\nsee 'enrollsftp process --help'\n", ""},
		{[]string{"process", "--type", "payroll", "f.csv"}, "enrollsftp: process: --type: unknown file type \"payroll\" (want census or elections)\nusage:\n  enrollsftp process --type", "\nsee 'enrollsftp process --help'\n", ""},
		{[]string{"batches", "--status", "BOGUS"}, "enrollsftp: batches: --status \"BOGUS\": want one of RECEIVED, APPLIED, REJECTED, HELD, FAILED, RELEASED\nusage:\n  enrollsftp batches [--json]", "\nsee 'enrollsftp batches --help'\n", ""},
		{[]string{"layouts", "extra"}, "enrollsftp: layouts: unexpected \"extra\"\nusage:\n  enrollsftp layouts [--json]\nsee 'enrollsftp layouts --help'\n", "", ""},
		{[]string{"run", "--source", "nosuch"}, "enrollsftp: run: no source named \"nosuch\" (configured: demo)\nusage:\n  enrollsftp run [--source S]\nsee 'enrollsftp run --help'\n", "", sourceConfig},
		{[]string{"batch", "show"}, "enrollsftp: batch show: want exactly one batch ID\nusage:\n  enrollsftp batch show ID [--json]\nsee 'enrollsftp batch show --help'\n", "", ""},
		{[]string{"gen", "--rows", "10"}, "enrollsftp: gen: --type is required: census or elections\nusage:\n  enrollsftp gen --type", "\nsee 'enrollsftp gen --help'\n", ""},
		{[]string{"gen", "--type", "payroll"}, "enrollsftp: gen: --type: unknown file type \"payroll\"", "\nsee 'enrollsftp gen --help'\n", ""},
		{[]string{"gen", "--type", "census", "--rows", "-5"}, "enrollsftp: gen: --rows: want 0 or more, got -5\nusage:\n  enrollsftp gen --type", "\nsee 'enrollsftp gen --help'\n", ""},
		{[]string{"--bogus"}, "enrollsftp: flag provided but not defined: -bogus\nusage: enrollsftp", "commands:", ""},
		{[]string{"bogus"}, "enrollsftp: unknown command \"bogus\"\nusage: enrollsftp", "commands:", ""},
		{[]string{"help", "bogus"}, "enrollsftp: unknown command \"bogus\"\nusage: enrollsftp", "commands:", ""},
		{[]string{}, "enrollsftp: no command given\nusage: enrollsftp", "commands:", ""},
		{[]string{"config"}, "enrollsftp: config: want 'config check [--connect]'\nusage:\n  enrollsftp config check [--connect]\n", "see 'enrollsftp config --help'\n", ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			dir := t.TempDir()
			if tt.config != "" {
				writeFiles(t, dir, map[string]string{"config.yaml": tt.config})
			}
			code, stdout, stderr := runInProcess(t, dir, tt.args...)
			if code != exitUsage || stdout != "" {
				t.Errorf("exit %d, stdout %q; want 2 and nothing on stdout", code, stdout)
			}
			if !strings.HasPrefix(stderr, tt.want) || !strings.Contains(stderr, tt.wantInHelp) {
				t.Errorf("stderr:\n%s\nwant it to start %q and hold %q", stderr, tt.want, tt.wantInHelp)
			}
			if strings.Count(stderr, "usage:") != 1 || strings.Contains(stderr, "Usage of") || strings.Contains(stderr, "  -config") {
				t.Errorf("want the help once, and not flag's own:\n%s", stderr)
			}
			if strings.Contains(tt.want+tt.wantInHelp, "see '") && strings.Contains(stderr, "commands:") {
				t.Errorf("a mistake in one command's arguments printed every command:\n%s", stderr)
			}
		})
	}
}

// batches --help says which statuses --status takes.
func TestBatchesHelpListsStatuses(t *testing.T) {
	_, stdout, _ := runInProcess(t, t.TempDir(), "batches", "--help")
	for _, s := range enrollsftp.Statuses {
		if !strings.Contains(stdout, s) {
			t.Errorf("status %s not listed:\n%s", s, stdout)
		}
	}
	if !strings.Contains(stdout, "[--since DATE|TIME]") {
		t.Errorf("the usage line does not say --since takes a date:\n%s", stdout)
	}
}

func TestGroupHelp(t *testing.T) {
	for _, group := range []string{"plans", "batch", "kyc", "config"} {
		code, stdout, _ := runInProcess(t, t.TempDir(), group, "--help")
		if code != exitOK || stdout != "usage:\n"+synopsis(group) || !strings.Contains(stdout, "enrollsftp "+group+" ") {
			t.Errorf("%s --help: exit %d:\n%s", group, code, stdout)
		}
	}
}
