package enroll

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// chunkAhead is what a chunk of rows will look up, fetched before
// the chunk is applied with one query per kind of key (sorted IN lists)
// instead of three or four point queries a row. An entry answers only
// until a row of the chunk writes what it describes: census forgets the
// keys a row wrote (forget), and a forgotten key is read from the ledger
// again, so a later row sees the earlier rows' writes, as row order in a
// file requires.
type chunkAhead struct {
	emps    map[[2]string]*employment // (employer, employee) → its employment; nil: none
	persons map[string]*person        // "id\x1f"+id or "ssn\x1f"+match key → the person; nil: none
	emails  map[string]string         // email key → the person holding it; "": nobody
	macs    map[string][]byte         // SSN → its match key, computed once
}

// lookAheadRows fetches what the chunk's valid rows will look up: for a
// census row its employment, person (by match key, by id) and email; for
// an election its employment and person. Rows applied before (found by
// lookAheadApplied, which runs first) look up nothing: a nightly file is
// mostly such rows.
func (t *txn) lookAheadRows(chunk []Record) error {
	a := &chunkAhead{emps: map[[2]string]*employment{}, persons: map[string]*person{},
		emails: map[string]string{}, macs: map[string][]byte{}}
	t.ahc = a
	byEmployer := map[string][]any{}
	var macs, emails []any
	for i := range chunk {
		rec := &chunk[i]
		t.l.Prepare(rec)
		if t.ahead[rec.EmployerID+"\x1f"+rec.idem] != nil {
			continue // applied before: a DUPLICATE (or a reused id), no domain look-up
		}
		if e := rec.Election; e != nil && len(rec.Errors) == 0 {
			// An election looks up its employment and, through it, its person.
			if k := [2]string{e.EmployerID, e.EmployeeID}; !has(a.emps, k) {
				a.emps[k] = nil
				byEmployer[e.EmployerID] = append(byEmployer[e.EmployerID], e.EmployeeID)
			}
			continue
		}
		c := rec.Census
		if c == nil || len(rec.Errors) > 0 {
			continue
		}
		if k := [2]string{c.EmployerID, c.EmployeeID}; !has(a.emps, k) {
			a.emps[k] = nil
			byEmployer[c.EmployerID] = append(byEmployer[c.EmployerID], c.EmployeeID)
		}
		if c.SSN != "" && a.macs[c.SSN] == nil {
			mac := rec.ssnMAC
			a.macs[c.SSN] = mac
			a.persons["ssn\x1f"+string(mac)] = nil
			macs = append(macs, mac)
		}
		if c.Email != "" {
			k := strings.ToLower(c.Email)
			if _, ok := a.emails[k]; !ok {
				a.emails[k] = ""
				emails = append(emails, k)
			}
		}
	}
	var ids []any
	for employer, employees := range byEmployer {
		err := t.each(`SELECT id, person_id, employer_id, employee_id, status, hire_date, termination_date, version
			FROM employments WHERE employer_id = ? AND employee_id IN `+list(len(employees)),
			append([]any{employer}, employees...), func(scan func(...any) error) error {
				var e employment
				if err := scan(&e.ID, &e.PersonID, &e.EmployerID, &e.EmployeeID, &e.Status, &e.HireDate,
					&e.TerminationDate, &e.Version); err != nil {
					return err
				}
				a.emps[[2]string{e.EmployerID, e.EmployeeID}] = &e
				if !has(a.persons, "id\x1f"+e.PersonID) {
					a.persons["id\x1f"+e.PersonID] = nil
					ids = append(ids, e.PersonID)
				}
				return nil
			})
		if err != nil {
			return fmt.Errorf("enroll: look up employments: %w", err)
		}
	}
	keep := func(scan func(...any) error) error {
		p, err := scanPerson(scanner(scan))
		if err != nil {
			return err
		}
		a.persons["id\x1f"+p.ID] = p
		if p.ssnMAC != nil {
			a.persons["ssn\x1f"+string(p.ssnMAC)] = p
		}
		return nil
	}
	if len(macs) > 0 {
		if err := t.each(`SELECT `+personColumns+` FROM persons WHERE ssn_hmac IN `+list(len(macs)), macs, keep); err != nil {
			return fmt.Errorf("enroll: look up persons: %w", err)
		}
	}
	if len(ids) > 0 {
		if err := t.each(`SELECT `+personColumns+` FROM persons WHERE id IN `+list(len(ids)), ids, keep); err != nil {
			return fmt.Errorf("enroll: look up persons: %w", err)
		}
	}
	if len(emails) > 0 {
		err := t.each(`SELECT email_key, id FROM persons WHERE email_key IN `+list(len(emails)), emails,
			func(scan func(...any) error) error {
				var k, id string
				if err := scan(&k, &id); err != nil {
					return err
				}
				a.emails[k] = id
				return nil
			})
		if err != nil {
			return fmt.Errorf("enroll: look up emails: %w", err)
		}
	}
	return nil
}

