package main

import (
	"math"
	"testing"
	"time"
)

func TestSummarizeNearestRank(t *testing.T) {
	var s []time.Duration
	for i := 100; i >= 1; i-- { // 1..100 ms, given in reverse order
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	got := Summarize(s)
	want := Summary{N: 100, P50: 50 * time.Millisecond, P90: 90 * time.Millisecond,
		P99: 99 * time.Millisecond, Max: 100 * time.Millisecond, Mean: 50500 * time.Microsecond}
	if got != want {
		t.Fatalf("Summarize(1..100ms) = %+v, want %+v", got, want)
	}
	if s[0] != 100*time.Millisecond {
		t.Fatalf("Summarize reordered its input")
	}
}

func TestSummarizeSmallSets(t *testing.T) {
	got := Summarize([]time.Duration{3, 1, 2})
	if got.P50 != 2 || got.P90 != 3 || got.P99 != 3 || got.Max != 3 || got.N != 3 {
		t.Fatalf("Summarize(3,1,2) = %+v", got)
	}
	if z := Summarize(nil); z.N != 0 || z.P50 != 0 {
		t.Fatalf("Summarize(nil) = %+v, want zero", z)
	}
}

func TestRatio(t *testing.T) {
	if r := ratio(30, 60); r != 0.5 {
		t.Fatalf("ratio(30, 60) = %v", r)
	}
	if r := ratio(0, 60); !math.IsNaN(r) {
		t.Fatalf("ratio(0, 60) = %v, want NaN", r)
	}
}
