// Package yamlcheck decodes the YAML files an operator writes (config.yaml,
// the plans file) so that their mistakes read like the file, not like Go:
// `sources[0].sftp: line 9: unknown key "timeot" (did you mean "timeout"?)`
// rather than yaml.v3's `field timeot not found in type struct { Host
// string "yaml:\"host\""; … }`. Every problem in the document is reported,
// not only the first, each with its path and the line it is on.
package yamlcheck

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Error is one problem in a YAML document: the path of the key it is
// about, as the document spells it (sources[0].sftp.host), and its line.
type Error struct {
	Path string // "" for the document itself
	Line int    // 0 when unknown
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a document, in document order. One
// reads as that problem; several as a count and one problem a line, so
// that a heading put before them ("config FILE: ") reads well.
type Errors []*Error

func (es Errors) Error() string {
	if len(es) == 1 {
		return es[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems:", len(es))
	for _, e := range es {
		b.WriteString("\n  ")
		b.WriteString(e.Error())
	}
	return b.String()
}

// Decode checks the document n against the type of v (a pointer to a
// struct with yaml tags) and decodes it into v when nothing is wrong. Like
// a yaml.Decoder with KnownFields, a key the type does not have is an
// error; unlike it, the error names where the key is and suggests the key
// meant. The returned error is an Errors.
func Decode(n *yaml.Node, v any) error {
	if n.Kind == 0 || n.Kind == yaml.DocumentNode && len(n.Content) == 0 {
		return nil // an empty file, or comments only: nothing to decode
	}
	var errs Errors
	check(n, reflect.TypeOf(v), "", &errs)
	if len(errs) > 0 {
		return errs
	}
	if err := n.Decode(v); err != nil {
		// The walk accepts what yaml.v3 decodes; should the two ever
		// disagree, yaml.v3's own message still says what is wrong.
		return Errors{{Msg: strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	return nil
}

// Lines maps the path of every key and list item in the document to its
// line, so that a problem found after decoding (a required key that is
// empty, a value out of range) can be given a line too.
func Lines(n *yaml.Node) map[string]int {
	lines := map[string]int{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		n = resolve(n)
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := join(path, n.Content[i].Value)
				lines[p] = n.Content[i].Line
				walk(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				lines[p] = c.Line
				walk(c, p)
			}
		}
	}
	walk(n, "")
	return lines
}

// LineOf is the line of path in lines, or of its nearest ancestor that
// the document has (a missing key is reported where it should have been
// written); 0 when none is known.
func LineOf(lines map[string]int, path string) int {
	for path != "" {
		if l, ok := lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

var (
	durationType    = reflect.TypeFor[time.Duration]()
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
)

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && (n.Kind == yaml.DocumentNode || n.Kind == yaml.AliasNode) {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		} else if len(n.Content) > 0 {
			n = n.Content[0]
		} else {
			return n
		}
	}
	return n
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// check walks n as a value of type t, appending what does not fit.
func check(n *yaml.Node, t reflect.Type, path string, errs *Errors) {
	n = resolve(n)
	if n == nil || n.Kind == yaml.DocumentNode || n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // empty: the zero value, as yaml.v3 decodes it
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	bad := func(format string, args ...any) {
		*errs = append(*errs, &Error{Path: path, Line: n.Line, Msg: fmt.Sprintf(format, args...)})
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		// The type reads itself; its own error is the best there is.
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			bad("%s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			bad("want a mapping (key: value lines), got %s", got(n))
			return
		}
		checkStruct(n, t, path, errs)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			bad("want a mapping (key: value lines), got %s", got(n))
			return
		}
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if dupe(k, seen, path, errs) {
				continue
			}
			check(k, t.Key(), join(path, k.Value), errs)
			check(n.Content[i+1], t.Elem(), join(path, k.Value), errs)
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			bad("want a list, got %s", got(n))
			return
		}
		for i, c := range n.Content {
			check(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), errs)
		}
	case reflect.Interface:
		// Anything goes.
	default:
		if n.Kind != yaml.ScalarNode {
			bad("want %s, got %s", want(t), got(n))
			return
		}
		if err := n.Decode(reflect.New(t).Interface()); err != nil || fraction(n, t) {
			bad("want %s, got %s", want(t), got(n))
		}
	}
}

func checkStruct(n *yaml.Node, t reflect.Type, path string, errs *Errors) {
	fields := map[string]reflect.Type{}
	var names []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name) // yaml.v3's default key
		}
		fields[name] = f.Type
		names = append(names, name)
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if dupe(k, seen, path, errs) {
			continue
		}
		ft, ok := fields[k.Value]
		if !ok {
			*errs = append(*errs, &Error{Path: path, Line: k.Line, Msg: unknownKey(k.Value, names)})
			continue
		}
		check(v, ft, join(path, k.Value), errs)
	}
}

// dupe reports a key given twice in one mapping: yaml.v3 refuses the
// document, and only one of the two values could be meant.
func dupe(k *yaml.Node, seen map[string]int, path string, errs *Errors) bool {
	if first, ok := seen[k.Value]; ok {
		*errs = append(*errs, &Error{Path: path, Line: k.Line,
			Msg: fmt.Sprintf("key %q given twice (first at line %d)", k.Value, first)})
		return true
	}
	seen[k.Value] = k.Line
	return false
}

// unknownKey says which key was probably meant: the closest by edit
// distance when it is close, else the keys there are.
func unknownKey(key string, names []string) string {
	best, bestD := "", -1
	for _, name := range names {
		d := distance(strings.ToLower(key), name)
		if bestD < 0 || d < bestD {
			best, bestD = name, d
		}
	}
	// Two edits catch a dropped letter, a swap or a typo in a short
	// key; more than a third of the key is a different word.
	if bestD >= 0 && bestD <= 2 && bestD*3 <= len(best) {
		return fmt.Sprintf("unknown key %q (did you mean %q?)", key, best)
	}
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	return fmt.Sprintf("unknown key %q (want one of: %s)", key, strings.Join(sorted, ", "))
}

// distance is the optimal string alignment distance (Levenshtein with
// adjacent swaps), the count of typing slips between a and b.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// fraction reports a number with a fraction where a whole number is
// wanted: yaml.v3 would drop the fraction (port: 2.5 becomes 2).
func fraction(n *yaml.Node, t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return t != durationType && n.ShortTag() == "!!float"
	}
	return false
}

// want describes a Go type in the words of a config file.
func want(t reflect.Type) string {
	if t == durationType {
		return "a duration such as 30s, 5m or 1h30m"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number, 0 or more"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	}
	return t.String()
}

// got describes what the document has where a value was expected.
func got(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return strconv.Quote(n.Value)
}
