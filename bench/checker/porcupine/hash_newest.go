//go:build newest

package main

import "github.com/anishathalye/porcupine"

// withHash gives the model a state hash: Porcupine's newest commit mixes it into its cache key.
func withHash(m porcupine.Model, hash func(interface{}) uint64) porcupine.Model {
	m.Hash = hash
	return m
}
