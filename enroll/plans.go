package enroll

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"enrollsftp/internal/yamlcheck"
	"enrollsftp/validate"
)

// PlansFile is the plans YAML of SPEC §7: employers with their plan years
// and plans. A plan under an employer applies to all its plan years; a plan
// under a plan year applies to that year only and wins over the other.
type PlansFile struct {
	Employers []EmployerSpec `yaml:"employers"`
}

// EmployerSpec is one employer of a plans file.
type EmployerSpec struct {
	ID           string         `yaml:"id"`
	Name         string         `yaml:"name"`
	PayFrequency string         `yaml:"pay_frequency"`
	PlanYears    []PlanYearSpec `yaml:"plan_years"`
	Plans        []PlanSpec     `yaml:"plans"`
}

// PlanYearSpec is one plan year; dates are YYYY-MM-DD.
type PlanYearSpec struct {
	ID              string     `yaml:"id"`
	Start           string     `yaml:"start"`
	End             string     `yaml:"end"`
	EnrollmentStart string     `yaml:"enrollment_start"`
	EnrollmentEnd   string     `yaml:"enrollment_end"`
	RunoutEnd       string     `yaml:"runout_end"`
	Plans           []PlanSpec `yaml:"plans"`
}

// PlanSpec is one plan; amounts are dollars, as in the files.
type PlanSpec struct {
	Code                 string    `yaml:"code"`
	Type                 string    `yaml:"type"`
	Limits               *TierSpec `yaml:"limits"`
	EmployerContribution *TierSpec `yaml:"employer_contribution"`
}

// TierSpec holds a dollar amount per coverage tier.
type TierSpec struct {
	Individual string `yaml:"individual"`
	Family     string `yaml:"family"`
}

// UnmarshalYAML lets amounts be written as numbers (4400, 4400.50) or strings.
func (t *TierSpec) UnmarshalYAML(n *yaml.Node) error {
	var raw map[string]yaml.Node
	if err := n.Decode(&raw); err != nil {
		return err
	}
	for k, v := range raw {
		switch k {
		case "individual":
			t.Individual = v.Value
		case "family":
			t.Family = v.Value
		default:
			return fmt.Errorf("line %d: unknown tier %q (want individual or family)", v.Line, k)
		}
	}
	return nil
}

// ParsePlans reads and checks a plans file. Its mistakes are named by
// their path and line in the file, each on its own line when there are
// several (a yamlcheck.Errors, wrapped).
func ParsePlans(r io.Reader) (*PlansFile, error) {
	pf, err := parsePlans(r)
	if err != nil {
		return nil, fmt.Errorf("plans: %w", err)
	}
	return pf, nil
}

// ReadPlans reads and checks the plans file at path; an error names the
// file ("plans PATH: …").
func ReadPlans(path string) (*PlansFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("plans: %w", err)
	}
	defer f.Close()
	pf, err := parsePlans(f)
	if err != nil {
		return nil, fmt.Errorf("plans %s: %w", path, err)
	}
	return pf, nil
}

func parsePlans(r io.Reader) (*PlansFile, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	// A syntax error, a misspelt key or a wrong type is named by its
	// line and path in the file, as an operator wrote it.
	root, err := yamlcheck.Parse(data)
	if err != nil {
		return nil, err
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		return nil, yamlcheck.Errors{{Msg: "the file is empty: want employers: with their plan years and plans"}}
	}
	var pf PlansFile
	if err := yamlcheck.Decode(root, &pf); err != nil {
		return nil, err
	}
	if err := pf.Validate(); err != nil {
		var errs yamlcheck.Errors
		if errors.As(err, &errs) {
			lines := yamlcheck.Lines(root)
			for _, e := range errs {
				e.Line = yamlcheck.LineOf(lines, e.Path)
			}
		}
		return nil, err
	}
	return &pf, nil
}

// planProblems collects what Validate finds, each named by its path.
type planProblems yamlcheck.Errors

