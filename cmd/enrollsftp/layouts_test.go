package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLayoutsCommand(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"config.yaml": "ledger: l.db\nlayouts: vendor\n",
		// An operator's layout for a vendor's header names.
		"vendor/acme.census.yaml": `name: acme.census
type: census
date_formats: ["MM/DD/YYYY"]
columns:
  - {name: employer_id, required: true, aliases: [Company]}
  - {name: employee_id, required: true}
  - {name: first_name, required: true}
  - {name: last_name, required: true}
  - {name: dob, aliases: [Birth Date], date_formats: ["YYYYMMDD"]}
`,
	})
	code, stdout, stderr := runInProcess(t, dir, "layouts", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got []layoutJSON
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v:\n%s", err, stdout)
	}
	var names []string
	for _, l := range got {
		names = append(names, l.Name)
	}
	if want := []string{"acme.census", "census.v1", "elections.v1"}; !slices.Equal(names, want) {
		t.Fatalf("layouts %v, want %v", names, want)
	}
	acme, census, elections := got[0], got[1], got[2]
	real, _ := filepath.EvalSymlinks(dir)
	if acme.Type != "census" || acme.File != filepath.Join(real, "vendor/acme.census.yaml") && acme.File != filepath.Join(dir, "vendor/acme.census.yaml") {
		t.Errorf("acme.census: type %q file %q", acme.Type, acme.File)
	}
	if want := []string{"employer_id", "employee_id", "first_name", "last_name"}; !slices.Equal(acme.Required, want) {
		t.Errorf("acme.census required %v, want %v", acme.Required, want)
	}
	if c := acme.Columns[4]; c.Name != "dob" || c.Required || !slices.Equal(c.Aliases, []string{"Birth Date"}) || !slices.Equal(c.DateFormats, []string{"YYYYMMDD"}) {
		t.Errorf("acme.census dob: %+v", c)
	}
	if census.File != "" || len(census.Columns) != 18 || !slices.Contains(census.Required, "address_line1") ||
		!slices.Contains(census.Columns[0].Aliases, "record id") {
		t.Errorf("census.v1: %+v", census)
	}
	if elections.Type != "elections" || !slices.Equal(elections.Required, []string{"employer_id", "employee_id", "plan_code", "action"}) {
		t.Errorf("elections.v1: type %s required %v", elections.Type, elections.Required)
	}

	code, stdout, _ = runInProcess(t, dir, "layouts")
	for _, want := range []string{
		"acme.census (census, /",
		filepath.Join("vendor", "acme.census.yaml") + ")\n",
		"  date formats: MM/DD/YYYY\n",
		"  required: employer_id, employee_id, first_name, last_name\n",
		"  dob          no        Birth Date; dates: YYYYMMDD\n",
		"census.v1 (census, built in)\n",
		"  city               yes       -\n",
		"elections.v1 (elections, built in)\n",
	} {
		if code != exitOK || !strings.Contains(stdout, want) {
			t.Errorf("layouts: exit %d, output does not hold %q:\n%s", code, want, stdout)
		}
	}
}

// A layout in the operator's folder that does not parse is a config
// error naming the file: a source naming it would fail every night.
func TestLayoutsCommandBadLayout(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"config.yaml":         "layouts: vendor\n",
		"vendor/broken.yaml":  "name: broken\ntype: payroll\n",
		"vendor/census.yaml":  "name: census\ntype: census\ncolumns: [{name: shoe_size}]\n",
		"vendor/notes.txt":    "not a layout",
		"vendor/sub/x.yaml":   "ignored: a sub-folder is not looked in\n",
		"vendor/readme.md":    "",
		"vendor/empty.v1.txt": "",
	})
	code, stdout, stderr := runInProcess(t, dir, "layouts")
	if code != exitUsage || stdout != "" {
		t.Fatalf("exit %d, stdout %q; want 2 and nothing", code, stdout)
	}
	for _, want := range []string{`layout "broken": type "payroll": want census or elections`, `column "shoe_size" is not a census column`} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr)
		}
	}
}
