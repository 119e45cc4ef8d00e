package enroll

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestStructDiffMatchesTheJSONDiff: for every struct the ledger audits, the
// fast path writes exactly what the JSON round trip (changed) writes, for
// random values and random subsets of changed fields, strings that need
// escaping included.
func TestStructDiffMatchesTheJSONDiff(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"", "a", "Ann", `q"uote`, "<b>&", "é", "\x01", "2026-01-01"}
	fill := func(v reflect.Value, p float64) {
		for i := range v.NumField() {
			f := v.Field(i)
			if !f.CanSet() || r.Float64() > p {
				continue
			}
			switch f.Kind() {
			case reflect.String:
				f.SetString(words[r.IntN(len(words))])
			case reflect.Int, reflect.Int64:
				f.SetInt(r.Int64N(5) - 2)
			case reflect.Bool:
				f.SetBool(r.IntN(2) == 1)
			}
		}
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[person](), reflect.TypeFor[employment](),
		reflect.TypeFor[enrollment](), reflect.TypeFor[election]()} {
		if _, ok := jsonFields(typ); !ok {
			t.Errorf("%s: not on the fast path", typ)
			continue
		}
		for range 500 {
			b := reflect.New(typ).Elem()
			fill(b, 1)
			a := reflect.New(typ).Elem()
			a.Set(b)
			fill(a, r.Float64())
			gb, ga, ok := structDiff(b.Interface(), a.Interface())
			wb, wa := changed(auditJSON(b.Interface()), auditJSON(a.Interface()))
			if !ok || gb != wb || ga != wa {
				t.Fatalf("%s: got %s → %s (%v), want %s → %s", typ, gb, ga, ok, wb, wa)
			}
		}
	}
}