func (p *planProblems) add(path, format string, args ...any) {
	*p = append(*p, &yamlcheck.Error{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// Validate checks every value and names each one that is wrong by its
// path in the file (a yamlcheck.Errors; ParsePlans adds the lines).
func (pf *PlansFile) Validate() error {
	var p planProblems
	for i, e := range pf.Employers {
		at := fmt.Sprintf("employers[%d]", i)
		if e.ID == "" {
			p.add(at+".id", "required")
		}
		switch e.PayFrequency {
		case "WEEKLY", "BIWEEKLY", "SEMIMONTHLY", "MONTHLY":
		case "":
			p.add(at+".pay_frequency", "required: WEEKLY, BIWEEKLY, SEMIMONTHLY or MONTHLY")
		default:
			p.add(at+".pay_frequency", "want WEEKLY, BIWEEKLY, SEMIMONTHLY or MONTHLY, got %q", e.PayFrequency)
		}
		for j, py := range e.PlanYears {
			pat := fmt.Sprintf("%s.plan_years[%d]", at, j)
			if py.ID == "" {
				p.add(pat+".id", "required")
			}
			dates := []struct {
				key, v string
				ok     bool
			}{{"start", py.Start, false}, {"end", py.End, false}, {"enrollment_start", py.EnrollmentStart, false},
				{"enrollment_end", py.EnrollmentEnd, false}, {"runout_end", py.RunoutEnd, false}}
			for k := range dates {
				d := &dates[k]
				switch _, err := time.Parse(isoDate, d.v); {
				case d.v == "" && d.key == "runout_end": // optional: the end
				case d.v == "":
					p.add(pat+"."+d.key, "%s date missing (want YYYY-MM-DD)", strings.ReplaceAll(d.key, "_", " "))
				case err != nil:
					p.add(pat+"."+d.key, "want a date YYYY-MM-DD, got %q", d.v)
				default:
					d.ok = true
				}
			}
			// Compared only when both are dates: a missing one is said once.
			for _, r := range []struct{ from, to int }{{0, 1}, {2, 3}, {1, 4}} {
				from, to := dates[r.from], dates[r.to]
				if from.ok && to.ok && to.v < from.v {
					p.add(pat+"."+to.key, "%s is before %s %s", to.v, from.key, from.v)
				}
			}
			for k, pl := range py.Plans {
				checkPlan(pl, fmt.Sprintf("%s.plans[%d]", pat, k), &p)
			}
		}
		for k, pl := range e.Plans {
			checkPlan(pl, fmt.Sprintf("%s.plans[%d]", at, k), &p)
		}
	}
	if len(p) > 0 {
		return yamlcheck.Errors(p)
	}
	return nil
}

func checkPlan(pl PlanSpec, at string, p *planProblems) {
	if pl.Code == "" {
		p.add(at+".code", "required")
	}
	switch pl.Type {
	case "HSA", "FSA", "LPFSA", "DCFSA", "HRA", "COMMUTER":
	case "":
		p.add(at+".type", "required: HSA, FSA, LPFSA, DCFSA, HRA or COMMUTER")
	default:
		p.add(at+".type", "want HSA, FSA, LPFSA, DCFSA, HRA or COMMUTER, got %q", pl.Type)
	}
	for _, t := range []struct {
		name string
		spec *TierSpec
	}{{"limits", pl.Limits}, {"employer_contribution", pl.EmployerContribution}} {
		if t.spec == nil {
			continue
		}
		for _, v := range []struct{ tier, amount string }{{"individual", t.spec.Individual}, {"family", t.spec.Family}} {
			if v.amount == "" {
				continue
			}
			if _, err := validate.Amount(t.name, v.amount); err != nil {
				p.add(at+"."+t.name+"."+v.tier, "want a dollar amount, got %q", v.amount)
			}
		}
	}
}

// cents converts a checked dollar string; "" is nil (not set).
func cents(v string) *int64 {
	if v == "" {
		return nil
	}
	c, _ := validate.Amount("", v) // checked by Validate
	return &c
}

// LoadPlans upserts employers, plan years and plans in one transaction.
// Plan ids stay stable across reloads, so enrollments keep pointing at them,
// and a row is only written (its version bumped) when it changed: serve
// reloads the plans before every run.
func (l *Ledger) LoadPlans(ctx context.Context, pf *PlansFile) error {
	tx, err := l.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("enroll: load plans: %w", err)
	}
	defer tx.Rollback()
	for _, e := range pf.Employers {
		name := e.Name
		if name == "" {
			name = e.ID
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO employers (id, name, pay_frequency) VALUES (?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, pay_frequency = excluded.pay_frequency,
			version = version + 1
			WHERE (name, pay_frequency) IS NOT (excluded.name, excluded.pay_frequency)`,
			e.ID, name, e.PayFrequency); err != nil {
			return fmt.Errorf("enroll: load plans: employer %s: %w", e.ID, err)
		}
		for _, py := range e.PlanYears {
			runout := py.RunoutEnd
			if runout == "" {
				runout = py.End
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO plan_years (employer_id, code, start_date, end_date,
				enrollment_start, enrollment_end, runout_end) VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (employer_id, code) DO UPDATE SET start_date = excluded.start_date,
				end_date = excluded.end_date, enrollment_start = excluded.enrollment_start,
				enrollment_end = excluded.enrollment_end, runout_end = excluded.runout_end, version = version + 1
				WHERE (start_date, end_date, enrollment_start, enrollment_end, runout_end) IS NOT
				(excluded.start_date, excluded.end_date, excluded.enrollment_start, excluded.enrollment_end, excluded.runout_end)`,
				e.ID, py.ID, py.Start, py.End, py.EnrollmentStart, py.EnrollmentEnd, runout); err != nil {
				return fmt.Errorf("enroll: load plans: plan year %s/%s: %w", e.ID, py.ID, err)
			}
			for _, p := range py.Plans {
				if err := upsertPlan(ctx, tx, e.ID, py.ID, p); err != nil {
					return err
				}
			}
		}
		for _, p := range e.Plans {
			if err := upsertPlan(ctx, tx, e.ID, "", p); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

func upsertPlan(ctx context.Context, tx execer, employer, planYear string, p PlanSpec) error {
	var li, lf *int64
	var ei, ef int64
	if p.Limits != nil {
		li, lf = cents(p.Limits.Individual), cents(p.Limits.Family)
	}
	if p.EmployerContribution != nil {
		if c := cents(p.EmployerContribution.Individual); c != nil {
			ei = *c
		}
		if c := cents(p.EmployerContribution.Family); c != nil {
			ef = *c
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO plans (id, employer_id, plan_year_code, code, type,
		limit_individual, limit_family, employer_individual, employer_family) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (employer_id, plan_year_code, code) DO UPDATE SET type = excluded.type,
		limit_individual = excluded.limit_individual, limit_family = excluded.limit_family,
		employer_individual = excluded.employer_individual, employer_family = excluded.employer_family,
		version = version + 1
		WHERE (type, limit_individual, limit_family, employer_individual, employer_family) IS NOT
		(excluded.type, excluded.limit_individual, excluded.limit_family, excluded.employer_individual,
		excluded.employer_family)`,
		newID(), employer, planYear, p.Code, p.Type, li, lf, ei, ef)
	if err != nil {
		return fmt.Errorf("enroll: load plans: plan %s/%s: %w", employer, p.Code, err)
	}
	return nil
}
