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
