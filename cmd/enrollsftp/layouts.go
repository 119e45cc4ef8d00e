package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"enrollsftp/schemas"
)

// layoutJSON is a layout as `layouts --json` gives it.
type layoutJSON struct {
	Name        string       `json:"name"`
	Type        string       `json:"type"`
	File        string       `json:"file"` // "" for a layout built into the binary
	DateFormats []string     `json:"date_formats"`
	Required    []string     `json:"required"`
	Columns     []columnJSON `json:"columns"`
}

type columnJSON struct {
	Name        string   `json:"name"`
	Required    bool     `json:"required"`
	Aliases     []string `json:"aliases"`
	DateFormats []string `json:"date_formats"`
}

// layouts lists the file layouts a source or `process --layout` may name:
// the built-in ones and those in the config's layouts folder, which an
// operator writes for a vendor's own header names.
func (a *app) layouts(args []string) error {
	fs := flag.NewFlagSet("layouts", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	if pos, err := a.parse(fs, args); err != nil {
		return err
	} else if len(pos) != 0 {
		return usageErr("layouts: unexpected %q", pos[0])
	}
	list, err := a.loadLayouts()
	if err != nil {
		return err
	}
	if *asJSON {
		return a.printJSON(list)
	}
	for i, l := range list {
		if i > 0 {
			fmt.Fprintln(a.stdout)
		}
		from := "built in"
		if l.File != "" {
			from = l.File
		}
		fmt.Fprintf(a.stdout, "%s (%s, %s)\n", l.Name, l.Type, from)
		fmt.Fprintf(a.stdout, "  date formats: %s\n", strings.Join(l.DateFormats, ", "))
		fmt.Fprintf(a.stdout, "  required: %s\n", strings.Join(l.Required, ", "))
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  COLUMN\tREQUIRED\tALIASES")
		for _, c := range l.Columns {
			req := "no"
			if c.Required {
				req = "yes"
			}
			aliases := strings.Join(c.Aliases, ", ")
			if len(c.DateFormats) > 0 {
				aliases = strings.TrimPrefix(aliases+"; dates: "+strings.Join(c.DateFormats, ", "), "; ")
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", c.Name, req, dash(aliases))
		}
		tw.Flush()
	}
	return nil
}

// loadLayouts loads every layout schemas.Load would find, as Load finds
// it: a layout in the config's folder that does not parse is a config
// error (exit 2), as it would be when a file names it.
func (a *app) loadLayouts() ([]layoutJSON, error) {
	dir := a.cfg.path(a.cfg.Layouts)
	names, err := schemas.Names(dir)
	if err != nil {
		return nil, err
	}
	list := []layoutJSON{}
	var bad []error
	for _, name := range names {
		l, err := schemas.Load(name, dir)
		if err != nil {
			bad = append(bad, err)
			continue
		}
		// The name a source or --layout gives, which is the file's.
		j := layoutJSON{Name: name, Type: l.Type, DateFormats: nonNil(l.DateFormats), Required: []string{},
			Columns: make([]columnJSON, 0, len(l.Columns))}
		if dir != "" {
			p := filepath.Join(dir, name+".yaml")
			if _, err := os.Stat(p); err == nil {
				j.File, _ = filepath.Abs(p)
			} else if !errors.Is(err, fs.ErrNotExist) {
				bad = append(bad, err)
			}
		}
		for _, c := range l.Columns {
			j.Columns = append(j.Columns, columnJSON{Name: c.Name, Required: c.Required,
				Aliases: nonNil(c.Aliases), DateFormats: nonNil(c.DateFormats)})
			if c.Required {
				j.Required = append(j.Required, c.Name)
			}
		}
		list = append(list, j)
	}
	if len(bad) > 0 {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("layouts in %s: %w", dir, errors.Join(bad...))}
	}
	return list, nil
}

// nonNil makes an absent list [] in JSON, as SPEC §9 gives absent values.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
