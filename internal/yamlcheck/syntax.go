package yamlcheck

import (
	"bytes"
	"regexp"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Parse reads a YAML document into its node tree. A syntax error is an
// Errors of one *Error giving the line the mistake is on.
//
// yaml.v3's own line numbers cannot be given as they are: a parser error
// ("did not find expected key") counts lines from 0, so it names the line
// before; a scanner error counts from 1 but names the line where the
// token being scanned began ("line 3" for a tab that breaks the
// indentation of line 4); and a mistake on the first line has no number
// at all. The number yaml.v3 gives is never past the mistake, so Parse
// looks from there for the first line at which the document, cut after
// that line, fails with the same problem: the line that makes the
// document wrong.
func Parse(data []byte) (*yaml.Node, error) {
	var root yaml.Node
	err := yaml.Unmarshal(data, &root)
	if err == nil {
		return &root, nil
	}
	return nil, Errors{syntaxError(data, err)}
}

var syntaxMsg = regexp.MustCompile(`(?s)^yaml: (?:line (\d+): )?(.*)$`)

func syntaxError(data []byte, err error) *Error {
	m := syntaxMsg.FindStringSubmatch(err.Error())
	if m == nil {
		return &Error{Msg: err.Error()}
	}
	problem := m[2]
	from, _ := strconv.Atoi(m[1])
	lines := bytes.SplitAfter(data, []byte("\n"))
	end := 0 // bytes in the lines before from
	for i := 0; i < from-1 && i < len(lines); i++ {
		end += len(lines[i])
	}
	for k := max(from, 1); k <= len(lines); k++ {
		end += len(lines[k-1])
		var n yaml.Node
		if err := yaml.Unmarshal(data[:end], &n); err != nil {
			if p := syntaxMsg.FindStringSubmatch(err.Error()); p != nil && p[2] == problem {
				return &Error{Line: k, Msg: problem}
			}
		}
	}
	// Not found (the problem needs what follows the line to show): the
	// number yaml.v3 gave, counted from 1.
	return &Error{Line: max(from, 1), Msg: problem}
}
