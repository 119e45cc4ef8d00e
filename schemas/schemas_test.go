package schemas

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestNames(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"census.v1.yaml", "acme.census.yaml", "notes.txt"} {
		os.WriteFile(filepath.Join(dir, n), []byte("name: x\n"), 0o600)
	}
	tests := []struct {
		name, dir string
		want      []string
	}{
		{"embedded only", "", []string{"census.v1", "elections.v1"}},
		{"a missing folder", filepath.Join(dir, "nope"), []string{"census.v1", "elections.v1"}},
		{"an operator's folder: its layouts too, each name once", dir, []string{"acme.census", "census.v1", "elections.v1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Names(tt.dir)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// A layout file an operator broke is named in the error, with the line the
// mistake is on (yaml.v3 alone says line 2 for these, and no file).
func TestLoadNamesTheBrokenFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ name, yaml, want string }{
		{"census.broken", "name: census.broken\ntype: census\n- name: ssn\n",
			"schemas: " + filepath.Join(dir, "census.broken.yaml") + ": line 3: did not find expected key"},
		{"census.tab", "name: census.tab\ntype: census\n\tcolumns: []\n",
			"schemas: " + filepath.Join(dir, "census.tab.yaml") + ": line 3: found a tab character that violates indentation"},
		{"census.wrongtype", "name: census.wrongtype\ntype: census\ncolumns:\n  - {name: ssn, required: maybe}\n",
			"schemas: " + filepath.Join(dir, "census.wrongtype.yaml") + ": unmarshal errors:\n  line 4: cannot unmarshal !!str `maybe` into bool"},
		{"census.badcolumn", "name: census.badcolumn\ntype: census\ncolumns:\n  - {name: salary}\n",
			"schemas: " + filepath.Join(dir, "census.badcolumn.yaml") + `: layout "census.badcolumn": column "salary" is not a census column`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.WriteFile(filepath.Join(dir, tt.name+".yaml"), []byte(tt.yaml), 0o600)
			_, err := Load(tt.name, dir)
			if err == nil || err.Error() != tt.want {
				t.Errorf("got %v, want %s", err, tt.want)
			}
		})
	}
}
