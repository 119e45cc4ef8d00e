package enroll

import (
	"database/sql"
	"errors"
	"fmt"
	"slices"
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
	// open holds, for the employments the chunk's election rows name, their
	// ACTIVE and PENDING_KYC enrollments. A row's new enrollment is added
	// (noteEnrollment); a changed one drops its employment's entry
	// (forgetEnrollments), which is then read from the ledger.
	open map[string][]*enrollment
	// hsa holds, for the persons of the chunk's election rows, their open
	// HSA enrollment's (employer, plan code), if any, and their HSA account.
	hsa map[string]*personHSA
}

// personHSA is what a person's HSA look-ups return (openHSA, hsaAccount).
type personHSA struct {
	open            *[2]string // employer, plan code; nil: none
	account, opened string     // the first HSA account and when it was opened; "": none
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
	if err := t.lookAheadOpen(chunk, a); err != nil {
		return err
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

// lookAheadOpen fetches the open enrollments of the employments the
// chunk's election rows name, in one sorted IN query.
func (t *txn) lookAheadOpen(chunk []Record, a *chunkAhead) error {
	var ids []any
	a.open = map[string][]*enrollment{}
	for i := range chunk {
		e := chunk[i].Election
		if e == nil || len(chunk[i].Errors) > 0 {
			continue
		}
		if emp := a.emps[[2]string{e.EmployerID, e.EmployeeID}]; emp != nil && !has(a.open, emp.ID) {
			a.open[emp.ID] = nil
			ids = append(ids, emp.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	slices.SortFunc(ids, func(x, y any) int { return strings.Compare(x.(string), y.(string)) })
	var persons []any
	a.hsa = map[string]*personHSA{}
	err := t.each(`SELECT `+enrollmentColumns+` FROM enrollments WHERE employment_id IN `+list(len(ids))+`
		AND status IN ('ACTIVE', 'PENDING_KYC')`, ids, func(scan func(...any) error) error {
		e, err := scanEnrollment(scanner(scan))
		if err == nil {
			a.open[e.EmploymentID] = append(a.open[e.EmploymentID], e)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("enroll: look up enrollments: %w", err)
	}
	// Only an HSA row looks up the person's HSA enrollment and account.
	if t.hsaCodes == nil {
		t.hsaCodes = map[[2]string]bool{}
		err := t.each(`SELECT employer_id, code FROM plans WHERE type = 'HSA'`, nil, func(scan func(...any) error) error {
			var k [2]string
			err := scan(&k[0], &k[1])
			t.hsaCodes[k] = true
			return err
		})
		if err != nil {
			return fmt.Errorf("enroll: look up plans: %w", err)
		}
	}
	for i := range chunk {
		e := chunk[i].Election
		if e == nil || len(chunk[i].Errors) > 0 || !t.hsaCodes[[2]string{e.EmployerID, e.PlanCode}] {
			continue
		}
		if emp := a.emps[[2]string{e.EmployerID, e.EmployeeID}]; emp != nil && !has(a.hsa, emp.PersonID) {
			a.hsa[emp.PersonID] = &personHSA{}
			persons = append(persons, emp.PersonID)
		}
	}
	if len(persons) == 0 {
		return nil
	}
	slices.SortFunc(persons, func(x, y any) int { return strings.Compare(x.(string), y.(string)) })
	err = t.each(`SELECT person_id, employer_id, plan_code FROM enrollments WHERE person_id IN `+list(len(persons))+`
		AND status IN ('ACTIVE', 'PENDING_KYC') AND plan_type = 'HSA'`, persons, func(scan func(...any) error) error {
		var id string
		var at [2]string
		err := scan(&id, &at[0], &at[1])
		if h := a.hsa[id]; err == nil && h.open == nil {
			h.open = &at
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("enroll: look up enrollments: %w", err)
	}
	err = t.each(`SELECT person_id, id, created_at FROM accounts WHERE person_id IN `+list(len(persons))+`
		AND plan_type = 'HSA'`, persons, func(scan func(...any) error) error {
		var person, id, at string
		err := scan(&person, &id, &at)
		if h := a.hsa[person]; err == nil && (h.account == "" || at < h.opened || at == h.opened && id < h.account) {
			h.account, h.opened = id, at
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("enroll: look up accounts: %w", err)
	}
	return nil
}

// openHSA is the person's open HSA enrollment (employer, plan code), or nil.
func (t *txn) openHSA(personID string) (*[2]string, error) {
	if t.ahc != nil {
		if h, ok := t.ahc.hsa[personID]; ok {
			return h.open, nil
		}
	}
	var at [2]string
	err := t.queryRow(`SELECT employer_id, plan_code FROM enrollments WHERE person_id = ? AND plan_type = 'HSA'
		AND status IN ('ACTIVE', 'PENDING_KYC') LIMIT 1`, personID).Scan(&at[0], &at[1])
	if notFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &at, nil
}

// hsaAccount is the person's first HSA account, or "".
func (t *txn) hsaAccount(personID string) (string, error) {
	if t.ahc != nil {
		if h, ok := t.ahc.hsa[personID]; ok {
			return h.account, nil
		}
	}
	// The first account opened; ordered here (see openEnrollment).
	var id, first string
	err := t.each(`SELECT id, created_at FROM accounts WHERE person_id = ? AND plan_type = 'HSA'`, []any{personID},
		func(scan func(...any) error) error {
			var i, c string
			err := scan(&i, &c)
			if err == nil && (id == "" || c < first || c == first && i < id) {
				id, first = i, c
			}
			return err
		})
	return id, err
}

// noteHSAAccount records a person's new (first) HSA account.
func (a *chunkAhead) noteHSAAccount(personID, id string) {
	if a == nil {
		return
	}
	if h, ok := a.hsa[personID]; ok && h.account == "" {
		h.account = id
	}
}

// noteEnrollment adds a new enrollment to its employment's open list, when
// the chunk holds that list.
func (a *chunkAhead) noteEnrollment(en *enrollment) {
	if a == nil {
		return
	}
	if list, ok := a.open[en.EmploymentID]; ok {
		c := *en
		a.open[en.EmploymentID] = append(list, &c)
	}
	if h, ok := a.hsa[en.PersonID]; ok && en.PlanType == "HSA" && h.open == nil &&
		(en.Status == "ACTIVE" || en.Status == "PENDING_KYC") {
		h.open = &[2]string{en.EmployerID, en.PlanCode}
	}
}

// forgetEnrollments drops what the chunk holds about an employment's and
// a person's enrollments (both "": about everyone's), after a change to
// one of them.
func (a *chunkAhead) forgetEnrollments(employmentID, personID string) {
	if a == nil {
		return
	}
	if employmentID == "" && personID == "" {
		clear(a.open)
		clear(a.hsa)
		return
	}
	delete(a.open, employmentID)
	delete(a.hsa, personID)
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
