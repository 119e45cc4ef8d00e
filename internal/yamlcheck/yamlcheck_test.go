package yamlcheck

import (
	"errors"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

type tier struct{ A, B string }

// UnmarshalYAML makes tier read itself, as enroll.TierSpec does.
func (t *tier) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return errors.New("tier: want a mapping")
	}
	return nil
}

type doc struct {
	Name    string `yaml:"name"`
	Sources []struct {
		Name string `yaml:"name"`
		SFTP struct {
			Host    string        `yaml:"host"`
			Port    int           `yaml:"port"`
			Timeout time.Duration `yaml:"timeout"`
		} `yaml:"sftp"`
		Ratio    float64           `yaml:"max_reject_ratio"`
		Patterns map[string]string `yaml:"patterns"`
		Hold     bool              `yaml:"hold"`
		Tier     *tier             `yaml:"tier"`
		Secret   string            `yaml:"-"`
	} `yaml:"sources"`
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string // every error, in order; none: decodes
	}{
		{"valid", "name: x\n# a comment\n\nsources:\n  - name: a\n    sftp: {host: h, port: 22, timeout: 5s}\n    max_reject_ratio: 0.5\n", nil},
		{"empty document", "", nil},
		{"comments only", "# nothing yet\n", nil},
		{"not a mapping", "hello\n", []string{`line 1: want a mapping (key: value lines), got "hello"`}},
		{"empty values are zero", "name:\nsources:\n  - name: a\n    sftp:\n", nil},
		{"misspelt key, line counted past comments and blank lines",
			"# config\n\nsources:\n  # the vendor\n  - name: a\n\n    sftp:\n      host: h\n      timeot: 3s\n",
			[]string{`sources[0].sftp: line 9: unknown key "timeot" (did you mean "timeout"?)`}},
		{"swapped letters", "naem: x\n", []string{`line 1: unknown key "naem" (did you mean "name"?)`}},
		{"nothing close", "colour: blue\n", []string{`line 1: unknown key "colour" (want one of: name, sources)`}},
		{"a yaml:\"-\" field is not a key", "sources:\n  - secret: x\n", []string{`sources[0]: line 2: unknown key "secret"`}},
		{"not a number", "sources:\n  - name: a\n    max_reject_ratio: abc\n",
			[]string{`sources[0].max_reject_ratio: line 3: want a number, got "abc"`}},
		{"not a whole number", "sources:\n  - sftp: {port: 2.5}\n", []string{`sources[0].sftp.port: line 2: want a whole number, got "2.5"`}},
		{"not a duration", "sources:\n  - sftp: {timeout: 30}\n", []string{`sources[0].sftp.timeout: line 2: want a duration such as 30s`}},
		{"not a bool", "sources:\n  - hold: maybe\n", []string{`sources[0].hold: line 2: want true or false, got "maybe"`}},
		{"list for a string", "name: [a, b]\n", []string{`name: line 1: want a string, got a list`}},
		{"string for a list", "sources: acme\n", []string{`sources: line 1: want a list, got "acme"`}},
		{"string for a mapping", "sources:\n  - sftp: h\n", []string{`sources[0].sftp: line 2: want a mapping (key: value lines), got "h"`}},
		{"map value type", "sources:\n  - patterns: {census: [a]}\n", []string{`sources[0].patterns.census: line 2: want a string, got a list`}},
		{"key given twice", "name: a\nname: b\n", []string{`line 2: key "name" given twice (first at line 1)`}},
		{"a type that reads itself", "sources:\n  - tier: x\n", []string{`sources[0].tier: line 2: tier: want a mapping`}},
		{"anchors and aliases", "base: &b {host: h}\n", []string{`line 1: unknown key "base"`}},
		{"every problem, in order", "sources:\n  - name: a\n    max_reject_ratio: abc\n    sftp: {hots: h}\n  - nme: b\n",
			[]string{`sources[0].max_reject_ratio: line 3:`, `sources[0].sftp: line 4: unknown key "hots" (did you mean "host"?)`,
				`sources[1]: line 5: unknown key "nme" (did you mean "name"?)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var root yaml.Node
			if err := yaml.Unmarshal([]byte(tt.yaml), &root); err != nil {
				t.Fatal(err)
			}
			var d doc
			err := Decode(&root, &d)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("got %v, want Errors", err)
			}
			if len(errs) != len(tt.want) {
				t.Fatalf("got %d errors:\n%v\nwant %d: %q", len(errs), err, len(tt.want), tt.want)
			}
			for i, e := range errs {
				if !strings.HasPrefix(e.Error(), tt.want[i]) {
					t.Errorf("error %d: got %q, want it to start %q", i, e.Error(), tt.want[i])
				}
			}
		})
	}
}

func TestDecodeFillsValues(t *testing.T) {
	var root yaml.Node
	yaml.Unmarshal([]byte("name: x\nsources:\n  - sftp: {host: h, timeout: 5s}\n    max_reject_ratio: 0.25\n"), &root)
	var d doc
	if err := Decode(&root, &d); err != nil {
		t.Fatal(err)
	}
	if d.Name != "x" || len(d.Sources) != 1 || d.Sources[0].SFTP.Timeout != 5*time.Second || d.Sources[0].Ratio != 0.25 {
		t.Errorf("got %+v", d)
	}
}

func TestLineOf(t *testing.T) {
	var root yaml.Node
	yaml.Unmarshal([]byte("ledger: l.db\nsources:\n  - name: a\n\n    sftp:\n      host: h\n"), &root)
	lines := Lines(&root)
	tests := []struct {
		path string
		want int
	}{
		{"ledger", 1},
		{"sources[0]", 3},
		{"sources[0].sftp.host", 6},
		{"sources[0].sftp.known_hosts", 5}, // missing: where its mapping is
		{"sources[0].archive", 3},
		{"staging", 0},
	}
	for _, tt := range tests {
		if got := LineOf(lines, tt.path); got != tt.want {
			t.Errorf("LineOf(%s): got %d, want %d", tt.path, got, tt.want)
		}
	}
}

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"timeout", "timeout", 0}, {"timeot", "timeout", 1}, {"tiemout", "timeout", 1},
		{"", "abc", 3}, {"kitten", "sitting", 3},
	}
	for _, tt := range tests {
		if got := distance(tt.a, tt.b); got != tt.want {
			t.Errorf("distance(%q, %q): got %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// A syntax error names the line the mistake is on, counted from 1, as the
// operator's editor does. yaml.v3 alone says line 3 for the tab on line
// 4, line 2 for the stray list item on line 3, and no line for a mistake
// on line 1.
func TestParseSyntaxErrorLine(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"tab in the indentation", "a: 1\nb: 2\nc: 3\n\td: 4\n", "line 4: found a tab character that violates indentation"},
		{"tab after comments", "# config\n\nsources:\n  - name: a\n\tinbound: /in\n", "line 5: found a tab character that violates indentation"},
		{"a list item in a mapping", "a: 1\nb: 2\n- c\n", "line 3: did not find expected key"},
		{"a key indented too little", "sources:\n  - name: a\n    sftp:\n      host: h\n     user: u\n", "line 5: did not find expected key"},
		{"a key in a value", "a: 1\nb: 2\nc: d: e\n", "line 3: mapping values are not allowed in this context"},
		{"an unclosed list: where it opens", "a: 1\nb: 2\nc: [1, 2\nd: 4\n", "line 3: did not find expected ',' or ']'"},
		{"an unclosed quote: where it opens", "a: 1\nb: \"x\nc: 3\n", "line 2: found unexpected end of stream"},
		{"on the first line", "\ta: 1\n", "line 1: found character that cannot start any token"},
		{"a character that cannot start a token", "a: 1\nb: @x\n", "line 2: found character that cannot start any token"},
		{"an unknown anchor", "a: 1\nb: &x 2\nc: *y\n", "line 3: unknown anchor 'y' referenced"},
		{"no newline at the end", "a: 1\nb: [\n", "line 2: did not find expected node content"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			var errs Errors
			if !errors.As(err, &errs) || len(errs) != 1 {
				t.Fatalf("got %v, want one Error", err)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	if n, err := Parse([]byte("a: 1\n")); err != nil || n.Kind != yaml.DocumentNode {
		t.Errorf("a valid document: got %v, %v", n, err)
	}
}
