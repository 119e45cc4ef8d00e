// Package schemas holds the shapes of data: the file layouts (YAML) and the
// ledger's numbered SQL migrations, embedded so the binary needs no files.
package schemas

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"enrollsftp/internal/yamlcheck"
)

//go:embed *.yaml migrations/*.sql
var files embed.FS

// Migrations is the folder of numbered SQL migrations, applied in name order.
func Migrations() fs.FS {
	sub, err := fs.Sub(files, "migrations")
	if err != nil {
		panic(err) // the folder is embedded at build time
	}
	return sub
}

// Canonical columns per file type (SPEC §4), in the order outputs use.
var (
	CensusColumns = []string{"record_id", "employer_id", "employee_id", "first_name", "middle_name",
		"last_name", "ssn", "dob", "address_line1", "address_line2", "city", "state", "zip", "email",
		"phone", "employment_status", "hire_date", "termination_date"}
	ElectionColumns = []string{"record_id", "employer_id", "employee_id", "plan_code", "action",
		"coverage_tier", "annual_amount", "effective_date", "end_date", "reason",
		"transfer_employer_id", "transfer_employee_id", "transfer_plan_code"}
)

// Column is one column of a layout.
type Column struct {
	Name        string   `yaml:"name"`
	Required    bool     `yaml:"required"`
	Aliases     []string `yaml:"aliases"`
	DateFormats []string `yaml:"date_formats"` // overrides the layout's
}

// Layout describes one vendor file shape: which canonical columns it has,
// how a vendor may name them, and how it writes dates.
type Layout struct {
	Name        string   `yaml:"name"`
	Type        string   `yaml:"type"`
	DateFormats []string `yaml:"date_formats"`
	Columns     []Column `yaml:"columns"`

	byName  map[string]int      // lower-cased name or alias → column index
	formats map[string][]string // column → Go time layouts
}

// Load reads layout NAME: from dir/NAME.yaml when dir has it (so an operator
// can add a vendor layout without a build), else from the embedded copy.
func Load(name, dir string) (*Layout, error) {
	if strings.ContainsAny(name, `/\`) || name == "" {
		return nil, fmt.Errorf("schemas: invalid layout name %q", name)
	}
	var data []byte
	var err error
	var file string
	if dir != "" {
		file = filepath.Join(dir, name+".yaml")
		data, err = os.ReadFile(file)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("schemas: %w", err)
		}
	}
	if data == nil {
		file = "built-in " + name + ".yaml"
		data, err = files.ReadFile(name + ".yaml")
		if err != nil {
			return nil, fmt.Errorf("schemas: layout %q not found", name)
		}
	}
	l, err := parse(data)
	if err != nil {
		// The operator's file, named: a layouts folder may hold many.
		return nil, fmt.Errorf("schemas: %s: %w", file, err)
	}
	return l, nil
}

// Names lists the layouts Load finds, sorted: the embedded ones and those
// in dir (where a file replaces the embedded layout of its name).
func Names(dir string) ([]string, error) {
	seen := map[string]bool{}
	embedded, err := fs.Glob(files, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("schemas: %w", err)
	}
	var local []string
	if dir != "" {
		if local, err = filepath.Glob(filepath.Join(dir, "*.yaml")); err != nil {
			return nil, fmt.Errorf("schemas: %w", err)
		}
	}
	var names []string
	for _, p := range append(embedded, local...) {
		name := strings.TrimSuffix(filepath.Base(p), ".yaml")
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// Parse reads a layout from YAML and checks it.
func Parse(data []byte) (*Layout, error) {
	l, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("schemas: %w", err)
	}
	return l, nil
}

func parse(data []byte) (*Layout, error) {
	// yamlcheck gives a syntax error the line it is on; yaml.v3's own
	// number is often the line before.
	root, err := yamlcheck.Parse(data)
	if err != nil {
		return nil, err
	}
	var l Layout
	if err := root.Decode(&l); err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if err := l.init(); err != nil {
		return nil, fmt.Errorf("layout %q: %w", l.Name, err)
	}
	return &l, nil
}

func (l *Layout) init() error {
	var canon []string
	switch l.Type {
	case "census":
		canon = CensusColumns
	case "elections":
		canon = ElectionColumns
	default:
		return fmt.Errorf("type %q: want census or elections", l.Type)
	}
	known := make(map[string]bool, len(canon))
	for _, c := range canon {
		known[c] = true
	}
	l.byName = make(map[string]int)
	l.formats = make(map[string][]string)
	for i, c := range l.Columns {
		if !known[c.Name] {
			return fmt.Errorf("column %q is not a %s column", c.Name, l.Type)
		}
		for _, n := range append([]string{c.Name}, c.Aliases...) {
			key := normalizeHeader(n)
			if j, dup := l.byName[key]; dup && j != i {
				return fmt.Errorf("name %q is used by two columns", n)
			}
			l.byName[key] = i
		}
		fmts := c.DateFormats
		if len(fmts) == 0 {
			fmts = l.DateFormats
		}
		if len(fmts) == 0 {
			fmts = []string{"YYYY-MM-DD"}
		}
		for _, f := range fmts {
			g, err := goLayout(f)
			if err != nil {
				return fmt.Errorf("column %q: %w", c.Name, err)
			}
			l.formats[c.Name] = append(l.formats[c.Name], g)
		}
	}
	return nil
}

// Column finds the layout column a header cell names, case-insensitively
// after trimming, by name or alias.
func (l *Layout) Column(header string) (Column, bool) {
	i, ok := l.byName[normalizeHeader(header)]
	if !ok {
		return Column{}, false
	}
	return l.Columns[i], true
}

// Fits reports whether a header row would be accepted by the layout:
// every cell names one of its columns, none twice, and every required
// column is there.
func (l *Layout) Fits(header []string) bool {
	seen := make(map[string]bool, len(header))
	for _, h := range header {
		c, ok := l.Column(h)
		if !ok || seen[c.Name] {
			return false
		}
		seen[c.Name] = true
	}
	for _, c := range l.Columns {
		if c.Required && !seen[c.Name] {
			return false
		}
	}
	return len(header) > 0
}

// ParseDate reads a date in one of the column's formats. Only whole dates
// are accepted: time.Parse rejects 2026-02-30 and trailing text.
func (l *Layout) ParseDate(column, s string) (time.Time, bool) {
	for _, f := range l.formats[column] {
		if t, err := time.Parse(f, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func normalizeHeader(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// goLayout turns a date pattern such as "MM/DD/YYYY" into Go's reference
// layout, so vendor layouts are written in the notation vendors use.
func goLayout(pattern string) (string, error) {
	tokens := []struct{ from, to string }{
		{"YYYY", "2006"}, {"YY", "06"}, {"MM", "01"}, {"DD", "02"}, {"M", "1"}, {"D", "2"},
	}
	var b strings.Builder
	for rest := pattern; rest != ""; {
		matched := false
		for _, t := range tokens {
			if strings.HasPrefix(rest, t.from) {
				b.WriteString(t.to)
				rest = rest[len(t.from):]
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		c := rest[0]
		if c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			return "", fmt.Errorf("date format %q: unexpected %q", pattern, c)
		}
		b.WriteByte(c)
		rest = rest[1:]
	}
	return b.String(), nil
}
