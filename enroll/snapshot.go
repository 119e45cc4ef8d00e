package enroll

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// structDiff is changed for two values of one struct type, without the
// JSON round trip (marshal both, unmarshal both, marshal the rest: a fifth
// of a nightly file's ledger time went there): only the fields that differ
// are encoded, in the order json.Marshal gives a map's keys. ok is false
// for anything else (maps, different types, a field not comparable), which
// changed handles.
func structDiff(before, after any) (b, a string, ok bool) {
	bv, av := reflect.ValueOf(before), reflect.ValueOf(after)
	if bv.Kind() != reflect.Struct || bv.Type() != av.Type() {
		return "", "", false
	}
	fields, ok := jsonFields(bv.Type())
	if !ok {
		return "", "", false
	}
	var bs, as strings.Builder
	bs.WriteByte('{')
	as.WriteByte('{')
	for _, f := range fields {
		x, y := bv.Field(f.index).Interface(), av.Field(f.index).Interface()
		if x == y {
			continue
		}
		for _, side := range []struct {
			sb *strings.Builder
			v  any
		}{{&bs, x}, {&as, y}} {
			if side.sb.Len() > 1 {
				side.sb.WriteByte(',')
			}
			side.sb.WriteString(f.key)
			j, err := json.Marshal(side.v)
			if err != nil {
				return "", "", false
			}
			side.sb.Write(j)
		}
	}
	bs.WriteByte('}')
	as.WriteByte('}')
	return bs.String(), as.String(), true
}

type jsonField struct {
	index int
	name  string
	key   string // `"name":`
}

var fieldCache sync.Map // reflect.Type → []jsonField (nil: not handled)

// jsonFields are the exported, JSON-tagged fields of t sorted by name, as
// json.Marshal would write them into a map; ok is false when t has a field
// this fast path does not reproduce exactly (omitempty, an untagged or
// non-comparable field).
func jsonFields(t reflect.Type) ([]jsonField, bool) {
	if v, ok := fieldCache.Load(t); ok {
		fs := v.([]jsonField)
		return fs, fs != nil
	}
	var fs []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "" || tag == "-" || strings.Contains(tag, ",") || !f.Type.Comparable() ||
			f.Type.Kind() == reflect.Interface || f.Type.Kind() == reflect.Pointer {
			fs = nil
			fieldCache.Store(t, fs)
			return nil, false
		}
		k, _ := json.Marshal(tag)
		fs = append(fs, jsonField{index: i, name: tag, key: string(k) + ":"})
	}
	slices.SortFunc(fs, func(a, b jsonField) int { return strings.Compare(a.name, b.name) })
	fieldCache.Store(t, fs)
	return fs, fs != nil
}