// forget drops what a row just wrote: the person (by id, by both its old
// and new match keys, both emails) and the employment. Later rows read them
// from the ledger.
func (a *chunkAhead) forget(employer, employee string, before, after *person) {
	if a == nil {
		return
	}
	delete(a.emps, [2]string{employer, employee})
	for _, p := range []*person{before, after} {
		if p == nil {
			continue
		}
		delete(a.persons, "id\x1f"+p.ID)
		if p.ssnMAC != nil {
			delete(a.persons, "ssn\x1f"+string(p.ssnMAC))
		}
		if p.Email != "" {
			delete(a.emails, strings.ToLower(p.Email))
		}
	}
}

// forgetPerson drops a person an election row wrote (a KYC verdict).
func (a *chunkAhead) forgetPerson(id string) {
	if a != nil {
		delete(a.persons, "id\x1f"+id)
	}
}

// each runs a query on the transaction's statements and calls fn per row.
func (t *txn) each(query string, args []any, fn func(scan func(...any) error) error) error {
	rows, err := t.query(query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// scanner adapts a Scan function to scanPerson's argument.
type scanner func(...any) error

func (s scanner) Scan(dest ...any) error { return s(dest...) }

// list is "(?, ?, …)" with n placeholders.
func list(n int) string { return "(?" + strings.Repeat(", ?", n-1) + ")" }

func has[K comparable, V any](m map[K]V, k K) bool { _, ok := m[k]; return ok }

// employmentAhead is t.employment, answered from the chunk's look-ups when
// they hold the key.
func (t *txn) employmentAhead(employer, employee string) (*employment, error) {
	if t.ahc != nil {
		if e, ok := t.ahc.emps[[2]string{employer, employee}]; ok {
			if e == nil {
				return nil, nil
			}
			cp := *e
			return &cp, nil
		}
	}
	return t.employment(employer, employee)
}

// personAhead loads a person by id (a string) or match key (bytes), from
// the chunk's look-ups when they hold the key; nil when absent.
func (t *txn) personAhead(value any) (*person, error) {
	key, column := "", "id"
	switch v := value.(type) {
	case string:
		key = "id\x1f" + v
	case []byte:
		key, column = "ssn\x1f"+string(v), "ssn_hmac"
	}
	if t.ahc != nil {
		if p, ok := t.ahc.persons[key]; ok {
			if p == nil {
				return nil, nil
			}
			cp := *p
			return &cp, nil
		}
	}
	return personBy(t, t, column, value)
}

// emailHolder is the id of the person holding an email key, "" for none.
func (t *txn) emailHolder(key string) (string, error) {
	if t.ahc != nil {
		if id, ok := t.ahc.emails[key]; ok {
			return id, nil
		}
	}
	var id string
	err := t.queryRow(`SELECT id FROM persons WHERE email_key = ?`, key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// matchKey is the SSN's match key, computed once per chunk.
func (t *txn) matchKey(ssn string) []byte {
	if t.ahc != nil {
		if mac, ok := t.ahc.macs[ssn]; ok {
			return mac
		}
	}
	return t.l.keys.MatchKey(ssn)
}
