package main

import (
	"net/http/httptest"
	"testing"
)

func TestRoot(t *testing.T) {
	rec := httptest.NewRecorder()
	handler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if got := rec.Body.String(); got != "Hello, Docker! <3" {
		t.Fatalf("body %q", got)
	}
}
