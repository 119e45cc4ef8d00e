package report

import "math"

// chart is a bar chart laid out for an inline SVG: the template draws what
// is computed here.
type chart struct {
	Title         string
	Width, Height float64
	Bars          []bar
	Baseline      float64 // y of the axis (vertical charts)
	Total         int
}

// bar is one bar with its label and value, placed.
type bar struct {
	Label, Tip           string
	Value                int
	X, Y, W, H           float64
	LabelX, LabelY       float64
	ValueX, ValueY       float64
	ShowLabel, ShowValue bool
}

// Layout of the charts, in SVG user units (1/96 in).
const (
	chartWidth   = 720.0
	codeLabelW   = 250.0 // horizontal chart: the code column
	codeRowH     = 20.0
	codeBarH     = 13.0
	dayPlotH     = 150.0 // vertical chart: the bars' height at most
	dayTopPad    = 16.0  // room for the values above the bars
	dayBottomPad = 34.0  // room for the dates below
	dayMaxLabels = 16    // dates written under at most this many bars
)

// codeChart lays out rejections per code as horizontal bars, one row a
// code, in the order given.
func codeChart(title string, cs []CodeCount) chart {
	c := chart{Title: title, Width: chartWidth, Height: codeRowH*float64(len(cs)) + 6}
	top := 0
	for _, x := range cs {
		top = max(top, x.Count)
		c.Total += x.Count
	}
	room := chartWidth - codeLabelW - 50 // the value is written after the bar
	for i, x := range cs {
		y := 3 + codeRowH*float64(i)
		w := 0.0
		if top > 0 {
			w = round(room * float64(x.Count) / float64(top))
		}
		c.Bars = append(c.Bars, bar{Label: x.Code, Tip: x.Code, Value: x.Count, X: codeLabelW, Y: y + (codeRowH-codeBarH)/2,
			W: w, H: codeBarH, LabelX: codeLabelW - 8, LabelY: y + codeRowH/2 + 4, ValueX: codeLabelW + w + 6,
			ValueY: y + codeRowH/2 + 4, ShowLabel: true, ShowValue: true})
	}
	return c
}

// dayChart lays out rejections per day as vertical bars, one a day, with
// dates written under some of them (every one when there are few).
func dayChart(title string, ds []DayCount) chart {
	c := chart{Title: title, Width: chartWidth, Height: dayTopPad + dayPlotH + dayBottomPad, Baseline: dayTopPad + dayPlotH}
	top := 0
	for _, d := range ds {
		top = max(top, d.Count)
		c.Total += d.Count
	}
	if len(ds) == 0 {
		return c
	}
	slot := (chartWidth - 20) / float64(len(ds))
	every := int(math.Ceil(float64(len(ds)) / dayMaxLabels))
	for i, d := range ds {
		h := 0.0
		if top > 0 {
			h = round(dayPlotH * float64(d.Count) / float64(top))
		}
		x := 10 + slot*float64(i)
		b := bar{Label: d.Day[5:], Tip: d.Day, Value: d.Count, X: round(x + slot*0.15), Y: c.Baseline - h,
			W: round(slot * 0.7), H: h, LabelX: round(x + slot/2), LabelY: c.Baseline + 14,
			ValueX: round(x + slot/2), ValueY: c.Baseline - h - 4, ShowLabel: i%every == 0,
			ShowValue: d.Count > 0 && slot >= 14}
		c.Bars = append(c.Bars, b)
	}
	return c
}

// round keeps one decimal: the SVG stays short and its bytes stable.
func round(f float64) float64 { return math.Round(f*10) / 10 }
