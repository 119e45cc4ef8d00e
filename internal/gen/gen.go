// Package gen writes realistic census and election files for benchmarks:
// deterministic for a seed, mostly valid rows with a small share of each
// kind of error, several employers and plans, elections that reference the
// census of the same seed. Rows are written as they are made: memory does
// not grow with the row count.
package gen

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
)

// Employers and their plans, as in testdata/plans.yaml.
var employers = []struct {
	id       string
	fsa, hsa string
}{{"ACME", "FSA1", "HSA1"}, {"GLOBEX", "GFSA", "GHSA"}}

var (
	firstNames = []string{"Ada", "Bob", "Cy", "Dee", "Eve", "Fay", "Gus", "Hal", "Ivy", "Jo", "Kim", "Lee"}
	lastNames  = []string{"Lovelace", "Builder", "Young", "Smith", "Garcia", "Nguyen", "Okafor", "Rossi", "Kowalski"}
	streets    = []string{"Main St", "Oak Ave", "Elm St", "Pine Rd", "Birch Ln", "Cedar Ct"}
)

// ssn is a well-formed SSN unique to i (areas 001–899 but 666).
func ssn(i int) string {
	serial := 1 + i%9999
	group := 1 + (i/9999)%99
	area := 1 + (i/(9999*99))%898
	if area >= 666 {
		area++
	}
	return fmt.Sprintf("%03d-%02d-%04d", area, group, serial)
}

// Census writes a header and rows census rows. About 1 row in 100 carries
// one error of each kind (bad SSN, bad ZIP, missing name, bad state, bad
// email, an SSN that fails KYC).
func Census(w io.Writer, rows int, seed uint64) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	r := rand.New(rand.NewPCG(seed, 0x656e726f6c6c))
	fmt.Fprintln(bw, "record_id,employer_id,employee_id,first_name,middle_name,last_name,ssn,dob,address_line1,address_line2,city,state,zip,email,phone,employment_status,hire_date,termination_date")
	for i := range rows {
		e := employers[i%len(employers)]
		s, zip, last, state, email := ssn(i), "02134", lastNames[r.IntN(len(lastNames))], "MA", fmt.Sprintf("p%d@example.com", i)
		switch r.IntN(100) {
		case 0:
			s = "666-12-3456"
		case 1:
			zip = "1234"
		case 2:
			last = ""
		case 3:
			state = "ZZ"
		case 4:
			email = "not-an-email"
		case 5:
			s = "078-05-1120"
		}
		_, err := fmt.Fprintf(bw, "C%d,%s,E%d,%s,,%s,%s,%d-%02d-%02d,%d %s,,Boston,%s,%s,%s,617-555-%04d,ACTIVE,2020-01-06,\n",
			i, e.id, i, firstNames[r.IntN(len(firstNames))], last, s, 1950+r.IntN(50), 1+r.IntN(12), 1+r.IntN(28),
			1+r.IntN(999), streets[r.IntN(len(streets))], state, zip, email, r.IntN(10000))
		if err != nil {
			return err
		}
	}
	return bw.Flush()
}

// Elections writes elections for the employees of Census(rows): an FSA or
// HSA enrollment each, with about 1 row in 100 per kind of error (bad
// amount, over the limit, unknown plan, unknown employee, bad tier).
func Elections(w io.Writer, rows int, seed uint64) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	r := rand.New(rand.NewPCG(seed, 0x656c6563))
	fmt.Fprintln(bw, "record_id,employer_id,employee_id,plan_code,action,coverage_tier,annual_amount,effective_date,end_date,reason,transfer_employer_id,transfer_employee_id,transfer_plan_code")
	for i := range rows {
		e := employers[i%len(employers)]
		plan, tier, amount, employee := e.fsa, "INDIVIDUAL", fmt.Sprintf("%d.00", 100+r.IntN(2500)), fmt.Sprintf("E%d", i)
		if r.IntN(3) == 0 {
			plan = e.hsa
		}
		switch r.IntN(100) {
		case 0:
			amount = "lots"
		case 1:
			amount = "99999.00"
		case 2:
			plan = "NOPE"
		case 3:
			employee = fmt.Sprintf("X%d", i)
		case 4:
			tier = "PLATINUM"
		}
		if _, err := fmt.Fprintf(bw, "L%d,%s,%s,%s,ENROLL,%s,%s,2026-01-01,,NEW_HIRE,,,\n", i, e.id, employee, plan, tier, amount); err != nil {
			return err
		}
	}
	return bw.Flush()
}
