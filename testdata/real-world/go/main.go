// A small HTTP service in the shape of docker-gs-ping, on the standard library only (the
// upstream uses echo; no module proxy is reachable where this corpus is tested).
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
)

func handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "Hello, Docker! <3")
	})
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(struct{ Status string }{"OK"})
	})
	return mux
}

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	if len(os.Args) > 1 && os.Args[1] == "-version" {
		fmt.Println("docker-gs-ping, uid", os.Getuid())
		return
	}
	if err := http.ListenAndServe(":"+port, handler()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
